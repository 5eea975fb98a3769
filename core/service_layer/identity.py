"""Which counter a certificate authenticates, remembered for a while in each process.

Both channels authenticate every request or mail by a certificate; looking its owner up costs a
database transaction each time otherwise. Each process keeps the answer for
SNE_HUB_CERTIFICATE_CACHE_SECONDS (60 by default, 0 to turn it off); a certificate's expiry takes
effect at once. Revocations and deactivated counters take effect within
SNE_HUB_REVOCATION_POLL_SECONDS (1 by default) in every process, whatever the cache delay: a
key compromise does not leave a minute of access. Each process asks the register for its
revocation mark (one small query) at most that often, and forgets everything it knew when the mark
moved.
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

    def __init__(self, ttl: float | None = None, poll: float | None = None):
        self.ttl = float(os.environ.get("SNE_HUB_CERTIFICATE_CACHE_SECONDS", 60)) if ttl is None else ttl
        self.poll = float(os.environ.get("SNE_HUB_REVOCATION_POLL_SECONDS", 1)) if poll is None else poll
        self._known: dict[str, tuple[str, datetime, float]] = {}  # fingerprint -> counter, not_after, looked up
        self._mark: tuple | None = None
        self._marked_at = float("-inf")
        self._lock = threading.Lock()

    def owner(self, unit_of_work: Callable[..., UnitOfWork], print_: str, at: datetime) -> str:
        """The counter ``print_`` authenticates at ``at``; raises UnknownCertificate."""
        self._forget_if_revoked(unit_of_work)
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

    def _forget_if_revoked(self, unit_of_work: Callable[..., UnitOfWork]) -> None:
        """Ask for the mark when the poll is due: one thread asks, the threads arriving meanwhile go on
        with what is known (a query's time later than the poll at most), so a process asks no more
        often than the poll whatever its threads do."""
        now = time.monotonic()
        with self._lock:
            if self.ttl <= 0 or now - self._marked_at < self.poll:
                return
            self._marked_at = now
        mark = services.revocation_mark(unit_of_work(readonly=True))
        with self._lock:
            if mark != self._mark:
                self._known.clear()
                self._mark = mark
