"""rechercheDemandeMulticritere over HTTPS: criteria, territory, the SNE's order, paging."""

from datetime import date

import pytest
from lxml import etree

from core import demo
from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.numbers import RegistrationNumber
from core.service_layer import services
from core.wire import schemas
from core.wire.codec import NS
from support.files import RECHERCHE, person, today

N = f"{{{NS}}}"


def search_file(counter: str, criteria: str = "", after: str | None = None) -> bytes:
    listed = f"<listeDemandes><numUnique>{after}</numUnique></listeDemandes>" if after else ""
    return (f'<interfaceNuu xmlns="{NS}" versionInterface="02.00"><entete><typeFichier>RECH</typeFichier>'
            f"<dateFichier>{now_in_paris().isoformat()}</dateFichier><codeGuichet>{counter}</codeGuichet></entete>"
            f"<operation><demandeMulticritere>{criteria}</demandeMulticritere></operation>{listed}"
            "</interfaceNuu>").encode()


def search(hub, counter: str, criteria: str = "", after: str | None = None) -> tuple[list[str], list[str]]:
    reply = hub.client(counter).call(RECHERCHE, "rechercheDemandeMulticritere", "fichierXmlParametres", [
        ("nomFichier", "RECH.xml"), ("fichierXml", search_file(counter, criteria, after)), ("nomCertificat", "c.pem")])
    assert reply.status == 200, reply.body[:1500]
    answer = etree.fromstring(reply.field("fichierXmlRetour"))
    assert schemas.errors(schemas.load(schemas.SEARCH_FILE), answer) == []
    numbers = [n.text for n in answer.findall(f"{N}listeDemandes/{N}numUnique")]
    return numbers, [a.get("code") for a in answer.iter(f"{N}anomalie")]


@pytest.fixture
def register_of(hub):
    """Applications of 057 with different first communes, plus one in 054 and one cancelled."""
    now = now_in_paris()
    made = {}
    for index, (counter, communes) in enumerate([("DEMOB", (demo.WOIPPY,)), ("DEMOC", (demo.METZ, demo.WOIPPY)),
                                                 ("DEMOE", (demo.METZ,)), ("DEMOB", (demo.THIONVILLE,))]):
        made[index] = str(services.register(hub.unit_of_work(), person(index, communes=communes), today(),
                                            counter, now).number)
    services.register(hub.unit_of_work(), person(10, communes=("54395",)), today(), "NANCY", now)
    services.cancel(hub.unit_of_work(), RegistrationNumber.parse(made[3]), Cancellation(today(), "RADABA"), "DEMOB",
                    now)
    return made


def test_everything_in_the_territory_in_the_sne_order(hub, register_of):
    numbers, anomalies = search(hub, "DEMOC")
    # first wished commune (57463 Metz, 57672 Thionville, 57751 Woippy), then filing date, then number
    assert numbers == [register_of[1], register_of[2], register_of[3], register_of[0]]
    assert anomalies == []


@pytest.mark.parametrize("criteria, expected", [
    ("<etatDemande>A</etatDemande>", [1, 2, 0]),
    ("<etatDemande>R</etatDemande>", [3]),
    ("<motifRadiation>RADABA</motifRadiation>", [3]),
    ("<communeSouhaitee>57751</communeSouhaitee>", [1, 0]),
    ("<personneRecherchee><nom>FAMILLE AAAC</nom></personneRecherchee>", [2]),
    ("<personneRecherchee><prenom>alex</prenom><dateNaissance>1980-01-02</dateNaissance></personneRecherchee>", [1]),
    ("<motifDemande>13</motifDemande>", [1, 2, 3, 0]),
    ("<motifDemande>06</motifDemande>", []),
    ("<estDelaiAnormalementLong>true</estDelaiAnormalementLong>", []),
    ("<association><nom>Les Amis</nom></association>", []),
    ("<piecesJustificatives><codeCategorie>IDD</codeCategorie></piecesJustificatives>", []),
])
def test_criteria(hub, register_of, criteria, expected):
    numbers, anomalies = search(hub, "DEMOB", criteria)
    assert numbers == [register_of[index] for index in expected]
    assert anomalies == []


def test_number_and_date_criteria(hub, register_of):
    assert search(hub, "DEMOB", f"<numUnique>{register_of[2]}</numUnique>")[0] == [register_of[2]]
    tomorrow = date.fromordinal(today().toordinal() + 1).isoformat()
    assert search(hub, "DEMOB", f"<dateDepotDebut>{tomorrow}</dateDepotDebut>")[0] == []
    assert len(search(hub, "DEMOB", f"<dateDepotFin>{today().isoformat()}</dateDepotFin>")[0]) == 4


def test_searches_stay_in_the_territory(hub, register_of):
    numbers, _ = search(hub, "NANCY")
    assert len(numbers) == 1 and numbers[0].startswith("054")


def test_invalid_criteria_and_foreign_header_are_anomalies(hub, register_of):
    assert search(hub, "DEMOB", "<etatDemande>Z</etatDemande>") == ([], ["NUU107"])
    assert search(hub, "DEMOB", "<numUnique>123</numUnique>") == ([], ["NUU110"])
    reply = hub.client("DEMOB").call(RECHERCHE, "rechercheDemandeMulticritere", "fichierXmlParametres", [
        ("nomFichier", "RECH.xml"), ("fichierXml", search_file("DEMOC")), ("nomCertificat", "c.pem")])
    assert b'code="NUU184"' in reply.field("fichierXmlRetour")


def test_paging_by_the_last_number_received(hub):
    now = now_in_paris()
    for index in range(503):
        services.register(hub.unit_of_work(), person(100 + index), today(), "DEMOB", now)
    first, anomalies = search(hub, "DEMOE")
    assert len(first) == 500 and anomalies == ["RECH-SUITE"]
    second, anomalies = search(hub, "DEMOE", after=first[-1])
    assert len(second) == 3 and anomalies == []
    assert set(first).isdisjoint(second)
