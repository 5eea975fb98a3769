"""rechercheDemandeMulticritere: criteria, state, and paging by the last number received."""

import pytest

from .files import Household, application_file, cancellation, search_file, today
from .operations import answer_file, codes, get_num_unique, numbers, search, search_answer

PAGE = 500


def found(client, ledger, counter: str, criteria: str = "", after: str | None = None) -> tuple[list[str], list]:
    answer = search_answer(search(client, search_file(counter, criteria, after)), ledger,
                           "rechercheDemandeMulticritere")
    return numbers(answer), codes(answer)


def by_name(household: Household) -> str:
    return f"<personneRecherchee><nom>{household.surname}</nom></personneRecherchee>"


@pytest.mark.requirement("SNE-HUB-R130")
def test_a_search_finds_the_territory_applications_by_name_and_state(client, target, ledger, register, family):
    first, household = register(Household.invent(family, 20))
    second, other = register(Household.invent(family, 21))
    cancel = application_file(target.counter, other, "RAD", commune=target.commune, number=second,
                              lifecycle=cancellation("RADABA", today()))
    assert codes(answer_file(get_num_unique(client, cancel), ledger, "getNumUnique RAD")) == []
    everyone, anomalies = found(client, ledger, target.counter, by_name(household))
    assert first in everyone and second in everyone and anomalies == []
    active, _ = found(client, ledger, target.counter, "<etatDemande>A</etatDemande>" + by_name(household))
    cancelled, _ = found(client, ledger, target.counter, "<etatDemande>R</etatDemande>" + by_name(household))
    assert first in active and second not in active, "etatDemande A"
    assert second in cancelled and first not in cancelled, "etatDemande R"


@pytest.mark.requirement("SNE-HUB-R131")
def test_paging_continues_after_the_last_number_received(client, target, ledger, register, family):
    mine = [register(Household.invent(family, 30 + index))[0] for index in range(3)]
    criteria = by_name(Household.invent(family, 0))
    listed, anomalies = found(client, ledger, target.counter, criteria)
    ordered = [number for number in listed if number in mine]
    assert sorted(ordered) == sorted(mine), f"the search by name missed some of {mine}: {listed}"
    for position, number in enumerate(listed):
        after, _ = found(client, ledger, target.counter, criteria, after=number)
        assert after == listed[position + 1:], f"the page after {number} is {after}, not {listed[position + 1:]}"


@pytest.mark.requirement("SNE-HUB-R131")
def test_a_full_page_says_more_follow(client, target, ledger, register):
    register()
    page, anomalies = found(client, ledger, target.counter)
    assert len(page) <= PAGE, f"a page of {len(page)} numbers"
    if len(page) < PAGE:
        assert "RECH-SUITE" not in anomalies, "RECH-SUITE on a page that is not full"
        return
    assert "RECH-SUITE" in anomalies, "a full page without RECH-SUITE"
    following, _ = found(client, ledger, target.counter, after=page[-1])
    assert following and set(following).isdisjoint(page), "the next page repeats the first"
