"""Supporting documents' rules without storage: content by content, the plan, the profiles row by row."""

from __future__ import annotations

import zlib
from datetime import date, datetime

import pytest

from core.domain.calendar import PARIS
from core.domain.document_content import JPEG, PDF, PNG, inspect
from core.domain.documents import (
    ACCESS,
    TYPES,
    Action,
    Category,
    Document,
    DocumentState,
    JournalEvent,
    Metadata,
    Profile,
    allows,
    check_limit,
    effective_profile,
    label_of,
)
from core.domain.errors import (
    DocumentLimitReached,
    DocumentNotVisible,
    DocumentRefused,
    DocumentStateConflict,
    InvalidDocumentMetadata,
    RegisterError,
)
from support import documents as samples

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize("content, media_type", [
    (samples.pdf(), PDF), (samples.pdf(2 * 1024 * 1024), PDF), (samples.png(), PNG), (samples.jpeg(), JPEG),
])
def test_scans_are_told_by_their_content(content, media_type):
    assert inspect(content).media_type == media_type


@pytest.mark.parametrize("name", sorted(samples.HOSTILE))
def test_hostile_files_are_refused_with_their_code(name):
    make, code = samples.HOSTILE[name]
    with pytest.raises(RegisterError) as refused:
        inspect(make())
    assert refused.value.code == code


@pytest.mark.parametrize("content, reason", [
    (samples.pdf_zip_polyglot(), "ZIP"),
    (samples.jpeg_zip_polyglot(), "ZIP"),
    (samples.zip_bomb_pdf(), "bombe"),
    (samples.pdf_with_javascript(escaped=True), "Contenu actif"),
    (samples.shifted_pdf_polyglot(), "décalé"),
    (samples.not_a_pdf(), "pas un PDF"),
    (samples.jpeg()[:-2] + b"\x00\x00", "JPEG"),
    (samples.png()[:-1] + b"\x00", "PNG"),
])
def test_each_check_says_what_it_found(content, reason):
    with pytest.raises(DocumentRefused) as refused:
        inspect(content)
    assert reason in refused.value.message


@pytest.mark.parametrize("client_name, label", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\avis.pdf", "avis.pdf"),
    ("recto\u202egpj.exe", "rectogpj.exe"),  # right-to-left override removed
    ("..", "piece"),
    (None, "piece"),
    ("a" * 300, "a" * 100),
])
def test_client_names_are_only_labels_without_paths_or_controls(client_name, label):
    assert label_of(client_name) == label


def test_the_plan_has_the_ten_categories_of_the_presentation_each_with_types():
    assert [c.label for c in Category] == [
        "Identité du demandeur", "Revenu fiscal", "Identité du conjoint ou du co-titulaire",
        "Situation professionnelle", "Ressources mensuelles", "Logement actuel", "Motifs", "Personnes à charge",
        "Complément handicap", "Documents internes"]
    assert {t.category for t in TYPES.values()} == set(Category)
    assert TYPES["FPAIE"].limit == 15  # the presentation's pay slips
    assert (TYPES["CID"].category, TYPES["JUSTL"].category) == (Category.APPLICANT_IDENTITY, Category.CURRENT_HOUSING)


@pytest.mark.parametrize("metadata, field", [
    (Metadata("XXX", "CID"), "codeCategorie"),
    (Metadata("IDD", "JUSTL"), "codeType"),  # a type of another category
    (Metadata("IDD", "CID", "ZZ"), "indicePertinence"),
    (Metadata("IDD", "CID", "PR", date(1999, 12, 31)), "dateFinValidite"),
])
def test_metadata_outside_the_plan_is_refused(metadata, field):
    with pytest.raises(InvalidDocumentMetadata) as refused:
        metadata.checked()
    assert refused.value.property == field


def test_limits_count_per_type():
    check_limit("FPAIE", 14)
    with pytest.raises(DocumentLimitReached):
        check_limit("FPAIE", 15)
    with pytest.raises(DocumentLimitReached):
        check_limit("CID", 5)


