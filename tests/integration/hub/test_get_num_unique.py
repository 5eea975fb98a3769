"""getNumUnique over real HTTPS with client certificates: every file type, both encodings."""

from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from conformance_tests.profiles.server.wire import DEMANDE, mtom_request
from core.domain.application import Cancellation
from core.wire import schemas
from core.wire.codec import NS
from support.files import get_num_unique, interface_file, person, today

N = f"{{{NS}}}"


def answer_of(reply) -> etree._Element:
    """The answer file, which must itself be valid against the schema of its version."""
    assert reply.status == 200, (reply.status, reply.body[:2000])
    answer = etree.fromstring(reply.field("fichierDemande"))
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES[answer.get("versionInterface")]), answer) == []
    return answer


def anomalies(answer: etree._Element) -> list[tuple[str, str]]:
    return [(a.get("code"), a.get("propriete")) for a in answer.iter(f"{N}anomalie")]


def registered(hub, counter="DEMOB", index=0) -> str:
    answer = answer_of(get_num_unique(hub.client(counter), interface_file(counter, form=person(index))))
    return answer.findtext(f".//{N}numUnique")


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_creation_returns_the_completed_file_and_the_attestation(hub, mtom):
    reply = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=person(1)), mtom=mtom)
    answer = answer_of(reply)
    assert reply.content_type.startswith("multipart/related" if mtom else "application/soap+xml")
    assert answer.findtext(f"{N}entete/{N}typeFichier") == "RET"
    number = answer.findtext(f".//{N}numUnique")
    assert number.startswith("057") and number.endswith("DEMOB") and len(number) == 18
    assert answer.findtext(f".//{N}dateCreationDemande") == today().isoformat()
    assert answer.findtext(f".//{N}incrementFichier") == "1"
    assert not anomalies(answer)
    assert reply.field("attestation").startswith(b"%PDF-1.4")
    assert reply.text("nomAttestation").endswith(".pdf")


def test_libsne_framing_is_read(hub):
    """The vendor client's own MIME framing (us-ascii 7bit parts, ``start`` without angle brackets, the
    bare operation as the root part's action), which the other tests' UTF-8 framing does not exercise."""
    body, content_type = mtom_request("getNumUnique", "numUniqueParametres", [
        ("nomFichierDemande", "DEMDEMOB-202612021200-000001.xml"),
        ("fichierDemande", interface_file("DEMOB", form=person(4))),
        ("nomCertificat", "c.pem"), ("certificat", hub.certificate("DEMOB"))], libsne=True)
    assert 'start="soaproot"' in content_type and b"charset=us-ascii" in body
    answer = answer_of(hub.client("DEMOB").post(DEMANDE, body, content_type))
    assert answer.findtext(f".//{N}numUnique").endswith("DEMOB") and not anomalies(answer)


def test_the_answer_file_is_where_existing_clients_look_for_it(hub):
    """libsne slices the raw HTTP body from 4 characters before ':interfaceNuu' to ':interfaceNuu>'."""
    reply = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=person(2)))
    text = reply.body.decode("utf-8")
    start, end = text.find(":interfaceNuu") - 4, text.find(":interfaceNuu>")
    sliced = text[start:end] + ":interfaceNuu>"
    assert etree.fromstring(sliced).tag == f"{N}interfaceNuu"


def test_version_0200_files_get_0200_answers(hub):
    answer = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", form=person(3), version="02.00")))
    assert answer.get("versionInterface") == "02.00"
    assert answer.find(f".//{N}notifSms") is None


def test_business_refusals_come_back_as_anomalies_in_the_file(hub):
    form = person(4)
    form.household.applicant.civility = "9"
    answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=form)))
    assert anomalies(answer) == [("NUU101", "personnePhysique.demandeur.civilite")]
    assert answer.find(f".//{N}numUnique") is None


def test_a_probable_duplicate_lists_the_candidates(hub):
    first = registered(hub, "DEMOB", index=5)
    answer = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", form=person(5))))
    assert anomalies(answer) == [("NUU120", "forcerDoublon")]
    assert [n.text for n in answer.findall(f".//{N}listeDoublons/{N}doublon/{N}numUnique")] == [first]
    forced = answer_of(get_num_unique(hub.client("DEMOC"),
                                      interface_file("DEMOC", form=person(5), force_duplicate=True)))
    assert not anomalies(forced) and forced.findtext(f".//{N}numUnique") != first


def test_a_duplicate_matching_two_adults_is_named_once(hub):
    """The file's applicant and co-applicant are both adults of one application: one number, once."""
    couple = person(13, co_applicant=("Partenaire", "Sam", date(1981, 2, 4)))
    first = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=couple)))
    number = first.findtext(f".//{N}numUnique")
    answer = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", form=couple)))
    anomaly = answer.find(f".//{N}anomalie")
    assert anomaly.get("code") == "NUU120"
    assert [complement.text for complement in anomaly.findall(f"{N}complement")] == [number]
    assert anomaly.findtext(f"{N}message").count(number) == 1
    assert [n.text for n in answer.findall(f".//{N}listeDoublons/{N}doublon/{N}numUnique")] == [number]


