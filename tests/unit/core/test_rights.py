"""Rights per counter type, row by row, against the specification written out here."""

import pytest

from core.domain.codes import CancellationMotive, CounterType
from core.domain.errors import NotAllowed, OutsideTerritory, UnknownCounter
from core.domain.referential import SYSTEM, Counter, Operation, authorize, authorize_cancellation

ALL = {"bailleur", "commune", "EPCI", "Etat", "autre", "gestionnaire"}
REGISTERING = ALL - {"gestionnaire"}

# The specification (docs/REGISTER.md): who may do what, within their own territory.
EXPECTED = {
    Operation.REGISTER: REGISTERING,
    Operation.REGISTER_AFTER_SEPARATION: REGISTERING,
    Operation.UPDATE: ALL,
    Operation.RENEW: ALL,
    Operation.CANCEL: ALL,
    Operation.REACTIVATE: ALL,
    Operation.DELETE: REGISTERING,
    Operation.READ: ALL,
    Operation.SEARCH: ALL,
    Operation.DECLARE_DALO: {"Etat", "gestionnaire"},
}
EXPECTED_MOTIVES = {
    CancellationMotive.ABANDONMENT: ALL,
    CancellationMotive.ALLOCATION: {"bailleur"},
    CancellationMotive.INADMISSIBILITY: ALL,
    CancellationMotive.UNREACHABLE: ALL,
    CancellationMotive.NOT_RENEWED: set(),
}


def counter(kind: CounterType, territory: str = "057", active: bool = True) -> Counter:
    return Counter("ABCDE", "Guichet", kind, territory, active=active)


@pytest.mark.parametrize("operation", list(Operation))
@pytest.mark.parametrize("kind", list(CounterType))
def test_operation_rights(operation, kind):
    if kind.value in EXPECTED[operation]:
        authorize(counter(kind), operation, "057")
    else:
        with pytest.raises(NotAllowed):
            authorize(counter(kind), operation, "057")


@pytest.mark.parametrize("operation", list(Operation))
def test_no_counter_acts_outside_its_territory(operation):
    with pytest.raises((OutsideTerritory, NotAllowed)):
        authorize(counter(CounterType.LANDLORD, territory="054"), operation, "057")


@pytest.mark.parametrize("motive", list(CancellationMotive))
@pytest.mark.parametrize("kind", list(CounterType))
def test_cancellation_motive_rights(motive, kind):
    if kind.value in EXPECTED_MOTIVES[motive]:
        authorize_cancellation(counter(kind), motive)
    else:
        with pytest.raises(NotAllowed):
            authorize_cancellation(counter(kind), motive)


def test_the_register_itself_cancels_for_non_renewal():
    authorize_cancellation(SYSTEM, CancellationMotive.NOT_RENEWED)


def test_an_inactive_counter_can_do_nothing():
    with pytest.raises(UnknownCounter):
        authorize(counter(CounterType.LANDLORD, active=False), Operation.READ, "057")
