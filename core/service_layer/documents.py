"""Supporting documents' use cases: deposit, list, read, change, delete (to quarantine), restore, journal.

Every use case checks, in this order: the acting counter, the application (it exists; writes: it
is active), the territory (a counter acts on its own territory's applications only), then the
profile against the document's sensitivity (:data:`core.domain.documents.ACCESS`). A request may
name its user's profile (``requested``) to act with fewer rights than the counter's, never more.

Bytes go to the document store before the transaction opens (an upload must not hold the register's
write lock), under a fresh random key, and are removed again if the transaction does not commit, a
refusal included: the register never describes bytes it does not hold.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.domain.application import Application
from core.domain.codes import ApplicationState
from core.domain.document_content import inspect
from core.domain.documents import (
    TYPES,
    Action,
    DeletionMotive,
    Document,
    DocumentState,
    JournalEvent,
    JournalLine,
    JournalQuery,
    Metadata,
    Profile,
    allows,
    check_limit,
    describe,
    effective_profile,
    journal_line,
    label_of,
)
from core.domain.errors import (
    ApplicationNotActive,
    ApplicationNotFound,
    DocumentNotFound,
    DocumentNotVisible,
    DocumentUnreadable,
    InvalidDocumentMetadata,
    UnknownCounter,
)
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Operation, authorize
from core.domain.vocabulary import RegistryNames

from .services import _acting_counter, existing_application
from .unit_of_work import DocumentStore, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """An application's documents as a profile sees them."""

    number: str
    profile: Profile
    documents: list[Document]
    readable: set[str]  # ids of those the profile may also read


def deposit(uow: UnitOfWork, store: DocumentStore, number: RegistrationNumber, metadata: Metadata,
            client_name: str | None, content: bytes, counter_code: str, now: datetime,
            requested: Profile | None = None) -> Document:
    """Add a document to an application: its content checked, hashed, sealed in the store, journaled."""
    metadata = metadata.checked()
    inspected = inspect(content)  # before the transaction: it takes time and needs no lock
    digest = hashlib.sha256(content).hexdigest()
    key = uuid.uuid4().hex
    store.put(key, content)  # before the transaction: an upload must not hold the register's write lock
    stored = True
    try:
        with uow:
            counter, profile = _writer(uow, number, counter_code, requested)
            _may_write(profile, metadata.sensitive)
            check_limit(metadata.type, uow.documents.count_active(str(number), metadata.type))
            document = Document(uuid.uuid4().hex, str(number), counter.territory, metadata, label_of(client_name),
                                inspected.media_type, inspected.size, digest, key, DocumentState.ACTIVE, now,
                                counter.code, now, counter.code, JournalEvent.CREATION)
            uow.documents.add(document)
            uow.documents.journal([journal_line(document, JournalEvent.CREATION, now, counter.code,
                                                describe(JournalEvent.CREATION, metadata,
                                                         f"(fichier {inspected.media_type}, SHA-256 {digest})"),
                                                with_hash=True)])
            _record(uow, number, now)
            uow.commit()
            stored = False  # committed: the bytes stay
    finally:
        if stored:
            store.delete(key)
    return document


def list_documents(uow: UnitOfWork, number: RegistrationNumber, counter_code: str,
                   requested: Profile | None = None, include_quarantined: bool = False) -> Listing:
    """The application's documents the profile may see in a list (quarantined ones: writers only)."""
    with uow:
        counter, profile, _ = _reader(uow, number, counter_code, requested)
        if include_quarantined and not allows(profile, Action.WRITE, False):
            raise DocumentNotVisible("Seul un guichet voit les pièces en quarantaine", "profil")
        documents = [d for d in uow.documents.of_application(str(number), include_quarantined)
                     if allows(profile, Action.LIST, d.sensitive)]
        readable = {d.id for d in documents if allows(profile, Action.READ, d.sensitive)}
        return Listing(str(number), profile, documents, readable)


def read(uow: UnitOfWork, store: DocumentStore, number: RegistrationNumber, document_id: str, counter_code: str,
         requested: Profile | None = None) -> tuple[Document, bytes]:
    """A document and its bytes, checked against the hash journaled at its deposit."""
    with uow:
        _, profile, _ = _reader(uow, number, counter_code, requested)
        document = _document(uow, number, document_id)
        if document.state is not DocumentState.ACTIVE and not allows(profile, Action.WRITE, document.sensitive):
            raise DocumentNotFound(property="idPiece")
        if not allows(profile, Action.READ, document.sensitive):
            raise DocumentNotVisible(f"Le profil {profile.label} ne donne pas accès à cette pièce", "idPiece")
    content = store.get(document.storage_key)
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise DocumentUnreadable(property="idPiece")
    return document, content


