"""PiecesJustificativesImplService over real HTTPS: every operation, the profiles row by row, and a
hostile suite after which nothing is stored and the server still serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from core.domain.calendar import now_in_paris
from core.domain.documents import Profile
from core.service_layer import documents, services
from core.wire import schemas
from core.wire.codec import NS
from core.wire.documents import PIECES_FILE
from support import documents as samples
from support.files import person, today

from .test_search import search

PIECES = "PiecesJustificativesImplService"
N = f"{{{NS}}}"


@pytest.fixture
def number(hub) -> str:
    return str(services.register(hub.unit_of_work(), person(1), today(), "DEMOC", now_in_paris()).number)


def call(hub, operation: str, fields: list, counter: str = "DEMOB", mtom: bool = True):
    return hub.client(counter).call(PIECES, operation, f"{operation}Parametres", fields, mtom=mtom)


def answer_of(reply) -> etree._Element:
    assert reply.status == 200, reply.body[:1500]
    answer = etree.fromstring(reply.field("fichierXmlRetour"))
    assert schemas.errors(schemas.load(PIECES_FILE), answer) == []
    return answer


def deposit(hub, number: str, content: bytes | None = None, category="IDD", type_code="CID", counter="DEMOB",
            name="recto.pdf", mtom=True, extra=()):
    fields = [("numUnique", number), ("codeCategorie", category), ("codeType", type_code), *extra,
              ("nomFichierPiece", name), ("fichierPiece", samples.pdf() if content is None else content)]
    return call(hub, "deposerPiece", fields, counter, mtom)


def deposited_id(reply) -> str:
    return answer_of(reply).findtext(f"{N}piece/{N}idPiece")


def stored(hub) -> list[Path]:
    root = hub.document_store
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_deposit_list_read_change_delete_restore_and_journal(hub, number, mtom):
    content = samples.pdf(300_000)
    reply = deposit(hub, number, content, mtom=mtom,
                    extra=[("indicePertinence", "PR"), ("dateFinValidite", "2027-06-30")])
    piece = answer_of(reply).find(f"{N}piece")
    assert piece.findtext(f"{N}typeMime") == "application/pdf" and piece.findtext(f"{N}taille") == "300000"
    assert piece.findtext(f"{N}libelleCategorie") == "Identité du demandeur"
    assert piece.findtext(f"{N}dateFinValidite") == "2027-06-30"
    document_id = piece.findtext(f"{N}idPiece")

    listed = answer_of(call(hub, "listerPieces", [("numUnique", number)], "DEMOE"))
    assert [p.findtext(f"{N}idPiece") for p in listed.iter(f"{N}piece")] == [document_id]
    read = call(hub, "lirePiece", [("numUnique", number), ("idPiece", document_id)], "DEMOC", mtom)
    assert read.status == 200 and read.field("fichierPiece") == content
    assert (read.text("typeMime"), read.text("nomFichierPiece")) == ("application/pdf", "recto.pdf")
    if mtom:  # the bytes travel as an attachment, not in the envelope
        assert read.attachments and b"fichierPiece" in read.body

    changed = answer_of(call(hub, "modifierPiece", [("numUnique", number), ("idPiece", document_id),
                                                    ("codeCategorie", "IDD"), ("codeType", "TSD"),
                                                    ("indicePertinence", "IV")], "DEMOC"))
    assert changed.findtext(f"{N}piece/{N}derniereModification") == "MOD"
    assert changed.find(f"{N}piece/{N}dateFinValidite") is None  # absent: removed
    deleted = answer_of(call(hub, "supprimerPiece", [("numUnique", number), ("idPiece", document_id),
                                                     ("motifSuppression", "OBS")]))
    assert deleted.findtext(f"{N}piece/{N}etat") == "quarantaine"
    assert answer_of(call(hub, "listerPieces", [("numUnique", number)])).find(f"{N}piece") is None
    quarantine = answer_of(call(hub, "listerPieces", [("numUnique", number), ("quarantaine", "true")]))
    assert quarantine.findtext(f"{N}piece/{N}idPiece") == document_id
    restored = answer_of(call(hub, "restaurerPiece", [("numUnique", number), ("idPiece", document_id)]))
    assert restored.findtext(f"{N}piece/{N}etat") == "active"

    journal = answer_of(call(hub, "journalPieces", [("numUnique", number)], "DEMOE"))
    events = [e.findtext(f"{N}typeEvenement") for e in journal.iter(f"{N}evenement")]
    assert events == ["RES", "QUA", "SUP", "MOD", "CRE"]
    creation = list(journal.iter(f"{N}evenement"))[-1]
    assert creation.findtext(f"{N}empreinteSha256") == piece.findtext(f"{N}empreinteSha256")
    only = answer_of(call(hub, "journalPieces", [("numUnique", number), ("typeEvenement", "SUP"),
                                                 ("dateDebut", "2000-01-01T00:00:00")]))
    assert [e.findtext(f"{N}typeEvenement") for e in only.iter(f"{N}evenement")] == ["SUP"]


# counter (its profile set by the test), lists (plain, sensitive), reads (plain, sensitive), deposits
PROFILES = [
    ("AUTR1", Profile.SIMPLE, (True, False), (False, False), False),
    ("ETAT1", Profile.APPLICATION, (True, False), (True, False), False),
    ("GEST1", Profile.SENSITIVE, (True, True), (True, True), False),
    ("DEMOE", None, (True, True), (True, True), True),
]


@pytest.mark.parametrize("counter, profile, lists, reads, deposits", PROFILES, ids=[p[0] for p in PROFILES])
def test_profiles_row_by_row(hub, number, counter, profile, lists, reads, deposits):
    if profile is not None:
        documents.set_profile(hub.unit_of_work(), counter, profile)
    plain = deposited_id(deposit(hub, number))
    sensitive = deposited_id(deposit(hub, number, category="HANDI", type_code="HANDI"))
    listing = answer_of(call(hub, "listerPieces", [("numUnique", number)], counter))
    seen = {p.findtext(f"{N}idPiece"): p.findtext(f"{N}consultable") for p in listing.iter(f"{N}piece")}
    assert (plain in seen, sensitive in seen) == lists
    assert listing.findtext(f"{N}profil") == (profile or Profile.COUNTER).value
    for document_id, allowed in zip((plain, sensitive), reads):
        reply = call(hub, "lirePiece", [("numUnique", number), ("idPiece", document_id)], counter)
        assert (reply.status == 200) is allowed, reply.body[:500]
        if not allowed:
            assert reply.fault_code == "NUU224"
        if document_id in seen:
            assert seen[document_id] == ("true" if allowed else "false")
    reply = deposit(hub, number, counter=counter)
    assert (reply.status == 200) is deposits
    if not deposits:
        assert reply.fault_code == "NUU224"


def test_a_request_may_narrow_its_profile_not_widen_it(hub, number):
    documents.set_profile(hub.unit_of_work(), "ETAT1", Profile.APPLICATION)
    sensitive = deposited_id(deposit(hub, number, category="HANDI", type_code="HANDI"))
    narrowed = call(hub, "lirePiece", [("numUnique", number), ("idPiece", sensitive),
                                       ("profil", "consultant_demande")])
    assert narrowed.fault_code == "NUU224"
    widened = call(hub, "listerPieces", [("numUnique", number), ("profil", "guichet")], "ETAT1")
    assert widened.fault_code == "NUU224"


# -- hostile suite --------------------------------------------------------------------------------

HOSTILE_REQUESTS = {name: (make, code) for name, (make, code) in samples.HOSTILE.items()}


@pytest.mark.parametrize("name", sorted(HOSTILE_REQUESTS))
def test_hostile_files_store_nothing_and_the_server_still_serves(hub, number, name):
    make, code = HOSTILE_REQUESTS[name]
    reply = deposit(hub, number, make(), name="avis.pdf")
    assert reply.status == 400 and reply.fault_code == code, reply.body[:500]
    assert stored(hub) == []
    assert answer_of(call(hub, "listerPieces", [("numUnique", number), ("quarantaine", "true")])).find(
        f"{N}piece") is None
    assert deposit(hub, number).status == 200  # and the next deposit goes through


def test_a_large_file_within_the_hubs_request_limit_is_refused_by_the_register(hub, number):
    """Requests over the hub's limit are the gate's (HUB-TAILLE, test_hostile.py); a 5 MB scan fits
    in a request and is the register's to refuse."""
    reply = deposit(hub, number, samples.pdf(5 * 1024 * 1024))
    assert reply.status == 400 and reply.fault_code == "NUU222"
    assert stored(hub) == [] and deposit(hub, number).status == 200


