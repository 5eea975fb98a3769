"""getDemandeLogement, getDoublons, the DALO services and the "…DepuisLe" lists, over HTTPS."""

from datetime import date, timedelta

import pytest
from lxml import etree

from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.form import DaloInformation
from core.wire import schemas
from core.wire.codec import NS
from support.files import DEMANDE, get_demande, get_num_unique, interface_file, person, today

N = f"{{{NS}}}"


def register(hub, counter: str, index: int, **options) -> str:
    reply = get_num_unique(hub.client(counter), interface_file(counter, form=person(index, **options)))
    return etree.fromstring(reply.field("fichierDemande")).findtext(f".//{N}numUnique")


def valid(schema_file: str, data: bytes) -> etree._Element:
    document = etree.fromstring(data)
    assert schemas.errors(schemas.load(schema_file), document) == []
    return document


def test_read_an_application(hub):
    number = register(hub, "DEMOB", 1)
    reply = get_demande(hub.client("DEMOE"), number)
    assert reply.status == 200
    answer = valid(schemas.APPLICATION_FILES["02.01"], reply.field("fichierDemande"))
    assert answer.findtext(f".//{N}numUnique") == number
    assert answer.findtext(f".//{N}numGuichet") == "DEMOE"  # addressed to the reader


@pytest.mark.parametrize("number, code", [("0571126999999DEMOB", "NUU111"), ("05711269999991DEMOB", "NUU110"),
                                          ("", "NUU110")])
def test_reading_a_wrong_number_is_a_fault_with_its_code(hub, number, code):
    reply = get_demande(hub.client("DEMOB"), number)
    assert (reply.status, reply.fault_code) == (400, code)
    detail = reply.envelope.find(".//{http://ws.metier.nuu.application.i2/}demandeLogementException")
    assert detail is not None and detail.findtext("message")


def test_another_territory_cannot_read(hub):
    number = register(hub, "DEMOB", 2)
    reply = get_demande(hub.client("NANCY"), number)
    assert (reply.status, reply.fault_code) == (400, "NUU181")


def test_a_deleted_application_cannot_be_read(hub):
    number = register(hub, "DEMOC", 3)
    get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", "SUP", person(3), number=number))
    reply = get_demande(hub.client("DEMOC"), number)
    assert reply.fault_code == "NUU111"


def get_doublons(client, file: bytes, mtom: bool = True):
    return client.call(DEMANDE, "getDoublons", "rechercheDoublonsParametres",
                       [("nomFichierDemande", "DEMTEST.xml"), ("fichierDemande", file)], mtom=mtom)


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_duplicates_of_a_file(hub, mtom):
    number = register(hub, "DEMOB", 4)
    reply = get_doublons(hub.client("DEMOC"), interface_file("DEMOC", form=person(4)), mtom=mtom)
    assert reply.status == 200
    duplicates = valid(schemas.DUPLICATES_FILE, reply.field("listeDoublons"))
    assert [n.text for n in duplicates.iter(f"{N}numUnique")] == [number]
    assert duplicates.findtext(f".//{N}demandeur/{N}prenom") == "Alex"
    none = get_doublons(hub.client("DEMOC"), interface_file("DEMOC", form=person(5)))
    assert none.status == 200 and none.field("listeDoublons") is None
    assert none.field("fichierDemande") is not None


def test_an_application_matching_twice_is_listed_once(hub):
    """Its applicant and co-applicant are both the file's: one application, one doublon."""
    couple = {"co_applicant": ("Partenaire", "Sam", date(1981, 2, 5))}
    number = register(hub, "DEMOB", 6, **couple)
    reply = get_doublons(hub.client("DEMOC"), interface_file("DEMOC", form=person(6, **couple)))
    duplicates = valid(schemas.DUPLICATES_FILE, reply.field("listeDoublons"))
    assert [n.text for n in duplicates.findall(f"{N}doublon/{N}numUnique")] == [number]


def declare_dalo(client, file: bytes):
    return client.call(DEMANDE, "getDeclarationNouveauDalo", "declarationNouveauDaloParametres", [
        ("nomFichierDalo", "DALO.xml"), ("fichierDalo", file), ("nomCertificat", "c.pem"), ("certificat", b"")])


def test_dalo_declaration_then_new_dalo_list(hub):
    number = register(hub, "DEMOB", 6)
    since = now_in_paris() - timedelta(seconds=1)
    form = person(6)
    form.dalo = DaloInformation(status="ACTIF", decision_date=today(), housing_typology="03")
    refused = declare_dalo(hub.client("DEMOB"), interface_file("DEMOB", form=form, number=number))
    assert refused.status == 200  # a landlord may not declare: anomaly in the answer file
    assert "NUU182" in refused.field("fichierDalo").decode()
    accepted = declare_dalo(hub.client("ETAT1"), interface_file("ETAT1", form=form, number=number))
    answer = valid(schemas.APPLICATION_FILES["02.01"], accepted.field("fichierDalo"))
    assert answer.find(f".//{N}statutDalo").get("code") == "ACTIF"
    listed = hub.client("DEMOC").call(DEMANDE, "getNouveauxDaloDepuisLe", "nouveauxDaloDepuisLeParametres", [
        ("dateNouveauDaloDepuisLe", since.isoformat()), ("nomCertificat", "c.pem"), ("certificat", b"")])
    result = valid(schemas.SEARCH_FILE, listed.field("fichierNouveauxDalo"))
    assert [n.text for n in result.iter(f"{N}numUnique")] == [number]
    later = hub.client("DEMOC").call(DEMANDE, "getNouveauxDaloDepuisLe", "nouveauxDaloDepuisLeParametres", [
        ("dateNouveauDaloDepuisLe", (now_in_paris() + timedelta(minutes=1)).isoformat()),
        ("nomCertificat", "c.pem"), ("certificat", b"")])
    assert valid(schemas.SEARCH_FILE, later.field("fichierNouveauxDalo")).find(f"{N}listeDemandes") is None


def test_cancelled_since(hub):
    since = now_in_paris() - timedelta(seconds=1)
    first, second, kept = register(hub, "DEMOB", 7), register(hub, "DEMOB", 8), register(hub, "DEMOB", 9)
    for number, motive in ((first, "RADABA"), (second, "RADIRR")):
        cancellation = Cancellation(today(), motive, inadmissibility_reason="IRRRES" if motive == "RADIRR" else None)
        get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", "RAD", person(7), number=number,
                                                           cancellation=cancellation))
    reply = hub.client("DEMOC").call(DEMANDE, "getDemandesRadieesDepuisLe", "demandesRadieesDepuisLeParametres", [
        ("dateRadiationDepuisLe", since.isoformat()), ("nomCertificat", "c.pem"), ("certificat", b"")])
    result = valid(schemas.SEARCH_FILE, reply.field("fichierDemandesRadiees"))
    assert [n.text for n in result.iter(f"{N}numUnique")] == [first, second]
    assert kept not in reply.field("fichierDemandesRadiees").decode()
    elsewhere = hub.client("NANCY").call(DEMANDE, "getDemandesRadieesDepuisLe", "demandesRadieesDepuisLeParametres",
                                         [("dateRadiationDepuisLe", since.isoformat()), ("nomCertificat", "c.pem"),
                                          ("certificat", b"")])
    assert valid(schemas.SEARCH_FILE, elsewhere.field("fichierDemandesRadiees")).find(f"{N}listeDemandes") is None
