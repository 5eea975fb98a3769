"""The mail channel as a `sne-hub serve` service: SMTP in, pipeline, replies out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from certificates import load_certificate
from certificates.reading import load_private_key
from core.adapters import orm
from core.domain.calendar import now_in_paris

from .config import MailSettings
from .delivery import Delivery
from .pipeline import Keys, Pipeline
from .server import HubHandler, controller, resume
from .store import MailStore


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
        with engine.connect() as connection:
            return connection.scalar(select(orm.counters.c.code).where(orm.counters.c.mailbox.ilike(mailbox)))
    return counter_of_mailbox


def handler(settings: MailSettings, engine) -> HubHandler:
    """The SMTP handler with its store, pipeline and pipeline threads, as ``sne-hub serve`` runs them (the
    benchmark and the tests build theirs here too)."""
    store = MailStore(engine)
    pipeline = Pipeline(engine, settings, KeyRing(settings), store)
    return HubHandler(settings, store, pipeline, ThreadPoolExecutor(settings.workers, thread_name_prefix="mail"))


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
        print(f"serving: smtp://{settings.host}:{settings.port} for {', '.join(settings.addresses)}", flush=True)
        resume(store, smtp_handler, at_start=True)
        ticks = 0
        while not stop.is_set():
            delivery.deliver_due(now_in_paris())
            ticks += 1
            if ticks % 30 == 0:  # messages released from quarantine by an operator
                resume(store, smtp_handler)
            stop.wait(1)
        smtp.stop()
        workers.shutdown(wait=True)
        delivery.deliver_due(now_in_paris())

    return serve