def change(uow: UnitOfWork, number: RegistrationNumber, document_id: str, metadata: Metadata, counter_code: str,
           now: datetime, requested: Profile | None = None) -> Document:
    """New category, type, relevance or end of validity; the journal says which field went from what to what."""
    metadata = metadata.checked()
    with uow:
        counter, profile = _writer(uow, number, counter_code, requested)
        document = _document(uow, number, document_id, for_update=True)
        _may_write(profile, document.sensitive or metadata.sensitive)
        if metadata.type != document.metadata.type:
            check_limit(metadata.type, uow.documents.count_active(str(number), metadata.type))
        changed, notes = document.changed(metadata, counter.code, now)
        if not notes:
            return document
        uow.documents.save(changed)
        uow.documents.journal([journal_line(changed, JournalEvent.MODIFICATION, now, counter.code,
                                            describe(JournalEvent.MODIFICATION, changed.metadata, " ".join(notes)))])
        _record(uow, number, now)
        uow.commit()
    return changed


def delete(uow: UnitOfWork, number: RegistrationNumber, document_id: str, motive: str, counter_code: str,
           now: datetime, requested: Profile | None = None) -> Document:
    """Delete a document: it goes to quarantine (bytes kept, out of lists), journaled as both, as the SNE does."""
    if not DeletionMotive.has(motive):
        raise InvalidDocumentMetadata(f"Motif de suppression inconnu : {motive}", "motifSuppression")
    with uow:
        counter, profile = _writer(uow, number, counter_code, requested)
        document = _document(uow, number, document_id, for_update=True)
        _may_write(profile, document.sensitive)
        quarantined = document.quarantined(counter.code, now)
        uow.documents.save(quarantined)
        reason = f": Motif : {DeletionMotive(motive).label}"
        uow.documents.journal([
            journal_line(quarantined, JournalEvent.DELETION, now, counter.code,
                         describe(JournalEvent.DELETION, document.metadata, reason)),
            journal_line(quarantined, JournalEvent.QUARANTINE, now, counter.code,
                         describe(JournalEvent.QUARANTINE, document.metadata, reason)),
        ])
        _record(uow, number, now)
        uow.commit()
    return quarantined


def restore(uow: UnitOfWork, number: RegistrationNumber, document_id: str, counter_code: str, now: datetime,
            requested: Profile | None = None) -> Document:
    """Bring a quarantined document back, within its type's limit."""
    with uow:
        counter, profile = _writer(uow, number, counter_code, requested)
        document = _document(uow, number, document_id, for_update=True)
        _may_write(profile, document.sensitive)
        restored = document.restored(counter.code, now)
        check_limit(document.metadata.type, uow.documents.count_active(str(number), document.metadata.type))
        uow.documents.save(restored)
        uow.documents.journal([journal_line(restored, JournalEvent.RESTORATION, now, counter.code,
                                            describe(JournalEvent.RESTORATION, document.metadata))])
        _record(uow, number, now)
        uow.commit()
    return restored


class StoredDocuments:
    """The retention purge's documents (``core.service_layer.retention.ApplicationDocuments``): the
    rows and their journal go in the purge's transaction, the bytes right away. Bytes cannot roll back: a purge that
    fails after some are gone is retried whole, and deleting absent bytes does nothing.

    ``store`` is opened only for an application that holds documents, so a deployment without a
    document store purges applications without documents, and stops at one with (the run is
    retried the next day, once the store is configured)."""

    def __init__(self, store: Callable[[], DocumentStore]):
        self._open_store = store
        self._store: DocumentStore | None = None

    def purge(self, uow: UnitOfWork, number: str) -> int:
        keys = uow.documents.erase_of_application(number)
        if keys and self._store is None:
            self._store = self._open_store()
        for key in keys:
            self._store.delete(key)
        return len(keys)


@dataclass
class RekeyReport:
    moved: int = 0  # sealed again with the current key
    kept: int = 0  # already sealed with it
    gone: int = 0  # purged between the listing and their turn: left alone
    unreadable: int = 0  # absent or altered in the store: the older keys must stay until they are dealt with

    def __str__(self) -> str:
        return (f"pièces scellées à nouveau : {self.moved} ; déjà avec la clé courante : {self.kept} ; "
                f"effacées entre-temps : {self.gone} ; illisibles : {self.unreadable}")


def rekey(unit_of_work: Callable[..., UnitOfWork], store: DocumentStore,
          progress: Callable[[int], None] = lambda done: None) -> RekeyReport:
    """Seal every stored document again with the store's current key (after a key is added).

    Each document is resealed with its row locked, so that a purge running meanwhile either erases
    it after the reseal or has erased it before (then it is skipped): a reseal never writes back
    bytes a purge erased. A document whose bytes are absent or altered is counted and logged by its
    storage key (random, nothing of the household) and the walk goes on. Safe to repeat and to
    interrupt."""
    report, after = RekeyReport(), None
    while True:
        with unit_of_work(readonly=True) as uow:
            keys = uow.documents.storage_keys(after, 500)
        if not keys:
            return report
        for key in keys:
            _reseal(unit_of_work, store, key, report)
            progress(1)
        after = keys[-1]


