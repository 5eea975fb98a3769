"""Counters' systems for the tests and the benchmarks: receivers of dispatching, faults included.

Each :class:`RunningReceiver` is the product's reference receiver (:mod:`dispatching.receiver`)
served over TLS on a free port, applying deliveries to a :class:`RecordingStore` that checks the
guarantees as it goes (each change applied once, versions of an application in order). Faults make
it behave like a real partner on a bad day: Receiver faults, answers after the hub stopped
waiting, answers slower than usual, and connections reset by a proxy in front of it, before or
after the request got through.
"""

from __future__ import annotations

import random
import select
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dispatching.receiver import ReceivedDelivery, Receiver, Store, StoreUnavailable, serve

ENDPOINT_PATH = "/services/ReceptionDispatchImplService/"


class RecordingStore:
    """A receiving system's store, in memory, checking what a receiver must be able to rely on."""

    def __init__(self):
        self._lock = threading.Lock()
        self.deliveries: set[str] = set()
        self.sequences: set[tuple[int, int]] = set()  # (subscription, sequence) applied
        self.versions: dict[str, int] = {}  # application number -> last version applied
        self.applied: Counter = Counter()  # (number, version, kind) -> times applied
        self.redelivered = 0  # deliveries received again (and not applied again)
        self.out_of_order: list[tuple[str, int, int]] = []  # (number, version applied, version held)
        self.reapplied: list[tuple[int, int]] = []  # a sequence applied under a second delivery id
        self.refused: dict[int, tuple[str, str]] = {}
        self.last_sequences: list[int] = []  # derniereSequence of each delivery, as received

    def apply(self, delivery: ReceivedDelivery, refused: dict[int, tuple[str, str]]) -> bool:
        with self._lock:
            self.last_sequences.append(delivery.last_sequence)
            if delivery.id in self.deliveries:
                self.redelivered += 1
                return False
            for item in delivery.items:
                key = (delivery.subscription, item.sequence)
                if key in self.sequences:
                    self.reapplied.append(key)
                    continue
                self.sequences.add(key)
                if item.sequence in refused:
                    self.refused[item.sequence] = refused[item.sequence]
                    continue
                held = self.versions.get(item.number, 0)
                if item.version <= held:
                    self.out_of_order.append((item.number, item.version, held))
                self.versions[item.number] = max(held, item.version)
                self.applied[(item.number, item.version, item.kind)] += 1
            self.deliveries.add(delivery.id)
            return True

    @property
    def changes(self) -> set[tuple[str, int, str]]:
        with self._lock:
            return set(self.applied)

    @property
    def applied_twice(self) -> list[tuple[str, int, str]]:
        with self._lock:
            return [change for change, times in self.applied.items() if times > 1]


@dataclass
class Faults:
    """How often a receiver misbehaves (each a probability per delivery; together at most 1)."""

    error: float = 0.0  # a Receiver fault: try again later (nothing applied)
    late: float = 0.0  # applied, but answered after the hub stopped waiting
    slow: float = 0.0  # applied, answered slowly but in time
    reset: float = 0.0  # the connection is reset (by the proxy), before or after the request got through
    late_seconds: float = 3.0
    slow_seconds: float = 0.3
    seed: int | None = None
    drawn: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, *kinds: str) -> str | None:
        with self._lock:
            value = self._random.random()
            for kind in kinds:
                value -= getattr(self, kind)
                if value < 0:
                    self.drawn[kind] += 1
                    return kind
            self.drawn["none"] += 1
            return None

    def pick(self, choices: tuple[str, ...]) -> str:
        with self._lock:
            return self._random.choice(choices)


class FaultyStore:
    """The store behind a receiver that fails on demand: a Receiver fault instead of applying."""

    def __init__(self, store, faults: Faults):
        self.store, self.faults = store, faults

    def apply(self, delivery: ReceivedDelivery, refused: dict[int, tuple[str, str]]) -> bool:
        fault = self.faults.draw("error", "late", "slow")
        if fault == "error":
            raise StoreUnavailable("panne simulée")
        applied = self.store.apply(delivery, refused)
        if fault == "late":
            time.sleep(self.faults.late_seconds)
        elif fault == "slow":
            time.sleep(self.faults.slow_seconds)
        return applied


