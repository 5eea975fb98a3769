"""The registration number: 18 characters, parsed strictly, printed in the SNE's grouping."""

from datetime import date

import pytest

from core.domain.errors import InvalidNumber
from core.domain.numbers import RegistrationNumber


def test_the_ministry_example_round_trips():
    number = RegistrationNumber.parse("1110318016982G1104")
    assert (number.territory, number.month, number.year, number.sequence, number.counter) == ("111", 3, 18, 16982, "G1104")
    assert str(number) == "1110318016982G1104"
    assert number.display() == "111 0318 016982 G1104"


@pytest.mark.parametrize("printed", ["057 1215 073903 10691", "023 0514 004558 DGALN", "02A0126000001ABCDE"])
def test_numbers_from_the_source_and_corsica_parse(printed):
    number = RegistrationNumber.parse(printed)
    assert number.display().replace(" ", "") == printed.replace(" ", "")


def test_issue_takes_month_and_year_of_registration():
    number = RegistrationNumber.issue("057", date(2026, 11, 30), 42, "DEMOB")
    assert str(number) == "0571126000042DEMOB"


@pytest.mark.parametrize(
    "text",
    [
        "1110318016982G11041",  # 19 characters
        "1110318016982G110",  # 17 characters
        "1111318016982G1104",  # month 13
        "1110018016982G1104",  # month 00
        "11103180169A2G1104",  # letter in the sequence
        "1110318000000G1104",  # sequence 0
        "0C10318016982G1104",  # territory with a letter in the wrong place
        "1110318016982g1104",  # lower-case counter
        "",
    ],
)
def test_malformed_numbers_are_refused_with_the_number_property(text):
    with pytest.raises(InvalidNumber) as refused:
        RegistrationNumber.parse(text)
    assert refused.value.code == "NUU110"
    assert refused.value.property == "numUnique"


def test_sequence_beyond_six_digits_cannot_be_issued():
    with pytest.raises(InvalidNumber):
        RegistrationNumber.issue("057", date(2026, 1, 1), 1_000_000, "DEMOB")
