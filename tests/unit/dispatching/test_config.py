"""Dispatching's settings refuse what would only fail later, at the first delivery."""

from datetime import timedelta

import pytest

from dispatching.config import DispatchSettings


@pytest.mark.parametrize("relay, address", [("smtp.example.org", ("smtp.example.org", 25)),
                                            ("smtp.example.org:587", ("smtp.example.org", 587)),
                                            ("[::1]:2525", ("::1", 2525))])
def test_a_relay_is_a_host_and_an_optional_port(relay, address):
    assert DispatchSettings(relay=relay).relay_address == address


@pytest.mark.parametrize("changes", [{"relay": "smtp example"}, {"batch": 0}, {"batch": 501},
                                     {"timeout": 30.0, "lease": timedelta(seconds=30)}])
def test_settings_that_cannot_work_are_refused_at_start(changes):
    with pytest.raises(ValueError):
        DispatchSettings(**changes)