class _Front:
    """Something listening in front of a receiver: a thread accepts, a thread per connection relays."""

    def __init__(self, upstream: tuple[str, int], name: str):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name=name).start()

    def stop(self) -> None:
        """Close the listener so that the thread blocked in accept() on it wakes up and ends."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        raise NotImplementedError


class ResettingProxy(_Front):
    """A TCP proxy that resets some connections: before anything reaches the receiver, or once the
    request went through (the receiver applied it, the hub never hears back)."""

    def __init__(self, upstream: tuple[str, int], faults: Faults):
        self.faults = faults
        super().__init__(upstream, "resetting-proxy")

    def _relay(self, client: socket.socket) -> None:
        when = self.faults.pick(("before", "after")) if self.faults.draw("reset") else None
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            _abort(client)
            return
        if when == "before":
            _abort(client), _abort(upstream)
            return
        done = threading.Event()
        threading.Thread(target=_pump, args=(client, upstream, done), daemon=True).start()
        _pump(upstream, client, done, abort_after_first=when == "after")


class TlsFront(_Front):
    """What a counter puts in front of a receiver that speaks plain HTTP (nginx, stunnel): TLS with
    its server certificate, the hub's client certificate required, then plain TCP to the receiver."""

    def __init__(self, upstream: tuple[str, int], certificate: Path, key: Path, client_authority: Path):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(certificate), str(key))
        self.context.load_verify_locations(cafile=str(client_authority))
        self.context.verify_mode = ssl.CERT_REQUIRED
        super().__init__(upstream, "tls-front")

    def _relay(self, client: socket.socket) -> None:
        """Both directions in this one thread: an SSL connection must never be read in one thread
        while written in another (OpenSSL's objects are not thread-safe: it corrupts memory)."""
        try:
            secured = self.context.wrap_socket(client, server_side=True)
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        other = {secured: upstream, upstream: secured}
        try:
            while True:
                ready = [secured] if secured.pending() else select.select([secured, upstream], [], [], 30)[0]
                if not ready:
                    return
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    other[source].sendall(data)
        except OSError:
            pass
        finally:
            secured.close()
            upstream.close()


def _pump(source: socket.socket, target: socket.socket, done: threading.Event, abort_after_first: bool = False):
    """Copy until either side closes; ``abort_after_first``: reset both ends when the answer starts."""
    try:
        while not done.is_set():
            data = source.recv(65536)
            if not data:
                break
            if abort_after_first:
                _abort(source), _abort(target)
                return
            target.sendall(data)
    except OSError:
        pass
    finally:
        done.set()
        for end in (source, target):
            try:
                end.close()
            except OSError:
                pass


def _abort(connection: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed peer or a middlebox would."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


@dataclass
class RunningReceiver:
    """A counter's system: the reference receiver over TLS, optionally behind a resetting proxy."""

    store: RecordingStore  # or any dispatching.receiver.Store given to start_receiver
    server: object
    port: int
    proxy: ResettingProxy | None = None

    @property
    def endpoint(self) -> str:
        port = self.proxy.port if self.proxy else self.port
        return f"https://localhost:{port}{ENDPOINT_PATH}"

    def stop(self) -> None:
        if self.proxy:
            self.proxy.stop()
        self.server.stop()


def start_receiver(pki: dict, faults: Faults | None = None, store: Store | None = None,
                   threads: int = 4, accept_client: Callable[[dict], bool] | None = None,
                   check_files: bool = True) -> RunningReceiver:
    """Serve a receiver on a free port with the PKI's server certificate (valid for localhost),
    requiring a client certificate from the PKI's authority (the hub's). ``check_files=False``
    skips validating each DIS file, for loads where only delivery matters."""
    directory = Path(pki["directory"])
    store = store or RecordingStore()
    applied = FaultyStore(store, faults) if faults else store
    options = {"accept_client": accept_client} if accept_client else {}
    server = serve(Receiver(applied, check_files=check_files, **options), "127.0.0.1", 0,
                   directory / "server-cert.pem",
                   directory / "server-key.pem", directory / "ca.pem", threads=threads)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True, name="receiver").start()
    port = server.bind_addr[1]
    proxy = ResettingProxy(("127.0.0.1", port), faults) if faults and faults.reset else None
    return RunningReceiver(store, server, port, proxy)
