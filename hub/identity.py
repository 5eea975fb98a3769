"""Who is calling: the counter behind the TLS client certificate, and the certificate it attached.

The gate (:mod:`hub.gate`) authenticates the connection before spyne runs and leaves the counter in
the WSGI environ; operations read it back here. The SNE's messages may also carry a certificate
(``certificat``); when one is attached it must be readable, valid, and one of the same counter's.

Each hub process remembers which counter a certificate authenticates for a short while
(:class:`core.service_layer.identity.CertificateOwners`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Callable

from certificates import CertificateError, fingerprint, load_certificate
from core.domain.errors import UnknownCertificate, UnreadableCertificate
from core.service_layer.identity import CertificateOwners
from core.service_layer.unit_of_work import UnitOfWork
from core.wire.processing import AttachedCertificate

COUNTER_KEY = "sne_hub.counter"
FINGERPRINT_KEY = "sne_hub.fingerprint"
UNIT_OF_WORK_KEY = "sne_hub.unit_of_work"


@dataclass(frozen=True)
class Caller:
    counter: str
    fingerprint: str
    unit_of_work: Callable[..., UnitOfWork]


def caller_of(ctx) -> Caller:
    environ = ctx.transport.req_env
    return Caller(environ[COUNTER_KEY], environ[FINGERPRINT_KEY], environ[UNIT_OF_WORK_KEY])


OWNERS = CertificateOwners()


@lru_cache(maxsize=1024)
def read_fingerprint(data: bytes) -> str:
    """The SHA-256 fingerprint of a certificate (PEM or DER); raises UnknownCertificate if unreadable.

    Remembered per certificate (a pure function of its bytes; revocation and expiry are judged by
    ``OWNERS``, never here): a client presents the same TLS certificate and attaches the same one to
    every message, and reading one cost about a tenth of the gate's work. Unreadable ones are not
    remembered."""
    try:
        return fingerprint(load_certificate(data))
    except CertificateError:
        raise UnknownCertificate("Certificat illisible", "certificat") from None


def attached_certificate(caller: Caller, data: bytes, at: datetime) -> AttachedCertificate | None:
    """The certificate attached to a message: None if none (an empty ``certificat``, as existing
    clients send), else the counter it authenticates or why it authenticates none."""
    if not data.strip():
        return None
    try:
        print_ = read_fingerprint(data)  # a client attaches the same certificate to every message
    except UnknownCertificate:
        return AttachedCertificate(refusal=UnreadableCertificate(property="certificat"))
    if print_ == caller.fingerprint:
        return AttachedCertificate(caller.counter)
    try:
        return AttachedCertificate(OWNERS.owner(caller.unit_of_work, print_, at))
    except UnknownCertificate as unknown:  # unknown, expired, revoked, or its counter inactive
        return AttachedCertificate(refusal=unknown)
