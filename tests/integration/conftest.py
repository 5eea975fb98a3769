"""Fixtures the channel tests share: the demo PKI of the session."""

from __future__ import annotations

import pytest

from certificates import write_demo_pki

from .channels import ALL_COUNTERS, HUB_ADDRESS


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict:
    """The demo PKI for every counter, and a certificate for DEMOB from an unrelated authority."""
    directory = tmp_path_factory.mktemp("pki")
    described = write_demo_pki(directory, [(c.code, c.name, c.mailbox) for c in ALL_COUNTERS], HUB_ADDRESS)
    stranger = write_demo_pki(tmp_path_factory.mktemp("stranger"),
                              [("DEMOB", "Imposteur", "demob@guichets.sne-hub.test")], "hub@elsewhere.example.org")
    described["stranger"] = stranger["counters"]["DEMOB"]
    described["stranger_ca"] = stranger["ca"]
    described["directory"] = directory
    return described
