"""The data the register owns, over real HTTPS: MOD semantics (whole replacement, ``modifie`` and
``incrementFichier`` as information), RADATT's lease date, the indicators of
``informationTraitement``, and what is left of an application after its retention period."""

from __future__ import annotations

from datetime import timedelta

from lxml import etree

from core.domain.application import Allocation, AllocationAddress, Cancellation
from core.domain.calendar import now_in_paris
from core.domain.form import ProcessingInformation
from core.domain.indicators import PrefectDelay
from core.service_layer import indicators, retention
from core.service_layer.retention import NO_DOCUMENTS  # it holds no document
from core.wire.codec import NS
from support.files import get_demande, get_num_unique, interface_file, person, today

from .test_get_num_unique import anomalies, answer_of, registered
from .test_search import search

N = f"{{{NS}}}"


def read(hub, number: str, counter: str = "DEMOB") -> etree._Element:
    reply = get_demande(hub.client(counter), number)
    assert reply.status == 200, reply.body[:2000]
    return etree.fromstring(reply.field("fichierDemande"))


def marked(file: bytes, *paths: str) -> bytes:
    """The file with ``modifie="true"`` on the elements at ``paths`` (ElementPath from demandeLogement)."""
    root = etree.fromstring(file)
    demand = root.find(f"{N}demande/{N}demandeLogement")
    for path in paths:
        demand.find(_qualified(path)).set(f"{N}modifie", "true")
    return etree.tostring(root)


def _qualified(path: str) -> str:
    return "/".join(f"{N}{step}" for step in path.split("/"))


# -- MOD --------------------------------------------------------------------------------------


def test_a_mod_replaces_the_whole_household_part_whatever_its_modifie_marks(hub):
    """The marks say what the sender changed; the register takes the whole file: an element changed
    without a mark is changed, one marked without a change stays as sent, one left out is gone."""
    number = registered(hub, "DEMOB", index=41)
    original = person(41, email="avant@example.org")
    answer_of(get_num_unique(hub.client("DEMOB"), interface_file("DEMOB", "MOD", original, number=number)))
    changed = person(41, email=None, mobile="0698765432")
    file = marked(interface_file("DEMOC", "MOD", changed, number=number), "precision")
    answer = answer_of(get_num_unique(hub.client("DEMOC"), file))
    assert not anomalies(answer)
    stored = read(hub, number)
    applicant = stored.find(f".//{N}personnePhysique/{N}demandeur")
    assert applicant.findtext(f"{N}mel") is None  # left out of the MOD, unmarked: gone
    assert "0698765432" in etree.tostring(applicant).decode()  # changed without a mark: taken
    assert stored.findtext(f".//{N}incrementFichier") == "3"


def test_a_stale_or_foreign_increment_does_not_refuse_a_mod(hub):
    number = registered(hub, "DEMOB", index=42)
    for counter, increment, version in (("DEMOC", "1", "2"), ("DEMOE", "1", "3"), ("DEMOB", "LOT-2026-17", "4")):
        answer = answer_of(get_num_unique(hub.client(counter), interface_file(
            counter, "MOD", person(42, email=f"{counter.lower()}@example.org"), number=number, increment=increment)))
        assert not anomalies(answer), increment
        assert answer.findtext(f".//{N}incrementFichier") == version
    assert read(hub, number).find(f".//{N}demandeur/{N}mel").text == "demob@example.org"  # the last write wins


# -- RADATT -----------------------------------------------------------------------------------


def allocation_on(lease_signed_on, cancelled_on) -> Cancellation:
    return Cancellation(cancelled_on, "RADATT", allocation=Allocation(
        lease_signed_on=lease_signed_on, already_housed_by_landlord="NON", collective_agreement="AUCUN",
        reservation_quota="AUCUN", address=AllocationAddress(street="rue Haute", postal_code="57000",
                                                             commune="57463")))


