"""The SMTP side: an aiosmtpd handler that accepts mail for the hub's addresses only.

The handler is deliberately small (aiosmtpd's way): RCPT refuses unknown recipients, DATA stores
the message as received (off the event loop, with the mails other sessions sent at the same
moment: :class:`Receiver`) and answers 250 only once it is stored, and the stored message is then
handed to the pipeline on a worker thread with its bytes: stored already claimed ("processing",
leased to this process), it is neither claimed nor read back; if the process stops first, another
one or the next start takes it. Several mail processes share the SMTP port. STARTTLS
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
from email import policy
from email.parser import BytesHeaderParser
from typing import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.domain.calendar import now_in_paris

from .config import MailSettings
from .pipeline import Pipeline
from .store import MailStore

log = logging.getLogger(__name__)


class Receiver:
    """Stores received mails off the event loop, those that arrive together in one transaction.

    Each DATA waits for its own mail's commit before its 250, as before: nothing acknowledged is lost.
    One thread writes: it takes every mail waiting (at most ``batch``) and stores them at once, so
    that under load concurrent sessions share a commit, and the event loop keeps reading other
    sessions meanwhile instead of waiting for PostgreSQL."""

    def __init__(self, store: MailStore, then: Callable[[int, bytes], None], batch: int = 64):
        """``then(id, raw)`` runs for each mail once it is stored, whatever became of its session: a
        mail committed is processed even if its client went away before the 250."""
        self.store, self.then, self.batch = store, then, batch
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
            try:
                ids = self.store.receive_many([mail for mail, _, _ in pending])
            except Exception as error:  # noqa: BLE001 - each session gets the error, as when it stored its own
                for _, loop, stored in pending:
                    _answer(loop, stored, None, error)
                continue
            for ((raw, *_), loop, stored), stored_id in zip(pending, ids):
                try:
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


class HubHandler:
    def __init__(self, settings: MailSettings, store: MailStore, pipeline: Pipeline, workers: ThreadPoolExecutor):
        self.addresses = {address.lower() for address in settings.addresses}
        self.store = store
        self.pipeline = pipeline
        self.workers = workers
        self.receiver = Receiver(store, lambda message, raw: self.workers.submit(self.process, message, raw=raw))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 Destinataire inconnu : le hub ne reçoit que pour ses adresses d'échange"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        message_id = BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get("Message-ID")
        stored = await self.receiver.receive(raw, envelope.mail_from,
                                             str(message_id).strip() if message_id else None, now_in_paris())
        return f"250 2.0.0 Message {stored} reçu"

    def process(self, message: int, raw: bytes | None = None) -> None:
        try:
            self.pipeline.run(message, now_in_paris(), raw=raw)
        except Exception as error:  # the message stays "processing": taken again once its lease is let go
            log.error("mail %d: processing failed: %s", message, type(error).__name__)


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
    context = tls_context(settings)
    return SharedPortController(handler, hostname=settings.host, port=settings.port,
                                data_size_limit=settings.max_bytes, tls_context=context,
                                require_starttls=settings.require_starttls and context is not None,
                                decode_data=False, server_hostname="sne-hub")


def resume(store: MailStore, handler: HubHandler, now: datetime) -> int:
    """Hand the messages waiting to the pipeline: stored and not taken, released from quarantine,
    or let go by a process that stopped or died (:meth:`MailStore.waiting`)."""
    waiting = store.waiting(now)
    for message in waiting:
        handler.workers.submit(handler.process, message)
    return len(waiting)
