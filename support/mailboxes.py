"""Counters' mailboxes for the tests and the benchmarks: an SMTP server that reads dispatching's mails.

One aiosmtpd server plays the counters' mail servers: each mail is decrypted with the addressee
counter's key, its signature checked against the authority (as a counter's system must), its
delivery (the ``LIV…xml`` part) and DIS files read back, and applied to that counter's
:class:`~support.receivers.RecordingStore`. It can refuse mail for a while (4xx), as a mail server
under load does.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from cryptography import x509
from lxml import etree

from certificates import load_certificate, smime
from certificates.reading import load_private_key
from core.wire.codec import parse_datetime
from dispatching.receiver import ReceivedDelivery, ReceivedItem

from .receivers import Faults, RecordingStore

NS = "http://ws.metier.nuu.application.i2/"


@dataclass
class Mailbox:
    counter: str
    certificate: x509.Certificate
    key: object
    store: RecordingStore = field(default_factory=RecordingStore)
    mails: list[bytes] = field(default_factory=list)  # as received, raw
    unreadable: list[str] = field(default_factory=list)


class Mailboxes:
    """The SMTP handler (aiosmtpd's ``handle_<VERB>`` hooks) of the counters' mail servers."""

    def __init__(self, pki: dict, counters: list[str], faults: Faults | None = None):
        self.trusted = [load_certificate(Path(pki["ca"]["cert"]).read_bytes())]
        self.faults = faults
        self.boxes: dict[str, Mailbox] = {}
        for code in counters:
            entry = pki["counters"][code]
            self.boxes[entry["mailbox"].lower()] = Mailbox(code, load_certificate(Path(entry["cert"]).read_bytes()),
                                                           load_private_key(Path(entry["key"]).read_bytes()))
        self._lock = threading.Lock()

    def of(self, counter: str) -> Mailbox:
        return next(box for box in self.boxes.values() if box.counter == counter)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in self.boxes:
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.faults and self.faults.draw("error"):
            return "451 4.3.0 Serveur surchargé, réessayez plus tard"
        for address in envelope.rcpt_tos:
            self.read(self.boxes[address.lower()], envelope.original_content)
        return "250 OK"

    def read(self, box: Mailbox, raw: bytes) -> None:
        with self._lock:
            box.mails.append(raw)
        try:
            opened = smime.open_message(raw, hub_certificate=box.certificate, hub_key=box.key, trusted=self.trusted,
                                        crls=[], at=datetime.now(timezone.utc))
        except smime.SmimeError as error:
            box.unreadable.append(error.code)
            return
        parts = {part.get_filename(): part.get_payload(decode=True)
                 for part in BytesParser(policy=policy.compat32).parsebytes(opened.content).walk()
                 if part.get_filename()}
        manifest = next(data for name, data in parts.items() if name.startswith("LIV"))
        box.store.apply(delivery(manifest, parts), {})


def delivery(manifest: bytes, files: dict[str, bytes]) -> ReceivedDelivery:
    """A mail's delivery: the manifest's elements, each item with the attached file it names."""
    root = etree.fromstring(manifest)
    assert root.tag == f"{{{NS}}}recevoirDispatchParametres", root.tag
    items = tuple(ReceivedItem(
        sequence=int(element.findtext("sequence")), kind=element.findtext("typeChangement"),
        number=element.findtext("numUnique"), version=int(element.findtext("version")),
        at=parse_datetime(element.findtext("dateChangement")), origin=element.findtext("guichetOrigine"),
        file_name=element.findtext("nomFichier"), file=files.get(element.findtext("nomFichier") or ""),
    ) for element in root.findall("dispatch"))
    return ReceivedDelivery(root.findtext("idLivraison"), root.findtext("guichet"), int(root.findtext("abonnement")),
                            int(root.findtext("derniereSequence")), items)


def start_mailboxes(pki: dict, counters: list[str], faults: Faults | None = None) -> tuple[Mailboxes, Controller]:
    """The counters' mail servers on a free port; ``controller.port`` is the relay to configure."""
    handler = Mailboxes(pki, counters, faults)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=50 * 1024 * 1024)
    controller.start()
    return handler, controller
