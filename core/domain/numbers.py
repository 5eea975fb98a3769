"""The registration number (numéro unique), which certifies an application and its seniority.

18 characters: territory code (3) + month and year of registration (MMYY) + sequence within the
territory (6 digits) + code of the registering counter (5), e.g. ``1110318016982G1104``, displayed
``111 0318 016982 G1104``. The sequence never restarts, so a number never repeats in a territory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import InvalidNumber
from .vocabulary import RegistryNames

SEQUENCE_MAX = 999_999

TERRITORY_CODE = re.compile(r"[0-9]{2}[0-9AB]")
COUNTER_CODE = re.compile(r"[0-9A-Z]{5}")
_NUMBER = re.compile(r"(?P<territory>[0-9]{2}[0-9AB])(?P<month>0[1-9]|1[0-2])(?P<year>[0-9]{2})"
                     r"(?P<sequence>[0-9]{6})(?P<counter>[0-9A-Z]{5})")


@dataclass(frozen=True, order=True)
class RegistrationNumber:
    territory: str
    month: int
    year: int  # two digits, as printed
    sequence: int
    counter: str

    def __post_init__(self) -> None:
        if not TERRITORY_CODE.fullmatch(self.territory):
            raise InvalidNumber(f"Code territoire invalide : {self.territory!r}", RegistryNames.NUMBER)
        if not COUNTER_CODE.fullmatch(self.counter):
            raise InvalidNumber(f"Code guichet invalide : {self.counter!r}", RegistryNames.NUMBER)
        if not 1 <= self.month <= 12 or not 0 <= self.year <= 99:
            raise InvalidNumber("Mois ou année d'enregistrement invalide", RegistryNames.NUMBER)
        if not 1 <= self.sequence <= SEQUENCE_MAX:
            raise InvalidNumber("Numéro d'ordre hors limites", RegistryNames.NUMBER)

    @classmethod
    def issue(cls, territory: str, registered_on: date, sequence: int, counter: str) -> "RegistrationNumber":
        return cls(territory, registered_on.month, registered_on.year % 100, sequence, counter)

    @classmethod
    def parse(cls, text: str) -> "RegistrationNumber":
        """Read a number as counters send it; spaces of the display form are tolerated."""
        compact = text.replace(" ", "") if isinstance(text, str) else ""
        match = _NUMBER.fullmatch(compact)
        if match is None:
            raise InvalidNumber(
                "Le numéro unique doit compter 18 caractères : territoire (3), mois et année (4), "
                "numéro d'ordre (6), guichet (5)",
                RegistryNames.NUMBER,
            )
        return cls(
            match["territory"], int(match["month"]), int(match["year"]), int(match["sequence"]), match["counter"]
        )

    def __str__(self) -> str:
        return f"{self.territory}{self.month:02d}{self.year:02d}{self.sequence:06d}{self.counter}"

    def display(self) -> str:
        """The grouped form printed on attestations: ``111 0318 016982 G1104``."""
        return f"{self.territory} {self.month:02d}{self.year:02d} {self.sequence:06d} {self.counter}"
