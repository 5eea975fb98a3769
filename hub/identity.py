"""Who is calling: the counter behind the TLS client certificate, and the certificate it attached.

The gate (:mod:`hub.gate`) authenticates the connection before spyne runs and leaves the counter in
the WSGI environ; operations read it back here. The SNE's messages may also carry a certificate
(``certificat``); when one is attached it must be one of the same counter's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from certificates import CertificateError, fingerprint, load_certificate
from core.domain.errors import UnknownCertificate
from core.service_layer import services
from core.service_layer.unit_of_work import UnitOfWork

COUNTER_KEY = "sne_hub.counter"
UNIT_OF_WORK_KEY = "sne_hub.unit_of_work"


@dataclass(frozen=True)
class Caller:
    counter: str
    unit_of_work: Callable[..., UnitOfWork]


def caller_of(ctx) -> Caller:
    environ = ctx.transport.req_env
    return Caller(environ[COUNTER_KEY], environ[UNIT_OF_WORK_KEY])


def certificate_owner(unit_of_work: Callable[..., UnitOfWork], data: bytes, at: datetime) -> str:
    """The counter a certificate (PEM or DER) authenticates; raises UnknownCertificate."""
    try:
        certificate = load_certificate(data)
    except CertificateError:
        raise UnknownCertificate("Certificat illisible", "certificat") from None
    return services.identify(unit_of_work(readonly=True), fingerprint(certificate), at).code


def attached_owner(caller: Caller, data: bytes, at: datetime) -> str | None:
    """Whose the attached certificate is: None if none attached, "" if no counter's."""
    if not data.strip():
        return None
    try:
        return certificate_owner(caller.unit_of_work, data, at)
    except UnknownCertificate:
        return ""