@pytest.mark.parametrize("client_name", ["../../../../etc/cron.d/x", "..\\..\\windows\\win.ini", "/dev/null",
                                         "a&#x202e;gpj.exe", "%2e%2e%2fsecret"])
def test_path_tricks_in_names_reach_no_path(hub, number, client_name, tmp_path):
    reply = deposit(hub, number, samples.png(), category="LOGACT", type_code="JUSTL", name=client_name)
    label = answer_of(reply).findtext(f"{N}piece/{N}libelle")
    assert "/" not in label and "\\" not in label and "\u202e" not in label
    [file] = stored(hub)
    assert file.parent.parent == hub.document_store and len(file.name) == 32


@pytest.mark.parametrize("document_id", ["../../etc/passwd", "0" * 31 + "Z", "A" * 32])
def test_document_ids_that_are_not_ours_are_refused_by_the_schema(hub, number, document_id):
    reply = call(hub, "lirePiece", [("numUnique", number), ("idPiece", document_id)])
    assert reply.status == 400 and reply.fault_code == "SOAP-MESSAGE"


def test_another_territorys_application_is_refused_and_nothing_stored(hub, number):
    reply = deposit(hub, number, counter="NANCY")
    assert reply.status == 400 and reply.fault_code == "NUU181"
    assert stored(hub) == []
    document_id = deposited_id(deposit(hub, number))
    for operation, fields in (("listerPieces", []), ("lirePiece", [("idPiece", document_id)]),
                              ("supprimerPiece", [("idPiece", document_id), ("motifSuppression", "OBS")]),
                              ("journalPieces", [])):
        assert call(hub, operation, [("numUnique", number), *fields], "NANCY").fault_code == "NUU181"


