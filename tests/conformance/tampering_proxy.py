"""A deliberately broken hub: a TLS proxy in front of a real one that spoils chosen answers.

It terminates TLS with the demo server certificate, asks for the client's certificate, and calls
the hub as the same counter (it holds the counters' certificates and keys: a test device, not a
design); with ``anonymous_as``, a caller without a certificate is let through as that counter.
Each ``Tampering`` rewrites the answers to one operation (Content-Type and body); everything else
passes through untouched, so that only the requirements the tamperings break may fail.
"""

from __future__ import annotations

import re
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

Answer = tuple[str, bytes]  # Content-Type, body


@dataclass(frozen=True)
class Tampering:
    """Answers to requests whose SOAP action ends with ``action`` (any action: "") go through ``rewrite``."""

    action: str
    rewrite: Callable[[str, bytes], Answer]


def unknown_element_in_the_answer_file(content_type: str, body: bytes) -> Answer:
    """An element the XSD does not have, in the RET file's header (a raw XML part of an MTOM answer)."""
    return content_type, body.replace(b"</ns2:entete>", b"<ns2:champInconnu>1</ns2:champInconnu></ns2:entete>", 1)


def subcode(code: str, replacement: str) -> Callable[[str, bytes], Answer]:
    """A fault whose Subcode says ``replacement`` where the stable code ``code`` was."""
    pattern = re.compile(rb"(<(?:\w+:)?Value>)(?:\w+:)?" + re.escape(code.encode()) + rb"(</(?:\w+:)?Value>)")
    return lambda content_type, body: (content_type, pattern.sub(rb"\g<1>" + replacement.encode() + rb"\g<2>", body))


def mtom_without_its_type(content_type: str, body: bytes) -> Answer:
    """An MTOM answer whose Content-Type lacks ``type="application/xop+xml"`` (readable, not XOP as declared)."""
    return re.sub(r';\s*type="application/xop\+xml"', "", content_type), body


class TamperingProxy:
    """``https://localhost:<port>`` in front of ``upstream``; a context manager (started on entry)."""

    def __init__(self, upstream: str, ca: Path, server: tuple[Path, Path], counters: list[tuple[Path, Path]],
                 tamperings: list[Tampering], anonymous_as: tuple[Path, Path] | None = None):
        self.upstream, self.ca, self.tamperings = upstream.rstrip("/"), ca, tamperings
        self.by_certificate = {_der(cert): (str(cert), str(key)) for cert, key in counters}
        self.anonymous = (str(anonymous_as[0]), str(anonymous_as[1])) if anonymous_as else None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
        context.load_cert_chain(str(server[0]), str(server[1]))
        context.verify_mode = ssl.CERT_OPTIONAL
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.server.server_address[1]}"

    def __enter__(self) -> "TamperingProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method: str, path: str, headers: dict, body: bytes, peer: bytes | None) -> requests.Response:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca)
        session.cert = self.by_certificate.get(peer) if peer else self.anonymous
        return session.request(method, self.upstream + path, data=body or None, headers=headers, timeout=60)

    def rewrite(self, action_of: str, answer: Answer) -> Answer:
        """``answer`` after the tamperings whose action the request's Content-Type ``action_of`` names."""
        for tampering in self.tamperings:
            if re.search(r'action="?[^";]*' + re.escape(tampering.action) + r'"?(;|$)', action_of):
                answer = tampering.rewrite(*answer)
        return answer

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                headers = {"Content-Type": content_type} if content_type else {}
                answer = proxy.forward(self.command, self.path, headers, body, self.connection.getpeercert(True))
                answer_type, data = proxy.rewrite(content_type, (answer.headers.get("Content-Type", ""),
                                                                 answer.content))
                self.send_response(answer.status_code)
                if answer_type:
                    self.send_header("Content-Type", answer_type)
                if "Accept-Encoding" in answer.headers:
                    self.send_header("Accept-Encoding", answer.headers["Accept-Encoding"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _relay

            def log_message(self, *arguments) -> None:
                pass

        return Handler


def _der(certificate: Path) -> bytes:
    return x509.load_pem_x509_certificate(certificate.read_bytes()).public_bytes(Encoding.DER)
