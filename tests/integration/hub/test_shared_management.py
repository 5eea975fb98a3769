"""GestionPartageeEVTImplService over HTTPS: event types, and the events of applications, with rights,
territory, the journal and dispatching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from core.domain.calendar import now_in_paris
from core.domain.dispatch import Channel, Filter
from core.domain.shared_management import Feature, ValueType, territorial_type
from core.service_layer import dispatching, services
from core.service_layer import shared_management as gp
from core.wire import schemas, xml
from core.wire.codec import NS
from core.wire.dispatch import stored_file
from core.wire.shared_management import EVENTS_FILE, TYPES_FILE
from support.files import GESTION, event, events_file, person, today, types_file

N = f"{{{NS}}}"


def call(hub, counter: str, operation: str, file: bytes, mtom: bool = True) -> etree._Element:
    reply = hub.client(counter).call(GESTION, operation, "fichierXmlParametres", [
        ("nomFichier", "GP.xml"), ("fichierXml", file), ("nomCertificat", "c.pem")], mtom=mtom)
    assert reply.status == 200, reply.body[:1500]
    answer = etree.fromstring(reply.field("fichierXmlRetour"))
    schema = TYPES_FILE if operation.startswith("listerTypes") else EVENTS_FILE
    assert schemas.errors(schemas.load(schema), answer) == []
    return answer


def anomalies(answer: etree._Element) -> list[str]:
    return [a.get("code") for a in answer.iter(f"{N}anomalie")]


def events_of(answer: etree._Element) -> list[dict]:
    found = []
    for element in answer.iter(f"{N}evenement"):
        entry = {etree.QName(child).localname: child.text for child in element if len(child) == 0}
        entry["values"] = {f.findtext(f"{N}code"): f.findtext(f"{N}valeurCaracteristiqueSpecifique")
                           for f in element.iter(f"{N}caracteristiqueSpecifique")}
        found.append(entry)
    return found


@pytest.fixture
def number(hub) -> str:
    return str(services.register(hub.unit_of_work(), person(1), today(), "DEMOC", now_in_paris()).number)


def add(hub, counter: str, number: str, *content: str) -> etree._Element:
    return call(hub, counter, "ajouterEvenementDemande", events_file(counter, number, *content))


def test_national_types_are_the_decrees_regulatory_and_published(hub):
    answer = call(hub, "DEMOB", "listerTypesEvenementsNationaux", types_file("DEMOB"))
    assert anomalies(answer) == []
    codes = [t.findtext(f"{N}codeTypeEvenement") for t in answer.iter(f"{N}typeEvenement")]
    assert {"DEMPIECE", "DESIGCAL", "ODJCAL", "EXAMCAL", "VISITPROP", "VISITEFF", "DECISCAL", "REFUSDEM",
            "SIGNBAIL"} <= set(codes)
    assert {t.findtext(f"{N}reglementaire") for t in answer.iter(f"{N}typeEvenement")} == {"true"}
    assert {t.findtext(f"{N}aPublierSurPGP") for t in answer.iter(f"{N}typeEvenement")} == {"true"}
    decision = next(t for t in answer.iter(f"{N}typeEvenement") if t.findtext(f"{N}codeTypeEvenement") == "DECISCAL")
    features = {f.findtext(f"{N}code"): f for f in decision.iter(f"{N}caracteristiqueSpecifique")}
    assert features["DECISION"].findtext(f"{N}obligatoire") == "true"
    assert features["DECISION"].findtext(f"{N}typeCaracteristiqueSpecifique") == "LST"
    assert "ATTRANG" in features["DECISION"].findtext(f"{N}aideALaSaisie")
    assert decision.findtext(f"{N}utilisableMultiplesAttributionsSousConditions") == "true"


def test_territorial_types_of_the_counters_own_territory_only(hub):
    gp.define_territorial_type(hub.unit_of_work(), territorial_type(
        "057", "COMLOC", "Commission locale", "Passage en commission locale", "Votre demande a été étudiée localement",
        published=True, features=[Feature("DATECOM", "Date de la commission", ValueType.DATE, required=True)]),
        "GEST1", now_in_paris())
    answer = call(hub, "DEMOB", "listerTypesEvenementsTerritoriaux", types_file("DEMOB", "057"))
    listed = list(answer.iter(f"{N}typeEvenement"))
    assert [t.findtext(f"{N}codeTypeEvenement") for t in listed] == ["COMLOC"]
    assert listed[0].findtext(f"{N}reglementaire") == "false"
    assert listed[0].findtext(f"{N}codeTerritoire") == "057"
    assert anomalies(call(hub, "NANCY", "listerTypesEvenementsTerritoriaux", types_file("NANCY", "057"))) == ["NUU181"]
    assert anomalies(call(hub, "DEMOB", "listerTypesEvenementsTerritoriaux", types_file("DEMOB"))) == ["NUU102"]


def test_add_list_change_delete_an_event(hub, number):
    added = events_of(add(hub, "DEMOB", number, event("DECISCAL", today(), "Séance du matin", DATECAL=str(today()),
                                                      DECISION="ATTRANG", RANG="2")))
    assert len(added) == 1
    event_id = int(added[0]["idEvenement"])
    assert added[0]["auteurCreation"] == "DEMOB" and added[0]["natureModification"] == "CRE"
    assert added[0]["reglementaire"] == "true" and added[0]["values"]["DECISION"] == "ATTRANG"

    listed = events_of(call(hub, "DEMOC", "listerEvenementsDemande", events_file("DEMOC", number)))
    assert [e["idEvenement"] for e in listed] == [str(event_id)]

    changed = events_of(call(hub, "DEMOB", "modifierEvenementDemande", events_file("DEMOB", number, event(
        "DECISCAL", today(), event_id=event_id, DATECAL=str(today()), DECISION="ATT"))))
    assert changed[0]["natureModification"] == "MOD" and changed[0]["auteurModification"] == "DEMOB"
    assert changed[0]["values"] == {"DATECAL": str(today()), "DECISION": "ATT"}
    assert "commentaire" not in changed[0]  # a change replaces the event's content as a whole

    deleted = call(hub, "DEMOB", "supprimerEvenementDemande", events_file("DEMOB", number, event(event_id=event_id)))
    assert events_of(deleted)[0]["natureModification"] == "SUP"
    assert events_of(call(hub, "DEMOC", "listerEvenementsDemande", events_file("DEMOC", number))) == []
    kinds = [entry.kind for entry in hub.unit_of_work().__enter__().events.history(number)]
    assert kinds[-3:] == ["shared_event.added", "shared_event.changed", "shared_event.deleted"]


def test_without_the_action_the_shared_message_names_no_operation(hub, number):
    """The six operations share fichierXmlParametres: the SOAP action says which one is meant."""
    body = events_file("DEMOB", number)
    reply = hub.client("DEMOB").call(GESTION, "inconnue", "fichierXmlParametres", [
        ("nomFichier", "GP.xml"), ("fichierXml", body), ("nomCertificat", "c.pem")], mtom=False)
    assert reply.status == 400 and reply.fault_code == "SOAP-OPERATION"


@pytest.mark.parametrize("mtom", [True, False])
def test_both_encodings(hub, number, mtom):
    answer = call(hub, "DEMOB", "listerEvenementsDemande", events_file("DEMOB", number), mtom=mtom)
    assert anomalies(answer) == []


# (counter, type, the date it happened in days from today or None, characteristics, anomalies).
# The dates are taken when the test runs, not when it is collected: a run across midnight in Paris
# would otherwise date the event before the application it is added to.
REFUSALS = [
    # rights table: the CAL's decision is the landlord's
    ("DEMOC", "DECISCAL", 0, {"DATECAL": "2026-01-01", "DECISION": "ATT"}, ["NUU203"]),
    # an unknown type; a characteristic unknown to the type, a value outside its list, a missing one
    ("DEMOB", "INCONNU", 0, {}, ["NUU200"]),
    ("DEMOB", "REFUSDEM", 0, {"MOTIFREF": "LOYER", "BIDULE": "x"}, ["NUU202"]),
    ("DEMOB", "REFUSDEM", 0, {"MOTIFREF": "CHER"}, ["NUU202"]),
    ("DEMOB", "DECISCAL", 0, {"DATECAL": "2026-02-30", "DECISION": "ATT"}, ["NUU202"]),
    ("DEMOB", "REFUSDEM", 0, {}, ["NUU102"]),
    # the date it happened: required, not in the future, not before the filing
    ("DEMOB", "DEMPIECE", None, {"PIECES": "Avis d'imposition"}, ["NUU102"]),
    ("DEMOB", "DEMPIECE", 1, {"PIECES": "Avis d'imposition"}, ["NUU103"]),
    ("DEMOB", "DEMPIECE", -1, {"PIECES": "Avis d'imposition"}, ["NUU103"]),
]


@pytest.mark.parametrize("counter, type_code, days, values, expected", REFUSALS)
def test_refused_events_change_nothing(hub, number, counter, type_code, days, values, expected):
    occurred = None if days is None else today() + timedelta(days=days)
    assert sorted(set(anomalies(add(hub, counter, number, event(type_code, occurred, **values))))) == expected
    assert events_of(call(hub, "DEMOB", "listerEvenementsDemande", events_file("DEMOB", number))) == []


def test_another_territorys_application_is_not_reachable(hub, number):
    assert anomalies(add(hub, "NANCY", number, event("DEMPIECE", today(), PIECES="Bulletins"))) == ["NUU181"]
    assert anomalies(call(hub, "NANCY", "listerEvenementsDemande", events_file("NANCY", number))) == ["NUU181"]


def test_only_the_author_or_the_manager_changes_or_deletes(hub, number):
    [added] = events_of(add(hub, "DEMOB", number, event("DEMPIECE", today(), PIECES="Bulletins")))
    event_id = int(added["idEvenement"])
    change = event("DEMPIECE", today(), event_id=event_id, PIECES="Bulletins de salaire")
    assert anomalies(call(hub, "DEMOC", "modifierEvenementDemande", events_file("DEMOC", number, change))) == ["NUU203"]
    assert anomalies(call(hub, "DEMOC", "supprimerEvenementDemande",
                          events_file("DEMOC", number, event(event_id=event_id)))) == ["NUU203"]
    assert anomalies(call(hub, "GEST1", "modifierEvenementDemande", events_file("GEST1", number, change))) == []
    assert anomalies(call(hub, "GEST1", "supprimerEvenementDemande",
                          events_file("GEST1", number, event(event_id=event_id)))) == []
    assert anomalies(call(hub, "GEST1", "supprimerEvenementDemande",
                          events_file("GEST1", number, event(event_id=event_id)))) == ["NUU201"]


def test_a_file_in_another_counters_name_is_refused(hub, number):
    answer = call(hub, "DEMOB", "ajouterEvenementDemande",
                  events_file("DEMOC", number, event("DEMPIECE", today(), PIECES="Bulletins")))
    assert anomalies(answer) == ["NUU184"]


def test_one_event_per_operation(hub, number):
    content = event("DEMPIECE", today(), PIECES="Bulletins")
    assert anomalies(add(hub, "DEMOB", number, content, content)) == ["NUU105"]
    assert anomalies(add(hub, "DEMOB", number)) == ["NUU102"]


def test_a_file_against_the_schema_is_a_fault(hub, number):
    reply = hub.client("DEMOB").call(GESTION, "ajouterEvenementDemande", "fichierXmlParametres", [
        ("nomFichier", "GP.xml"), ("fichierXml", events_file("DEMOB", number, file_type="TOOLONG")),
        ("nomCertificat", "c.pem")])
    assert reply.status == 400 and reply.fault_code == "FICHIER-XSD"


def test_event_changes_are_dispatched_as_evt_without_a_file(hub, number):
    subscription = dispatching.subscribe(hub.unit_of_work(), "DEMOE", Channel.PULL, Filter(), now_in_paris())
    add(hub, "DEMOB", number, event("DEMPIECE", today(), PIECES="Bulletins"))
    dispatching.fan_out(hub.unit_of_work(), now_in_paris(), stored_file)
    pulled = dispatching.pull(hub.unit_of_work(readonly=True), "DEMOE", 0, subscription.id, 100)
    assert [(item.kind, item.number, item.actor, item.file is None) for item in pulled.items] == \
        [("CRE", number, "DEMOC", False), ("EVT", number, "DEMOB", True)]


def test_an_ended_territorial_type_takes_no_new_event(hub, number):
    gp.define_territorial_type(hub.unit_of_work(), territorial_type(
        "057", "ACCOMP", "Accompagnement social", "Mesure d'accompagnement", "Un accompagnement vous est proposé"),
        "GEST1", now_in_paris())
    assert anomalies(add(hub, "DEMOC", number, event("ACCOMP", today()))) == []
    gp.end_territorial_type(hub.unit_of_work(), "057", "ACCOMP", today() - timedelta(days=1), "GEST1")
    assert anomalies(add(hub, "DEMOC", number, event("ACCOMP", today()))) == ["NUU200"]
    listed = events_of(call(hub, "DEMOC", "listerEvenementsDemande", events_file("DEMOC", number)))
    assert [e["codeTypeEvenement"] for e in listed] == ["ACCOMP"]  # the recorded event keeps its type


@pytest.mark.parametrize("file, code", [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><interfaceNuu/>', xml.DTD_FORBIDDEN),
    (b"<interfaceNuu", xml.NOT_WELL_FORMED),
    (b'<interfaceNuu xmlns="http://nuu.application.i2/" versionInterface="02.00"/>', "FICHIER-XSD"),
])
def test_hostile_files_are_faults_and_store_nothing(hub, number, file, code):
    reply = hub.client("DEMOB").call(GESTION, "ajouterEvenementDemande", "fichierXmlParametres", [
        ("nomFichier", "GP.xml"), ("fichierXml", file), ("nomCertificat", "c.pem")])
    assert reply.status == 400 and reply.fault_code == code
    assert b"root:" not in reply.body
    assert events_of(call(hub, "DEMOB", "listerEvenementsDemande", events_file("DEMOB", number))) == []
