"""Territories and counters, and what each kind of counter may do.

A territory is what the register numbers applications in: a 3-character code (the département's,
``057``, ``02A``, ``971``) and the area it covers, given as whole départements and, where a
territory takes single communes of another département, those communes by INSEE code.

A counter (guichet) has a 5-character code, a type, a territory, an exchange mailbox (signed mail
channel) and an endpoint (where dispatching pushes to its private system).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .codes import CancellationMotive, CounterType
from .errors import INVALID_VALUE, Anomaly, InvalidContent, NotAllowed, OutsideTerritory, UnknownCounter
from .numbers import COUNTER_CODE, TERRITORY_CODE
from .vocabulary import InseeCommune, RegistryNames

DEPARTEMENT_CODE = re.compile(r"(?:0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-6])")
MAILBOX = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
EPCI_CODE = re.compile(r"[0-9]{9}")  # SIREN of an inter-municipal body


def departement_of(commune: str) -> str:
    """The département of an INSEE commune code: 3 characters overseas (97x), 2 elsewhere."""
    return commune[:3] if commune.startswith("97") else commune[:2]


@dataclass(frozen=True)
class Territory:
    code: str
    name: str
    departements: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        anomalies = []
        if not TERRITORY_CODE.fullmatch(self.code):
            anomalies.append(Anomaly(INVALID_VALUE, "Code territoire : 3 caractères, ex. 057, 02A, 971", "code"))
        if not self.name or len(self.name) > 100:
            anomalies.append(Anomaly(INVALID_VALUE, "Nom du territoire : 1 à 100 caractères", "name"))
        for departement in sorted(self.departements):
            if not DEPARTEMENT_CODE.fullmatch(departement):
                anomalies.append(Anomaly(INVALID_VALUE, f"Département inconnu : {departement}", "departements"))
        for commune in sorted(self.communes):
            if not InseeCommune.has(commune):
                anomalies.append(Anomaly(INVALID_VALUE, f"Code commune INSEE invalide : {commune}", "communes"))
        if not self.departements and not self.communes:
            anomalies.append(Anomaly(INVALID_VALUE, "Un territoire couvre au moins un département ou une commune",
                                     "departements"))
        if anomalies:
            raise InvalidContent(anomalies)

    def covers(self, commune: str) -> bool:
        return commune in self.communes or departement_of(commune) in self.departements


@dataclass(frozen=True)
class Epci:
    """An inter-municipal body (EPCI) of a territory: a named set of its communes, which
    dispatching filters can name instead of listing the communes."""

    code: str
    name: str
    territory: str
    communes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        anomalies = []
        if not EPCI_CODE.fullmatch(self.code):
            anomalies.append(Anomaly(INVALID_VALUE, "SIREN d'EPCI : 9 chiffres", "code"))
        if not self.name or len(self.name) > 100:
            anomalies.append(Anomaly(INVALID_VALUE, "Nom de l'EPCI : 1 à 100 caractères", "name"))
        anomalies += [Anomaly(INVALID_VALUE, f"Code commune INSEE invalide : {c}", "communes")
                      for c in sorted(self.communes) if not InseeCommune.has(c)]
        if not self.communes:
            anomalies.append(Anomaly(INVALID_VALUE, "Un EPCI regroupe au moins une commune", "communes"))
        if anomalies:
            raise InvalidContent(anomalies)


@dataclass(frozen=True)
class Counter:
    code: str
    name: str
    type: CounterType
    territory: str
    mailbox: str | None = None
    endpoint: str | None = None
    active: bool = True

    def __post_init__(self) -> None:
        anomalies = []
        if not COUNTER_CODE.fullmatch(self.code):
            anomalies.append(Anomaly(INVALID_VALUE, "Code guichet : 5 caractères majuscules ou chiffres", "code"))
        if not self.name or len(self.name) > 100:
            anomalies.append(Anomaly(INVALID_VALUE, "Nom du guichet : 1 à 100 caractères", "name"))
        if not TERRITORY_CODE.fullmatch(self.territory):
            anomalies.append(Anomaly(INVALID_VALUE, "Code territoire invalide", "territory"))
        if self.mailbox is not None and not MAILBOX.fullmatch(self.mailbox):
            anomalies.append(Anomaly(INVALID_VALUE, "Adresse de messagerie d'échange invalide", "mailbox"))
        if self.endpoint is not None and not re.fullmatch(r"https://[^\s/?#]+(/\S*)?", self.endpoint):
            # dispatching sends whole applications there: personal data never travel in clear
            anomalies.append(Anomaly(INVALID_VALUE, "Le point d'accès doit être une URL https", "endpoint"))
        if anomalies:
            raise InvalidContent(anomalies)


@dataclass(frozen=True)
class CounterCertificate:
    """A certificate registered to a counter: it authenticates the counter on both channels.

    The register keeps what identifies and bounds it (SHA-256 fingerprint of the DER encoding,
    validity dates, revocation); parsing X.509 is the certificates package's business.
    """

    fingerprint: str
    counter: str
    subject: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None
    der: bytes | None = field(default=None, repr=False)  # the certificate itself: mail is encrypted to it

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.fingerprint):
            raise InvalidContent([Anomaly(INVALID_VALUE, "Empreinte SHA-256 : 64 chiffres hexadécimaux", "fingerprint")])

    def valid_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and self.not_before <= moment <= self.not_after


def encryption_certificate(certificates: list[CounterCertificate], at: datetime) -> CounterCertificate | None:
    """Which of a counter's certificates mail to it is encrypted to: the valid one that lasts longest
    (a renewed certificate takes over from the old one as soon as it is registered)."""
    usable = [c for c in certificates if c.der is not None and c.valid_at(at)]
    return max(usable, key=lambda c: c.not_after, default=None)


class Operation(Enum):
    """What a counter can ask of the register; rights are granted per operation."""

    REGISTER = "register"
    REGISTER_AFTER_SEPARATION = "register_after_separation"
    UPDATE = "update"
    RENEW = "renew"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    DELETE = "delete"
    READ = "read"
    SEARCH = "search"
    DECLARE_DALO = "declare_dalo"


_REGISTERING = frozenset(CounterType) - {CounterType.TERRITORIAL_MANAGER}

# Which counter types may do what, within their own territory. One table, documented in
# docs/RIGHTS.md and tested row by row. The territorial manager administers data quality
# (it updates and cancels, notably duplicates) but does not register households itself.
RIGHTS: dict[Operation, frozenset[CounterType]] = {
    Operation.REGISTER: _REGISTERING,
    Operation.REGISTER_AFTER_SEPARATION: _REGISTERING,
    Operation.UPDATE: frozenset(CounterType),
    Operation.RENEW: frozenset(CounterType),
    Operation.CANCEL: frozenset(CounterType),
    Operation.REACTIVATE: frozenset(CounterType),
    Operation.DELETE: _REGISTERING,
    Operation.READ: frozenset(CounterType),
    Operation.SEARCH: frozenset(CounterType),
    # DALO decisions come from the prefect's commission: the State's counters record them.
    Operation.DECLARE_DALO: frozenset({CounterType.STATE, CounterType.TERRITORIAL_MANAGER}),
}

# Cancellation motives a counter may use, by type. RADREN is the register's own (non-renewal).
CANCELLATION_RIGHTS: dict[CancellationMotive, frozenset[CounterType]] = {
    CancellationMotive.ABANDONMENT: frozenset(CounterType),
    CancellationMotive.ALLOCATION: frozenset({CounterType.LANDLORD}),
    CancellationMotive.INADMISSIBILITY: frozenset(CounterType),
    CancellationMotive.UNREACHABLE: frozenset(CounterType),
    CancellationMotive.NOT_RENEWED: frozenset(),
}


@dataclass(frozen=True)
class System:
    """The register itself, acting on its own schedule (renewal clock)."""

    code: str = "SYSTEM"


SYSTEM = System()
Actor = Counter | System


def may(actor: Actor, operation: Operation) -> bool:
    """Whether ``actor``'s type gives it ``operation`` at all (territory aside)."""
    return isinstance(actor, System) or actor.type in RIGHTS[operation]


def authorize(actor: Actor, operation: Operation, territory: str) -> None:
    """Refuse unless ``actor`` may do ``operation`` on an application of ``territory``."""
    if isinstance(actor, System):
        return
    if not actor.active:
        raise UnknownCounter(f"Le guichet {actor.code} est désactivé", RegistryNames.COUNTER)
    if not may(actor, operation):
        raise NotAllowed(f"Un guichet de type {actor.type.label} ne peut pas faire : {operation.value}", RegistryNames.COUNTER)
    if actor.territory != territory:
        raise OutsideTerritory(
            f"Le guichet {actor.code} (territoire {actor.territory}) n'agit pas sur le territoire {territory}",
            RegistryNames.COUNTER,
        )


def authorize_cancellation(actor: Actor, motive: CancellationMotive) -> None:
    if isinstance(actor, System):
        return
    if actor.type not in CANCELLATION_RIGHTS[motive]:
        raise NotAllowed(
            f"Le motif {motive.value} n'est pas ouvert à un guichet de type {actor.type.label}",
            f"{RegistryNames.CANCELLATION}.motifRadiation",
        )
