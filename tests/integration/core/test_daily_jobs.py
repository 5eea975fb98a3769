"""The daily jobs of `sne-hub serve`: expiring counter certificates are warned about in the log."""

import logging
from datetime import timedelta

from core import demo
from core.cli import Context, _warn_expiring_certificates
from core.domain.calendar import now_in_paris
from core.domain.referential import CounterCertificate
from core.service_layer import services


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
