"""Sending the replies: from the durable queue to the relay, or to the demo mailboxes on disk.

Each reply is tried until it is sent, by one mail process at a time (each takes its batch under a
lease long enough to send it: another process sends a batch whose process died once that lease
ends; see :attr:`Delivery.hold`). A mail process sends every reply due, batch after batch, at each
turn of its loop (every second), so that delivery keeps up with the replies being queued, each
batch over one connection to the relay. Failures are retried with exponential backoff (1, 2, 4 …
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
        """Try one batch of the replies whose time has come, over one relay connection; returns
        (sent, failed)."""
        sent = failed = 0
        relay = RelaySession(self.settings.relay_address) if self.settings.relay else None
        counters: dict[str, str | None] = {}  # the drop directory's counters by mailbox, for this batch
        try:
            for outgoing in self.take(now):
                try:
                    if relay is not None:
                        relay.send(self.settings.addresses[0], outgoing.recipient, outgoing.raw)
                    else:
                        self._drop(outgoing, counters)
                except Exception as error:  # noqa: BLE001 - any failure is a retry, never a lost reply
                    status = self.store.failed(outgoing.id, f"{type(error).__name__}: {error}", now,
                                               timedelta(hours=self.settings.dead_after_hours))
                    log.warning("reply %d not delivered (%s): %s", outgoing.id, type(error).__name__, status)
                    failed += 1
                else:
                    self.store.sent(outgoing.id, now)
                    sent += 1
        finally:
            if relay is not None:
                relay.close()
        return sent, failed

    def take(self, now: datetime) -> list[Outgoing]:
        """A batch of the replies due, leased to this process for :attr:`hold`."""
        return self.store.due(now, BATCH, hold=self.hold)

    @property
    def hold(self) -> timedelta:
        """How long a batch taken is this process's: as long as sending it all may take, so that no
        reply goes twice; also what the replies of a process that died holding them wait. Through a
        relay, BATCH × RELAY_TIMEOUT (ten minutes). Onto disk, where a batch is written in
        milliseconds, the mail lease: the replies of a process killed with a batch in hand are dropped
        by another a few seconds later, not ten minutes."""
        if self.settings.relay is None:
            return self.store.lease
        return max(self.store.lease, BATCH * RELAY_TIMEOUT)

    def _drop(self, outgoing: Outgoing, counters: dict[str, str | None]) -> None:
        if outgoing.recipient not in counters:
            counters[outgoing.recipient] = self.counter_of_mailbox(outgoing.recipient)
        counter = counters[outgoing.recipient]
        if counter is None:
            raise LookupError(f"aucun guichet n'a pour adresse {outgoing.recipient}")
        inbox = Path(self.settings.drop_directory) / counter / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        target = inbox / f"{outgoing.created_at:%Y%m%d-%H%M%S}-{outgoing.id}.eml"
        temporary = target.with_suffix(".part")
        temporary.write_bytes(outgoing.raw)
        os.replace(temporary, target)


class RelaySession:
    """One SMTP connection to the relay for a batch of replies, opened at the first reply and again
    after one broke: a connection, greeting and EHLO per reply were a quarter of each reply's cost
    (docs/BENCHMARKS.md). A reply the relay refuses leaves the connection usable (smtplib resets the
    transaction); any other error closes it, and the next reply opens a new one."""

    def __init__(self, address: tuple[str, int]):
        self.address = address
        self.connection: smtplib.SMTP | None = None

    def send(self, sender: str, recipient: str, raw: bytes) -> None:
        if self.connection is None or self.connection.sock is None:  # none yet, or closed by a 421
            self.connection = smtplib.SMTP(*self.address, timeout=RELAY_TIMEOUT.total_seconds())
        try:
            self.connection.sendmail(sender, [recipient], raw)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # this reply refused, the session still good
        except OSError:  # smtplib's other errors too: a broken connection
            self._abandon()
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except OSError:
                self._abandon()
        self.connection = None

    def _abandon(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None
