"""getNumUnique: creation, change, renewal, cancellation with every motive, duplicates."""

import pytest

from .files import Household, application_file, cancellation, renewal, today
from .operations import (
    N,
    anomalies,
    answer_file,
    codes,
    duplicates_list,
    get_demande,
    get_doublons,
    get_num_unique,
    number_of,
)

MOTIVES = ("RADABA", "RADIRR", "RADCON", "RADATT")  # those a counter records; RADREN is the register's own


@pytest.mark.requirement("SNE-HUB-R110")
def test_a_creation_answers_a_ret_with_a_number_and_an_attestation(client, target, ledger, household):
    reply = get_num_unique(client, application_file(target.counter, household, commune=target.commune))
    answer = answer_file(reply, ledger, "getNumUnique CRE")
    assert answer.findtext(f"{N}entete/{N}typeFichier") == "RET"
    assert anomalies(answer) == [], "a valid CRE of a new household was refused"
    number = number_of(answer)
    assert number and len(number) == 18 and number.endswith(target.counter), f"numUnique {number!r}"
    assert answer.findtext(f".//{N}dateCreationDemande") == today().isoformat()
    assert (reply.text("nomAttestation") or "").endswith(".pdf"), "no nomAttestation naming a PDF"
    assert (reply.field("attestation") or b"").startswith(b"%PDF-"), "the attestation is not a PDF"


@pytest.mark.requirement("SNE-HUB-R111")
def test_a_change_replaces_the_application_and_raises_its_version(client, target, ledger, register):
    number, household = register()
    changed = application_file(target.counter, household, "MOD", commune=target.commune, number=number,
                               email="nouvelle.adresse@example.org")
    answer = answer_file(get_num_unique(client, changed), ledger, "getNumUnique MOD")
    assert anomalies(answer) == []
    assert number_of(answer) == number
    assert answer.findtext(f".//{N}demandeur/{N}mel") == "nouvelle.adresse@example.org"
    assert int(answer.findtext(f".//{N}incrementFichier") or 0) >= 2, "incrementFichier did not move"


@pytest.mark.requirement("SNE-HUB-R112")
def test_a_renewal_before_its_time_is_refused_with_an_anomaly(client, target, ledger, register):
    number, household = register()
    file = application_file(target.counter, household, "REN", commune=target.commune, number=number,
                            lifecycle=renewal(today()))
    answer = answer_file(get_num_unique(client, file), ledger, "getNumUnique REN")
    assert answer.findtext(f"{N}entete/{N}typeFichier") == "RET"
    assert "NUU140" in codes(answer), f"renewing an application filed today: anomalies {anomalies(answer)}"
    assert number_of(answer) == number


@pytest.mark.requirement("SNE-HUB-R113")
@pytest.mark.parametrize("motive", MOTIVES)
def test_a_cancellation_with_each_motive(client, target, ledger, register, motive):
    number, household = register()
    block = cancellation(motive, today(), target.commune, target.postal_code)
    file = application_file(target.counter, household, "RAD", commune=target.commune, number=number, lifecycle=block)
    answer = answer_file(get_num_unique(client, file), ledger, f"getNumUnique RAD {motive}")
    assert anomalies(answer) == [], f"RAD {motive} refused"
    assert answer.find(f".//{N}radiation/{N}motifRadiation").get("code") == motive


@pytest.mark.requirement("SNE-HUB-R113")
def test_a_counter_cannot_cancel_for_non_renewal(client, target, ledger, register):
    number, household = register()
    block = cancellation("RADREN", today())
    file = application_file(target.counter, household, "RAD", commune=target.commune, number=number, lifecycle=block)
    answer = answer_file(get_num_unique(client, file), ledger, "getNumUnique RAD RADREN")
    assert anomalies(answer), "RADREN is the register's own motive: a counter's is refused"
    held = answer_file(get_demande(client, number), ledger, "getDemandeLogement after RAD RADREN")
    assert held.find(f".//{N}radiation") is None, "the application was cancelled all the same"


@pytest.mark.requirement("SNE-HUB-R114")
def test_a_second_creation_for_the_same_household_lists_the_duplicate(client, target, ledger, register, family):
    first, household = register(Household.invent(family, 7))
    again = get_num_unique(client, application_file(target.counter, household, commune=target.commune))
    answer = answer_file(again, ledger, "getNumUnique CRE (duplicate)")
    assert number_of(answer) is None, "a probable duplicate got a number without forcerDoublon"
    assert "NUU120" in codes(answer), f"anomalies {anomalies(answer)}"
    listed = [element.text for element in answer.findall(f".//{N}listeDoublons/{N}doublon/{N}numUnique")]
    assert listed == [first]
    forced = get_num_unique(client, application_file(target.counter, household, commune=target.commune,
                                                     force_duplicate=True))
    forced_answer = answer_file(forced, ledger, "getNumUnique CRE (forcerDoublon)")
    assert anomalies(forced_answer) == [] and number_of(forced_answer) not in (None, first)


@pytest.mark.requirement("SNE-HUB-R122")
def test_get_doublons_names_the_probable_duplicates(client, target, ledger, register, family):
    first, household = register(Household.invent(family, 8))
    reply = get_doublons(client, application_file(target.counter, household, commune=target.commune))
    found = duplicates_list(reply, ledger, "getDoublons")
    assert found is not None, "getDoublons: no listeDoublons for a registered household"
    assert [element.text for element in found.iter(f"{N}numUnique")] == [first]
    fresh = get_doublons(client, application_file(target.counter, Household.invent(family, 9), commune=target.commune))
    assert duplicates_list(fresh, ledger, "getDoublons (new household)") is None
    assert fresh.field("fichierDemande"), "getDoublons: no fichierDemande in the answer"


@pytest.mark.requirement("SNE-HUB-R115")
def test_a_cancellation_without_a_motive_reactivates_the_application(client, target, ledger, register):
    number, household = register()
    for motive in ("RADCON", None):  # unreachable, then reached after all ("déradiation")
        block = cancellation(motive, today(), target.commune, target.postal_code)
        file = application_file(target.counter, household, "RAD", commune=target.commune, number=number,
                                lifecycle=block)
        answer = answer_file(get_num_unique(client, file), ledger, f"getNumUnique RAD {motive or '(no motive)'}")
        assert anomalies(answer) == [], f"RAD {motive or 'without motive'} refused"
    held = answer_file(get_demande(client, number), ledger, "getDemandeLogement after the reactivation")
    assert held.find(f".//{N}radiation/{N}motifRadiation[@code]") is None, "still cancelled"


@pytest.mark.requirement("SNE-HUB-R116")
def test_a_deletion_by_the_registering_counter(client, target, ledger, register):
    number, household = register()
    file = application_file(target.counter, household, "SUP", commune=target.commune, number=number)
    assert anomalies(answer_file(get_num_unique(client, file), ledger, "getNumUnique SUP")) == []
    reply = get_demande(client, number)
    assert (reply.status, reply.fault_code) == (400, "NUU111"), f"reading a deleted application: {reply.describe()}"
