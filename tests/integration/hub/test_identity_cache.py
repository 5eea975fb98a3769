"""Which counter a certificate authenticates, remembered for a while per hub process."""

from datetime import timedelta
from pathlib import Path

import pytest

from certificates import fingerprint, load_certificate
from core.domain.calendar import now_in_paris
from core.domain.errors import UnknownCertificate
from core.service_layer import services
from core.service_layer.identity import CertificateOwners


@pytest.fixture
def demob_print(hub) -> str:
    return fingerprint(load_certificate(Path(hub.pki["counters"]["DEMOB"]["cert"]).read_bytes()))


def test_a_revocation_takes_effect_after_the_cache_delay(hub, demob_print):
    owners, uncached = CertificateOwners(ttl=3600), CertificateOwners(ttl=0)
    assert owners.owner(hub.unit_of_work, demob_print, now_in_paris()) == "DEMOB"
    services.revoke_certificate(hub.unit_of_work(), demob_print, now_in_paris())
    assert owners.owner(hub.unit_of_work, demob_print, now_in_paris()) == "DEMOB"  # still within the delay
    with pytest.raises(UnknownCertificate):
        uncached.owner(hub.unit_of_work, demob_print, now_in_paris())
    owners.ttl = 0
    with pytest.raises(UnknownCertificate):
        owners.owner(hub.unit_of_work, demob_print, now_in_paris())


def test_expiry_takes_effect_at_once(hub, demob_print):
    owners = CertificateOwners(ttl=3600)
    owners.owner(hub.unit_of_work, demob_print, now_in_paris())
    with pytest.raises(UnknownCertificate):
        owners.owner(hub.unit_of_work, demob_print, now_in_paris() + timedelta(days=3650))
