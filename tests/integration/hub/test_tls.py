"""The TLS layer trusts the deployment's authority alone (``SNE_HUB_TLS_CLIENT_CA``) for client
certificates, never the machine's store of authorities for web sites: a certificate of another
authority is refused at the handshake, whatever the machine trusts, before any byte of HTTP."""

from __future__ import annotations

import socket
import ssl

import pytest

REQUEST = b"GET /services/DemandeLogementImplService/?wsdl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


@pytest.fixture
def hub_settings(pki, monkeypatch) -> dict:
    """The machine's store of authorities made the stranger's (OpenSSL reads SSL_CERT_FILE when a context
    loads the default authorities), before the hub fixture builds its server."""
    monkeypatch.setenv("SSL_CERT_FILE", pki["stranger_ca"]["cert"])
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return {}


def first_bytes(hub, certificate: str, key: str) -> bytes:
    """The first bytes the hub answers a WSDL request on a connection with this client certificate;
    none if it broke the connection. (In TLS 1.3 the client's handshake ends before the server has
    judged its certificate: the refusal comes at the first read, as an "unknown ca" alert or, when
    the server's close wins the race, as an EOF.)"""
    context = ssl.create_default_context(cafile=hub.pki["ca"]["cert"])
    context.load_cert_chain(certificate, key)
    with socket.create_connection(("localhost", hub.port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(REQUEST)
                return tls.recv(12)
        except (ssl.SSLError, ConnectionError):
            return b""


def test_a_certificate_of_an_authority_the_machine_trusts_is_refused_at_the_handshake(hub):
    stranger = hub.pki["stranger"]
    assert first_bytes(hub, stranger["cert"], stranger["key"]) == b""


def test_a_certificate_of_the_deployments_authority_is_taken(hub):
    counter = hub.pki["counters"]["DEMOB"]
    assert first_bytes(hub, counter["cert"], counter["key"]) == b"HTTP/1.1 200"
