"""The SOAP channel's HTTP connections: cheroot, held so that silent or slow clients cannot stall it.

cheroot alone shakes TLS hands on its accepting thread (one silent TCP connection blocks every new
one for the socket timeout), gives each new connection a worker thread that waits for a request,
and lets a client that trickles bytes hold that worker for as long as it keeps trickling. Here:

- a new connection waits in cheroot's selector, costing no thread, until its client sends
  something; one that stays silent is closed after the idle time (``SNE_HUB_IDLE_SECONDS``);
- the TLS handshake runs on a worker thread, bounded by the idle time; the connection then goes back
  to the selector until its request starts, so an idle TLS connection holds no thread either;
- a request must arrive whole, handshake (on a new connection), headers and body, within
  ``SNE_HUB_REQUEST_SECONDS``, and no read waits longer than the idle time: a slow client holds a
  worker that long at most, then gets the fault ``HUB-DELAI`` (408) and the connection closes;
- one client address holds at most ``SNE_HUB_CONNECTIONS_PER_CLIENT`` connections; the ones beyond
  are closed as soon as they are accepted, before any TLS;
- the message framing is checked before cheroot acts on it (RFC 9112 §6): a garbled, negative or
  repeated Content-Length, Content-Length with Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a
  malformed chunked body or a body that ends before its Content-Length get ``HUB-REQUETE`` (400),
  a declared length over the bound ``HUB-TAILLE`` (413), a Content-Encoding other than identity
  ``HUB-ENCODAGE`` (415), each a SOAP 1.2 fault as the gate writes them, then the connection closes:
  the rest of its bytes cannot be trusted to start a request.

A stop drains (:meth:`HubServer.drain`): the listening socket stops taking new connections, every
connection the kernel had already accepted is taken and served, each answer then closes its
connection, and the server stops once nothing is left or the stop's time is up.

A client that sends slowly still holds a worker thread for up to the request time: more slow
addresses than threads hold them all. That is what the TLS-terminating proxy of a production
deployment absorbs (docs/INTERFACES.md, "Deployment").
"""

from __future__ import annotations

import _pyio
import ctypes
import logging
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
from collections import Counter

from cheroot import wsgi
from cheroot.makefile import MakeFile, StreamReader
from cheroot.server import ChunkedRFile, HeaderReader, HTTPConnection, HTTPRequest, KnownLengthRFile
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .gate import REQUEST, TOO_LARGE, Refused, fault

log = logging.getLogger(__name__)

TIMEOUT = "HUB-DELAI"
ENCODING = "HUB-ENCODAGE"

# What writing to a connection its client has closed raises: the TLS layer's EOF or close, a reset, a broken pipe.
CLIENT_GONE = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)

LENGTH = re.compile(rb"[0-9]{1,18}")  # longer ones cannot be a length we would read
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
CHUNK_LINE_BYTES = 1024  # a chunk size and its extensions


class ClientLimit:
    """Open connections per client address, so that one address cannot take every worker thread."""

    def __init__(self, per_client: int):
        self.per_client = per_client  # 0: no limit (behind a proxy, every connection is the proxy's)
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, address: str) -> bool:
        with self._lock:
            if self.per_client and self._open[address] >= self.per_client:
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]


class RequestClock:
    """When the request being read on a connection must have arrived, and how long one read may wait."""

    def __init__(self, idle_seconds: float, request_seconds: float):
        self.idle_seconds, self.request_seconds = idle_seconds, request_seconds
        self.deadline: float | None = None

    def start(self) -> None:
        self.deadline = time.monotonic() + self.request_seconds

    def stop(self) -> None:
        self.deadline = None

    def wait(self) -> float:
        """The time the next read may wait; a refusal once the request's time is over."""
        if self.deadline is None:
            return self.idle_seconds
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Refused(TIMEOUT, f"Requête non reçue en entier en {self.request_seconds:g} s", 408)
        return min(self.idle_seconds, left)

    def silence(self) -> Refused:
        return Refused(TIMEOUT, f"Aucun octet reçu pendant {self.idle_seconds:g} s au milieu de la requête", 408)


