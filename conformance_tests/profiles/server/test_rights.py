"""Rights: a counter of another territory neither reads, changes nor finds the territory's applications."""

import pytest

from .files import Household, application_file, search_file
from .operations import answer_file, codes, get_demande, get_num_unique, number_of, numbers, search, search_answer


@pytest.mark.requirement("SNE-HUB-R140")
def test_another_territory_cannot_read_an_application(foreign, register):
    number, _ = register()
    reply = get_demande(foreign, number)
    assert (reply.status, reply.fault_code) == (400, "NUU181"), reply.describe()


@pytest.mark.requirement("SNE-HUB-R140")
def test_another_territory_cannot_change_an_application(foreign, target, ledger, register):
    number, household = register()
    file = application_file(foreign.name, household, "MOD", commune=target.commune, number=number,
                            email="intrus@example.org")
    answer = answer_file(get_num_unique(foreign, file), ledger, "getNumUnique MOD (another territory)")
    assert "NUU181" in codes(answer)
    assert number_of(answer) in (None, number)


@pytest.mark.requirement("SNE-HUB-R140")
def test_another_territory_does_not_find_an_application(foreign, ledger, register, family):
    number, household = register(Household.invent(family, 40))
    criteria = f"<personneRecherchee><nom>{household.surname}</nom></personneRecherchee>"
    answer = search_answer(search(foreign, search_file(foreign.name, criteria)), ledger,
                           "rechercheDemandeMulticritere (another territory)")
    assert number not in numbers(answer)
