"""Dispatching's rules without I/O: who receives a change, filters, retries, what a change altered."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from core.demo import household_form
from core.domain import changes
from core.domain.calendar import PARIS
from core.domain.codes import CounterType
from core.domain.dispatch import (
    Change,
    ChangeKind,
    Channel,
    Filter,
    Profile,
    Range,
    RetrySchedule,
    Subscription,
    after_failure,
)
from core.domain.errors import InvalidContent
from core.domain.form import CurrentHousing, ExpectedBirths
from core.domain.referential import Counter, Epci

METZ, THIONVILLE, NANCY = "57463", "57672", "54395"
LANDLORD = Counter("BAIL1", "Bailleur", CounterType.LANDLORD, "057")
NOW = datetime(2026, 12, 2, 10, tzinfo=PARIS)
EPCIS = {"245700398": frozenset({METZ, "57480"})}


def change(*, communes=(METZ,), kind=ChangeKind.CREATION, actor="COMM1", before=None, territory="057", **profile):
    return Change(1, "0571226000001COMM1", territory, kind, 1, actor, NOW, Profile(communes=communes, **profile),
                  before)


def accepts(filter: Filter, a_change: Change, counter: Counter = LANDLORD) -> bool:
    return Subscription(1, counter.code, Channel.SOAP, filter).accepts(counter, a_change, EPCIS)


# -- who receives a change -------------------------------------------------------------------------

def test_every_change_of_the_territory_by_default_but_not_the_counters_own():
    assert accepts(Filter(), change())
    assert not accepts(Filter(), change(actor="BAIL1"))
    assert accepts(Filter(include_own=True), change(actor="BAIL1"))


def test_nothing_outside_the_rights_table_whatever_the_filter():
    assert not accepts(Filter(), change(territory="054", communes=(NANCY,)))  # another territory
    assert not accepts(Filter(), change(), replace(LANDLORD, active=False))  # a deactivated counter


@pytest.mark.parametrize("criterion, matching, other", [
    (Filter(kinds=frozenset({"RAD", "SUP"})), change(kind=ChangeKind.CANCELLATION), change()),
    (Filter(communes=frozenset({METZ})), change(communes=(THIONVILLE, METZ)), change(communes=(THIONVILLE,))),
    (Filter(epcis=frozenset({"245700398"})), change(communes=("57480",)), change(communes=(THIONVILLE,))),
    (Filter(departements=frozenset({"57"})), change(), change(communes=(NANCY,))),
    (Filter(housing_types=frozenset({"T2"})), change(housing_types=("T1", "T2")), change(housing_types=("T4",))),
    (Filter(household_size=Range(3, 5)), change(household_size=4), change(household_size=2)),
    (Filter(monthly_resources=Range(None, 1500)), change(monthly_resources=1200), change(monthly_resources=None)),
    (Filter(dalo_statuses=frozenset({"ACTIF"})), change(dalo_status="ACTIF"), change(dalo_status="NON")),
    (Filter(mutations_only=True), change(social_tenant=True), change(social_tenant=False)),
], ids=["kinds", "communes", "epci", "departement", "housing-type", "size", "resources", "dalo", "mutations"])
def test_each_criterion_selects(criterion, matching, other):
    assert accepts(criterion, matching) and not accepts(criterion, other)


def test_criteria_combine_with_and_and_values_with_or():
    both = Filter(communes=frozenset({METZ, THIONVILLE}), housing_types=frozenset({"T3"}))
    assert accepts(both, change(communes=(THIONVILLE,), housing_types=("T3",)))
    assert not accepts(both, change(communes=(THIONVILLE,), housing_types=("T2",)))


def test_an_application_leaving_the_filter_is_sent_once_more_so_the_receiver_learns_it():
    metz_only = Filter(communes=frozenset({METZ}))
    moved = change(kind=ChangeKind.MODIFICATION, communes=(THIONVILLE,), before=Profile(communes=(METZ,)))
    assert accepts(metz_only, moved)
    assert not accepts(metz_only, change(kind=ChangeKind.MODIFICATION, communes=(THIONVILLE,),
                                         before=Profile(communes=(THIONVILLE,))))


# -- what filters read of an application --------------------------------------------------------------

def test_the_profile_counts_the_household_and_its_resources():
    form = household_form(co_applicant=("Martin", "Paul", date(1980, 1, 1)), communes=(METZ, THIONVILLE))
    form.household.expected_births = ExpectedBirths(count=1)
    profile = Profile.of(form)
    assert profile.household_size == 1 + 1 + 2 + 1  # applicant, co-applicant, two children, a birth
    assert profile.monthly_resources == 1650 + 140 + 1200
    assert profile.communes == (METZ, THIONVILLE) and profile.housing_types == ("T3", "T4")
    assert profile.dalo_status == "NON" and not profile.social_tenant
    form.household.current_housing = CurrentHousing(kinds=["HLM"])
    assert Profile.of(form).social_tenant
    assert Profile.from_document(profile.to_document()) == profile


# -- filters as operators write them -----------------------------------------------------------------

def test_invalid_criteria_are_all_reported_at_once():
    with pytest.raises(InvalidContent) as refused:
        Filter(kinds=frozenset({"XXX"}), communes=frozenset({"5746"}), epcis=frozenset({"12"}),
               departements=frozenset({"99"}), housing_types=frozenset({"T9"}), dalo_statuses=frozenset({"OUI"}))
    assert [a.property for a in refused.value.anomalies] == ["kinds", "communes", "epcis", "departements",
                                                             "housing_types", "dalo_statuses"]


@pytest.mark.parametrize("text, expected", [("4", Range(4, 4)), ("2-5", Range(2, 5)), ("3-", Range(3, None)),
                                            ("-1500", Range(None, 1500))])
def test_ranges(text, expected):
    assert Range.parse(text) == expected and Range.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "-", "5-2", "a-b", "2 5", "1-2-3"])
def test_bad_ranges(text):
    with pytest.raises(ValueError):
        Range.parse(text)


def test_a_filter_survives_storage():
    chosen = Filter(kinds=frozenset({"CRE", "MOD"}), communes=frozenset({METZ}), household_size=Range(2, None),
                    monthly_resources=Range(None, 2000), mutations_only=True)
    assert Filter.from_document(chosen.to_document()) == chosen
    assert Filter.from_document({}) == Filter() and Filter().describe() == "all"


def test_an_epci_is_a_named_set_of_valid_communes():
    with pytest.raises(InvalidContent):
        Epci("24570039", "Metz Métropole", "057", frozenset({METZ}))
    with pytest.raises(InvalidContent):
        Epci("245700398", "Metz Métropole", "057", frozenset())


# -- retries -----------------------------------------------------------------------------------------

def test_the_default_schedule_is_the_documented_one():
    schedule = RetrySchedule.parse(RetrySchedule.DEFAULT)
    assert [d.total_seconds() for d in schedule.delays] == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    with pytest.raises(ValueError):
        RetrySchedule.parse("5s,soon")


def test_a_failing_stream_retries_on_schedule_then_dead_letters_then_starts_over():
    schedule = RetrySchedule.parse("0s,5s,5m")
    stream = Subscription(1, "BAIL1", Channel.SOAP)
    first = after_failure(stream, NOW, schedule, timedelta(days=1))
    assert (first.next_attempt_at, first.attempts, first.failing_since) == (NOW + timedelta(seconds=5), 1, NOW)
    later = NOW + timedelta(minutes=1)
    second = after_failure(replace(stream, attempts=1, failing_since=NOW), later, schedule, timedelta(days=1))
    assert second.next_attempt_at == later + timedelta(minutes=5)
    third = after_failure(replace(stream, attempts=2, failing_since=NOW), later, schedule, timedelta(days=1))
    assert third.next_attempt_at is None and third.attempts == 0  # dead letter; the next batch starts afresh
    assert not third.disable and third.failing_since == NOW


def test_a_stream_failing_for_too_long_is_disabled():
    stream = Subscription(1, "BAIL1", Channel.SOAP, attempts=1, failing_since=NOW - timedelta(hours=24))
    assert after_failure(stream, NOW, RetrySchedule.parse("0s,1h,1h"), timedelta(hours=24)).disable


# -- what a change altered ------------------------------------------------------------------------------

def test_the_tree_names_what_changed_and_the_containers_around_it():
    before = household_form()
    after = household_form()
    after.details = "Autre précision"
    after.household.applicant.postal_address.street = "rue Neuve"
    after.housing_sought.wished_locations.pop()
    assert changes.diff(before, after) == {
        "details": True,
        "housing_sought": {"wished_locations": True},  # a list that shrank is replaced as a whole
        "household": {"applicant": {"postal_address": {"street": True}}},
    }
    assert changes.diff(before, household_form()) is None


def test_list_items_that_changed_in_place_are_named_by_index():
    before, after = household_form(), household_form()
    after.housing_sought.wished_locations[1].district = "Centre"
    assert changes.diff(before, after) == {"housing_sought": {"wished_locations": {"1": {"district": True}}}}
    assert changes.altered(form=(before, after), cancellation=(None, None)) == \
        {"form": {"housing_sought": {"wished_locations": {"1": {"district": True}}}}}


@pytest.mark.parametrize("endpoint", ["http://si.bailleur.example.fr/recevoir", "ftp://x", "https://", "https://a b"])
def test_pushes_only_go_over_https(endpoint):
    """Dispatching sends whole applications: personal data never travel in clear."""
    with pytest.raises(InvalidContent):
        replace(LANDLORD, endpoint=endpoint)
    assert replace(LANDLORD, endpoint="https://si.bailleur.example.fr:8443/ws/recevoir").endpoint