class _TimedSocketIO(socket.SocketIO):
    """The socket under a connection's reader: every read bounded by the request's clock."""

    def __init__(self, sock: socket.socket, clock: RequestClock):
        super().__init__(sock, "rb")
        self.clock = clock

    def readinto(self, buffer) -> int | None:
        wait = self.clock.wait()
        if self._sock.gettimeout() != wait:
            self._sock.settimeout(wait)
        try:
            return super().readinto(buffer)
        except TimeoutError:
            raise self.clock.silence() from None


class _TimedReader(StreamReader):
    """cheroot's buffered reader on a timed socket; it also sees the bytes TLS has already decrypted."""

    def __init__(self, sock: socket.socket, clock: RequestClock, bufsize: int):
        _pyio.BufferedReader.__init__(self, _TimedSocketIO(sock, clock), bufsize)
        self.bytes_read = 0
        self._tls = sock if isinstance(sock, ssl.SSLSocket) else None

    def has_data(self) -> bool:
        """Whether a request can be read without waiting (else the connection waits in the selector)."""
        return super().has_data() or (self._tls is not None and self._tls.pending() > 0)


class _ExactBody(KnownLengthRFile):
    """A body of announced length: one that ends before that length is a broken request."""

    def __init__(self, rfile, content_length: int):
        super().__init__(rfile, content_length)
        self.announced = content_length

    def read(self, size=None) -> bytes:
        wanted = self.remaining if size is None else min(size, self.remaining)
        data = super().read(size)
        if len(data) < wanted:
            raise self._interrupted()
        return data

    def readline(self, size=None) -> bytes:
        wanted = self.remaining if size is None else min(size, self.remaining)
        data = super().readline(size)
        if len(data) < wanted and not data.endswith(b"\n"):
            raise self._interrupted()
        return data

    def _interrupted(self) -> Refused:
        return Refused(REQUEST, f"Corps de requête interrompu : {self.announced - self.remaining} octets reçus "
                                f"sur les {self.announced} annoncés par Content-Length")


class _BoundedChunks(ChunkedRFile):
    """A chunked body, read as cheroot does but with strict chunk sizes and the size bound.

    cheroot reads an announced chunk whole before looking at the bound, whatever size it announces
    (20 hex digits overflowed; a few GB would have been buffered).
    """

    def __init__(self, rfile, max_bytes: int):
        super().__init__(rfile, maxlen=0)
        self.max_bytes = max_bytes

    def _fetch(self) -> None:
        if self.closed:
            return
        line = self.rfile.readline(CHUNK_LINE_BYTES)
        size = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not CHUNK_SIZE.fullmatch(size):
            raise Refused(REQUEST, f"Corps chunked mal formé : taille de bloc {size[:20].decode('latin-1')!r}")
        length = int(size, 16)
        if length == 0:
            self.closed = True
            return
        self.bytes_read += length
        if self.bytes_read > self.max_bytes:
            raise Refused(TOO_LARGE, f"Requête de plus de {self.max_bytes} octets", 413)
        chunk = self.rfile.read(length)
        if len(chunk) < length or self.rfile.read(2) != b"\r\n":
            raise Refused(REQUEST, "Corps chunked interrompu ou mal formé")
        self.buffer += chunk


class _Headers(dict):
    """Request headers as cheroot reads them, remembering the names that came more than once."""

    def __init__(self):
        super().__init__()
        self.repeated: set[bytes] = set()

    def __setitem__(self, name: bytes, value: bytes) -> None:
        if name in self:  # a repeated name, or an obsolete line folding that replaced the value
            self.repeated.add(name)
        super().__setitem__(name, value)


class _FramingChecked(HeaderReader):
    """cheroot's header reader, then the request's framing checks, before cheroot acts on any header."""

    def __init__(self, request: _Request):
        self.request = request

    def __call__(self, rfile, hdict=None) -> dict:
        headers = super().__call__(rfile, hdict)
        self.request.check_framing(headers)
        return headers