def test_radatt_refuses_a_lease_signed_after_the_cancellation_or_in_the_future(hub):
    day = today()
    number = answer_of(get_num_unique(hub.client("DEMOB"), interface_file(
        "DEMOB", form=person(43), filing_date=day - timedelta(days=10)))).findtext(f".//{N}numUnique")
    for lease, cancelled in ((day, day - timedelta(days=1)), (day + timedelta(days=1), day)):
        answer = answer_of(get_num_unique(hub.client("DEMOB"), interface_file(
            "DEMOB", "RAD", person(43), number=number, cancellation=allocation_on(lease, cancelled))))
        assert anomalies(answer) == [("NUU196", "radiation.attributionLogement.dateSignatureBail")]
        assert answer.find(f".//{N}anomalie").findtext(f"{N}message").startswith(("Bail signé le", "Le bail"))
    assert read(hub, number).find(f".//{N}radiation") is None  # still active
    accepted = answer_of(get_num_unique(hub.client("DEMOB"), interface_file(
        "DEMOB", "RAD", person(43), number=number, cancellation=allocation_on(day - timedelta(days=2), day))))
    assert not anomalies(accepted)
    assert accepted.find(f".//{N}radiation/{N}motifRadiation").get("code") == "RADATT"


# -- indicators and retention, as counters see them --------------------------------------------


def test_the_register_indicators_are_in_its_files_searchable_and_not_the_counters(hub):
    number = registered(hub, "DEMOB", index=44)
    indicators.set_prefect_delay(hub.unit_of_work(), PrefectDelay("57", 24), now_in_paris())
    indicators.run(hub.unit_of_work, today() + timedelta(days=800), now_in_paris())
    block = read(hub, number).find(f".//{N}informationTraitement")
    assert block.findtext(f"{N}estDelaiAnormalementLong") == "true"
    assert block.findtext(f"{N}estMultiplesAttributionsSousConditions") == "false"
    assert block.findtext(f"{N}dateCalculIndicateur")
    assert read(hub, number).findtext(f".//{N}incrementFichier") == "2"
    claimed = person(44)
    claimed.processing = ProcessingInformation(abnormally_long_wait=False, multiple_conditional_allocations=True)
    answer = answer_of(get_num_unique(hub.client("DEMOC"), interface_file("DEMOC", "MOD", claimed, number=number)))
    assert not anomalies(answer)
    kept = answer.find(f".//{N}informationTraitement")
    assert (kept.findtext(f"{N}estDelaiAnormalementLong"),
            kept.findtext(f"{N}estMultiplesAttributionsSousConditions")) == ("true", "false")
    other = registered(hub, "DEMOB", index=45)
    found, codes = search(hub, "DEMOE", "<estDelaiAnormalementLong>true</estDelaiAnormalementLong>")
    assert found == [number] and not codes and other not in found
    assert search(hub, "DEMOE", "<estMultiplesAttributionsSousConditions>true</estMultiplesAttributionsSousConditions>"
                  ) == ([], [])


def test_an_application_purged_after_its_retention_is_unknown(hub):
    number = registered(hub, "DEMOB", index=46)
    answer_of(get_num_unique(hub.client("DEMOB"), interface_file(
        "DEMOB", "RAD", person(46), number=number, cancellation=Cancellation(today(), "RADABA"))))
    assert retention.run(hub.unit_of_work, today() + timedelta(days=365), now_in_paris(), NO_DOCUMENTS).purged == 0
    assert read(hub, number).find(f".//{N}radiation") is not None
    assert retention.run(hub.unit_of_work, today() + timedelta(days=367), now_in_paris(), NO_DOCUMENTS).purged == 1
    reply = get_demande(hub.client("DEMOB"), number)
    assert reply.status != 200 and b"NUU111" in reply.body
    assert search(hub, "DEMOB", f"<numUnique>{number}</numUnique>") == ([], [])
