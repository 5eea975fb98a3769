"""The receiver accepts the hub's client certificate, and only it (docs/DISPATCHING.md, Transport)."""

from __future__ import annotations

import pytest

from .checks import acknowledged, not_acknowledged


def refused_then_accepted(sender, push, stream, certificate, what: str) -> None:
    """A delivery with ``certificate`` is not acknowledged, the same with the kit's own is: the
    receiver tells them apart (and is up)."""
    delivery = stream.delivery(stream.change("CRE"))
    not_acknowledged(lambda: sender.post(*delivery.inline(), certificate, what), what)
    acknowledged(push(delivery, what="the same with the kit's certificate"), delivery)


@pytest.mark.requirement("SNE-HUB-R330")
def test_a_request_without_a_client_certificate_is_refused(sender, push, stream):
    refused_then_accepted(sender, push, stream, None, "without a client certificate")


@pytest.mark.requirement("SNE-HUB-R331")
def test_a_certificate_of_an_unknown_authority_is_refused(sender, push, stream, pki):
    refused_then_accepted(sender, push, stream, pki.pair("stranger"), "certificate of an unknown authority")


@pytest.mark.requirement("SNE-HUB-R332")
def test_an_expired_certificate_is_refused(sender, push, stream, pki):
    refused_then_accepted(sender, push, stream, pki.pair("expired"), "expired certificate")