class _Request(HTTPRequest):
    """One request: framing checked, body read through bounded readers, refusals as SOAP faults."""

    def __init__(self, server, conn, proxy_mode=False, strict_mode=True):
        super().__init__(server, conn, proxy_mode, strict_mode)
        self.inheaders = _Headers()
        self.header_reader = _FramingChecked(self)

    def parse_request(self) -> None:
        try:
            super().parse_request()
        except Refused as refusal:  # from check_framing, or the clock while headers trickle in
            self.refuse(refusal)

    def check_framing(self, headers: _Headers) -> None:
        """RFC 9112 §6.1-6.3: one way to find where the body ends, or a refusal."""
        length, chunked = headers.get(b"Content-Length"), headers.get(b"Transfer-Encoding")
        if b"Content-Length" in headers.repeated:
            raise Refused(REQUEST, "Content-Length répété")
        if length is not None and not LENGTH.fullmatch(length):
            raise Refused(REQUEST, f"Content-Length invalide : {length[:20].decode('latin-1')!r}")
        if chunked is not None and length is not None:
            raise Refused(REQUEST, "Content-Length et Transfer-Encoding ensemble")
        if chunked is not None and self.request_protocol == b"HTTP/1.0":
            raise Refused(REQUEST, "Transfer-Encoding en HTTP/1.0")
        if length is not None and int(length) > self.server.max_body_bytes:
            raise Refused(TOO_LARGE, f"Requête de {int(length)} octets : au plus {self.server.max_body_bytes}", 413)
        coding = headers.get(b"Content-Encoding")
        if coding is not None and any(token.strip().lower() not in (b"", b"identity") for token in coding.split(b",")):
            raise Refused(ENCODING, f"Content-Encoding non accepté : {coding[:40].decode('latin-1')!r} ; "
                                    "envoyez le corps sans compression", 415)

    def respond(self) -> None:
        """cheroot's, with our body readers (its own size checks are off: max_request_body_size = 0)."""
        if self.chunked_read:
            self.rfile = _BoundedChunks(self.conn.rfile, self.server.max_body_bytes)
        else:
            self.rfile = _ExactBody(self.conn.rfile, int(self.inheaders.get(b"Content-Length", 0)))
        self.server.gateway(self).respond()
        self.ready and self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def send_headers(self) -> None:
        """Close after an answer whose request body was not read to its end, instead of reading the rest;
        and after every answer of a stopping server (``Connection: close``: the client's next request goes
        to another process)."""
        if (self.ready and not self._body_read()) or self.server.draining:
            self.close_connection = True
        self.conn.socket.settimeout(self.server.timeout)  # the last read may have left a shorter one
        super().send_headers()

    def _body_read(self) -> bool:
        if self.chunked_read:
            return self.rfile.closed
        return self.rfile.remaining == 0

    def refuse(self, refusal: Refused) -> None:
        """Answer with the gate's SOAP 1.2 fault, then close the connection."""
        status, headers, body = fault(refusal.code, refusal.message, refusal.status)
        if refusal.code == ENCODING:
            headers.append(("Accept-Encoding", "identity"))  # RFC 9110 §12.5.3: the refusal is about the coding
        log.info("http refused %s status=%s", refusal.code, status)
        self.ready, self.close_connection = False, True
        self.status = status.encode("latin-1")
        self.outheaders = [(name.encode("latin-1"), value.encode("latin-1"))
                           for name, value in headers + [("Content-Length", str(len(body)))]]
        try:
            self.ensure_headers_sent()
            self.write(body)
        except OSError:  # the client is gone: nothing to tell it
            pass


