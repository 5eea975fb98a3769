"""The stored form's document: what the ``form`` column holds, written by a function generated per class."""

from dataclasses import replace
from datetime import date, datetime, timezone

from core import demo
from core.adapters.serialization import from_document, json_text, to_document
from core.domain.application import Cancellation
from core.domain.form import ApplicationForm


def test_a_household_reads_back_as_it_was_stored():
    form = demo.household_form(co_applicant=("Martin", "Paul", date(1983, 2, 1)), birth_name="Durand")
    assert from_document(ApplicationForm, to_document(form)) == form


def test_empty_values_are_left_out_and_dates_are_iso():
    form = demo.household_form(email=None, communes=(demo.METZ,))
    form = replace(form, household=replace(form.household, dependants=[]))
    document = to_document(form)
    applicant = document["household"]["applicant"]
    assert "email" not in applicant and "dependants" not in document["household"]
    assert applicant["birth_date"] == "1985-04-12"
    assert document["housing_sought"]["wished_locations"] == [{"commune": demo.METZ}]
    assert from_document(ApplicationForm, document) == form


def test_false_and_zero_are_kept_not_left_out():
    form = demo.household_form()
    form = replace(form, online_renewal=False)
    assert to_document(form)["online_renewal"] is False


def test_a_cancellation_keeps_its_date_in_iso_form():
    cancellation = Cancellation(motive="ATT", date=date(2026, 12, 4))
    document = to_document(cancellation)
    assert document == {"motive": "ATT", "date": "2026-12-04"}
    assert from_document(Cancellation, document) == cancellation


def test_instants_are_written_in_iso_form_with_their_offset():
    assert json_text({"at": datetime(2026, 12, 4, 21, 0, tzinfo=timezone.utc)}) == '{"at":"2026-12-04T21:00:00+00:00"}'
