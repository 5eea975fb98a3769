"""Dispatching's use cases on SQLite and PostgreSQL: fan-out, streams, retries, pulling, operating.

No network here: deliveries are claimed and their outcomes recorded as a channel would (the channels
themselves are tested in tests/integration/dispatching/).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.domain.calendar import PARIS
from core.domain.codes import CounterType
from core.domain.dispatch import Channel, Filter, ItemStatus, RetrySchedule
from core.domain.errors import InvalidContent, SubscriptionRefused, UnknownSubscription
from core.domain.referential import Counter, Epci, Territory
from core.service_layer import dispatching, services
from core.service_layer.dispatching import Delivered, Failed
from core.wire.dispatch import stored_file

NOW = datetime(2026, 12, 2, 10, tzinfo=PARIS)
SCHEDULE = RetrySchedule.parse("0s,5s,5m")
LEASE = timedelta(minutes=1)
METZ, THIONVILLE = "57463", "57672"


@pytest.fixture
def register(uow):
    services.add_territory(uow(), demo.TERRITORY)
    services.add_territory(uow(), Territory("054", "Meurthe-et-Moselle", frozenset({"54"})))
    for counter in demo.COUNTERS + (Counter("NANCY", "Nancy", CounterType.MUNICIPALITY, "054"),):
        services.add_counter(uow(), counter)
    return uow


def household(uow, counter="DEMOC", first_name="Claire", communes=(METZ,), at=NOW):
    form = demo.household_form("Martin", first_name, date(1985, 4, 12), communes=communes)
    return services.register(uow(), form, at.date(), counter, at)


def pending_outbox(uow) -> int:
    with uow(readonly=True) as work:
        return len(work.connection.execute(select(orm.outbox.c.id).where(
            orm.outbox.c.delivered_at.is_(None), orm.outbox.c.topic.like("application.%"))).all())


def sequences(uow, subscription) -> list[tuple[int, str, str]]:
    with uow(readonly=True) as work:
        items = work.subscriptions.items_after(subscription.id, 0, 1000)
    return [(item.sequence, item.kind, item.number) for item in items]


# -- fan-out ---------------------------------------------------------------------------------------

def test_fan_out_gives_each_matching_subscription_its_own_gapless_sequence(register):
    everything = dispatching.subscribe(register(), "DEMOE", Channel.PULL, Filter(), NOW)
    metz = dispatching.subscribe(register(), "DEMOB", Channel.PULL, Filter(communes=frozenset({METZ})), NOW)
    first = household(register, "DEMOC", "Anne", (METZ,))
    second = household(register, "DEMOC", "Bruno", (THIONVILLE,))
    own = household(register, "DEMOE", "Chloé", (METZ,))  # DEMOE's own: not sent to DEMOE
    household(register, "NANCY", "Denis", ("54395",))  # another territory: nobody here sees it
    assert dispatching.fan_out(register(), NOW, stored_file) == 4
    assert sequences(register, everything) == [(1, "CRE", str(first.number)), (2, "CRE", str(second.number))]
    assert sequences(register, metz) == [(1, "CRE", str(first.number)), (2, "CRE", str(own.number))]
    assert pending_outbox(register) == 0
    assert dispatching.fan_out(register(), NOW, stored_file) == 0  # consumed once
    with register(readonly=True) as work:
        assert {s.id: s.last_sequence for s in work.subscriptions.list()} == {everything.id: 2, metz.id: 2}
        assert len(work.subscriptions.changes_since("057", NOW - timedelta(days=1))) == 3


def test_fan_out_is_all_or_nothing(register):
    subscription = dispatching.subscribe(register(), "DEMOB", Channel.PULL, Filter(), NOW)
    for name in ("Anne", "Bruno", "Chloé"):
        household(register, first_name=name)

    def broken(application, altered):
        if application.form.household.applicant.first_name == "Chloé":
            raise RuntimeError("rendering failed")
        return stored_file(application, altered)

    with pytest.raises(RuntimeError):
        dispatching.fan_out(register(), NOW, broken)
    assert sequences(register, subscription) == [] and pending_outbox(register) == 3
    assert dispatching.fan_out(register(), NOW, stored_file) == 3
    assert [s for s, _, _ in sequences(register, subscription)] == [1, 2, 3]


def test_one_fan_out_at_a_time(register):
    household(register)
    with register() as holder:
        assert holder.subscriptions.lock_fan_out()
        if holder.subscriptions.postgres:
            assert dispatching.fan_out(register(), NOW, stored_file) == 0  # another process has it
    assert dispatching.fan_out(register(), NOW, stored_file) == 1


def test_a_disabled_stream_keeps_its_items(register):
    subscription = dispatching.subscribe(register(), "DEMOB", Channel.PULL, Filter(), NOW)
    dispatching.set_enabled(register(), subscription.id, False, NOW, "maintenance")
    household(register)
    dispatching.fan_out(register(), NOW, stored_file)
    assert len(sequences(register, subscription)) == 1


# -- delivering a stream -----------------------------------------------------------------------------

def soap_stream(uow, changes: int = 3, batch_filter: Filter = Filter()):
    dispatching.set_endpoint(uow(), "DEMOB", "https://guichet.example.org/recevoir")
    subscription = dispatching.subscribe(uow(), "DEMOB", Channel.SOAP, batch_filter, NOW)
    for index in range(changes):
        household(uow, first_name=f"Personne{index}")
    dispatching.fan_out(uow(), NOW, stored_file)
    return subscription


def claim(uow, owner="worker-1", at=NOW, batch=100):
    return dispatching.claim(uow(), [Channel.SOAP], at, owner, LEASE, batch)


def test_a_batch_keeps_its_delivery_id_until_it_succeeds(register):
    subscription = soap_stream(register, 3)
    first = claim(register, batch=2)
    assert first.id == f"S{subscription.id}-0000000001-0000000002" and len(first.items) == 2
    assert claim(register, "worker-2") is None  # leased: nobody else sends this stream meanwhile
    assert dispatching.record(register(), first, Failed("HTTP 503"), NOW, SCHEDULE, timedelta(days=1)) == "retry"
    assert claim(register, at=NOW + timedelta(seconds=4)) is None  # the schedule says 5 s
    again = claim(register, "worker-2", at=NOW + timedelta(seconds=5), batch=50)
    assert again.id == first.id and [i.sequence for i in again.items] == [1, 2]  # the same delivery
    assert dispatching.record(register(), again, Delivered({}), NOW, SCHEDULE, timedelta(days=1)) == "delivered"
    rest = claim(register, at=NOW + timedelta(seconds=6))
    assert [i.sequence for i in rest.items] == [3] and rest.id != first.id


def test_a_worker_that_dies_mid_delivery_hands_the_same_batch_over_when_its_lease_ends(register):
    soap_stream(register, 2)
    lost = claim(register, "killed")
    assert claim(register, "survivor", at=NOW + LEASE - timedelta(seconds=1)) is None
    taken = claim(register, "survivor", at=NOW + LEASE + timedelta(seconds=1))
    assert taken.id == lost.id and [i.sequence for i in taken.items] == [i.sequence for i in lost.items]
    dispatching.record(register(), taken, Delivered({}), NOW, SCHEDULE, timedelta(days=1))
    # the dead worker's late news changes nothing: its lease is gone
    assert dispatching.record(register(), lost, Failed("timeout"), NOW, SCHEDULE, timedelta(days=1)) == "retry"
    status = dispatching.status(register(readonly=True), NOW)[0]
    assert (status.counts.delivered, status.counts.pending, status.subscription.attempts) == (2, 0, 0)


def test_the_schedule_used_up_makes_a_dead_letter_and_the_stream_goes_on(register):
    subscription = soap_stream(register, 2)
    at = NOW
    for word in ("retry", "retry", "dead"):
        delivery = claim(register, at=at, batch=1)
        assert [i.sequence for i in delivery.items] == [1]
        assert dispatching.record(register(), delivery, Failed("HTTP 500"), at, SCHEDULE, timedelta(days=1)) == word
        at += timedelta(minutes=10)
    assert [i.sequence for i in claim(register, at=at, batch=1).items] == [2]
    dead = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.DEAD])
    assert [(i.sequence, i.error) for i in dead] == [(1, "HTTP 500")]
    assert dispatching.retry_dead(register(), subscription.id) == 1
    register_lease_end = at + LEASE + timedelta(seconds=1)
    retried = claim(register, "operator", at=register_lease_end, batch=1)
    assert retried.id == dead[0].batch  # dead letters go again first, under their delivery id


def test_a_stream_failing_for_too_long_is_disabled_and_its_items_wait(register):
    subscription = soap_stream(register, 1)
    delivery = claim(register)
    dispatching.record(register(), delivery, Failed("connexion refusée"), NOW, SCHEDULE, timedelta(days=1))
    later = NOW + timedelta(days=1, seconds=10)
    delivery = claim(register, at=later)
    assert dispatching.record(register(), delivery, Failed("connexion refusée"), later, SCHEDULE,
                              timedelta(days=1)) == "disabled"
    [status] = dispatching.status(register(readonly=True), later)
    assert not status.subscription.enabled and "connexion refusée" in status.subscription.disabled_reason
    assert status.counts.pending == 1 and status.lag >= timedelta(days=1)
    assert claim(register, at=later + timedelta(hours=1)) is None
    dispatching.set_enabled(register(), subscription.id, True, later)
    assert claim(register, at=later + timedelta(hours=1)).id == delivery.id


def test_refusals_are_not_retried(register):
    subscription = soap_stream(register, 3)
    delivery = claim(register, batch=2)
    assert dispatching.record(register(), delivery, Delivered({2: "FICHIER : illisible"}), NOW, SCHEDULE,
                              timedelta(days=1)) == "delivered"
    whole = claim(register)
    assert dispatching.record(register(), whole, Failed("refus du récepteur", permanent=True), NOW, SCHEDULE,
                              timedelta(days=1)) == "refused"
    refused = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.REFUSED])
    assert [(i.sequence, i.error) for i in refused] == [(2, "FICHIER : illisible"), (3, "refus du récepteur")]
    assert claim(register) is None


def test_a_deactivated_counter_receives_nothing(register):
    soap_stream(register, 1)
    with register() as work:
        work.connection.execute(orm.counters.update().where(orm.counters.c.code == "DEMOB").values(active=False))
        work.commit()
    assert claim(register) is None


def test_a_daily_stream_sends_one_mail_a_day_and_a_null_flow_on_quiet_days(register):
    subscription = dispatching.subscribe(register(), "DEMOE", Channel.DAILY_MAIL, Filter(), NOW)
    quiet = dispatching.claim(register(), [Channel.DAILY_MAIL], NOW, "w", LEASE, daily=True)
    assert quiet.items == () and quiet.id == f"S{subscription.id}-J20261202"
    dispatching.record(register(), quiet, Delivered({}), NOW, SCHEDULE, timedelta(days=1))
    household(register)
    dispatching.fan_out(register(), NOW, stored_file)
    assert dispatching.claim(register(), [Channel.DAILY_MAIL], NOW, "w", LEASE, daily=True) is None  # tomorrow
    tomorrow = NOW + timedelta(days=1)
    busy = dispatching.claim(register(), [Channel.DAILY_MAIL], tomorrow, "w", LEASE, daily=True)
    assert [i.sequence for i in busy.items] == [1] and busy.last_sequence == 1


# -- pulling -----------------------------------------------------------------------------------------

def test_pulling_returns_the_stream_after_a_cursor_whatever_was_pushed(register):
    subscription = soap_stream(register, 5)
    delivery = claim(register, batch=2)
    dispatching.record(register(), delivery, Delivered({}), NOW, SCHEDULE, timedelta(days=1))
    page = dispatching.pull(register(readonly=True), "DEMOB", 0, limit=3)
    assert [i.sequence for i in page.items] == [1, 2, 3] and not page.complete and page.last_sequence == 5
    rest = dispatching.pull(register(readonly=True), "DEMOB", 3, subscription.id, limit=3)
    assert [i.sequence for i in rest.items] == [4, 5] and rest.complete
    assert dispatching.pull(register(readonly=True), "DEMOB", 5).items == []


def test_pulling_names_the_subscription_when_there_are_several(register):
    with pytest.raises(UnknownSubscription, match="aucun abonnement"):
        dispatching.pull(register(readonly=True), "DEMOC", 0)
    first = dispatching.subscribe(register(), "DEMOC", Channel.PULL, Filter(), NOW)
    dispatching.subscribe(register(), "DEMOC", Channel.PULL, Filter(communes=frozenset({METZ})), NOW)
    with pytest.raises(UnknownSubscription, match="plusieurs"):
        dispatching.pull(register(readonly=True), "DEMOC", 0)
    assert dispatching.pull(register(readonly=True), "DEMOC", 0, first.id).subscription.id == first.id
    other = dispatching.subscribe(register(), "DEMOE", Channel.PULL, Filter(), NOW)
    with pytest.raises(UnknownSubscription):  # never another counter's stream
        dispatching.pull(register(readonly=True), "DEMOC", 0, other.id)
    with pytest.raises(InvalidContent):
        dispatching.pull(register(readonly=True), "DEMOC", -1, first.id)


# -- operating ---------------------------------------------------------------------------------------

def test_replay_sends_the_past_again_through_todays_filter(register):
    subscription = dispatching.subscribe(register(), "DEMOB", Channel.PULL, Filter(communes=frozenset({METZ})), NOW)
    household(register, first_name="Anne", communes=(METZ,))
    household(register, first_name="Bruno", communes=(THIONVILLE,))
    dispatching.fan_out(register(), NOW, stored_file)
    assert len(sequences(register, subscription)) == 1
    dispatching.change_filter(register(), subscription.id, Filter())
    assert dispatching.replay(register(), subscription.id, NOW - timedelta(hours=1), NOW) == 2
    assert [s for s, _, _ in sequences(register, subscription)] == [1, 2, 3]


def test_subscriptions_are_checked_against_the_counter_and_its_territory(register):
    with pytest.raises(SubscriptionRefused):
        dispatching.subscribe(register(), "DEMOC", Channel.SOAP, Filter(), NOW)  # no endpoint
    with pytest.raises(InvalidContent) as outside:
        dispatching.subscribe(register(), "DEMOC", Channel.PULL,
                              Filter(communes=frozenset({"54395"}), departements=frozenset({"54"}),
                                     epcis=frozenset({"245700398"})), NOW)
    assert [a.property for a in outside.value.anomalies] == ["communes", "departements", "epcis"]
    dispatching.add_epci(register(), Epci("245700398", "Metz Métropole", "057", frozenset({METZ, "57480"})))
    with pytest.raises(SubscriptionRefused):
        dispatching.add_epci(register(), Epci("245400676", "Grand Nancy", "057", frozenset({"54395"})))
    subscription = dispatching.subscribe(register(), "DEMOC", Channel.PULL,
                                         Filter(epcis=frozenset({"245700398"})), NOW)
    assert subscription.filter.epcis == {"245700398"}


def test_preview_counts_the_last_days_changes_the_filter_would_have_sent(register):
    household(register, first_name="Anne", communes=(METZ,))
    household(register, first_name="Bruno", communes=(THIONVILLE,))
    household(register, "DEMOB", first_name="Chloé", communes=(METZ,), at=NOW - timedelta(days=40))
    dispatching.fan_out(register(), NOW, stored_file)
    assert dispatching.preview(register(readonly=True), "DEMOE", Filter(), NOW) == (2, 2)
    assert dispatching.preview(register(readonly=True), "DEMOE", Filter(communes=frozenset({METZ})), NOW) == (1, 2)
    assert dispatching.preview(register(readonly=True), "DEMOC", Filter(), NOW, days=60) == (1, 3)
