"""Reference data the channel tests share: counters of every type, with certificates."""

from __future__ import annotations

from pathlib import Path

from certificates.reading import registration
from core import demo
from core.domain.codes import CounterType
from core.domain.referential import Counter, Territory
from core.service_layer import services

HUB_ADDRESS = "hub@sne-hub.example.org"
EXTRA_COUNTERS = (
    Counter("ETAT1", "Préfecture de démonstration", CounterType.STATE, "057", mailbox="etat1@guichets.sne-hub.test"),
    Counter("GEST1", "Gestion territoriale", CounterType.TERRITORIAL_MANAGER, "057"),
    Counter("AUTR1", "Collecteur Action Logement", CounterType.OTHER_RESERVATION_HOLDER, "057"),
    Counter("NANCY", "Ville de Nancy", CounterType.MUNICIPALITY, "054", mailbox="nancy@guichets.sne-hub.test"),
)
ALL_COUNTERS = demo.COUNTERS + EXTRA_COUNTERS


def seed_register(unit_of_work, pki: dict) -> None:
    """Territories 057 and 054, every counter, and each counter's certificate registered."""
    services.add_territory(unit_of_work(), demo.TERRITORY)
    services.add_territory(unit_of_work(), Territory("054", "Meurthe-et-Moselle", frozenset({"54"})))
    for counter in ALL_COUNTERS:
        services.add_counter(unit_of_work(), counter)
        entry = pki["counters"][counter.code]
        services.register_certificate(unit_of_work(), registration(counter.code, Path(entry["cert"]).read_bytes()))
