"""Serving the hub: cheroot (a production WSGI server) with TLS and client certificates.

The hub serves TLS itself (make run, tests) or, with SNE_HUB_TLS=off, plain HTTP behind a proxy
that terminates TLS and forwards the verified client certificate in SNE_HUB_CLIENT_CERT_HEADER.
Client certificates are asked for but optional at the TLS level, so a missing one gets a clear
SOAP fault instead of a dropped connection.
"""

from __future__ import annotations

import logging
import ssl
import threading

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from core.adapters.repository import SqlUnitOfWork

from .app import SERVICES, Hub
from .config import Settings

log = logging.getLogger(__name__)


def tls_adapter(settings: Settings) -> BuiltinSSLAdapter:
    for path in (settings.server_certificate, settings.server_key, settings.client_authority):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `sne-hub certificates demo` or set SNE_HUB_TLS_*")
    adapter = BuiltinSSLAdapter(str(settings.server_certificate), str(settings.server_key))
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    adapter.context.load_verify_locations(cafile=str(settings.client_authority))
    adapter.context.verify_mode = ssl.CERT_OPTIONAL
    return adapter


def make_server(settings: Settings, engine) -> wsgi.Server:
    hub = Hub(lambda readonly=False: SqlUnitOfWork(engine, readonly=readonly), settings.max_request_bytes,
              settings.client_cert_header, settings.public_url)
    server = wsgi.Server((settings.host, settings.https_port), hub, numthreads=settings.threads,
                         server_name="sne-hub", reuse_port=settings.https_port != 0)  # several hub processes
    server.max_request_body_size = 0  # the gate bounds the body, and answers a SOAP fault
    server.timeout = 5  # a silent connection holds a thread (or the TLS handshake) this long at most
    if settings.tls:
        server.ssl_adapter = tls_adapter(settings)
    return server


def urls(settings: Settings) -> list[str]:
    scheme = "https" if settings.tls else "http"
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    return [f"{scheme}://{host}:{settings.https_port}/services/{name}/?wsdl" for name in SERVICES]


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
        server.stop()

    return serve
