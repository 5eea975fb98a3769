"""The read operations: an application, the DALO declaration and new DALO list, cancellations since."""

from datetime import timedelta

import pytest

from .files import application_file, cancellation, dalo_active, now, today
from .operations import (
    N,
    answer_file,
    cancelled_since,
    codes,
    declare_dalo,
    get_demande,
    get_num_unique,
    new_dalo_since,
    number_of,
    numbers,
    search_answer,
)

CLOCK_MARGIN = timedelta(minutes=1)  # the kit's clock and the hub's may differ a little


@pytest.mark.requirement("SNE-HUB-R120")
def test_read_an_application(client, ledger, register):
    number, household = register()
    answer = answer_file(get_demande(client, number), ledger, "getDemandeLogement")
    assert answer.findtext(f"{N}entete/{N}typeFichier") == "RET"
    assert number_of(answer) == number
    assert answer.findtext(f".//{N}demandeur/{N}nom") == household.surname


@pytest.mark.requirement("SNE-HUB-R121")
def test_reading_a_number_the_register_never_issued_is_a_fault_nuu111(client, register):
    issued, _ = register()
    unknown = issued[:7] + "999999" + issued[13:]  # the same territory and period, a sequence far ahead
    reply = get_demande(client, unknown)
    assert (reply.status, reply.fault_code) == (400, "NUU111"), reply.describe()


@pytest.mark.requirement("SNE-HUB-R123")
def test_a_dalo_declaration_then_the_new_dalo_list(client, state, target, ledger, register):
    number, household = register()
    since = now() - CLOCK_MARGIN
    file = application_file(state.name, household, "MOD", commune=target.commune, number=number,
                            dalo=dalo_active(today()))
    answer = answer_file(declare_dalo(state, file), ledger, "getDeclarationNouveauDalo", "fichierDalo")
    assert codes(answer) == [], "the State counter's DALO declaration was refused"
    assert answer.find(f".//{N}statutDalo").get("code") == "ACTIF"
    listed = search_answer(new_dalo_since(client, since), ledger, "getNouveauxDaloDepuisLe", "fichierNouveauxDalo")
    assert number in numbers(listed)
    later = search_answer(new_dalo_since(client, now() + 5 * CLOCK_MARGIN), ledger,
                          "getNouveauxDaloDepuisLe (future)", "fichierNouveauxDalo")
    assert numbers(later) == []


@pytest.mark.requirement("SNE-HUB-R124")
def test_the_applications_cancelled_since_a_moment_oldest_first(client, target, ledger, register):
    since = now() - CLOCK_MARGIN
    registered = [register() for _ in range(3)]
    for number, household in registered[:2]:
        file = application_file(target.counter, household, "RAD", commune=target.commune, number=number,
                                lifecycle=cancellation("RADABA", today()))
        assert codes(answer_file(get_num_unique(client, file), ledger, "getNumUnique RAD")) == []
    listed = numbers(search_answer(cancelled_since(client, since), ledger, "getDemandesRadieesDepuisLe",
                                   "fichierDemandesRadiees"))
    first, second, kept = (number for number, _ in registered)
    mine = [number for number in listed if number in (first, second, kept)]
    assert mine == [first, second], f"cancelled since {since:%H:%M:%S}: {listed}"
