"""The hub's WSGI application: the SNE services at /services/<ServiceName>/, their WSDL at ?wsdl.

PiecesJustificativesImplService (supporting
documents, sne-hub's own) is served when the hub has a document store. WSDLs are our own files (wsdl/), served with the
address rewritten to where the hub is reached, so a client that reads the address from the WSDL
calls the hub and not the ministry.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Callable, Iterable

from spyne.server.wsgi import WsgiApplication

from core.service_layer.unit_of_work import DocumentStore

from .gate import Gate, Service
from .soap import (
    DOCUMENT_STORE_KEY,
    DemandeLogement,
    DispatchDemande,
    GestionPartageeEVT,
    MemoryReleased,
    PiecesJustificatives,
    RechercheDemande,
    application,
)

WSDL_DIR = Path(__file__).resolve().parent.parent / "wsdl"
SERVICES = {
    "DemandeLogementImplService": DemandeLogement,
    "RechercheDemandeImplService": RechercheDemande,
    "GestionPartageeEVTImplService": GestionPartageeEVT,
    "DispatchDemandeImplService": DispatchDemande,  # sne-hub's own: catching up with dispatching
    "PiecesJustificativesImplService": PiecesJustificatives,  # sne-hub's own: supporting documents
}
DOCUMENTS_SERVICE = "PiecesJustificativesImplService"
_ADDRESS = b'location="https://localhost:8443/services/'
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?")


@cache
def _wsdl(name: str) -> bytes:
    return (WSDL_DIR / f"{name}.wsdl").read_bytes()


class Hub:
    def __init__(self, unit_of_work: Callable, max_request_bytes: int, client_cert_header: str | None = None,
                 public_url: str | None = None, document_store: DocumentStore | None = None):
        self.public_url = public_url
        self.gates = {
            # spyne gets the message with files inlined in base64: a third larger than what the gate admits
            name: Gate(Service(name, WSDL_DIR / f"{name}.wsdl", MemoryReleased(
                           WsgiApplication(application(service), max_content_length=2 * max_request_bytes))),
                       unit_of_work, max_request_bytes, client_cert_header, {DOCUMENT_STORE_KEY: document_store})
            for name, service in SERVICES.items()
            if name != DOCUMENTS_SERVICE or document_store is not None
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if len(parts) != 2 or parts[0] != "services" or parts[1] not in self.gates:
            return _plain(start_response, "404 Not Found", "Services : " + ", ".join(
                f"/services/{name}/" for name in self.gates))
        name = parts[1]
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("QUERY_STRING", "").lower() == "wsdl":
            base = self._base(environ)
            if base is None:
                return _plain(start_response, "400 Bad Request", "En-tête Host invalide")
            document = _wsdl(name).replace(_ADDRESS, b'location="' + base.encode() + b"/services/")
            start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                                      ("Content-Length", str(len(document)))])
            return [document]
        return self.gates[name](environ, start_response)

    def _base(self, environ: dict) -> str | None:
        """Where the client reached us; None when its Host header is not a plain host[:port]."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = environ.get("HTTP_HOST", "")
        if not _HOST.fullmatch(host):
            return None
        return f"{environ.get('wsgi.url_scheme', 'https')}://{host}"


def _plain(start_response: Callable, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
