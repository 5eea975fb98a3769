"""The ``mail`` profile: the kit plays a counter's mail software and its mailbox against a hub's SMTP
listener (docs/MAIL.md, docs/CONFORMANCE.md).

Options:
- ``--mail-smtp HOST:PORT``: the hub's SMTP listener;
- ``--mail-cert``, ``--mail-key``: the counter's certificate and key (PEM), which sign its mails and
  open the hub's answers; the code is the subject's serialNumber, the mailbox its rfc822Name;
- ``--mail-hub-cert``: the hub's certificate, which mails are encrypted to and answers verified with;
- ``--mail-hub-address``: the hub's exchange address (default ``hub@sne-hub.example.org``);
- ``--mail-mailbox HOST:PORT``: where the kit's own SMTP server listens for the answers: the hub's
  outbound relay (``SNE_HUB_SMTP_RELAY``) must point there (default 127.0.0.1:2526);
- ``--mail-commune``: an INSEE commune of the counter's territory (default 57463);
- ``--mail-wait`` (seconds an answer may take, default 60) and ``--mail-quiet`` (seconds of silence
  after a later answer that show a refused mail got none, default 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from ..server.files import Household, application_file, run_token
from .counter import Counter, Identity, Mail, entity, file_name
from .mailbox import Mailbox, Received


def pytest_addoption(parser):
    group = parser.getgroup("sne-mail", "SNE conformance kit: mail profile")
    group.addoption("--mail-smtp", help="the hub's SMTP listener, HOST:PORT")
    group.addoption("--mail-cert", help="the counter's S/MIME certificate (PEM)")
    group.addoption("--mail-key", help="its private key (PEM), when not in --mail-cert")
    group.addoption("--mail-hub-cert", help="the hub's S/MIME certificate (PEM)")
    group.addoption("--mail-hub-address", default="hub@sne-hub.example.org", help="the hub's exchange address")
    group.addoption("--mail-mailbox", default="127.0.0.1:2526",
                    help="HOST:PORT where the kit receives the answers (the hub's SNE_HUB_SMTP_RELAY)")
    group.addoption("--mail-commune", default="57463", help="an INSEE commune of the counter's territory")
    group.addoption("--mail-wait", type=float, default=60, help="seconds an answer may take")
    group.addoption("--mail-quiet", type=float, default=3,
                    help="seconds of silence, after a later mail's answer, that show a mail got none")


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


@pytest.fixture(scope="session")
def counter(pytestconfig) -> Counter:
    option = pytestconfig.getoption
    if not (option("--mail-smtp") and option("--mail-cert") and option("--mail-hub-cert")):
        pytest.exit("the mail profile needs --mail-smtp, --mail-cert (--mail-key) and --mail-hub-cert", returncode=4)
    hub_certificate = x509.load_pem_x509_certificate(Path(option("--mail-hub-cert")).read_bytes())
    return Counter(Identity.load(option("--mail-cert"), option("--mail-key")), hub_certificate,
                   option("--mail-hub-address"), host_port(option("--mail-smtp")))


@pytest.fixture(scope="session")
def mailbox(pytestconfig):
    box = Mailbox(*host_port(pytestconfig.getoption("--mail-mailbox")))
    yield box
    box.close()


@dataclass
class Exchange:
    """Sending mails and waiting for their answers, the exchanges recorded for the report."""

    counter: Counter
    mailbox: Mailbox
    exchanges: object
    wait: float
    quiet: float
    commune: str

    def send(self, mail: Mail, recipient: str | None = None) -> int:
        """Sends ``mail``; returns how many mails the mailbox held before (answers come after)."""
        host, port = self.counter.smtp
        self.exchanges.record({"method": "SMTP", "url": f"smtp://{host}:{port}", "counter": self.counter.identity.code,
                               "status": "sent", "request": mail.message_id.encode()})
        before = self.mailbox.count()
        self.counter.send(mail, recipient)
        return before

    def answers(self, message_id: str, after: int) -> list[Received]:
        """The hub's answers to ``message_id`` after the first ``after`` mails; fails after --mail-wait."""
        answers = self.mailbox.wait_for(message_id, after=after, timeout=self.wait)
        assert answers, f"no answer to {message_id} within {self.wait:g} s"
        return answers

    def answer(self, mail: Mail, answering: str | None = None) -> bytes:
        """``mail`` sent, the signed entity of its answer (In-Reply-To ``answering``, by default its own
        Message-ID), decrypted, the hub's signature verified."""
        after = self.send(mail)
        return self.counter.open(self.answers(answering or mail.message_id, after)[0].raw)

    def registration(self) -> tuple[str, bytes]:
        """A new registration (CRE) file of the counter, with its DEM name."""
        household = Household.invent(f"Mail {run_token()}", 0)
        return file_name(self.counter.identity.code), application_file(self.counter.identity.code, household,
                                                                          commune=self.commune)

    def null_flow(self) -> Mail:
        return self.counter.mail(entity([], text=f"Flux nul du guichet {self.counter.identity.code}"))

    def unanswered(self, mail: Mail) -> list[Received]:
        """What arrived for ``mail`` (refused: nothing should), waited for as long as a null flow sent
        after it takes to be answered, plus --mail-quiet seconds."""
        before = self.send(mail)
        later = self.null_flow()
        self.answers(later.message_id, self.send(later))
        self.mailbox.wait_for(mail.message_id, after=before, timeout=self.quiet)
        return [received for received in self.mailbox.since(before)
                if received.header("In-Reply-To") != later.message_id]


@pytest.fixture(scope="session")
def exchange(counter, mailbox, exchanges, pytestconfig) -> Exchange:
    option = pytestconfig.getoption
    return Exchange(counter, mailbox, exchanges, option("--mail-wait"), option("--mail-quiet"),
                    option("--mail-commune"))
