"""The scenarios the client must run, and how the kit tells that a request claims one.

A request claims a scenario by what it carries: its operation, the file type and the applicant's
surname (``Kit Alpha``…), or the number the kit gave that household. The list is served at
``/scenarios`` (JSON) and printed by the profile, so that the integrator knows what to send.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ALPHA = "Kit Alpha"
DUPLICATED = "Kit Delta"
REFUSED = "Kit Echo"
FAULTED = "Kit Romeo"
# The other motives a counter may record, each on a household of its own: (motive, surname, meaning).
CANCELLED = (("RADIRR", "Kit India", "inadmissible"), ("RADCON", "Kit Charlie", "no answer to a letter"),
             ("RADATT", "Kit Tango", "housing allotted"))


@dataclass(frozen=True)
class Scenario:
    id: str
    instruction: str
    operation: str
    surname: str
    file_type: str = ""  # for getNumUnique: CRE, MOD, REN, RAD
    with_number: bool = False  # the request names the number the kit gave the household
    motive: str = ""  # for a RAD: its motifRadiation code

    def as_dict(self) -> dict:
        return asdict(self)


SCENARIOS = (
    Scenario("register-a", f"register household A: a CRE whose applicant is named {ALPHA!r}",
             "getNumUnique", ALPHA, "CRE"),
    Scenario("change-a", "change household A: a MOD with the number the kit gave it", "getNumUnique", ALPHA, "MOD",
             True),
    Scenario("renew-a", "renew household A: a REN with its number and a renouvellement", "getNumUnique", ALPHA, "REN",
             True),
    Scenario("read-a", "read household A back: getDemandeLogement with its number", "getDemandeLogement", ALPHA,
             with_number=True),
    Scenario("search-a", f"search for household A: rechercheDemandeMulticritere, personneRecherchee/nom {ALPHA!r}",
             "rechercheDemandeMulticritere", ALPHA),
    Scenario("cancel-a", "cancel household A: a RAD with its number and the motive RADABA (abandon)", "getNumUnique",
             ALPHA, "RAD", True, "RADABA"),
    *(Scenario(f"cancel-{motive.lower()}", f"register household {name!r}, then cancel it: a RAD with its number and "
                                            f"the motive {motive} ({why}) and what that motive requires",
               "getNumUnique", name, "RAD", True, motive) for motive, name, why in CANCELLED),
    Scenario("duplicate-d", f"register household D ({DUPLICATED!r}): the kit answers a probable duplicate; "
                            "confirm it and send the CRE again with forcerDoublon true", "getNumUnique", DUPLICATED,
             "CRE"),
    Scenario("anomaly-e", f"register household E ({REFUSED!r}): the kit answers an anomaly on the e-mail; "
                          "correct the file and send it again", "getNumUnique", REFUSED, "CRE"),
    Scenario("retry-r", f"register household R ({FAULTED!r}): the kit's first answer is a fault (a lost answer); "
                        "search for the household before registering it again", "getNumUnique", FAULTED, "CRE"),
)
BY_ID = {scenario.id: scenario for scenario in SCENARIOS}


def selected(ids: str | None) -> tuple[Scenario, ...]:
    """The scenarios named in ``ids`` (comma-separated), or all of them."""
    if not ids:
        return SCENARIOS
    unknown = [name for name in ids.split(",") if name not in BY_ID]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(BY_ID)}")
    return tuple(BY_ID[name] for name in ids.split(","))