def test_a_file_for_another_counter_is_an_anomaly(hub):
    answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOC", form=person(6))))
    assert anomalies(answer) == [("NUU184", "numGuichet")]


def test_an_attached_certificate_must_be_the_counter_own(hub):
    own = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=person(7)), hub.certificate("DEMOB"))
    assert not anomalies(answer_of(own))
    foreign = get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=person(8)), hub.certificate("DEMOC"))
    assert anomalies(answer_of(foreign)) == [("NUU186", "certificat")]


@pytest.mark.parametrize("attached, code", [(b"ceci n'est pas un certificat", "NUU187"), ("stranger", "NUU185"),
                                            ("ca", "NUU185")], ids=["unreadable", "unknown", "our-CA"])
def test_an_attached_certificate_that_is_nobody_s_says_why(hub, attached, code):
    data = attached if isinstance(attached, bytes) else Path(hub.pki[attached]["cert"]).read_bytes()
    answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=person(14)), data))
    assert anomalies(answer) == [(code, "certificat")]


@pytest.mark.parametrize("increment", ["v1", "-1", "1.5", "1234567890", "000042", "0571126000001DEMOB",
                                       "\u00b2", "\u2460"])
def test_the_increment_a_counter_sends_refuses_nothing(hub, increment):
    """incrementFichier is the register's in the files it sends; in a request it is ignored
    (docs/REGISTER.md, "Update (MOD)"): the answer carries the application's version. Unicode
    digits ('²', '①') once made the hub answer 500 (int() refused what str.isdigit() accepted)."""
    number = registered(hub, "DEMOB", index=15)
    answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", "MOD", person(15), number=number,
                                                                          increment=increment)))
    assert not anomalies(answer)
    assert answer.findtext(f".//{N}incrementFichier") == "2"


def test_change_renew_cancel_reactivate_delete_through_files(hub):
    number = registered(hub, "DEMOC", index=9)
    changed = person(9, email="nouveau@example.org")
    answer = answer_of(get_num_unique(hub.client("DEMOE"), interface_file("DEMOE", "MOD", changed, number=number,
                                                                          increment="1")))
    assert answer.findtext(f".//{N}incrementFichier") == "2" and not anomalies(answer)
    again = answer_of(get_num_unique(hub.client("DEMOE"), interface_file("DEMOE", "MOD", changed, number=number,
                                                                         increment="1")))
    assert not anomalies(again) and again.findtext(f".//{N}incrementFichier") == "3"  # the last write wins
    too_early = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", "REN", changed, number=number,
                                                                             has_renewal=True,
                                                                             renewal_date=today())))
    assert anomalies(too_early)[0][0] == "NUU140"
    cancelled = answer_of(get_num_unique(hub.client("DEMOC"), interface_file(
        "DEMOC", "RAD", changed, number=number, cancellation=Cancellation(today(), "RADABA"))))
    assert not anomalies(cancelled)
    assert cancelled.find(f".//{N}radiation/{N}motifRadiation").get("code") == "RADABA"
    again = answer_of(get_num_unique(hub.client("DEMOC"), interface_file(
        "DEMOC", "RAD", changed, number=number, cancellation=Cancellation(today(), None))))
    assert anomalies(again)[0][0] == "NUU160"  # abandonment is final


def test_deletion_of_an_application_registered_in_error(hub):
    number = registered(hub, "DEMOE", index=10)
    refused = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", "SUP", person(10), number=number)))
    assert anomalies(refused) == [("NUU170", "numGuichet")]
    deleted = answer_of(get_num_unique(hub.client("DEMOE"), interface_file("DEMOE", "SUP", person(10), number=number)))
    assert not anomalies(deleted)


def test_creation_after_separation(hub):
    couple = person(11, co_applicant=("Partenaire", "Sam", date(1981, 2, 3)))
    original = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", form=couple)))
    number = original.findtext(f".//{N}numUnique")
    alone = person(11)
    alone.household.applicant.surname, alone.household.applicant.first_name = "Partenaire", "Sam"
    alone.household.applicant.birth_date = date(1981, 2, 3)
    answer = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", "CRS", alone,
                                                                          associated_number=number)))
    assert not anomalies(answer)
    assert answer.findtext(f".//{N}numUniqueAssocie") == number
    assert answer.findtext(f".//{N}dateCreationDemande") == original.findtext(f".//{N}dateCreationDemande")


@pytest.mark.parametrize("file_type", ["DIS", "RET", "COP", "XYZ"])
def test_file_types_a_counter_cannot_send(hub, file_type):
    answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", file_type, person(12))))
    assert anomalies(answer) == [("NUU106", "typeFichier")]
