"""Silent, slow and cut-short clients over real sockets: the hub keeps serving the others, and cuts
the slow ones off with its documented refusal (docs/INTERFACES.md, "Transport and identity").

The hub runs with small limits (``LIMITS``) so that each case takes seconds: 4 worker threads, 3
connections per client address, 2 s of silence at most, 6 s for a whole request. Clients are told
apart by their source address: Linux routes all of 127.0.0.0/8 to the loopback, so a socket bound
to 127.0.0.2 is another client for the hub.

- ``STALLS``: hostile connections are opened and kept (silent, idle after TLS, or trickling a byte
  every ``TRICKLE`` seconds, so that no read ever waits the 2 s of silence and only the request
  deadline can end them); meanwhile a getDemandeLogement from 127.0.0.1 must be answered within
  ``PROBE_BOUND``, and the connections beyond an address's limit must be closed at once. Each case
  says what it did before.
- ``SLOW``: a request that arrives too slowly, or stops halfway, gets ``HUB-DELAI`` (408), and the
  hub closes the connection.
- ``CUT``: a body that ends (end of stream) before its announced end gets ``HUB-REQUETE``; this is
  only visible without TLS (a TLS client that ends its stream cannot read an answer any more), so it
  runs on a hub serving plain HTTP, as behind the production proxy.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from hub import gate, transport

from .test_hostile import (
    DEMANDE_PATH,
    SOAP_CT,
    Fault,
    Outcome,
    Roles,
    Served,
    envelope,
    https,
    in_chunks,
    message_body,
    raw_exchange,
    read_payload,
    register,
)

LIMITS = {"threads": 4, "connections_per_client": 3, "idle_seconds": 2, "request_seconds": 6}
TRICKLE = 0.25  # seconds between two bytes of a trickling client: well under the 2 s of silence
SETTLE = 4 * TRICKLE  # before the probe: the trickling connections are being read by then
# A read over a fresh TLS connection takes about 25 ms here; 3 s leaves a loaded machine 100 times
# that, and is shorter than any stall below: before, 6 silent sockets held the accepting thread
# 2 s each (12 s), 24 idle TLS connections held the 4 workers 2 s each (12 s), trickling ones held
# them for ever; and a trickle cut off by the 6 s request deadline alone would still show.
PROBE_BOUND = 3.0
HANG = 30  # seconds: a case that has no answer by then is stuck (5 times the request deadline)
READ = envelope(read_payload("0571126000001DEMOB"))


def head(length: int | None = None, protocol: str = "HTTP/1.1") -> bytes:
    framing = f"Content-Length: {len(READ) if length is None else length}\r\n"
    return f"POST {DEMANDE_PATH} {protocol}\r\nHost: localhost\r\nContent-Type: {SOAP_CT}\r\n{framing}\r\n".encode()


def client_address(index: int) -> str:
    """Hostile clients' addresses; the probe is 127.0.0.1."""
    return f"127.0.0.{10 + index}"


# -- hostile connections ----------------------------------------------------------------------------


@dataclass
class Hostile:
    """Connections held open during a case; the trickling ones get a byte every TRICKLE seconds."""

    sockets: list[socket.socket]
    refused: int = 0  # closed by the hub before the TLS handshake ended
    trickles: dict[socket.socket, bytes] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Hostile:
        if self.trickles:
            threading.Thread(target=self._trickle, daemon=True).start()
        return self

    def _trickle(self) -> None:
        position = 0
        while not self.stop.wait(TRICKLE):
            for sock, data in self.trickles.items():
                if position < len(data):
                    try:
                        sock.sendall(data[position:position + 1])
                    except OSError:
                        pass
            position += 1

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for sock in self.sockets:
            sock.close()


def connect(hub, source: str, tls: bool = True) -> socket.socket | None:
    """A connection from ``source``; None when the hub closes it before the TLS handshake ends."""
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10, source_address=(source, 0))
    if not tls:
        return sock
    try:
        return hub.client("DEMOB").context.wrap_socket(sock, server_hostname="localhost")
    except OSError:
        sock.close()
        return None


def opened(hub, sources: list[str], tls: bool = True) -> tuple[list[socket.socket], int]:
    connections = [connect(hub, source, tls) for source in sources]
    kept = [sock for sock in connections if sock is not None]
    return kept, len(connections) - len(kept)


def silent_tcp(hub) -> Hostile:
    """6 TCP connections from 3 addresses that never send a byte (no TLS ClientHello)."""
    return Hostile(*opened(hub, [client_address(i % 3) for i in range(6)], tls=False))


def idle_tls(hub) -> Hostile:
    """24 TLS connections from 8 addresses (3 each: the limit), handshake done, no request."""
    return Hostile(*opened(hub, [client_address(i % 8) for i in range(24)]))


