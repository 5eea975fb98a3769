"""Who is calling: the counter behind the TLS client certificate, and the certificate it attached.

The gate (:mod:`hub.gate`) authenticates the connection before spyne runs and leaves the counter in
the WSGI environ; operations read it back here. The SNE's messages may also carry a certificate
(``certificat``); when one is attached it must be one of the same counter's.

Each hub process remembers which counter a certificate authenticates for a short while
(:class:`core.service_layer.identity.CertificateOwners`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from certificates import CertificateError, fingerprint, load_certificate
from core.domain.errors import UnknownCertificate
from core.service_layer.identity import CertificateOwners
from core.service_layer.unit_of_work import UnitOfWork

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


def read_fingerprint(data: bytes) -> str:
    """The SHA-256 fingerprint of a certificate (PEM or DER); raises UnknownCertificate if unreadable."""
    try:
        return fingerprint(load_certificate(data))
    except CertificateError:
        raise UnknownCertificate("Certificat illisible", "certificat") from None


def attached_owner(caller: Caller, data: bytes, at: datetime) -> str | None:
    """Whose the attached certificate is: None if none attached, "" if no counter's."""
    if not data.strip():
        return None
    try:
        print_ = read_fingerprint(data)
        return caller.counter if print_ == caller.fingerprint else OWNERS.owner(caller.unit_of_work, print_, at)
    except UnknownCertificate:
        return ""
