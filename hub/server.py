"""Serving the hub: cheroot (a production WSGI server) with TLS and client certificates.

The hub serves TLS itself (make run, tests) or, with SNE_HUB_TLS=off, plain HTTP behind a proxy
that terminates TLS and forwards the verified client certificate in SNE_HUB_CLIENT_CERT_HEADER.
Client certificates are asked for but optional at the TLS level, so a missing one gets a clear
SOAP fault instead of a dropped connection. How connections are held against silent and slow
clients (handshakes off the accepting thread, a deadline per request, a limit per address) is
hub/transport.py's.
"""

from __future__ import annotations

import logging
import threading

from core.adapters.document_store import make_document_store
from core.adapters.repository import SqlUnitOfWork
from core.cli import STOP_SECONDS

from .app import DOCUMENTS_SERVICE, SERVICES, Hub
from .config import Settings
from .transport import DeferredHandshake, HubServer

log = logging.getLogger(__name__)

# What a stop gives the connections already accepted (hub.transport.HubServer.drain), leaving cheroot's own
# stop (shutdown_timeout, 5 s) its time within the `sne-hub serve` process's STOP_SECONDS.
DRAIN_SECONDS = STOP_SECONDS - 10


def tls_adapter(settings: Settings) -> DeferredHandshake:
    for path in (settings.server_certificate, settings.server_key, settings.client_authority):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `sne-hub certificates demo` or set SNE_HUB_TLS_*")
    return DeferredHandshake(str(settings.server_certificate), str(settings.server_key),
                             str(settings.client_authority))


def document_store(settings: Settings):
    """The sealed document store, or None (with a warning) when the keyring is missing: the hub then
    serves every service but PiecesJustificativesImplService."""
    if not settings.document_keys.exists():
        log.warning("no document keyring at %s: PiecesJustificativesImplService not served "
                    "(sne-hub documents keys add, docs/DOCUMENTS.md)", settings.document_keys)
        return None
    return make_document_store(settings.document_store, str(settings.document_keys))


def make_server(settings: Settings, engine) -> HubServer:
    hub = Hub(lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly), settings.max_request_bytes,
              settings.client_cert_header, settings.public_url, document_store(settings))
    server = HubServer((settings.host, settings.https_port), hub, threads=settings.threads,
                       idle_seconds=settings.idle_seconds, request_seconds=settings.request_seconds,
                       # behind a proxy every connection comes from the proxy's address
                       connections_per_client=settings.connections_per_client if settings.tls else 0,
                       max_body_bytes=settings.max_request_bytes,
                       reuse_port=settings.https_port != 0)  # several hub processes
    if settings.tls:
        server.ssl_adapter = tls_adapter(settings)
    return server


def urls(settings: Settings) -> list[str]:
    scheme = "https" if settings.tls else "http"
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    return [f"{scheme}://{host}:{settings.https_port}/services/{name}/?wsdl" for name in SERVICES
            if name != DOCUMENTS_SERVICE or settings.document_keys.exists()]


def service(context):
    """The ``sne_hub.services`` entry point: run the SOAP channel until ``stop`` is set."""
    settings = Settings.from_environment()
    server = make_server(settings, context.engine)

    def serve(stop: threading.Event) -> None:
        server.prepare()
        for url in urls(settings):
            print(f"serving: {url}", flush=True)
        thread = threading.Thread(target=server.serve, name="soap", daemon=True)
        thread.start()
        stop.wait()
        server.drain(DRAIN_SECONDS)

    return serve