def trickling(what: str) -> Callable[[object], Hostile]:
    """The limit plus one TLS connections from one address, each trickling a request's headers, or
    its body after headers sent at once."""
    def open_(hub) -> Hostile:
        sockets, refused = opened(hub, [client_address(0)] * (LIMITS["connections_per_client"] + 1))
        if what == "body":
            for sock in sockets:
                sock.sendall(head())
        data = head() + READ if what == "headers" else READ
        return Hostile(sockets, refused, {sock: data for sock in sockets})
    return open_


@dataclass(frozen=True)
class Stall:
    id: str
    open: Callable[[object], Hostile]
    refused: int  # connections the hub must close at once: beyond the limit of their address
    before: str  # what it did to the hub before connections were held as hub/transport.py does


STALLS = [
    Stall("silent-tcp-connections", silent_tcp, 0,
          "cheroot's BuiltinSSLAdapter shook TLS hands on the accepting thread: each silent connection blocked "
          "every new one for the socket timeout (5 s with make_run; 5 of them: 24.8 s)"),
    Stall("idle-tls-connections", idle_tls, 0,
          "each new TLS connection got a worker thread that waited for its request line until the socket timeout: "
          "40 idle connections delayed a valid request by 9.7 s with 16 threads"),
    Stall("trickled-headers-from-one-address", trickling("headers"), 1,
          "a worker read a trickling client for as long as bytes kept coming (slowloris): as many such "
          "connections as threads held them all, and one address could open any number"),
    Stall("trickled-bodies-from-one-address", trickling("body"), 1,
          "a body sent a byte a second held a worker for over 20 s, and was then served"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("hub_settings", [LIMITS], indirect=True)
@pytest.mark.parametrize("stall", STALLS, ids=lambda stall: stall.id)
def test_other_clients_are_served_meanwhile(hub, stall):
    body, content_type = message_body("getDemandeLogement", {"numUnique": register(hub)}, mtom=False)
    with stall.open(hub) as hostile:
        time.sleep(SETTLE)
        probe = https(Roles(hub), body, content_type, timeout=PROBE_BOUND, count=False)
    assert not Served(field="fichierDemande").problems(probe), probe
    assert probe.elapsed <= PROBE_BOUND, f"answered in {probe.elapsed:.1f} s"
    assert hostile.refused == stall.refused, f"{hostile.refused} connections refused, expected {stall.refused}"


# -- slow or cut-short requests ---------------------------------------------------------------------


def send(pieces: list[bytes], **options) -> Callable[[object], Outcome]:
    return lambda hub: raw_exchange(Roles(hub), pieces, timeout=HANG, watch_close=1, **options)


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


TIMED_OUT = Fault(408, transport.TIMEOUT, closes=True)
SLOW = {  # name: (sender, expected); the hub's idle time is 2 s, its request time 6 s
    "headers-trickled": (send(one_byte_at_a_time(head() + READ), interval=TRICKLE), TIMED_OUT),
    "body-trickled": (send([head()] + one_byte_at_a_time(READ), interval=TRICKLE), TIMED_OUT),
    "chunked-body-trickled": (send([head().replace(b"Content-Length: %d" % len(READ), b"Transfer-Encoding: chunked")]
                                   + one_byte_at_a_time(in_chunks(READ, 10)), interval=TRICKLE), TIMED_OUT),
    "headers-then-silence": (send([head()[:40]]), TIMED_OUT),
    # A body shorter than its Content-Length, the connection kept open: it used to be read until the
    # socket timeout, then answered 500 HUB-INTERNE with a traceback in the log.
    "body-shorter-than-content-length": (send([head(len(READ) + 100) + READ]), TIMED_OUT),
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("hub_settings", [LIMITS], indirect=True)
@pytest.mark.parametrize("name", list(SLOW))
def test_a_slow_request_is_refused_and_closed(hub, name):
    sender, expected = SLOW[name]
    outcome = sender(hub)
    assert not expected.problems(outcome), outcome


CHUNKED_HEAD = head().replace(b"Content-Length: %d" % len(READ), b"Transfer-Encoding: chunked")
CUT = {  # name: pieces sent before the client ends its stream
    "body-shorter-than-content-length": [head(len(READ) + 100) + READ],
    "chunked-body-cut-in-a-chunk": [CHUNKED_HEAD + in_chunks(READ, 100)[:150]],
    "chunked-body-without-last-chunk": [CHUNKED_HEAD + in_chunks(READ, 100)[:-5]],
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("hub_settings", [{**LIMITS, "tls": False}], indirect=True)
@pytest.mark.parametrize("name", list(CUT))
def test_a_body_cut_short_is_refused_behind_a_proxy(hub, name):
    outcome = raw_exchange(Roles(hub), CUT[name], tls=False, half_close=True, timeout=HANG, watch_close=1)
    assert not Fault(400, gate.REQUEST, closes=True).problems(outcome), outcome
