"""The mail channel as a `sne-hub serve` service: SMTP in, pipeline, replies out."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from certificates import load_certificate
from certificates.reading import load_private_key
from core.adapters import orm
from core.adapters.database import reading
from core.domain.calendar import now_in_paris

from .config import MailSettings
from .delivery import Delivery
from .pipeline import Keys, Pipeline
from .server import HubHandler, controller
from .store import MailStore

log = logging.getLogger(__name__)


class KeyRing:
    """The hub's identity and trust anchors, reloaded when their files change (a new CRL…)."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._stamp: tuple | None = None
        self._keys: Keys | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Keys:
        files = (self.settings.certificate, self.settings.key, self.settings.trusted, self.settings.crl)
        stamp = tuple(path.stat().st_mtime_ns if path.exists() else None for path in files)
        with self._lock:
            if stamp != self._stamp:
                self._keys, self._stamp = self._load(), stamp
            return self._keys

    def _load(self) -> Keys:
        settings = self.settings
        crls = []
        if settings.crl.exists():
            crls = [x509.load_pem_x509_crl(block) for block in _pem_blocks(settings.crl.read_bytes(), b"X509 CRL")]
        return Keys(
            certificate=load_certificate(settings.certificate.read_bytes()),
            key=load_private_key(settings.key.read_bytes()),
            trusted=x509.load_pem_x509_certificates(settings.trusted.read_bytes()),
            crls=crls,
            address=settings.addresses[0],
        )


def _pem_blocks(data: bytes, label: bytes) -> list[bytes]:
    begin, end = b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"
    blocks, rest = [], data
    while begin in rest:
        start = rest.index(begin)
        stop = rest.index(end, start) + len(end)
        blocks.append(rest[start:stop])
        rest = rest[stop:]
    return blocks


def counter_lookup(engine):
    def counter_of_mailbox(mailbox: str) -> str | None:
        with reading(engine) as connection:
            return connection.scalar(select(orm.counters.c.code).where(orm.counters.c.mailbox.ilike(mailbox)))
    return counter_of_mailbox


def handler(settings: MailSettings, engine) -> HubHandler:
    """The SMTP handler with its store, pipeline and pipeline threads, as ``sne-hub serve`` runs them (the
    benchmark and the tests build theirs here too)."""
    store = MailStore(engine, lease=settings.lease)
    pipeline = Pipeline(engine, settings, KeyRing(settings), store)
    return HubHandler(settings, store, pipeline, ThreadPoolExecutor(settings.workers, thread_name_prefix="mail"))


TAKE_EVERY = 0.2  # seconds between looks for mails waiting to be taken (one indexed query)


def _renew_leases(store: MailStore, stop: threading.Event) -> None:
    """Renew this process's leases every third of their length, on a thread of its own: a reply
    being sent to a slow relay never delays them. A failed renewal is tried again at the next turn
    (the leases last two more)."""
    every = store.lease.total_seconds() / 3
    while not stop.wait(every):
        try:
            store.renew(now_in_paris())
        except Exception as error:  # noqa: BLE001 - the database may be back at the next turn
            log.warning("mail leases not renewed: %s", type(error).__name__)


def _take_waiting(handler: HubHandler, stop: threading.Event) -> None:
    """A few times a second, take the mails waiting that this process has room for: at start, those
    its predecessor left; then another process's overflow (its hand full), mails released from
    quarantine, and those of a process that stopped or died. So the processes sharing the port share
    the load too, whatever sessions the kernel gave each."""
    while not stop.wait(TAKE_EVERY):
        try:
            handler.take_waiting(now_in_paris())
        except Exception as error:  # noqa: BLE001 - the database may be back at the next turn
            log.warning("waiting mails not taken: %s", type(error).__name__)


PURGE_EVERY = 3600  # seconds between two looks for mails and replies past their retention period


def _purge_past_retention(store: MailStore, retention: timedelta, stop: threading.Event) -> None:
    """At start, then every hour: erase the settled mails and replies older than the retention period.
    Every mail process does it; each row goes once (``MailStore.purge``)."""
    while True:
        try:
            purged = store.purge(now_in_paris() - retention, stop=stop)
            if purged.mails or purged.replies:
                log.info("mail retention: %s", purged)
        except Exception as error:  # noqa: BLE001 - the database may be back at the next turn
            log.warning("mail retention not applied: %s", type(error).__name__)
        if stop.wait(PURGE_EVERY):
            return


def service(context):
    """The ``sne_hub.services`` entry point: run the mail channel until ``stop`` is set."""
    settings = MailSettings.from_environment()
    for needed in (settings.certificate, settings.key, settings.trusted):
        if not Path(needed).exists():
            raise FileNotFoundError(f"{needed} is missing: run `sne-hub certificates demo` or set SNE_HUB_MAIL_*")
    engine = context.engine
    smtp_handler = handler(settings, engine)
    store, workers = smtp_handler.store, smtp_handler.workers
    delivery = Delivery(settings, store, counter_lookup(engine))

    def serve(stop: threading.Event) -> None:
        smtp = controller(settings, smtp_handler)
        smtp.start()
        print(f"serving: smtp://{settings.host}:{settings.port} for {', '.join(settings.addresses)} "
              f"(mail process {store.owner}, in the leases of the mails it holds)", flush=True)
        renewals = threading.Thread(target=_renew_leases, args=(store, stop), name="mail-leases", daemon=True)
        renewals.start()
        taking = threading.Thread(target=_take_waiting, args=(smtp_handler, stop), name="mail-take", daemon=True)
        taking.start()
        purging = threading.Thread(target=_purge_past_retention, args=(store, settings.retention, stop),
                                   name="mail-retention", daemon=True)
        purging.start()
        while not stop.is_set():
            delivery.deliver_all_due(now_in_paris, stop)
            stop.wait(1)
        smtp.stop()
        taking.join()
        purging.join()
        workers.shutdown(wait=True)
        renewals.join()
        store.let_go()
        delivery.deliver_due(now_in_paris())  # one last batch: a stop is not held up by a backlog

    return serve
