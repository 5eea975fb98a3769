"""The mail channel's settings refuse what would only fail later, at the first reply."""

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
