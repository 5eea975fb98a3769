"""xs:date and xs:dateTime as counters write them, including the forms Python does not read as is."""

from datetime import date, datetime, timedelta, timezone

import pytest

from core.wire.codec import _date, parse_datetime


@pytest.mark.parametrize("text, expected", [
    ("2026-11-30T24:00:00", datetime(2026, 12, 1)),
    ("2026-11-30T24:00:00+01:00", datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=1)))),
    ("2017-01-13T14:55:43.5+02:00", datetime(2017, 1, 13, 14, 55, 43, 500000, tzinfo=timezone(timedelta(hours=2)))),
    ("2017-01-13T14:55:43.123456789Z", datetime(2017, 1, 13, 14, 55, 43, 123456, tzinfo=timezone.utc)),
    ("", None),
])
def test_datetimes(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["12026-01-01T00:00:00", "-0001-01-01T00:00:00"])
def test_years_python_cannot_hold_are_errors(text):
    with pytest.raises(ValueError):
        parse_datetime(text)


@pytest.mark.parametrize("text, expected", [("2015-12-17", date(2015, 12, 17)), ("2015-12-17+01:00", date(2015, 12, 17)),
                                            ("2015-12-17Z", date(2015, 12, 17)), (" 2015-12-17 ", date(2015, 12, 17))])
def test_dates_keep_their_calendar_day(text, expected):
    assert _date(text) == expected