def document_count(uow: UnitOfWork) -> int:
    with uow:
        return uow.documents.count()


def _reseal(unit_of_work: Callable[..., UnitOfWork], store: DocumentStore, key: str, report: RekeyReport) -> None:
    with unit_of_work() as uow:  # nothing is written: leaving it rolls back and releases the lock
        if not uow.documents.lock_storage_key(key):
            report.gone += 1
            return
        try:
            moved = store.reseal(key)
        except DocumentUnreadable:
            log.warning("document object %s unreadable, not resealed", key)
            report.unreadable += 1
            return
        if moved:
            report.moved += 1
        else:
            report.kept += 1


def journal(uow: UnitOfWork, query: JournalQuery) -> list[JournalLine]:
    """The journal of an application's documents, whole: the operator's view (CLI)."""
    number = RegistrationNumber.parse(query.number)
    with uow:
        if uow.applications.get(number) is None:
            raise ApplicationNotFound(f"Aucune demande n° {number.display()}", RegistryNames.NUMBER)
        return uow.documents.search_journal(query)


def counter_journal(uow: UnitOfWork, query: JournalQuery, counter_code: str,
                    requested: Profile | None = None) -> tuple[Profile, list[JournalLine]]:
    """A counter's view of the journal: the lines of the documents its profile may list, and that profile."""
    number = RegistrationNumber.parse(query.number)
    with uow:
        _, profile, _ = _reader(uow, number, counter_code, requested)
        return profile, [line for line in uow.documents.search_journal(query)
                         if allows(profile, Action.LIST, _type_sensitive(line.type))]


JOURNAL_COLUMNS = ("date", "evenement", "categorie", "type", "guichet", "idPiece", "sha256", "description")


def journal_csv(lines: list[JournalLine]) -> str:
    """The journal as CSV (semicolon-separated, as French spreadsheets read it), one line per event."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(JOURNAL_COLUMNS)
    for line in lines:
        writer.writerow([line.at.isoformat(timespec="milliseconds"), line.event.label, line.category, line.type,
                         line.actor, line.document_id, line.sha256 or "", line.description])
    return out.getvalue()


def set_profile(uow: UnitOfWork, counter_code: str, profile: Profile) -> None:
    """Grant a counter a document profile (a consultant's counter reads, a registering one writes)."""
    with uow:
        if uow.counters.get(counter_code) is None:
            raise UnknownCounter(f"Guichet inconnu : {counter_code}", "counter")
        uow.documents.set_profile(counter_code, profile)
        uow.commit()


def granted_profile(uow: UnitOfWork, counter: Counter) -> Profile:
    """A counter's document profile: the one set for it, else a registering counter's (``guichet``)."""
    return uow.documents.profile(counter.code) or Profile.COUNTER


# -- shared steps -------------------------------------------------------------------------------


def _record(uow: UnitOfWork, number: RegistrationNumber, now: datetime) -> None:
    """What the application keeps of its documents: the day they last changed, the categories it holds."""
    categories = {document.metadata.category for document in uow.documents.of_application(str(number))}
    uow.applications.record_documents(number, categories, now.date())


def _type_sensitive(type_code: str) -> bool:
    return TYPES[type_code].sensitive if type_code in TYPES else True


def _reader(uow: UnitOfWork, number: RegistrationNumber, counter_code: str,
            requested: Profile | None) -> tuple[Counter, Profile, Application]:
    counter = _acting_counter(uow, counter_code)
    application = existing_application(uow, number)
    authorize(counter, Operation.READ, application.territory)
    return counter, effective_profile(granted_profile(uow, counter), requested), application


def _writer(uow: UnitOfWork, number: RegistrationNumber, counter_code: str,
            requested: Profile | None) -> tuple[Counter, Profile]:
    counter = _acting_counter(uow, counter_code)
    application = existing_application(uow, number, for_update=True)  # serialises deposits: limits hold
    authorize(counter, Operation.UPDATE, application.territory)
    profile = effective_profile(granted_profile(uow, counter), requested)
    if application.state is not ApplicationState.ACTIVE:
        raise ApplicationNotActive(f"La demande n° {number.display()} n'est pas active", RegistryNames.NUMBER)
    return counter, profile


def _may_write(profile: Profile, sensitive: bool) -> None:
    if not allows(profile, Action.WRITE, sensitive):
        raise DocumentNotVisible(f"Le profil {profile.label} ne dépose, ne modifie ni ne supprime de pièces", "profil")


def _document(uow: UnitOfWork, number: RegistrationNumber, document_id: str, for_update: bool = False) -> Document:
    document = uow.documents.get(document_id, for_update=for_update) if _looks_like_id(document_id) else None
    if document is None or document.number != str(number):
        raise DocumentNotFound(property="idPiece")
    return document


def _looks_like_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
