"""Who is calling: the counter behind the TLS client certificate, and the certificate it attached.

The gate (:mod:`hub.gate`) authenticates the connection before spyne runs and leaves the counter in
the WSGI environ; operations read it back here. The SNE's messages may also carry a certificate
(``certificat``); when one is attached it must be one of the same counter's.

Each hub process remembers which counter a certificate authenticates for a short while
(SNE_HUB_CERTIFICATE_CACHE_SECONDS, 60 by default, 0 to turn it off): looking it up costs a
database transaction per request otherwise. A revocation or a deactivated counter therefore takes
effect within that delay; a certificate's expiry takes effect at once.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from certificates import CertificateError, fingerprint, load_certificate
from core.domain.errors import UnknownCertificate
from core.service_layer import services
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


class CertificateOwners:
    """Certificate fingerprint -> counter, looked up in the register and kept for ``ttl`` seconds."""

    def __init__(self, ttl: float | None = None):
        self.ttl = float(os.environ.get("SNE_HUB_CERTIFICATE_CACHE_SECONDS", 60)) if ttl is None else ttl
        self._known: dict[str, tuple[str, datetime, float]] = {}  # fingerprint -> counter, not_after, looked up
        self._lock = threading.Lock()

    def owner(self, unit_of_work: Callable[..., UnitOfWork], print_: str, at: datetime) -> str:
        """The counter ``print_`` authenticates at ``at``; raises UnknownCertificate."""
        with self._lock:
            known = self._known.get(print_)
        if known is not None:
            counter, not_after, looked_up = known
            if time.monotonic() - looked_up < self.ttl and at <= not_after:
                return counter
        counter, not_after = services.identify(unit_of_work(readonly=True), print_, at)
        if self.ttl > 0:
            with self._lock:
                self._known[print_] = (counter.code, not_after, time.monotonic())
        return counter.code


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
