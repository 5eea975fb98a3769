"""The rights table (docs/REGISTER.md, "Rights"), row by row, through the SOAP channel.

Each cell is exercised by the counter type it describes: an allowed operation gets past the rights
check (it succeeds, or fails later for another reason with another code), a forbidden one gets
NUU182. The rights are the domain's, whatever the database: the table runs on SQLite (the other
SOAP tests run on both). Counters: DEMOB landlord, DEMOC municipality, DEMOE EPCI, ETAT1 State, AUTR1 other
reservation holder, GEST1 territorial manager, all in territory 057.
"""

from datetime import timedelta

import pytest
from lxml import etree

from core.domain.application import Allocation, AllocationAddress, Cancellation
from core.domain.calendar import now_in_paris
from core.domain.form import DaloInformation
from core.domain.numbers import RegistrationNumber
from core.service_layer import services
from core.wire.codec import NS
from support.files import DEMANDE, RECHERCHE, get_demande, get_num_unique, interface_file, person, today

from .test_search import search_file

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

N = f"{{{NS}}}"
TYPES = {"bailleur": "DEMOB", "commune": "DEMOC", "EPCI": "DEMOE", "Etat": "ETAT1", "autre": "AUTR1",
         "gestionnaire": "GEST1"}
ALL, REGISTERING = set(TYPES), set(TYPES) - {"gestionnaire"}


def codes_in(data: bytes) -> list[str]:
    return [a.get("code") for a in etree.fromstring(data).iter(f"{N}anomalie")]


def answer_codes(reply) -> list[str]:
    assert reply.status == 200, reply.body[:1000]
    return codes_in(reply.field("fichierDemande"))


@pytest.fixture
def application(hub) -> str:
    """An active application registered today by DEMOC."""
    return str(services.register(hub.unit_of_work(), person(1), today(), "DEMOC", now_in_paris()).number)


def refused_for_rights(codes: list[str]) -> bool:
    return "NUU182" in codes


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_register(hub, kind):
    code = TYPES[kind]
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, form=person(2))))
    assert refused_for_rights(codes) == (kind not in REGISTERING), codes


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_update(hub, application, kind):
    code = TYPES[kind]
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, "MOD", person(1), number=application)))
    assert codes == [], codes


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_renew(hub, application, kind):
    """Renewal opens three months before the due date: allowed types get NUU140, not NUU182."""
    code = TYPES[kind]
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, "REN", person(1), number=application)))
    assert codes == ["NUU140"], codes


@pytest.mark.parametrize("motive, allowed", [("RADABA", ALL), ("RADATT", {"bailleur"}), ("RADIRR", ALL),
                                             ("RADCON", ALL), ("RADREN", set())])
@pytest.mark.parametrize("kind", sorted(TYPES))
def test_cancel(hub, application, kind, motive, allowed):
    code = TYPES[kind]
    cancellation = Cancellation(today(), motive)
    if motive == "RADATT":
        cancellation = Cancellation(today(), motive, allocation=Allocation(
            lease_signed_on=today(), already_housed_by_landlord="NON", collective_agreement="AUCUN",
            reservation_quota="AUCUN", address=AllocationAddress(street="rue Haute", postal_code="57000",
                                                                 commune="57463")))
    if motive == "RADIRR":
        cancellation.inadmissibility_reason = "IRRRES"
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, "RAD", person(1), number=application,
                                                                         cancellation=cancellation)))
    if kind in allowed:
        assert not refused_for_rights(codes), codes
    else:
        assert codes == ["NUU182"], codes


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_reactivate(hub, application, kind):
    """Reactivating an active application: allowed types get NUU160 (nothing to reactivate)."""
    code = TYPES[kind]
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(
        code, "RAD", person(1), number=application, cancellation=Cancellation(today(), None))))
    assert codes == ["NUU160"], codes


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_delete(hub, application, kind):
    """Only the registering counter deletes: others of a registering type get NUU170, managers NUU182."""
    code = TYPES[kind]
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, "SUP", person(1), number=application)))
    expected = [] if code == "DEMOC" else ["NUU170"] if kind in REGISTERING else ["NUU182"]
    assert codes == expected, codes


