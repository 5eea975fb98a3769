"""Supporting documents' use cases on real databases and a real sealed filesystem store."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.adapters.document_store import FilesystemStore, Keyring, SealedStore, add_key, sealed_with
from core.domain.application import Cancellation
from core.domain.calendar import PARIS
from core.domain.codes import ApplicationState, CounterType
from core.domain.documents import JournalEvent, JournalQuery, Metadata, Profile
from core.domain.errors import (
    ApplicationNotActive,
    DocumentLimitReached,
    DocumentNotFound,
    DocumentNotVisible,
    DocumentStateConflict,
    DocumentUnreadable,
    OutsideTerritory,
    RegisterError,
)
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Territory
from core.domain.search import SearchCriteria
from core.service_layer import documents, retention, services
from core.wire import processing, schemas
from core.wire.codec import NS
from support import documents as samples

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
ID_CARD = Metadata("IDD", "CID", "PR")
DISABILITY = Metadata("HANDI", "HANDI", "PR")  # a sensitive type


@pytest.fixture
def store(tmp_path) -> SealedStore:
    add_key(tmp_path / "keys", "k1")
    return SealedStore(FilesystemStore(tmp_path / "documents"), Keyring.load(tmp_path / "keys"))


@pytest.fixture
def register_of(uow):
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS:
        services.add_counter(uow(), counter)
    services.add_territory(uow(), Territory("054", "Meurthe-et-Moselle", frozenset({"54"})))
    services.add_counter(uow(), Counter("NANCY", "Nancy", CounterType.MUNICIPALITY, "054"))
    for code, profile in (("CSIMP", Profile.SIMPLE), ("CDEMA", Profile.APPLICATION), ("CSENS", Profile.SENSITIVE)):
        services.add_counter(uow(), Counter(code, f"Consultant {code}", CounterType.OTHER_RESERVATION_HOLDER, "057"))
        documents.set_profile(uow(), code, profile)
    return uow


@pytest.fixture
def number(register_of) -> RegistrationNumber:
    return services.register(register_of(), demo.household_form(), NOW.date(), "DEMOC", NOW).number


def deposit(uow, store, number, metadata=ID_CARD, content=None, counter="DEMOB", name="recto.pdf", **options):
    content = samples.pdf() if content is None else content
    return documents.deposit(uow(), store, number, metadata, name, content, counter, NOW, **options)


def stored_files(store) -> list[Path]:
    return [p for p in Path(store.inner.root).rglob("*") if p.is_file()] if Path(store.inner.root).exists() else []


def test_a_deposit_is_described_hashed_sealed_and_journaled(register_of, store, number):
    content = samples.pdf(100_000)
    document = deposit(register_of, store, number, content=content, name="../../etc/Avis 2026.pdf")
    assert (document.media_type, document.size, document.label) == ("application/pdf", 100_000, "Avis 2026.pdf")
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    [file] = stored_files(store)
    assert file.name == document.storage_key and "Avis" not in str(file)
    sealed = file.read_bytes()
    assert content[:2000] not in sealed and sealed_with(sealed) == "k1"
    read, back = documents.read(register_of(readonly=True), store, number, document.id, "DEMOE")
    assert back == content and read == document
    [line] = documents.journal(register_of(readonly=True), JournalQuery(str(number)))
    assert (line.event, line.sha256, line.actor) == (JournalEvent.CREATION, document.sha256, "DEMOB")
    assert line.description.startswith("Ajout d'une pièce de catégorie IDD et de type CID")


@pytest.mark.parametrize("name", sorted(samples.HOSTILE))
def test_hostile_content_stores_nothing(register_of, store, number, name):
    make, code = samples.HOSTILE[name]
    with pytest.raises(RegisterError) as refused:
        deposit(register_of, store, number, content=make())
    assert refused.value.code == code
    assert stored_files(store) == []
    with register_of(readonly=True) as work:
        assert work.documents.of_application(str(number), include_quarantined=True) == []


def test_another_territorys_application_is_refused_and_nothing_stored(register_of, store, number):
    with pytest.raises(OutsideTerritory):
        deposit(register_of, store, number, counter="NANCY")
    assert stored_files(store) == []
    document = deposit(register_of, store, number)
    for attempt in (lambda: documents.read(register_of(), store, number, document.id, "NANCY"),
                    lambda: documents.list_documents(register_of(), number, "NANCY"),
                    lambda: documents.delete(register_of(), number, document.id, "OBS", "NANCY", NOW)):
        with pytest.raises(OutsideTerritory):
            attempt()


def test_pay_slips_stop_at_fifteen_and_a_restoration_respects_the_limit(register_of, store, number):
    slip = Metadata("RESMEN", "FPAIE")
    slips = [deposit(register_of, store, number, slip, samples.png()) for _ in range(15)]
    with pytest.raises(DocumentLimitReached):
        deposit(register_of, store, number, slip, samples.png())
    assert len(stored_files(store)) == 15  # the refused one's bytes are gone again
    documents.delete(register_of(), number, slips[0].id, "OBS", "DEMOB", NOW)
    deposit(register_of, store, number, slip, samples.png())
    with pytest.raises(DocumentLimitReached):
        documents.restore(register_of(), number, slips[0].id, "DEMOB", NOW)


def test_delete_quarantines_and_restore_brings_back_with_the_journal_of_each_step(register_of, store, number):
    document = deposit(register_of, store, number)
    later = NOW + timedelta(hours=1)
    documents.change(register_of(), number, document.id, Metadata("IDD", "TSD", "IV", date(2027, 6, 30)), "DEMOC",
                     later)
    quarantined = documents.delete(register_of(), number, document.id, "ERR", "DEMOC", later + timedelta(hours=1))
    assert documents.list_documents(register_of(), number, "DEMOB").documents == []
    assert [d.id for d in documents.list_documents(register_of(), number, "DEMOB",
                                                   include_quarantined=True).documents] == [quarantined.id]
    with pytest.raises(DocumentStateConflict):
        documents.delete(register_of(), number, document.id, "ERR", "DEMOC", later)
    with pytest.raises(DocumentNotFound):  # a consultant does not see quarantine
        documents.read(register_of(), store, number, document.id, "CSENS")
    restored = documents.restore(register_of(), number, document.id, "DEMOE", later + timedelta(hours=2))
    assert (restored.metadata.type, restored.metadata.valid_until, restored.changed_by) == ("TSD", date(2027, 6, 30),
                                                                                            "DEMOE")
    lines = documents.journal(register_of(), JournalQuery(str(number)))
    assert [line.event for line in lines] == [JournalEvent.RESTORATION, JournalEvent.QUARANTINE,
                                              JournalEvent.DELETION, JournalEvent.MODIFICATION, JournalEvent.CREATION]
    assert "Le champ CodeType est passé de la valeur CID à la valeur TSD." in lines[3].description
    assert "Le champ IndicePertinence est passé de la valeur PR à la valeur IV." in lines[3].description
    assert lines[2].description.endswith("Motif : Pièce erronée ou mal classée")


def test_the_journal_is_searched_by_category_type_event_and_dates_and_exported_as_csv(register_of, store, number):
    first = deposit(register_of, store, number)
    deposit(register_of, store, number, Metadata("LOGACT", "JUSTL"), samples.jpeg())
    documents.delete(register_of(), number, first.id, "OBS", "DEMOB", NOW + timedelta(days=2))
    search = lambda **criteria: documents.journal(register_of(), JournalQuery(str(number), **criteria))  # noqa: E731
    assert len(search()) == 4
    assert {line.type for line in search(category="LOGACT")} == {"JUSTL"}
    assert [line.event for line in search(type="CID")] == [JournalEvent.QUARANTINE, JournalEvent.DELETION,
                                                           JournalEvent.CREATION]
    assert [line.event for line in search(event=JournalEvent.DELETION)] == [JournalEvent.DELETION]
    assert len(search(since=NOW + timedelta(days=1))) == 2
    assert len(search(until=NOW + timedelta(days=1))) == 2
    rows = list(csv.reader(io.StringIO(documents.journal_csv(search())), delimiter=";"))
    assert rows[0] == list(documents.JOURNAL_COLUMNS)
    assert [row[1] for row in rows[1:]] == ["Mise en quarantaine", "Suppression", "Création", "Création"]


# What each profile gets, row by row, of a non-sensitive and a sensitive document.
PROFILE_ROWS = [
    # counter, sees in the list (non-sensitive, sensitive), reads (non-sensitive, sensitive), writes
    ("CSIMP", (True, False), (False, False), False),
    ("CDEMA", (True, False), (True, False), False),
    ("CSENS", (True, True), (True, True), False),
    ("DEMOE", (True, True), (True, True), True),
]


@pytest.mark.parametrize("counter, listed, readable, writes", PROFILE_ROWS)
def test_profiles_row_by_row(register_of, store, number, counter, listed, readable, writes):
    plain = deposit(register_of, store, number)
    sensitive = deposit(register_of, store, number, DISABILITY)
    listing = documents.list_documents(register_of(), number, counter)
    assert tuple(d.id in {x.id for x in listing.documents} for d in (plain, sensitive)) == listed
    for document, allowed in zip((plain, sensitive), readable):
        if allowed:
            assert documents.read(register_of(), store, number, document.id, counter)[1] == samples.pdf()
        else:
            with pytest.raises(DocumentNotVisible):
                documents.read(register_of(), store, number, document.id, counter)
    profile, lines = documents.counter_journal(register_of(), JournalQuery(str(number)), counter)
    assert profile is listing.profile
    journal_types = {line.type for line in lines}
    assert ("HANDI" in journal_types) is listed[1]
    if writes:
        deposit(register_of, store, number, counter=counter)
    else:
        with pytest.raises(DocumentNotVisible):
            deposit(register_of, store, number, counter=counter)
        with pytest.raises(DocumentNotVisible):
            documents.delete(register_of(), number, plain.id, "OBS", counter, NOW)


def test_a_request_acts_with_its_users_profile_within_the_counters(register_of, store, number):
    sensitive = deposit(register_of, store, number, DISABILITY)
    with pytest.raises(DocumentNotVisible):
        documents.read(register_of(), store, number, sensitive.id, "DEMOB", requested=Profile.APPLICATION)
    with pytest.raises(DocumentNotVisible):
        documents.list_documents(register_of(), number, "CDEMA", requested=Profile.SENSITIVE)


def test_a_cancelled_application_keeps_its_documents_readable_but_takes_no_new_one(register_of, store, number):
    document = deposit(register_of, store, number)
    services.cancel(register_of(), number, Cancellation(NOW.date(), "RADABA"), "DEMOC", NOW)
    assert documents.read(register_of(), store, number, document.id, "DEMOC")[1] == samples.pdf()
    with pytest.raises(ApplicationNotActive):
        deposit(register_of, store, number)


def test_altered_or_swapped_bytes_are_refused_not_served(register_of, store, number):
    first = deposit(register_of, store, number)
    second = deposit(register_of, store, number, Metadata("LOGACT", "JUSTL"), samples.png())
    path = lambda d: Path(store.inner.root) / d.storage_key[:2] / d.storage_key  # noqa: E731
    path(first).write_bytes(path(second).read_bytes())  # a valid object, under another key
    with pytest.raises(DocumentUnreadable):
        documents.read(register_of(), store, number, first.id, "DEMOB")
    sealed = bytearray(path(second).read_bytes())
    sealed[-1] ^= 1
    path(second).write_bytes(bytes(sealed))
    with pytest.raises(DocumentUnreadable):
        documents.read(register_of(), store, number, second.id, "DEMOB")


def test_keys_rotate_old_objects_open_and_rekey_moves_them_to_the_new_key(register_of, store, number, tmp_path):
    old = deposit(register_of, store, number)
    add_key(tmp_path / "keys", "k2")
    rotated = SealedStore(store.inner, Keyring.load(tmp_path / "keys"))
    new = deposit(register_of, rotated, number, Metadata("LOGACT", "JUSTL"))
    assert sealed_with(rotated.inner.get(new.storage_key)) == "k2"
    assert documents.read(register_of(), rotated, number, old.id, "DEMOB")[1] == samples.pdf()
    assert [rotated.reseal(key) for key in (old.storage_key, new.storage_key)] == [True, False]
    only_k2 = SealedStore(store.inner, Keyring({"k2": rotated.keyring.keys["k2"]}, "k2"))
    assert documents.read(register_of(), only_k2, number, old.id, "DEMOB")[1] == samples.pdf()


def test_rekey_skips_a_document_purged_during_the_walk_and_goes_on_past_unreadable_bytes(register_of, store, number,
                                                                                        tmp_path):
    cancelled = [services.register(register_of(), demo.household_form("Martin", first, date(1990, 5, 5)),
                                   NOW.date(), "DEMOC", NOW).number for first in ("Lea", "Noe")]
    owners = {deposit(register_of, store, owner).storage_key: owner for owner in cancelled}
    damaged = deposit(register_of, store, number)
    store.inner.delete(damaged.storage_key)
    for owner in cancelled:
        services.cancel(register_of(), owner, Cancellation(NOW.date(), "RADABA"), "DEMOC", NOW)
    walk = sorted([damaged.storage_key, *owners])
    victim_key = next(key for key in walk[1:] if key in owners)  # one the walk reaches after its first step
    kept_key = next(key for key in owners if key != victim_key)
    add_key(tmp_path / "keys", "k2")
    rotated = SealedStore(store.inner, Keyring.load(tmp_path / "keys"))
    purges = []

    def purge_meanwhile(done):  # the daily purge erases the victim's application once the walk is under way
        if not purges:
            purges.append(retention.run(register_of, NOW.date() + timedelta(days=400), NOW + timedelta(days=400),
                                        documents.StoredDocuments(lambda: rotated), [owners[victim_key]]))

    report = documents.rekey(register_of, rotated, progress=purge_meanwhile)
    assert purges[0].documents == 1
    assert (report.moved, report.kept, report.gone, report.unreadable) == (1, 0, 1, 1)
    assert sealed_with(rotated.inner.get(kept_key)) == "k2"
    with pytest.raises(DocumentUnreadable):  # the purged bytes were not written back
        rotated.inner.get(victim_key)


def test_unknown_documents_and_ids_that_are_not_ours(register_of, store, number):
    for document_id in ("0" * 32, "../../etc/passwd", ""):
        with pytest.raises(DocumentNotFound):
            documents.read(register_of(), store, number, document_id, "DEMOB")


def test_documents_rows_hold_no_bytes(register_of, store, number):
    deposit(register_of, store, number, content=samples.pdf(50_000))
    with register_of(readonly=True) as work:
        row = work.connection.execute(select(orm.documents)).mappings().one()
    assert all(not isinstance(value, bytes) for value in row.values())


# -- what the application keeps of its documents ----------------------------------------------------


def found(uow, counter: str, *categories: str) -> list[str]:
    return services.search(uow(readonly=True), SearchCriteria(document_categories=categories), counter).numbers


def test_the_application_keeps_the_day_its_documents_changed_and_its_version(register_of, store, number):
    with register_of(readonly=True) as work:
        before = work.applications.get(number)
    assert before.documents_changed_on is None
    document = deposit(register_of, store, number)
    later = NOW + timedelta(days=3)
    documents.delete(register_of(), number, document.id, "OBS", "DEMOB", later)
    with register_of(readonly=True) as work:
        after = work.applications.get(number)
    assert after.documents_changed_on == later.date() and after.version == before.version
    answer = etree.fromstring(processing.application_answer(register_of, "DEMOC", str(number), later))
    assert answer.findtext(f".//{{{NS}}}dateDerniereModificationPiece") == later.date().isoformat()
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES["02.01"]), answer) == []


def test_the_search_by_category_finds_applications_holding_every_category(register_of, store, number):
    other = services.register(register_of(), demo.household_form("Durand", "Paul", date(1970, 3, 3)), NOW.date(),
                              "DEMOC", NOW).number
    identity = deposit(register_of, store, number)
    deposit(register_of, store, number, Metadata("RFR", "AVIS"))
    deposit(register_of, store, other, Metadata("IDD", "TSD"))
    assert set(found(register_of, "DEMOC", "IDD")) == {str(number), str(other)}
    assert found(register_of, "DEMOC", "IDD", "RFR") == [str(number)]
    assert found(register_of, "DEMOC", "LOGACT") == []
    assert found(register_of, "NANCY", "IDD") == []  # the territory's own, as every search
    documents.change(register_of(), number, identity.id, Metadata("LOGACT", "JUSTL"), "DEMOB", NOW)
    assert found(register_of, "DEMOC", "IDD") == [str(other)] and found(register_of, "DEMOC", "LOGACT") == [
        str(number)]
    documents.delete(register_of(), number, identity.id, "OBS", "DEMOB", NOW)
    assert found(register_of, "DEMOC", "LOGACT") == []
    documents.restore(register_of(), number, identity.id, "DEMOB", NOW)
    assert found(register_of, "DEMOC", "LOGACT") == [str(number)]
    # a change of the household's form rebuilds its terms, never the documents'
    services.update(register_of(), number, demo.household_form(communes=(demo.THIONVILLE,)), "DEMOC", NOW)
    assert found(register_of, "DEMOC", "LOGACT", "RFR") == [str(number)]
    # ... and its document terms follow it to its new place in the SNE's order (first wished commune)
    by_commune = SearchCriteria(document_categories=("RFR",), wished_commune=demo.THIONVILLE)
    assert services.search(register_of(readonly=True), by_commune, "DEMOC").numbers == [str(number)]
    services.cancel(register_of(), number, Cancellation(NOW.date(), "RADABA"), "DEMOC", NOW)
    assert services.search(register_of(readonly=True), SearchCriteria(document_categories=("RFR",),
                                                                      state=ApplicationState.CANCELLED),
                           "DEMOC").numbers == [str(number)]


def test_the_retention_purge_erases_an_applications_documents_their_bytes_and_their_journal(
        register_of, store, number):
    kept = deposit(register_of, store, number, content=samples.pdf(5_000))
    quarantined = deposit(register_of, store, number, metadata=Metadata("RFR", "AVIS", "PR"))
    documents.delete(register_of(), number, quarantined.id, "ERR", "DEMOC", NOW)
    other = services.register(register_of(), demo.household_form("Martin", "Lea", date(1990, 5, 5)), NOW.date(),
                              "DEMOC", NOW).number
    others = deposit(register_of, store, other, content=samples.pdf(7_000))
    services.cancel(register_of(), number, Cancellation(NOW.date(), "RADABA"), "DEMOC", NOW)
    purged = retention.run(register_of, NOW.date() + timedelta(days=400), NOW + timedelta(days=400),
                           documents=documents.StoredDocuments(lambda: store))
    assert (purged.purged, purged.documents) == (1, 2)
    for gone in (kept, quarantined):
        with pytest.raises(DocumentUnreadable):  # the sealed bytes are gone from the store
            store.get(gone.storage_key)
    with register_of(readonly=True) as uow:
        assert uow.documents.of_application(str(number), include_quarantined=True) == []
        assert [d.id for d in uow.documents.of_application(str(other))] == [others.id]
    assert store.get(others.storage_key) == samples.pdf(7_000)
    assert len(stored_files(store)) == 1
    with register_of(readonly=True) as uow:  # which categories it held said something of the household
        assert uow.documents.search_journal(JournalQuery(str(number))) == []
        assert len(uow.documents.search_journal(JournalQuery(str(other)))) == 1
    found = services.search(register_of(), SearchCriteria(document_categories=("IDD",)), "DEMOB")
    assert found.numbers == [str(other)]


def test_a_purge_without_a_document_store_stops_at_an_application_with_documents(register_of, store, number):
    deposit(register_of, store, number)
    services.cancel(register_of(), number, Cancellation(NOW.date(), "RADABA"), "DEMOC", NOW)

    def no_store():
        raise FileNotFoundError("SNE_HUB_DOCUMENT_KEYS: var/document-keys")

    with pytest.raises(FileNotFoundError):
        retention.run(register_of, NOW.date() + timedelta(days=400), NOW + timedelta(days=400),
                      documents=documents.StoredDocuments(no_store))
    with register_of(readonly=True) as uow:  # nothing half-done: the application and its documents stay
        assert uow.applications.get(number) is not None
        assert len(uow.documents.of_application(str(number))) == 1
