"""Duplicate detection compares names without accents, case, hyphens or spaces, birth name included."""

import sys
import unicodedata
from datetime import date

import pytest

from core.domain.identity import PersonKey, name_key, name_problem


@pytest.mark.parametrize(
    "a, b",
    [
        ("Lefèvre-Dupont", "LEFEVRE DUPONT"),
        ("lefevre dupont", "Lefèvre-Dupont"),
        ("N'Diaye", "NDIAYE"),
        ("Cœur", "COEUR"),
        ("Jean-Pierre", "jean pierre"),
        ("Ælis", "AELIS"),
    ],
)
def test_names_compare_after_normalisation(a, b):
    assert name_key(a) == name_key(b)


def test_different_names_stay_different():
    assert name_key("Martin") != name_key("Martine")


def test_birth_name_matches_usual_name():
    married = PersonKey.of("Durand", "Martin", "Claire", date(1985, 4, 12))
    maiden = PersonKey.of("Martin", None, "claire", date(1985, 4, 12))
    assert married.matches(maiden) and maiden.matches(married)


def test_same_names_other_birth_date_is_another_person():
    a = PersonKey.of("Martin", None, "Claire", date(1985, 4, 12))
    b = PersonKey.of("Martin", None, "Claire", date(1985, 4, 13))
    assert not a.matches(b)


def test_same_surname_other_first_name_is_another_person():
    a = PersonKey.of("Martin", None, "Claire", date(1985, 4, 12))
    b = PersonKey.of("Martin", None, "Claude", date(1985, 4, 12))
    assert not a.matches(b)


def test_incomplete_identity_gives_no_key():
    assert PersonKey.of(None, None, "Claire", date(1985, 4, 12)) is None
    assert PersonKey.of("Martin", None, "", date(1985, 4, 12)) is None
    assert PersonKey.of("Martin", None, "Claire", None) is None


def test_a_name_refuses_every_invisible_or_control_character_and_only_those():
    """Unicode's "Other" categories (controls, formats such as the zero-width space, surrogates,
    private use, unassigned) and its separators but the plain space, over every code point."""
    refused = [char for char in map(chr, range(sys.maxunicode + 1)) if name_problem(f"A{char}") is not None]
    expected = [char for char in map(chr, range(sys.maxunicode + 1))
                if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp", "Zs")
                and char != " "]
    assert refused == expected
    assert name_problem("A\u200bB") == "Caractère invisible ou de contrôle (U+200B) dans un nom"


@pytest.mark.parametrize("name", ["", "   ", "1Dupont", "-Dupont"])
def test_a_name_begins_with_a_letter(name):
    assert name_problem(name) == "Un nom commence par une lettre"


@pytest.mark.parametrize("name", ["Dupont", " Éloïse", "N'Diaye", "Ægir", "Łukasz"])
def test_names_of_letters_are_accepted(name):
    assert name_problem(name) is None