DALO_OWNERS = {"Etat", "gestionnaire"}  # getDeclarationNouveauDalo; CRE, MOD and REN never change the block


def active_dalo() -> DaloInformation:
    return DaloInformation(status="ACTIF", decision_date=today())


def new_dalo_numbers(hub, since) -> list[str]:
    listed = hub.client("DEMOC").call(DEMANDE, "getNouveauxDaloDepuisLe", "nouveauxDaloDepuisLeParametres", [
        ("dateNouveauDaloDepuisLe", since.isoformat()), ("nomCertificat", "c.pem"), ("certificat", b"")])
    return [n.text for n in etree.fromstring(listed.field("fichierNouveauxDalo")).iter(f"{N}numUnique")]


@pytest.mark.parametrize("kind", sorted(TYPES))
@pytest.mark.parametrize("file_type", ["CRE", "MOD", "REN"])
def test_a_counters_file_never_sets_dalo(hub, application, kind, file_type):
    """Any counter sending ACTIF in a CRE, MOD or REN: refused, the rights anomaly for those that may
    never declare DALO, NUU188 for the State's services, and nothing appears as a new DALO."""
    since = now_in_paris() - timedelta(seconds=1)
    code = TYPES[kind]
    form = person(1 if file_type != "CRE" else 3)
    form.dalo = active_dalo()
    number = application if file_type != "CRE" else None
    codes = answer_codes(get_num_unique(hub.client(code), interface_file(code, file_type, form, number=number)))
    if file_type == "CRE" and kind not in REGISTERING:
        assert codes == ["NUU182"], codes  # may not register at all
    else:
        assert codes == (["NUU188"] if kind in DALO_OWNERS else ["NUU182"]), codes
    assert new_dalo_numbers(hub, since) == []
    if number:
        assert services.get(hub.unit_of_work(), RegistrationNumber.parse(number), "DEMOC").dalo_status == "NON"


def test_a_change_without_the_block_keeps_the_declared_dalo(hub, application):
    """The declaration is journaled as its own event; a later MOD that leaves the block out (or
    repeats it) keeps it and journals only the change."""
    number = RegistrationNumber.parse(application)
    services.declare_dalo(hub.unit_of_work(), number, active_dalo(), "ETAT1", now_in_paris())
    without = person(1)
    without.dalo = None
    assert answer_codes(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", "MOD", without,
                                                                           number=application))) == []
    repeated = person(1)
    repeated.dalo = active_dalo()
    assert answer_codes(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", "MOD", repeated,
                                                                           number=application))) == []
    assert services.get(hub.unit_of_work(), number, "DEMOC").form.dalo == active_dalo()
    with hub.unit_of_work(readonly=True) as uow:
        kinds = [entry.kind for entry in uow.events.history(application)]
    assert kinds == ["application.registered", "application.dalo_declared", "application.updated",
                     "application.updated"], kinds


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_read_and_search(hub, application, kind):
    code = TYPES[kind]
    assert get_demande(hub.client(code), application).status == 200
    reply = hub.client(code).call(RECHERCHE, "rechercheDemandeMulticritere", "fichierXmlParametres", [
        ("nomFichier", "R.xml"), ("fichierXml", search_file(code)), ("nomCertificat", "c.pem")])
    assert application.encode() in reply.field("fichierXmlRetour")


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_declare_dalo(hub, application, kind):
    code = TYPES[kind]
    form = person(1)
    form.dalo = DaloInformation(status="ACTIF")
    reply = hub.client(code).call(DEMANDE, "getDeclarationNouveauDalo", "declarationNouveauDaloParametres", [
        ("nomFichierDalo", "D.xml"), ("fichierDalo", interface_file(code, form=form, number=application)),
        ("nomCertificat", "c.pem"), ("certificat", b"")])
    codes = codes_in(reply.field("fichierDalo"))
    assert refused_for_rights(codes) == (kind not in {"Etat", "gestionnaire"}), codes


def test_no_counter_acts_in_another_territory(hub, application):
    assert answer_codes(get_num_unique(hub.client("NANCY"), interface_file(
        "NANCY", "MOD", person(1), number=application))) == ["NUU181"]
    assert get_demande(hub.client("NANCY"), application).fault_code == "NUU181"