def test_limits_and_unknown_codes_come_back_with_their_codes(hub, number):
    for _ in range(15):
        assert deposit(hub, number, samples.jpeg(), category="RESMEN", type_code="FPAIE").status == 200
    assert deposit(hub, number, samples.jpeg(), category="RESMEN", type_code="FPAIE").fault_code == "NUU223"
    assert deposit(hub, number, category="IDD", type_code="FPAIE").fault_code == "NUU225"
    assert deposit(hub, number, category="IDD", type_code="CID", extra=[("indicePertinence", "XX")]).fault_code \
        == "SOAP-MESSAGE"
    assert call(hub, "listerPieces", [("numUnique", "0571299000001DEMOB")]).fault_code == "NUU111"


def test_a_deposit_shows_in_the_search_by_category_and_in_the_application_file(hub, number):
    """Through the other services: rechercheDemandeMulticritere by category, getDemandeLogement's
    dateDerniereModificationPiece."""
    other = str(services.register(hub.unit_of_work(), person(2), today(), "DEMOC", now_in_paris()).number)
    assert deposit(hub, number, category="RFR", type_code="AVIS").status == 200
    assert deposit(hub, other, category="IDD", type_code="CID").status == 200
    criteria = "<piecesJustificatives><codeCategorie>RFR</codeCategorie></piecesJustificatives>"
    assert search(hub, "DEMOE", criteria) == ([number], [])
    read = hub.client("DEMOE").call("DemandeLogementImplService", "getDemandeLogement", "demandeLogementParametres",
                                    [("numUnique", number), ("nomCertificat", "c.pem"), ("certificat", b"")])
    answer = etree.fromstring(read.field("fichierDemande"))
    assert answer.findtext(f".//{N}dateDerniereModificationPiece") == today().isoformat()
