"""Sending the replies: from the durable queue to the relay, or to the demo mailboxes on disk.

Each reply is tried until it is sent, by one mail process at a time (each takes its batch under a
lease long enough to send it: another process sends a batch whose process died once that lease
ends). A mail process sends every reply due, batch after batch, at each turn of its loop (every
second), so that delivery keeps up with the replies being queued; failures are retried with exponential backoff (1, 2, 4 …
minutes, at most an hour apart) and, after SNE_HUB_MAIL_DEAD_AFTER_HOURS, the reply becomes a dead
letter that operators see and can retry (`sne-hub mail outbox`). Without a relay
(SNE_HUB_SMTP_RELAY=host:port), replies are written as .eml files into
<drop directory>/<counter>/inbox/, which is how the demo delivers them.
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from .config import MailSettings
from .store import MailStore, Outgoing

log = logging.getLogger(__name__)

BATCH = 20  # replies taken at a time, leased together for as long as sending them all may take
RELAY_TIMEOUT = timedelta(seconds=30)  # each step of a relay's dialogue


class Delivery:
    def __init__(self, settings: MailSettings, store: MailStore, counter_of_mailbox: Callable[[str], str | None]):
        self.settings = settings
        self.store = store
        self.counter_of_mailbox = counter_of_mailbox

    def deliver_all_due(self, clock: Callable[[], datetime], stop: threading.Event | None = None) -> tuple[int, int]:
        """Batch after batch until fewer than a batch were due, or ``stop`` is set; returns (sent,
        failed). One batch a turn would cap delivery at BATCH replies a second, below what a mail
        process queues under load, and the replies would wait ever longer. A failed reply is put off
        by its backoff, so a relay that is down ends the loop too, once each due reply was tried."""
        sent = failed = 0
        while stop is None or not stop.is_set():
            batch_sent, batch_failed = self.deliver_due(clock())
            sent, failed = sent + batch_sent, failed + batch_failed
            if batch_sent + batch_failed < BATCH:
                break
        return sent, failed

    def deliver_due(self, now: datetime) -> tuple[int, int]:
        """Try one batch of the replies whose time has come; returns (sent, failed)."""
        sent = failed = 0
        for outgoing in self.store.due(now, BATCH, hold=max(self.store.lease, BATCH * RELAY_TIMEOUT)):
            try:
                self._send(outgoing)
            except Exception as error:  # noqa: BLE001 - any failure is a retry, never a lost reply
                status = self.store.failed(outgoing.id, f"{type(error).__name__}: {error}", now,
                                           timedelta(hours=self.settings.dead_after_hours))
                log.warning("reply %d not delivered (%s): %s", outgoing.id, type(error).__name__, status)
                failed += 1
            else:
                self.store.sent(outgoing.id, now)
                sent += 1
        return sent, failed

    def _send(self, outgoing: Outgoing) -> None:
        if self.settings.relay:
            with smtplib.SMTP(*self.settings.relay_address, timeout=RELAY_TIMEOUT.total_seconds()) as relay:
                relay.sendmail(self.settings.addresses[0], [outgoing.recipient], outgoing.raw)
            return
        counter = self.counter_of_mailbox(outgoing.recipient)
        if counter is None:
            raise LookupError(f"aucun guichet n'a pour adresse {outgoing.recipient}")
        inbox = Path(self.settings.drop_directory) / counter / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        target = inbox / f"{outgoing.created_at:%Y%m%d-%H%M%S}-{outgoing.id}.eml"
        temporary = target.with_suffix(".part")
        temporary.write_bytes(outgoing.raw)
        os.replace(temporary, target)
