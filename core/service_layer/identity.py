"""Which counter a certificate authenticates, remembered for a while in each process.

Both channels authenticate every request or mail by a certificate; looking its owner up costs a
database transaction each time otherwise. Each process keeps the answer for
SNE_HUB_CERTIFICATE_CACHE_SECONDS (60 by default, 0 to turn it off): a revocation or a deactivated
counter takes effect within that delay; a certificate's expiry takes effect at once.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime
from typing import Callable

from . import services
from .unit_of_work import UnitOfWork


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
