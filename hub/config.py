"""The SOAP channel's settings, from the environment (every one has a working default for make run)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEMO = Path("var/demo")
MAX_REQUEST_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    https_port: int = 8443
    server_certificate: Path = DEMO / "server-cert.pem"
    server_key: Path = DEMO / "server-key.pem"
    client_authority: Path = DEMO / "ca.pem"
    max_request_bytes: int = MAX_REQUEST_BYTES
    threads: int = 16
    idle_seconds: float = 5  # the longest silence: a new connection before its first byte, one read in a request
    request_seconds: float = 30  # a request's TLS handshake, headers and body arrive within this (10 MB: 2.8 Mbit/s)
    connections_per_client: int = 8  # open connections per client address (0: no limit); TLS served here only
    tls: bool = True  # False only behind a TLS-terminating proxy that forwards the client certificate
    client_cert_header: str | None = None  # that proxy's header carrying the verified certificate (PEM)
    public_url: str | None = None  # the address to write in served WSDLs, when not the request's own
    document_store: str = "var/documents"  # supporting documents' bytes, sealed: a directory or s3://bucket/prefix
    document_keys: Path = Path("var/document-keys")  # their keyring; without it, no document service

    @classmethod
    def from_environment(cls) -> "Settings":
        environment = os.environ
        return cls(
            host=environment.get("SNE_HUB_HTTPS_HOST", cls.host),
            https_port=int(environment.get("SNE_HUB_HTTPS_PORT", cls.https_port)),
            server_certificate=Path(environment.get("SNE_HUB_TLS_CERT", cls.server_certificate)),
            server_key=Path(environment.get("SNE_HUB_TLS_KEY", cls.server_key)),
            client_authority=Path(environment.get("SNE_HUB_TLS_CLIENT_CA", cls.client_authority)),
            max_request_bytes=int(environment.get("SNE_HUB_MAX_REQUEST_BYTES", cls.max_request_bytes)),
            threads=int(environment.get("SNE_HUB_THREADS", cls.threads)),
            idle_seconds=float(environment.get("SNE_HUB_IDLE_SECONDS", cls.idle_seconds)),
            request_seconds=float(environment.get("SNE_HUB_REQUEST_SECONDS", cls.request_seconds)),
            connections_per_client=int(environment.get("SNE_HUB_CONNECTIONS_PER_CLIENT", cls.connections_per_client)),
            tls=environment.get("SNE_HUB_TLS", "on").lower() not in ("off", "0", "false"),
            client_cert_header=environment.get("SNE_HUB_CLIENT_CERT_HEADER") or None,
            public_url=environment.get("SNE_HUB_PUBLIC_URL") or None,
            document_store=environment.get("SNE_HUB_DOCUMENT_STORE", cls.document_store),
            document_keys=Path(environment.get("SNE_HUB_DOCUMENT_KEYS", cls.document_keys)),
        )