class _Connection(HTTPConnection):
    """One client connection: TLS handshake on a worker, each request on the clock, counted per address."""

    RequestHandlerClass = _Request

    def __init__(self, server, sock, makefile=MakeFile):
        self.clock = RequestClock(server.timeout, server.request_seconds)
        super().__init__(server, sock, makefile=self._file)
        self.admitted = False  # counted in the server's ClientLimit
        self.secured = not isinstance(sock, ssl.SSLSocket)

    def _file(self, sock, mode: str, bufsize: int):
        return _TimedReader(sock, self.clock, bufsize) if "r" in mode else MakeFile(sock, mode, bufsize)

    def communicate(self) -> bool:
        """Serve what the client sent; True to keep the connection (it waits in the selector meanwhile)."""
        self.clock.start()
        try:
            if not self.secured:
                return self._secure()
            return super().communicate()
        finally:
            self.clock.stop()

    def _secure(self) -> bool:
        """The TLS handshake, once the client has started it; then its request, if it came along."""
        try:
            self.socket.settimeout(self.clock.wait())  # do_handshake's timeout bounds the whole handshake
            self.socket.do_handshake()
        except OSError as error:  # SSLError, a reset, a timeout: nobody to answer
            log.debug("TLS handshake failed: %s", getattr(error, "reason", None) or type(error).__name__)
            return False
        self.secured = True
        self.ssl_env = self.server.ssl_adapter.get_environ(self.socket)  # SSL_CLIENT_CERT, as cheroot's wrap
        self.socket.settimeout(self.server.timeout)
        if self.rfile.has_data():
            return super().communicate()
        return True

    def close(self) -> None:
        if self.admitted:
            self.admitted = False
            self.server.clients.release(self.remote_addr)
        super().close()


class DeferredHandshake(BuiltinSSLAdapter):
    """cheroot's TLS adapter, without the handshake on the accepting thread (done by the connection).

    Its context is built here rather than by cheroot's constructor, which also parses the server's
    certificate over a loopback TLS connection of its own, for ``SSL_SERVER_*`` variables the hub never
    reads: 50 ms of each server's start, in every SOAP process and every test's hub. Client
    certificates are verified against ``client_authority`` alone (optional at the handshake: the WSDLs
    are served without one; the gate requires one for the services)."""

    def __init__(self, certificate: str, private_key: str, client_authority: str):
        super(BuiltinSSLAdapter, self).__init__(certificate, private_key)  # cheroot's Adapter: the paths only
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certificate, private_key)
        context.load_verify_locations(cafile=client_authority)
        context.verify_mode = ssl.CERT_OPTIONAL
        self.context = context
        self._server_env = {}  # no SSL_SERVER_* variables (see above)

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict]:
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), {}


# A classic BPF socket filter (linux/filter.h) that drops TCP segments with SYN and without ACK, i.e. the
# first packet of every new connection, and lets everything else through; offsets are from the TCP header.
_TCP_FLAGS_OFFSET, _SYN, _ACK = 13, 0x02, 0x10
_DROP_NEW_CONNECTIONS = (
    (0x30, 0, 0, _TCP_FLAGS_OFFSET),  # ldb [13]: the flags byte
    (0x54, 0, 0, _SYN | _ACK),  # and #(SYN|ACK)
    (0x15, 0, 1, _SYN),  # jeq #SYN: a connection's first segment, else skip the drop
    (0x06, 0, 0, 0),  # ret #0: dropped (the client sends its SYN again a second later)
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: kept whole
)
_SO_ATTACH_FILTER = 26
HANDSHAKE_SETTLE_SECONDS = 0.1  # for handshakes half done when the door closed: their last ACK still comes in


def _refuse_new_connections(listener: socket.socket) -> bool:
    """Make the kernel drop the first packet of new connections to ``listener``, so that none joins its
    accept queue any more while the queue is emptied; the connections being established still complete.

    Closing a listening socket resets the connections waiting in its accept queue: the filter is what
    lets the queue be emptied first. Linux only (False elsewhere: the queue is then emptied as it is)."""
    if not sys.platform.startswith("linux"):
        return False
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *line) for line in _DROP_NEW_CONNECTIONS))
    listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER,
                        struct.pack("@HP", len(_DROP_NEW_CONNECTIONS), ctypes.addressof(program)))
    return True  # the kernel copied the program: the buffer may go


