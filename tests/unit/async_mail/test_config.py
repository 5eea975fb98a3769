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


def test_the_retention_period_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("SNE_HUB_MAIL_RETENTION_DAYS", raising=False)
    assert MailSettings.from_environment().retention == timedelta(days=90)
    monkeypatch.setenv("SNE_HUB_MAIL_RETENTION_DAYS", "30")
    assert MailSettings.from_environment().retention == timedelta(days=30)


@pytest.mark.parametrize("days, window_hours", [(2, 24), (1, 12), (0, 24), (-90, 24), (float("nan"), 24), (366, 24),
                                                (30, 360)])
def test_a_retention_period_a_replay_could_outlive_or_longer_than_a_year_is_refused_at_start(days, window_hours):
    """Erased before a replay's signature is too old, a mail would be processed again when replayed;
    kept over a year, it would outlive the household's data in the register."""
    with pytest.raises(ValueError, match="SNE_HUB_MAIL_RETENTION_DAYS"):
        MailSettings(retention_days=days, signing_window_hours=window_hours)


@pytest.mark.parametrize("days, window_hours", [(2.01, 24), (365, 24), (1.01, 12), (90, 24)])
def test_a_retention_period_over_twice_the_signing_window_and_within_a_year_is_taken(days, window_hours):
    assert MailSettings(retention_days=days, signing_window_hours=window_hours).retention == timedelta(days=days)
