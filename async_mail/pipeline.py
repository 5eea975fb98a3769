"""What happens to a mail once it is stored: every check, then the files, then the signed reply.

Checks come first, all of them, and no file is read before they pass: the S/MIME envelope and
signature (:mod:`certificates.smime`: decryption, digest, signature, single signer, chain to a trusted
authority, revocation, validity), encryption when required, the From address against the
certificate, the certificate against the register (it must be a counter's), the signingTime against
the moment of arrival, the attachments' names (``DEM<guichet>-<YYYYMMDDHHMM>-<seq>.xml``) against
that counter, each name once, no file part without a name. A mail that fails is quarantined with
the precise reason, and nothing of it is processed.

The From header names exactly one mailbox, in one header (RFC 5322 allows a list only with a Sender
header, and the hub identifies a counter by From alone): a mail with several From headers or
addresses has no sender anyone can trust, so it is quarantined without an answer.

Reply policy: a quarantined mail gets a signed (and encrypted) error reply only when its sender is
identified, i.e. when the signature verified, the certificate is registered to a counter and the
From address is the certificate's; otherwise anyone could make the hub mail a third party
(backscatter), so the mail is only kept in quarantine for operators.

The files go through core.wire.processing, exactly as on the SOAP channel, inside one database
transaction with the reply and the message's new status: a mail is processed entirely or not at
all, and a restart never processes a file twice.

Replays are told apart per counter, once the sender is identified: only the signing counter's own
processed mails count, so no counter's Message-ID or content can block or trigger another's answer.
The same signed content again (whatever the Message-ID, which nobody signs) is a replay: it is not
processed, the original reply is sent again to that counter. A Message-ID of the counter's used
again for other content is refused with a signed reply (``MAIL-ID-REUTILISE``): silently answering
with the old reply would hide the new files from the counter. The replay check runs in the
transaction that processes the mail, under the store's locks, so that copies of one mail handled at
the same moment (by two workers, or two hub processes) are processed once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Callable

from cryptography import x509
from sqlalchemy import Connection

from certificates import fingerprint, mailbox_of, smime
from core.adapters.repository import SqlUnitOfWork
from core.domain.errors import UnknownCertificate
from core.service_layer.identity import CertificateOwners
from core.wire import processing
from core.wire.processing import FileRefused

from . import messages
from .config import MailSettings
from .store import Earlier, MailStore

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"DEM(?P<counter>[0-9A-Z]{5})-(?P<stamp>\d{12})-(?P<seq>\d{1,6})\.xml")

# Quarantine reasons of our own (the S/MIME ones are certificates.smime's codes).
ENCRYPTION_REQUIRED = "MAIL-CHIFFREMENT"
SENDER = "MAIL-EXPEDITEUR"
CERTIFICATE = "MAIL-CERTIFICAT"
SIGNING_TIME = "MAIL-HORODATAGE"
FILES = "MAIL-FICHIERS"
HEADERS = "MAIL-ENTETES"
AMBIGUOUS_FROM = "MAIL-FROM-AMBIGU"  # several From headers, or several addresses in one
UNNAMED_FILE = "MAIL-NOM-ABSENT"  # an XML part, or a part declared an attachment, without a file name
DUPLICATE_NAME = "MAIL-NOM-DOUBLE"  # two files of one mail with the same name (their answers would too)
REPLAY = "MAIL-REJEU"  # the counter's signed content already processed: the original reply is sent again
REUSED_MESSAGE_ID = "MAIL-ID-REUTILISE"  # the counter's Message-ID already processed with other content


class Refused(Exception):
    def __init__(self, code: str, message: str, identified: "Sender | None" = None):
        super().__init__(message)
        self.code, self.message, self.identified = code, message, identified


@dataclass(frozen=True)
class Sender:
    counter: str
    address: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class Keys:
    """The hub's S/MIME identity and what it trusts, loaded once."""

    certificate: x509.Certificate
    key: object
    trusted: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    address: str


