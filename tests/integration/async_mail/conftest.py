"""A real mail channel for the tests: aiosmtpd on a free port, the pipeline, the reply queue.

Replies go either to the counters' own mailboxes (another aiosmtpd, playing the relay/MX) or, as
in the demo, to .eml files on disk. The revocation list the hub reads is written per test.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from async_mail import service
from async_mail.config import MailSettings
from async_mail.delivery import Delivery
from async_mail.pipeline import Pipeline
from async_mail.server import controller
from async_mail.service import counter_lookup
from async_mail.store import MailStore
from certificates import load_certificate
from certificates.reading import load_private_key
from core.adapters.repository import SqlUnitOfWork
from core.domain.calendar import now_in_paris

from ..channels import HUB_ADDRESS, seed_register


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A counter's own mailbox: an SMTP server that keeps what it receives."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.sessions: list[tuple] = []  # the peer of each mail's SMTP session: one connection, one peer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("unknown@"):  # as a relay refuses a mailbox it does not know
            return "550 5.1.1 Unknown mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        self.sessions.append(session.peer)
        return "250 OK"


def write_crl(directory: Path, revoked_serials: list[int]) -> Path:
    """The demo CA's revocation list, with these serials."""
    ca = load_certificate((directory / "ca.pem").read_bytes())
    key = load_private_key((directory / "ca-key.pem").read_bytes())
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now - timedelta(minutes=1))
               .next_update(now + timedelta(days=7)))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - timedelta(minutes=1)).build())
    crl = builder.sign(key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


@dataclass
class RunningMail:
    port: int
    pki: dict
    settings: MailSettings
    store: MailStore
    pipeline: Pipeline
    delivery: Delivery
    unit_of_work: object
    workdir: Path
    mailbox: Mailbox = field(default_factory=Mailbox)
    workers: ThreadPoolExecutor | None = None

    @property
    def ca_with_crl(self) -> Path:
        """The CA file a counter verifies replies with: the CA, then its CRL (openssl -crl_check)."""
        combined = self.workdir / "ca-with-crl.pem"
        combined.write_bytes(Path(self.pki["ca"]["cert"]).read_bytes() + self.settings.crl.read_bytes())
        return combined

    def revoke(self, serials: list[int]) -> None:
        self.settings.crl.write_bytes(write_crl(Path(self.pki["directory"]), serials))

    def _workers_idle(self, timeout: float) -> None:
        """Every pipeline thread done with its mail (its last log line written after the status is
        stored): one barrier task a thread, which each thread can only take once it is free."""
        if self.workers is None:
            return
        barrier = threading.Barrier(self.settings.workers + 1)
        for _ in range(self.settings.workers):
            self.workers.submit(barrier.wait, max(timeout, 1))
        barrier.wait(max(timeout, 1))

    def settle(self, timeout: float = 20) -> None:
        """Wait until every stored message is processed, then deliver the replies due."""
        deadline = time.monotonic() + timeout
        while self.store.unfinished() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.store.unfinished(), "messages still waiting"
        self._workers_idle(deadline - time.monotonic())
        self.delivery.deliver_due(now_in_paris() + timedelta(seconds=1))


@pytest.fixture
def mail(request, engine, pki, tmp_path) -> RunningMail:
    unit_of_work = lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly)  # noqa: E731
    seed_register(unit_of_work, pki)
    directory = Path(pki["directory"])
    mailbox = Mailbox()
    mailbox_server = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    mailbox_server.start()
    crl = tmp_path / "crl.pem"
    crl.write_bytes(write_crl(directory, []))
    settings = MailSettings(host="127.0.0.1", port=free_port(), addresses=(HUB_ADDRESS,),
                            certificate=directory / "hub-cert.pem", key=directory / "hub-key.pem",
                            trusted=directory / "ca.pem", crl=crl, tls_certificate=directory / "server-cert.pem",
                            tls_key=directory / "server-key.pem", relay=f"127.0.0.1:{mailbox_server.port}",
                            drop_directory=tmp_path / "drop", max_bytes=2 * 1024 * 1024,
                            **(marker.kwargs if (marker := request.node.get_closest_marker("mail_settings")) else {}))
    handler = service.handler(settings, engine)  # what `sne-hub serve` runs
    store, pipeline, workers = handler.store, handler.pipeline, handler.workers
    smtp = controller(settings, handler)
    smtp.start()
    running = RunningMail(settings.port, pki, settings, store, pipeline,
                          Delivery(settings, store, counter_lookup(engine)), unit_of_work, tmp_path, mailbox, workers)
    yield running
    smtp.stop()
    workers.shutdown(wait=True)
    mailbox_server.stop()