# The presentation's profiles, row by row: (profile, action, sensitive document) -> allowed.
ACCESS_ROWS = [
    (Profile.SIMPLE, Action.LIST, False, True),
    (Profile.SIMPLE, Action.LIST, True, False),
    (Profile.SIMPLE, Action.READ, False, False),
    (Profile.SIMPLE, Action.READ, True, False),
    (Profile.SIMPLE, Action.WRITE, False, False),
    (Profile.SIMPLE, Action.WRITE, True, False),
    (Profile.APPLICATION, Action.LIST, False, True),
    (Profile.APPLICATION, Action.LIST, True, False),
    (Profile.APPLICATION, Action.READ, False, True),
    (Profile.APPLICATION, Action.READ, True, False),
    (Profile.APPLICATION, Action.WRITE, False, False),
    (Profile.APPLICATION, Action.WRITE, True, False),
    (Profile.SENSITIVE, Action.LIST, False, True),
    (Profile.SENSITIVE, Action.LIST, True, True),
    (Profile.SENSITIVE, Action.READ, False, True),
    (Profile.SENSITIVE, Action.READ, True, True),
    (Profile.SENSITIVE, Action.WRITE, False, False),
    (Profile.SENSITIVE, Action.WRITE, True, False),
    (Profile.COUNTER, Action.LIST, False, True),
    (Profile.COUNTER, Action.LIST, True, True),
    (Profile.COUNTER, Action.READ, False, True),
    (Profile.COUNTER, Action.READ, True, True),
    (Profile.COUNTER, Action.WRITE, False, True),
    (Profile.COUNTER, Action.WRITE, True, True),
]


@pytest.mark.parametrize("profile, action, sensitive, allowed", ACCESS_ROWS)
def test_access_row_by_row(profile, action, sensitive, allowed):
    assert allows(profile, action, sensitive) is allowed


def test_the_rows_cover_the_table():
    assert sorted((p.rank, a.value, s) for p, a, s, _ in ACCESS_ROWS) == sorted(
        (p.rank, a.value, s) for p in ACCESS for a in Action for s in (False, True))


def test_a_request_narrows_its_counters_profile_never_widens_it():
    assert effective_profile(Profile.COUNTER, Profile.SIMPLE) is Profile.SIMPLE
    assert effective_profile(Profile.APPLICATION, None) is Profile.APPLICATION
    with pytest.raises(DocumentNotVisible):
        effective_profile(Profile.APPLICATION, Profile.SENSITIVE)


def _document() -> Document:
    return Document("0" * 32, "0571126000001DEMOB", "057", Metadata("IDD", "CID", "IV"), "recto.png", PNG, 71,
                    "a" * 64, "b" * 32, DocumentState.ACTIVE, NOW, "DEMOB", NOW, "DEMOB", JournalEvent.CREATION)


def test_a_change_says_what_went_from_what_to_what():
    changed, notes = _document().changed(Metadata("IDD", "CID", "PR"), "DEMOC", NOW)
    assert notes == ["Le champ IndicePertinence est passé de la valeur IV à la valeur PR."]
    assert (changed.changed_by, changed.last_event) == ("DEMOC", JournalEvent.MODIFICATION)


def test_quarantine_and_restoration_follow_the_documents_state():
    quarantined = _document().quarantined("DEMOB", NOW)
    with pytest.raises(DocumentStateConflict):
        quarantined.quarantined("DEMOB", NOW)
    with pytest.raises(DocumentStateConflict):
        quarantined.changed(Metadata("IDD", "CID", "PR"), "DEMOB", NOW)
    assert quarantined.restored("DEMOB", NOW).state is DocumentState.ACTIVE
    with pytest.raises(DocumentStateConflict):
        _document().restored("DEMOB", NOW)


def _pdf_with_stream(dictionary: bytes, data: bytes) -> bytes:
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n<< " + dictionary
            + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


@pytest.mark.parametrize("dictionary, data", [
    (b"/Filter /ASCIIHexDecode", b"2F53202F4A617661536372697074>"),  # "/S /JavaScript" in hex
    (b"/Filter [/ASCII85Decode /FlateDecode]", b"<~9jqo^~>"),  # a chain the scan cannot follow
    (b"/Filter /LZWDecode", b"\x80\x0b\x60\x50"),
    (b"/Filter 7 0 R", b"x"),  # filters written elsewhere
    (b"/Filter /FlateDecode", zlib.compress(b"<< /S /JavaScript >>")[:-2] + b"\x00\x00"),  # damaged: readers decode it
])
def test_streams_the_scan_cannot_read_are_refused(dictionary, data):
    with pytest.raises(DocumentRefused):
        inspect(_pdf_with_stream(dictionary, data))


@pytest.mark.parametrize("dictionary, data", [
    (b"/Filter /FlateDecode", zlib.compress(b"0 0 m 10 10 l S")),
    (b"/Filter /DCTDecode", b"\xff\xd8\xff\xd9"),  # an image codec decodes to pixels, never to objects
])
def test_flate_and_image_streams_are_read(dictionary, data):
    assert inspect(_pdf_with_stream(dictionary, data)).media_type == "application/pdf"
