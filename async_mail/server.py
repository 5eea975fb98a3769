"""The SMTP side: an aiosmtpd handler that accepts mail for the hub's addresses only.

The handler is deliberately small (aiosmtpd's way): RCPT refuses unknown recipients, DATA stores
the message as received (off the event loop, with the mails other sessions sent at the same
moment: :class:`Receiver`) and answers 250 only once it is stored, and the stored message is then
handed to the pipeline on a worker thread with its bytes: stored already claimed ("processing",
leased to this process), it is neither claimed nor read back; if the process stops first, another
one or the next start takes it. Several mail processes share the SMTP port, and the kernel gives
each its sessions whatever its load: a process whose hand is full (its workers busy, a few mails
queued for them) stores what it receives waiting instead, and whichever process has a free worker
first takes it (:meth:`HubHandler.take_waiting`, a few times a second). STARTTLS
is offered with the server certificate and can be required; sizes are bounded by aiosmtpd before
DATA completes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.domain.calendar import now_in_paris

from .config import MailSettings
from .messages import outer_headers
from .pipeline import Pipeline
from .store import MailStore

log = logging.getLogger(__name__)

# aiosmtpd's logger. At INFO it writes every command line of a session, the envelope's addresses
# with them: the mailboxes of people at the counters, which no log may hold, in about ten lines a
# session. The hub logs what becomes of each mail (async_mail.*, without addresses); aiosmtpd's own
# lines show only when the hub logs at DEBUG, or when its level is set explicitly.
SMTP_LOG = logging.getLogger("mail.log")


class Receiver:
    """Stores received mails off the event loop, those that arrive together in one transaction.

    Each DATA waits for its own mail's commit before its 250, as before: nothing acknowledged is lost.
    One thread writes: it takes every mail waiting (at most ``batch``) and stores them at once, so
    that under load concurrent sessions share a commit, and the event loop keeps reading other
    sessions meanwhile instead of waiting for PostgreSQL."""

    def __init__(self, store: MailStore, then: Callable[[int, bytes], None], room: Callable[[], int] | None = None,
                 left: Callable[[], None] | None = None, batch: int = 64):
        """``then(id, raw)`` runs for each mail kept once it is stored, whatever became of its session:
        a mail committed is processed even if its client went away before the 250. ``room()``: how
        many of the mails stored next this process keeps (default: all); the others are stored
        waiting, for any process to take, and then ``left()`` runs."""
        self.store, self.then, self.room, self.left, self.batch = store, then, room, left, batch
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._write, name="mail-store", daemon=True).start()

    async def receive(self, raw: bytes, sender: str | None, message_id: str | None, at) -> int:
        loop = asyncio.get_running_loop()
        stored = loop.create_future()
        self.waiting.put(((raw, sender, message_id, at), loop, stored))
        return await stored

    def _write(self) -> None:
        while True:
            pending = [self.waiting.get()]
            while len(pending) < self.batch and not self.waiting.empty():
                pending.append(self.waiting.get())
            keep = len(pending) if self.room is None else min(len(pending), self.room())
            try:
                ids = self.store.receive_many([mail for mail, _, _ in pending], keep)
            except Exception as error:  # noqa: BLE001 - each session gets the error, as when it stored its own
                for _, loop, stored in pending:
                    _answer(loop, stored, None, error)
                continue
            if keep < len(pending) and self.left is not None:
                self.left()
            for index, (((raw, *_), loop, stored), stored_id) in enumerate(zip(pending, ids)):
                try:
                    if index < keep:
                        self.then(stored_id, raw)
                except RuntimeError:  # the pipeline threads stopped: taken when its lease ends
                    log.warning("mail %d stored while stopping: processed by another mail process or at the "
                                "next start", stored_id)
                _answer(loop, stored, stored_id, None)


def _answer(loop: asyncio.AbstractEventLoop, future: asyncio.Future, result, error) -> None:
    """The session waiting for ``future`` told, unless its server stopped meanwhile."""
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:  # the event loop is closed: nobody is waiting
        pass


def _settle(future: asyncio.Future, result, error) -> None:
    if future.done():  # the session went away meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


QUEUED_PER_WORKER = 2  # mails a process keeps waiting for each of its workers, beyond the one at work


class HubHandler:
    """``in_hand``: the mails handed to this process's workers and not yet done with. Beyond
    ``capacity`` (its workers busy, and a few mails queued for each), what it receives is left
    waiting for another process (or for itself, once it has room)."""

    def __init__(self, settings: MailSettings, store: MailStore, pipeline: Pipeline, workers: ThreadPoolExecutor):
        self.addresses = {address.lower() for address in settings.addresses}
        self.store = store
        self.pipeline = pipeline
        self.workers = workers
        self.capacity = settings.workers * (1 + QUEUED_PER_WORKER)
        self.refill_at = settings.workers * QUEUED_PER_WORKER  # room worth a statement: the workers still fed
        self.in_hand = 0
        self.more_waiting = True  # worth a look once a mail is done: at start, after a full take, after an overflow
        self._counting, self._taking = threading.Lock(), threading.Lock()
        self.receiver = Receiver(store, self.hand_over, self.room, self._overflowed)

    def room(self) -> int:
        """How many more mails this process takes on now; beyond, what it receives is left waiting
        for the first process with room."""
        return max(0, self.capacity - self.in_hand)

    def _overflowed(self) -> None:
        self.more_waiting = True  # set once the mails left waiting are stored: a take after it sees them

    def hand_over(self, message: int, raw: bytes | None = None) -> None:
        """To a worker thread; RuntimeError once the workers stopped."""
        with self._counting:
            self.in_hand += 1
        try:
            self.workers.submit(self.process, message, raw=raw)
        except RuntimeError:
            self._done()
            raise

    def take_waiting(self, now: datetime) -> int:
        """Take as many waiting mails as this process has room for (:meth:`MailStore.take`): another
        process's overflow, mails released from quarantine, let go by a process that stopped or
        held by one that died; how many. One thread of the process takes at a time: another finding
        it taking leaves it be."""
        if not self._taking.acquire(blocking=False):
            return 0
        try:
            room = self.room()
            if room == 0:
                return 0
            self.more_waiting = False  # before the look: an overflow stored meanwhile sets it again
            taken = self.store.take(now, room)
            if len(taken) == room:  # a full take: more may be waiting
                self.more_waiting = True
            for message, raw in taken:
                self.hand_over(message, raw)
            return len(taken)
        finally:
            self._taking.release()

    def _done(self) -> None:
        with self._counting:
            self.in_hand -= 1

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 Destinataire inconnu : le hub ne reçoit que pour ses adresses d'échange"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        message_id = outer_headers(raw).get("Message-ID")
        stored = await self.receiver.receive(raw, envelope.mail_from,
                                             str(message_id).strip() if message_id else None, now_in_paris())
        return f"250 2.0.0 Message {stored} reçu"

    def process(self, message: int, raw: bytes | None = None) -> None:
        try:
            self.pipeline.run(message, now_in_paris(), raw=raw)
        except Exception as error:  # the message stays "processing": taken again once its lease is let go
            log.error("mail %d: processing failed: %s", message, type(error).__name__)
        finally:
            self._done()
        if self.more_waiting and self.room() >= self.refill_at:  # the next waiting ones now, several at a time
            try:
                self.take_waiting(now_in_paris())
            except RuntimeError:  # the workers stopped: the mails taken are let go with the leases
                pass
            except Exception as error:  # noqa: BLE001 - the next look tries again
                log.warning("waiting mails not taken: %s", type(error).__name__)


def tls_context(settings: MailSettings) -> ssl.SSLContext | None:
    if not (settings.tls_certificate.exists() and settings.tls_key.exists()):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(settings.tls_certificate), str(settings.tls_key))
    return context


class SharedPortController(Controller):
    """aiosmtpd's controller, its port shared (``SO_REUSEPORT``) with the other mail processes of
    the deployment: the kernel spreads new sessions over them, as for the SOAP processes."""

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, host=self.hostname, port=self.port,
                                       ssl=self.ssl_context, reuse_port=True)

    def _trigger_server(self) -> None:
        """aiosmtpd connects to its port once to see its server answer; a sibling process may get
        that connection (it just greets it): connect again until this server answered one."""
        deadline = time.monotonic() + self.ready_timeout
        while not self._factory_invoked.is_set() and time.monotonic() < deadline:
            super()._trigger_server()


def controller(settings: MailSettings, handler: HubHandler) -> Controller:
    if SMTP_LOG.level == logging.NOTSET and not SMTP_LOG.isEnabledFor(logging.DEBUG):
        SMTP_LOG.setLevel(logging.WARNING)
    context = tls_context(settings)
    return SharedPortController(handler, hostname=settings.host, port=settings.port,
                                data_size_limit=settings.max_bytes, tls_context=context,
                                require_starttls=settings.require_starttls and context is not None,
                                decode_data=False, server_hostname="sne-hub")
