"""What the registration's statements send to PostgreSQL's libpq connection (core.adapters.pipeline),
apart from any server: placeholders numbered, parameters as PostgreSQL's text."""

from datetime import date, datetime, timezone

import pytest

from core.adapters.pipeline import numbered, text_value


def test_placeholders_are_numbered_in_order_and_a_name_keeps_its_number():
    sql, names = numbered("SELECT %(b)s, %(a)s WHERE x = %(b)s AND y = '%(literal' AND z = %(a_1)s")
    assert sql == b"SELECT $1, $2 WHERE x = $1 AND y = '%(literal' AND z = $3"
    assert names == ("b", "a", "a_1")


@pytest.mark.parametrize("value, text", [
    (None, None),
    (True, b"t"),
    (False, b"f"),
    (0, b"0"),
    (2027, b"2027"),
    (date(2026, 12, 5), b"2026-12-05"),
    (datetime(2026, 12, 5, 16, 30, 1, 250, tzinfo=timezone.utc), b"2026-12-05T16:30:01.000250+00:00"),
    ("Lætitia {\"\\,}", "Lætitia {\"\\,}".encode()),
])
def test_parameters_go_as_postgresql_reads_their_text(value, text):
    assert text_value(value) == text
