"""The daily jobs of `sne-hub serve`: expiring counter certificates are warned about in the log; the
register's indicators are computed and applications past their retention purged."""

import logging
from datetime import date, timedelta

from core import demo
from core.cli import Context, _run_daily_jobs, _warn_expiring_certificates
from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.indicators import PrefectDelay
from core.domain.referential import CounterCertificate
from core.service_layer import indicators, services


def test_certificates_expiring_within_30_days_are_logged(database_url, uow, caplog):
    services.add_territory(uow(), demo.TERRITORY)
    services.add_counter(uow(), demo.COUNTERS[0])
    now = now_in_paris()
    soon = CounterCertificate("a" * 64, "DEMOB", "CN=soon", now - timedelta(days=300), now + timedelta(days=10))
    later = CounterCertificate("b" * 64, "DEMOB", "CN=later", now - timedelta(days=10), now + timedelta(days=300))
    for certificate in (soon, later):
        services.register_certificate(uow(), certificate)
    caplog.set_level(logging.WARNING)
    _warn_expiring_certificates(Context(database_url))
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "aaaaaaaaaaaaaaaa… of counter DEMOB expires on" in warnings[0]


def test_the_daily_jobs_compute_the_indicators_and_purge_what_is_past_its_retention(database_url, uow):
    """`sne-hub serve`'s daily run: the renewal clock, then the register's indicators, then the purge."""
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS:
        services.add_counter(uow(), counter)
    today = now_in_paris().date()
    filed_at = now_in_paris() - timedelta(days=20)
    waiting = services.register(uow(), demo.household_form(), filed_at.date(), "DEMOC", filed_at)
    ended = services.register(uow(), demo.household_form("Autre", "Sam", date(1979, 3, 3)), filed_at.date(), "DEMOC",
                              filed_at)
    services.cancel(uow(), ended.number, Cancellation(filed_at.date(), "RADABA"), "DEMOC", filed_at)
    indicators.set_prefect_delay(uow(), PrefectDelay("57", 1), now_in_paris())
    _run_daily_jobs(Context(database_url), today + timedelta(days=400))
    with uow(readonly=True) as work:
        assert work.applications.get(waiting.number).form.processing.abnormally_long_wait is True
        assert work.applications.get(ended.number) is None