class Pipeline:
    def __init__(self, engine, settings: MailSettings, keys: Callable[[], Keys], store: MailStore | None = None,
                 owners: CertificateOwners | None = None):
        self.engine = engine
        self.settings = settings
        self.keys = keys
        self.store = store or MailStore(engine)
        self.owners = owners or CertificateOwners()

    def _read_only(self, readonly: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=True)

    def run(self, message: int, now: datetime, *, raw: bytes | None = None) -> str:
        """Check and process one stored message; returns its final status. ``raw``: the message's bytes,
        when it was stored already claimed (:meth:`MailStore.receive_many`); otherwise it is claimed
        here, unless another process holds it."""
        if raw is None:
            row = self.store.claim(message, now)
            if row is None:
                current = self.store.get(message)
                return current.status if current else "missing"
            raw = row.raw
        keys = self.keys()
        try:
            headers = _headers(raw)
        except Refused as refused:
            return self._quarantine(message, None, refused, keys, now)
        try:
            verified = self._open(raw, keys, now)
            sender = self._identify(headers, verified, now)
            return self._process(message, headers, verified, sender, keys, now)
        except Refused as refused:
            return self._quarantine(message, headers, refused, keys, now)

    # -- checks --------------------------------------------------------------------------------

    def _open(self, raw: bytes, keys: Keys, now: datetime) -> smime.Verified:
        try:
            verified = smime.open_message(raw, hub_certificate=keys.certificate, hub_key=keys.key,
                                          trusted=keys.trusted, crls=keys.crls, at=now)
        except smime.SmimeError as error:
            raise Refused(error.code, error.message) from None
        if self.settings.require_encryption and not verified.was_encrypted:
            raise Refused(ENCRYPTION_REQUIRED, "Les échanges doivent être chiffrés pour le hub")
        return verified

    def _identify(self, headers: "Headers", verified: smime.Verified, now: datetime) -> Sender:
        """The counter behind the mail: From is the signer certificate's mailbox, registered to it."""
        mailbox = (mailbox_of(verified.signer) or "").lower()
        if not headers.sender or headers.sender != mailbox:
            raise Refused(SENDER, f"L'expéditeur {headers.sender or '(absent)'} n'est pas l'adresse du certificat "
                                  f"signataire ({mailbox or 'aucune'})")
        try:
            counter = self.owners.owner(self._read_only, fingerprint(verified.signer), now)
        except UnknownCertificate as error:
            raise Refused(CERTIFICATE, f"Certificat signataire non enregistré pour un guichet : {error.message}") \
                from None
        return Sender(counter, mailbox, verified.signer)

    def _replayed(self, connection: Connection, headers: "Headers", verified: smime.Verified,
                  sender: Sender) -> Earlier | None:
        """The counter's processed mail this one replays (same signed content), if any; a Message-ID
        the counter already used for other content is refused, with an answer saying so."""
        earlier = self.store.earlier(connection, sender.counter, headers.message_id, verified.digest)
        if earlier is None or earlier.digest == verified.digest:
            return earlier
        raise Refused(REUSED_MESSAGE_ID, f"Le Message-ID de ce message a déjà servi au message n° {earlier.id} du "
                                         "guichet, de contenu différent : renvoyez-le avec un nouveau Message-ID",
                      sender)

    def _check_signing_time(self, verified: smime.Verified, sender: Sender, now: datetime) -> None:
        """After the replay check, so that a replay still gets its original answer for as long as the
        original is kept (the retention period, more than twice this window: a replay whose original
        is erased is refused here)."""
        window = timedelta(hours=self.settings.signing_window_hours)
        if verified.signing_time is None or abs(now - verified.signing_time) > window:
            raise Refused(SIGNING_TIME, "Date de signature absente ou trop éloignée de la réception "
                                        f"(au plus {self.settings.signing_window_hours:g} h)", sender)

    def _files(self, verified: smime.Verified, sender: Sender) -> list[tuple[str, bytes]]:
        """The named files, all checked before any is read; the whole mail is refused otherwise, so that
        nothing is half done and every file a counter sent gets its own answer."""
        try:
            files = messages.attachments(verified.content)
        except ValueError as error:
            raise Refused(FILES, f"Contenu signé illisible : {error}", sender) from None
        unnamed = sum(1 for name, _ in files if not name)
        if unnamed:
            raise Refused(UNNAMED_FILE, f"{unnamed} pièce(s) XML ou jointe(s) sans nom de fichier "
                                        "(DEM<guichet>-<AAAAMMJJHHMM>-<seq>.xml)", sender)
        if not files:
            raise Refused(FILES, "Aucun fichier d'interface joint (DEM<guichet>-<AAAAMMJJHHMM>-<seq>.xml)", sender)
        if len(files) > self.settings.max_files:
            raise Refused(FILES, f"Au plus {self.settings.max_files} fichiers par message", sender)
        for name, _ in files:
            match = FILE_NAME.fullmatch(name)
            if match is None:
                raise Refused(FILES, f"Nom de fichier non conforme : {name[:80]}", sender)
            if match["counter"] != sender.counter:
                raise Refused(FILES, f"Le fichier {name} est au nom du guichet {match['counter']}, le certificat "
                                     f"est celui de {sender.counter}", sender)
        seen: set[str] = set()
        for name, _ in files:
            if name in seen:
                raise Refused(DUPLICATE_NAME, f"Deux fichiers nommés {name} : chaque fichier d'un message porte un "
                                              "nom différent", sender)
            seen.add(name)
        return files

    # -- outcomes ------------------------------------------------------------------------------

    def _process(self, message: int, headers: "Headers", verified: smime.Verified, sender: Sender, keys: Keys,
                 now: datetime) -> str:
        """The replay check, the checks left and the files, in one transaction: the replay check holds
        its locks until the mail is marked processed, so two copies of a mail handled at once are one
        processed and one replay. A refusal (Refused) rolls everything back."""
        with self.engine.connect() as connection, connection.begin():
            original = self._replayed(connection, headers, verified, sender)
            if original is None:
                self._check_signing_time(verified, sender, now)
                files = self._files(verified, sender)
                reply = self._answer(connection, headers, sender, files, keys, now)
                reply_id = self.store.answered(message, sender.counter, verified.digest, sender.address,
                                               reply.message_id, reply.raw, now, connection)
        if original is not None:
            return self._replay(message, original, now)
        log.info("mail %d processed: counter=%s files=%d reply=%d", message, sender.counter, len(files), reply_id)
        return "processed"

    def _answer(self, connection: Connection, headers: "Headers", sender: Sender, files: list[tuple[str, bytes]],
                keys: Keys, now: datetime) -> messages.Reply:
        """Each file through core, as on the SOAP channel, within ``connection``; the signed reply."""
        joined = lambda readonly=False: SqlUnitOfWork(self.engine, within=connection)  # noqa: E731
        parts = []
        for name, data in files:
            answer_name = "RET" + name[3:]
            try:
                answer = processing.process(joined, sender.counter, data, now)
            except FileRefused as refused:
                parts.append(messages.refusal(answer_name.replace(".xml", ".txt"), name, refused))
                continue
            parts.append((answer_name, answer.file, "text/xml"))
            if answer.attestation is not None:
                parts.append(("ATT" + name[3:].replace(".xml", ".pdf"), answer.attestation, "application/pdf"))
        summary = f"{len(files)} fichier(s) traité(s) par le hub pour le guichet {sender.counter}."
        return messages.reply(keys, sender, headers, summary, parts, now)

    def _quarantine(self, message: int, headers: "Headers | None", refused: Refused, keys: Keys,
                    now: datetime) -> str:
        reply_id = None
        sender = refused.identified
        if sender is not None and headers is not None:
            text = f"Message refusé par le hub ({refused.code}) : {refused.message}. Aucun fichier n'a été traité."
            reply = messages.reply(keys, sender, headers, text, [], now)
            reply_id = self.store.enqueue(sender.address, reply.message_id, reply.raw, now)
        self.store.quarantine(message, refused.code, refused.message, now,
                              counter=sender.counter if sender else None, reply=reply_id)
        log.warning("mail %d quarantined: %s", message, refused.code)
        return "quarantined"

    def _replay(self, message: int, original: Earlier, now: datetime) -> str:
        """The original reply, as it was, to the counter it answered (the one that signed this mail).

        The original and its reply go together when their retention ends (``MailStore.purge``); one
        that went between the replay check and this finds no reply to send again, and says so."""
        first = self.store.reply_of(original.reply_id) if original.reply_id is not None else None
        if first is None:
            self.store.quarantine(message, REPLAY, f"Rejeu du message n° {original.id} : réponse d'origine "
                                                   "effacée (durée de conservation échue), rien n'est renvoyé",
                                  now, counter=original.counter)
            log.info("mail %d is a replay of %d: original reply no longer kept", message, original.id)
            return "quarantined"
        reply_id = self.store.enqueue(first.recipient, first.message_id, first.raw, now)
        self.store.quarantine(message, REPLAY, f"Rejeu du message n° {original.id} : réponse d'origine renvoyée",
                              now, counter=original.counter, reply=reply_id)
        log.info("mail %d is a replay of %d: original reply sent again", message, original.id)
        return "quarantined"


@dataclass(frozen=True)
class Headers:
    message_id: str | None
    sender: str | None  # the From address, lower case
    subject: str


def _headers(raw: bytes) -> Headers:
    """The outer headers the pipeline reads (nobody signed them): Message-ID, the one From, Subject."""
    try:
        parsed = messages.outer_headers(raw)
        message_id = (parsed.get("Message-ID") or "").strip() or None
        froms = [str(value) for value in parsed.get_all("From") or []]
        addresses = getaddresses(froms)
        subject = str(parsed.get("Subject") or "")
    except Exception as error:  # noqa: BLE001 - any malformed header is a refusal, never a crash
        raise Refused(HEADERS, f"En-têtes illisibles : {type(error).__name__}") from None
    if len(froms) > 1 or len(addresses) > 1:  # the reason names no address: nobody is identified
        raise Refused(AMBIGUOUS_FROM, f"Expéditeur ambigu : {len(froms)} en-tête(s) From, {len(addresses)} "
                                      "adresse(s) ; un seul expéditeur est admis")
    address = addresses[0][1].lower() if addresses else ""
    return Headers(message_id, address or None, subject)