class HubServer(wsgi.Server):
    """cheroot's WSGI server with the connections above.

    A new connection is counted against its address's limit, then waits in the selector until its
    client sends something: only then does a worker thread take it.
    """

    draining = False

    ConnectionClass = _Connection

    def __init__(self, bind_addr, wsgi_app, *, threads: int, idle_seconds: float, request_seconds: float,
                 connections_per_client: int, max_body_bytes: int, reuse_port: bool = False):
        super().__init__(bind_addr, wsgi_app, numthreads=threads, server_name="sne-hub", timeout=idle_seconds,
                         reuse_port=reuse_port)
        self.request_seconds = request_seconds
        self.max_body_bytes = max_body_bytes
        self.max_request_body_size = 0  # bounds are ours (_Request), answered as SOAP faults
        self.clients = ClientLimit(connections_per_client)

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        """cheroot's own messages, through the standard library's logging like every other line (cheroot
        writes them on stderr, tracebacks included). A client that closed its connection before its
        answer was written is one line saying so: the client's doing, not the hub's error."""
        error = sys.exc_info()[1]
        if isinstance(error, CLIENT_GONE):
            if not isinstance(error.__context__, CLIENT_GONE):  # else cheroot's error answer met it again: said
                log.info("answer not sent: the client closed the connection (%s)", type(error).__name__)
        else:
            log.log(level, "%s", msg, exc_info=traceback)

    def drain(self, seconds: float) -> None:
        """Stop the way a stop should not be noticed: stop listening, serve what was already accepted, stop.

        1. New connections are refused: the kernel drops their first packet (:func:`_refuse_new_connections`),
           then the listening socket is closed once its accept queue is empty, so the client's next try is
           refused (a proxy then goes to another process; with ``SO_REUSEPORT`` the kernel sends it to a
           sibling). cheroot's own stop would close the socket with connections still queued in the kernel,
           which resets them, and would connect to the port to wake its accept (with a shared port, a
           connection to a sibling process).
        2. Every connection already accepted is served: those queued for a worker, those waiting for their
           first request (at most the idle time), keep-alive ones (a request arriving is answered); each
           answer carries ``Connection: close``.
        3. The server stops when no connection is left, or when ``seconds`` are over (what is then still in
           flight gets cheroot's own stop: its workers are given ``shutdown_timeout`` more)."""
        deadline = time.monotonic() + seconds
        self.draining = True
        try:  # the drain reads cheroot's internals: if a cheroot upgrade moved them, the server still stops
            listener = self.socket
            if listener is not None:
                self._close_listener(listener)
            while time.monotonic() < deadline and not self._drained():
                time.sleep(0.05)
        finally:
            self.stop()

    def _close_listener(self, listener: socket.socket) -> None:
        """Take every connection the kernel accepted for us, then close the listening socket."""
        filtered = _refuse_new_connections(listener)
        self._connections._selector.unregister(listener.fileno())  # from now on accepted here, not by the selector
        listener.setblocking(False)
        self._accept_queued(listener)
        if filtered:  # a handshake half done when the filter came is completing: wait for its last ACK
            time.sleep(HANDSHAKE_SETTLE_SECONDS)
            self._accept_queued(listener)
        listener.close()
        self.socket = None  # so that cheroot's stop neither closes it again nor connects to the port
        log.info("stopping: listening socket closed, serving the connections already accepted")

    def _accept_queued(self, listener: socket.socket) -> None:
        """Every connection waiting in the listening socket's accept queue, handed over as the selector would."""
        while select.select([listener], [], [], 0)[0]:  # readable: the queue holds a connection
            conn = self._connections._from_server_socket(listener)
            if conn is not None:  # None: it was gone already (reset by its client)
                self.process_conn(conn)

    def _drained(self) -> bool:
        """No connection left: none in the selector, none queued for a worker, every worker idle."""
        return (len(self._connections._selector) == 0 and self.requests.qsize == 0
                and all(worker.conn is None for worker in self.requests._threads))

    def process_conn(self, conn: _Connection) -> None:
        if conn.admitted:  # it has something to read: a worker takes it
            super().process_conn(conn)
        elif self.clients.admit(conn.remote_addr):
            conn.admitted = True
            self.put_conn(conn)
        else:
            log.info("connection refused: %d already open from this address", self.clients.per_client)
            conn.close()
