"""Who a person is, for duplicate detection.

Two people are taken to be the same when their first names match, their birth dates match, and one
of their surnames (usual name or birth name) matches another's. Names are compared after removing
accents, case, hyphens, spaces and every other non-alphanumeric character, so ``Lefèvre-Dupont``,
``LEFEVRE DUPONT`` and ``lefevre dupont`` are one name; ligatures are spelt out (``Œ`` is ``OE``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS"})


def name_key(name: str | None) -> str:
    """The comparable form of a name: upper-case ASCII letters and digits only."""
    if not name:
        return ""
    spelt = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    return "".join(char for char in spelt if char.isascii() and char.isalnum()).upper()


@dataclass(frozen=True)
class PersonKey:
    """The comparable identity of one adult of an application."""

    surnames: frozenset[str]
    first_name: str
    birth_date: date

    @classmethod
    def of(cls, surname: str | None, birth_name: str | None, first_name: str | None,
           birth_date: date | None) -> "PersonKey | None":
        surnames = frozenset(key for key in (name_key(surname), name_key(birth_name)) if key)
        first = name_key(first_name)
        if not surnames or not first or birth_date is None:
            return None
        return cls(surnames, first, birth_date)

    def matches(self, other: "PersonKey") -> bool:
        return (
            self.first_name == other.first_name
            and self.birth_date == other.birth_date
            and not self.surnames.isdisjoint(other.surnames)
        )
