"""Dispatching on real parts: the register seeded with counters and certificates, receivers over TLS
(support.receivers), the dispatcher's settings pointing at the session's PKI.

``dispatcher`` is the product's own :class:`dispatching.worker.Dispatcher`, driven step by step
(``fan_out_once``, ``deliver_once``) so that a test says exactly when things happen.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.domain.dispatch import RetrySchedule
from dispatching.config import DispatchSettings
from dispatching.worker import Dispatcher
from support.receivers import start_receiver

from ..channels import HUB_ADDRESS, seed_register


@pytest.fixture
def register(uow, pki):
    """Territories 057 and 054, every counter, their certificates (kept whole: mail is encrypted to them)."""
    seed_register(uow, pki)
    return uow


@pytest.fixture
def settings(pki, tmp_path) -> DispatchSettings:
    directory = Path(pki["directory"])
    return DispatchSettings(
        workers=2, batch=50, retry=RetrySchedule.parse("0s,1s,1s,1s"), disable_after=timedelta(hours=1),
        timeout=2.0, lease=timedelta(seconds=10), poll=0.05,
        client_certificate=directory / "hub-client-cert.pem", client_key=directory / "hub-client-key.pem",
        trusted=directory / "ca.pem", mail_certificate=directory / "hub-cert.pem",
        mail_key=directory / "hub-key.pem", mail_address=HUB_ADDRESS, relay=None,
        drop_directory=tmp_path / "drop", notices_directory=tmp_path / "notices",
        letters_directory=tmp_path / "letters")


@pytest.fixture
def dispatcher(register, settings) -> Dispatcher:
    return Dispatcher(register, settings)


@pytest.fixture
def receivers(pki):
    """A factory of running receivers (reference receiver over TLS), all stopped at the end."""
    started = []

    def start(**options):
        receiver = start_receiver(pki, **options)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def with_settings(settings: DispatchSettings, **changes) -> DispatchSettings:
    return replace(settings, **changes)
