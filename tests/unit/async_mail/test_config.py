"""The mail channel's settings refuse what would only fail later, at the first reply."""

from datetime import timedelta

import pytest

from async_mail.config import MailSettings


@pytest.mark.parametrize("relay, address", [("smtp.example.org", ("smtp.example.org", 25)),
                                            ("smtp.example.org:587", ("smtp.example.org", 587)),
                                            ("[::1]:2525", ("::1", 2525))])
def test_a_relay_is_a_host_and_an_optional_port(relay, address):
    assert MailSettings(relay=relay).relay_address == address


@pytest.mark.parametrize("relay", ["smtp example", ":25", "smtp.example.org:port", "::1:25", "smtp.example.org:70000"])
def test_a_malformed_relay_is_refused_at_start(relay):
    with pytest.raises(ValueError, match="SNE_HUB_SMTP_RELAY"):
        MailSettings(relay=relay)


def test_the_lease_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SNE_HUB_MAIL_LEASE_SECONDS", "7.5")
    assert MailSettings.from_environment().lease == timedelta(seconds=7.5)
    monkeypatch.delenv("SNE_HUB_MAIL_LEASE_SECONDS")
    assert MailSettings.from_environment().lease == timedelta(seconds=60)


@pytest.mark.parametrize("seconds", [0, 2.9, -60])
def test_a_lease_too_short_to_be_renewed_is_refused_at_start(seconds):
    """A lease of a second or two would lapse whenever the host is busy for a moment, and another
    process would take mails still being processed."""
    with pytest.raises(ValueError, match="SNE_HUB_MAIL_LEASE_SECONDS"):
        MailSettings(lease=timedelta(seconds=seconds))
