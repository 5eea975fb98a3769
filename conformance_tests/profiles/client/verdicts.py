"""The verdicts that need the whole run: which scenarios were sent (R205), and how the client handled a
lost answer (R206), an anomaly (R207) and a probable duplicate (R208).

Each function returns the problems found (empty: the requirement holds) or None when the scenarios run
did not include what it judges.
"""

from __future__ import annotations

from ..server.wire import parse
from .endpoint import Log, Received
from .register import file_type, forced, number_of, surname
from .scenarios import DUPLICATED, FAULTED, REFUSED, Scenario


def numbers_given(log: Log) -> dict[str, set[str]]:
    """The numbers the kit gave, by household surname."""
    given: dict[str, set[str]] = {}
    for received in log.soap():
        if received.ret and received.file is not None:
            number = number_of(parse(received.ret))
            if number:
                given.setdefault(surname(received.file), set()).add(number)
    return given


def claims(received: Received, scenario: Scenario, given: dict[str, set[str]]) -> bool:
    """Whether ``received`` is the request ``scenario`` asks for."""
    if received.operation != scenario.operation:
        return False
    numbers = given.get(scenario.surname, set())
    if scenario.operation == "getDemandeLogement":
        return received.fields.get("numUnique") in numbers
    file = received.file
    if file is None:
        return False
    if scenario.operation == "rechercheDemandeMulticritere":
        return (file.findtext(".//{*}personneRecherchee/{*}nom") or "").strip() == scenario.surname
    motive = file.find(".//{*}radiation/{*}motifRadiation")
    return (file_type(file) == scenario.file_type and surname(file) == scenario.surname
            and (not scenario.with_number or number_of(file) in numbers)
            and (not scenario.motive or (motive is not None and motive.get("code") == scenario.motive)))


def missing_scenarios(log: Log, scenarios: tuple[Scenario, ...]) -> list[Scenario]:
    given = numbers_given(log)
    return [scenario for scenario in scenarios
            if not any(claims(received, scenario, given) for received in log.soap())]


def registrations(log: Log, name: str) -> list[Received]:
    """The CREs of household ``name``, in arrival order."""
    return [received for received in log.soap() if received.operation == "getNumUnique"
            and received.file is not None and file_type(received.file) == "CRE" and surname(received.file) == name]


def _included(scenarios: tuple[Scenario, ...], name: str) -> bool:
    return any(scenario.surname == name for scenario in scenarios)


def after_lost_answer(log: Log, scenarios: tuple[Scenario, ...]) -> list[str] | None:
    """R206: after the faulted CRE, a search for the household comes before any new CRE of it."""
    if not _included(scenarios, FAULTED):
        return None
    requests = log.soap()
    tries = registrations(log, FAULTED)
    if not tries:
        return [f"no registration of {FAULTED!r} was received"]
    start = requests.index(tries[0])
    for received in requests[start + 1:]:
        if received.operation == "rechercheDemandeMulticritere" and received.file is not None and \
                (received.file.findtext(".//{*}personneRecherchee/{*}nom") or "").strip() == FAULTED:
            return []
        if received in tries:
            return [f"the registration of {FAULTED!r} was sent again after a fault without a search first: "
                    "the first one may have been registered (a duplicate)"]
    return [f"after the fault answering the registration of {FAULTED!r}, no search for the household"]


def after_anomaly(log: Log, scenarios: tuple[Scenario, ...]) -> list[str] | None:
    """R207: the refused CRE is followed by a corrected one."""
    if not _included(scenarios, REFUSED):
        return None
    tries = registrations(log, REFUSED)
    if len(tries) < 2:
        return [f"the registration of {REFUSED!r} was answered with an anomaly (mel) and never sent again "
                "corrected: the client took it as registered"]
    if tries[1].body == tries[0].body:
        return [f"the registration of {REFUSED!r} was sent again unchanged after the anomaly"]
    return []


def after_duplicates(log: Log, scenarios: tuple[Scenario, ...]) -> list[str] | None:
    """R208: the CRE answered with listeDoublons is sent again with forcerDoublon true."""
    if not _included(scenarios, DUPLICATED):
        return None
    tries = registrations(log, DUPLICATED)
    if not tries:
        return [f"no registration of {DUPLICATED!r} was received"]
    if not any(forced(received.file) for received in tries[1:]):
        return [f"the registration of {DUPLICATED!r} was answered with a probable duplicate and never sent "
                "again with forcerDoublon true"]
    return []


def complete(log: Log, scenarios: tuple[Scenario, ...]) -> bool:
    """Every scenario sent and every follow-up done: the endpoint may stop waiting."""
    return not missing_scenarios(log, scenarios) and all(
        not verdict(log, scenarios) for verdict in (after_lost_answer, after_anomaly, after_duplicates))
