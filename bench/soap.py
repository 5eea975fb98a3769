"""getNumUnique per second over real HTTPS with client certificates, on PostgreSQL or SQLite, against a baseline:
the hub as users run it, at saturation or at a fixed rate, with households of several sizes.

What one registration is: a counter's software posting a getNumUnique message to
``/services/DemandeLogementImplService/`` the way libsne does (``multipart/related`` MTOM, the
envelope as root part, the interface file as a raw ``text/xml`` part, the counter's certificate
attached as a base64 part; built by the kit's ``mtom_request(..., libsne=True)``), carrying a
``CRE`` file with a household of ``--household`` size from ``bench/registrations.household_form``:
``full`` by default (issue 9's: applicant with a birth name, co-holder, three dependants, resources,
current housing, six wished communes; 5.4 KB), ``small`` (one person, one commune; 3.2 KB) or
``large`` (the full one wishing for 30 communes, the most the register reads; 7.4 KB), each time
for different people so that the duplicate check passes. The hub authenticates the TLS client
certificate, unpacks MTOM, checks the message against the WSDL's schema, runs spyne, validates
the file against our XSD, registers the application through ``core`` and answers with the
completed file and the PDF attestation, as MTOM.

How the hub runs (``--deployment``):

- ``serve`` (default): as deployed, started by its own command. The register is prepared as an
  operator does (support/topology.py: ``sne-hub db upgrade``, ``demo seed``, ``certificates demo``
  in a directory of its own), then ``sne-hub serve --only soap --soap-processes N`` runs there
  with default settings (TLS with client certificates, 16 threads, at most 8 connections per
  client address, INFO logs on stderr, to a file), on a free ``SNE_HUB_HTTPS_PORT``.
- ``nginx``: the production layout of docs/DEPLOYMENT.md, started by support/topology.py: nginx
  with the configuration ``sne-hub deploy render`` writes (TLS and client certificates at nginx)
  in front of N ``sne-hub serve --only soap`` processes in plain HTTP. The CPU of nginx's
  processes counts as the servers'.
- ``rig``: the benchmark's own server processes: ``hub.server.make_server`` with
  ``hub.config.Settings`` (cheroot, TLS 1.2+, client certificates checked against the demo CA),
  sharing one port through ``SO_REUSEPORT`` (which ``make_server`` sets when the port is fixed),
  each with its own engine, logging at INFO to a file as ``sne-hub serve`` does to stderr, the
  PKI and the register prepared in-process; it counts requests and the WSGI application's own
  CPU, and is what ``--profile`` runs.

Whichever it is, the register is a throwaway PostgreSQL database (dropped at the end) or, with
``--database sqlite``, the embedded default ``make run`` starts the hub on: a SQLite file (WAL, ``BEGIN IMMEDIATE``, the
engine ``core.adapters.database.make_engine`` makes for a ``sqlite:///`` URL) in the benchmark's
temporary directory, migrated, seeded and analysed as ``sne-hub db upgrade`` and ``demo seed`` do;
its "database server" CPU is then inside the server processes. The demo PKI is written to a
temporary directory and the demo counters' certificates are registered.

A PostgreSQL register is not empty when the measurements start: ``--register`` applications (50,000
by default) are loaded first by ``support.registers.bulk_load`` (five territories, the demo's 057 with
six in ten, the demo counters among the reference data) and analysed. A register that holds
applications, with statistics that say so, is what a deployed hub writes to. On a register analysed
while empty, statements planned once per connection keep the plan made while the tables were a
page or two: this machine's PostgreSQL runs without autovacuum, so no new statistics come to
re-plan them. The index tables' foreign-key checks (before migration 0015) kept a sequential scan
of ``applications`` that way, and a registration cost PostgreSQL 1.7 ms at first and 6.5 ms after
3,000 more (docs/BENCHMARKS.md, "Seventh pass"). ``--register 0`` measures that empty start.

The baseline, measured in the same run on the same register: a small WSGI application built
here, served by the rig's server processes (as many as the hub's) under
``/baseline/services/DemandeLogementImplService/`` (a dispatcher on the path prefix mounts the
hub beside it, unused then). It reads the body, unpacks MTOM with ``core.wire.mtom``, parses the
envelope with ``core.wire.xml.parse``, takes the file out of it, parses it and validates it
against our XSD with ``core.wire.processing.valid_application_file``, inserts it as one row in a
plain table with its ``numGuichet`` (one transaction, SQLAlchemy Core, same engine, so into the same
SQLite file with ``--database sqlite``) and returns a minimal SOAP 1.2 answer: issue 9's
parse-validate-insert. It does not read the file into the model (the codec): that is the hub's work,
and a baseline that did it (as this one did until the eleventh pass of docs/BENCHMARKS.md) made the
ratio look larger than the issue's. It is the floor of any getNumUnique over this transport: the
ratio hub/baseline says how much of it the register keeps.

Clients are ``--client-processes`` spawned processes holding ``--clients`` keep-alive HTTPS
connections between them (a thread per connection; each process calls as one of the three demo
counters, with its certificate). Every process builds its messages, connects and makes a few
untimed warm-up calls per connection, then waits at a barrier; the clock starts at the barrier.
At saturation (default), the connections then take calls from one shared count until
``--requests`` have been made, so that a connection the kernel put on a less busy server process
(``SO_REUSEPORT`` hashes connections, not requests) makes more of them instead of idling. With
``--rate R`` (open loop), the calls are instead due every 1/R s for ``--duration`` seconds,
spread over the client processes; a free connection takes the next one due, waits for its time
and sends it, and its latency runs from that due time, so a slow answer that delays the next
calls counts in their latency too (no coordinated omission); a failed call is counted as an error
instead of stopping the benchmark. The rate reported is then the one achieved (and hub/baseline
"—": both reach the rate). Throughput is calls over the wall time from the first process leaving
the barrier to the last one finishing; latency is per call, from sending the request (from its due
time, at a fixed rate) to having read the whole answer; every answer is checked (HTTP 200 and, for the hub, a
registration number and no anomaly). Peak RSS is each server process's VmHWM over the measurement
(reset through ``/proc/<pid>/clear_refs`` at the barrier): the largest server process, and the sum
over them. The CPU spent per call by the server processes (and, within them, by the WSGI
application's own thread), by PostgreSQL (this database's backends and the server's own processes:
WAL writer, checkpointer...) and by the clients is read from ``/proc``, and so is what the rest of
the machine did meanwhile: the machine is shared, and a benchmark run next to a test suite says
little. The planner's statistics are refreshed (``ANALYZE``) after the set-up and after each
measurement, outside the clock, as autovacuum keeps them on a live register (``--no-analyze`` leaves
them to autovacuum).

Each measurement is repeated ``--runs`` times (fresh server processes every time) and reported as
the median with the min and max; within a run, hub and baseline are measured back to back, each
on servers started for it, and the ratio is taken run by run. This host changes speed from one
measurement to the next (the reference loop moved by 40 % between two of them), so that the ratio
of two measurements taken a few seconds apart moved between 0.36 and 0.60 for the same code.
``--turns K`` starts both servers for the run and makes them take turns: K spans of
``--requests``/K calls each (or ``--duration``/K seconds), hub then baseline, summed per handler.
A change of the host's speed then falls on both alike. The server processes' figures
(requests per process, CPU in the WSGI application) that only the rig counts are "—" for the
hub as deployed. Nothing is asserted: it is a measurement, not a
test. ``--profile DIR`` runs, instead, one server process with cProfile around every request and
one client connection, and prints where the time goes: the request thread's CPU time, or with
``--profile-clock wall`` its wall time (waits included).

    .venv/bin/python bench/soap.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/soap.py` from anywhere

import argparse  # noqa: E402
import base64  # noqa: E402
import collections  # noqa: E402
import http.client  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from typing import Any, Iterator  # noqa: E402

from bench.registrations import (  # noqa: E402 - standard library only at import time
    COUNTER_CODES,
    DEFAULT_POSTGRES_URL,
    HOUSEHOLDS,
    cpu_model,
    create_postgres_database,
    drop_postgres_database,
    household_form,
    latency_digits,
    log,
    non_negative,
    percentile,
    positive,
    ram_gib,
    software_facts,
    spread,
    sqlite_description,
)

# As in bench/registrations.py, the coordinating process imports only the standard library: servers,
# clients and the admin helper are spawned, and a lean parent keeps their memory figures their own.

DEFAULT_REQUESTS = 600  # per measurement, shared by the connections
DEFAULT_REGISTER = 50_000  # applications loaded before the measurements, on PostgreSQL (13 s here)
DEFAULT_CLIENTS = 8  # keep-alive HTTPS connections
DEFAULT_CLIENT_PROCESSES = 4
DEFAULT_SERVER_PROCESSES = "1,2,3"
WARMUP = 4  # untimed calls per connection before the barrier (TLS handshake, caches, schemas)
BARRIER_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 120

HUB, BASELINE = "hub", "baseline"
RIG, SERVE, NGINX = "rig", "serve", "nginx"  # how the hub is started (--deployment)
DEPLOYMENTS = {
    SERVE: "started by sne-hub serve --only soap --soap-processes N (TLS, client certificates, default settings)",
    NGINX: "behind nginx (sne-hub deploy render: TLS and client certificates at nginx) in front of N "
           "sne-hub serve --only soap processes",
    RIG: "in the benchmark's own server processes (hub.server.make_server, the baseline mounted beside it)",
}
POSTGRESQL, SQLITE = "postgresql", "sqlite"
SERVICE = "DemandeLogementImplService"
HUB_PATH = f"/services/{SERVICE}/"
BASELINE_PREFIX = "/baseline"
PATHS = {HUB: HUB_PATH, BASELINE: BASELINE_PREFIX + HUB_PATH}
BASELINE_TABLE = "bench_soap_baseline_files"
HUB_MAIL = "hub@sne-hub.example.org"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SERVICES = "http://ws.metier.nuu.application.i2/"
NS_FILE = "http://nuu.application.i2/"
COUNTER_PATH = "/".join(f"{{{NS_FILE}}}{name}" for name in ("demande", "demandeLogement", "numGuichet"))
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # core.cli's


# -- the baseline: parse, validate, insert one row (runs in the server processes) -----------------


def baseline_table(metadata: Any = None) -> Any:
    from sqlalchemy import Column, LargeBinary, MetaData, String, Table

    from core.adapters.orm import Identifier

    return Table(
        BASELINE_TABLE,
        metadata if metadata is not None else MetaData(),
        Column("id", Identifier, primary_key=True, autoincrement=True),
        Column("counter", String(5), nullable=False),
        Column("file", LargeBinary, nullable=False),
    )


class Baseline:
    """WSGI: the same MTOM message in, the file validated against our XSD and stored, a bare SOAP answer out."""

    def __init__(self, engine: Any, max_bytes: int):
        from sqlalchemy import insert

        from core.wire import mtom, processing, xml

        self.engine, self.max_bytes = engine, max_bytes
        self.statement = insert(baseline_table())  # built once, as core's statements are
        self.mtom, self.parse, self.valid_application_file = mtom, xml.parse, processing.valid_application_file
        self.refusals = (mtom.MtomError, xml.UnsafeXml, processing.FileRefused, ValueError)

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        mtom = self.mtom
        try:
            body = environ["wsgi.input"].read(self.max_bytes + 1)
            content_type = mtom.ContentType.parse(environ.get("CONTENT_TYPE"))
            parts = mtom.split(content_type, body)
            root = mtom.root_part(content_type, parts)
            envelope = self.parse(root.body, max_bytes=self.max_bytes)
            mtom.inline(envelope, parts, root)
            element = envelope.find(f"{{{NS_SOAP12}}}Body/{{{NS_SERVICES}}}numUniqueParametres/fichierDemande")
            if element is None:
                raise ValueError("no fichierDemande")
            data = base64.b64decode(element.text or "")
            root = self.valid_application_file(data)  # parsed, valid against our XSD, not read into the model
            counter = (root.findtext(COUNTER_PATH) or "").strip()
            with self.engine.begin() as connection:  # one transaction, one statement
                connection.execute(self.statement, {"counter": counter, "file": data})
            status = "200 OK"
            payload = (f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{NS_SOAP12}">'
                       f'<env:Body><tns:numUniqueReponse xmlns:tns="{NS_SERVICES}">'
                       f"<nomFichierDemande>RET{counter}.xml</nomFichierDemande>"
                       f"</tns:numUniqueReponse></env:Body></env:Envelope>").encode()
        except self.refusals as error:
            status, payload = "400 Bad Request", f"baseline refused the message: {error}".encode()
        start_response(status, [("Content-Type", "application/soap+xml; charset=utf-8"),
                                ("Content-Length", str(len(payload)))])
        return [payload]


class Dispatcher:
    """The hub, with the baseline next to it under /baseline; counts requests and, if asked, profiles them."""

    def __init__(self, hub: Any, baseline: Baseline, counts: Any, profiles: list | None = None,
                 profile_clock: str = "cpu"):
        self.hub, self.baseline, self.counts, self.profiles = hub, baseline, counts, profiles
        # cpu: this thread's CPU time, what the request costs whatever the neighbours do; wall: also
        # its waits (the database's answers, the GIL, a busy host's preemption)
        self.timer = time.thread_time if profile_clock == "cpu" else time.perf_counter

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(BASELINE_PREFIX + "/"):
            environ["PATH_INFO"] = path[len(BASELINE_PREFIX):]
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + BASELINE_PREFIX
            application, slot = self.baseline, 1
        else:
            application, slot = self.hub, 0
        cpu_before = time.thread_time()  # this thread's CPU: what the application itself costs
        if self.profiles is None:
            result = application(environ, start_response)
        else:
            import cProfile

            profile = cProfile.Profile(self.timer)  # this thread only: one per request, merged at the end
            profile.enable()
            try:
                result = application(environ, start_response)
            finally:
                profile.disable()
                self.profiles.append((slot, profile))
        cpu = time.thread_time() - cpu_before
        with self.counts.get_lock():
            self.counts[slot] += 1
            self.counts[2 + slot] += int(cpu * 1_000_000)  # microseconds
        return result


def server(url: str, pki_directory: str, port: int, log_path: str, counts: Any, ready: Any, stop: Any,
           profile_path: str | None, profile_clock: str = "cpu") -> None:
    """One hub server process: make_server as production does, the dispatcher in front, until ``stop``."""
    try:
        import logging

        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, filename=log_path)
        from core.adapters.database import make_engine
        from hub.config import Settings
        from hub.server import make_server

        directory = Path(pki_directory)
        settings = Settings(host="127.0.0.1", https_port=port, server_certificate=directory / "server-cert.pem",
                            server_key=directory / "server-key.pem", client_authority=directory / "ca.pem",
                            connections_per_client=0)  # every client connection comes from 127.0.0.1
        engine = make_engine(url)
        http_server = make_server(settings, engine)  # fixed port: SO_REUSEPORT, several processes
        profiles: list | None = [] if profile_path else None
        http_server.wsgi_app = Dispatcher(http_server.wsgi_app, Baseline(engine, settings.max_request_bytes),
                                          counts, profiles, profile_clock)
        http_server.prepare()
        thread = threading.Thread(target=http_server.serve, name="soap", daemon=True)
        thread.start()
        ready.put(("ok", os.getpid(), settings.threads))
        stop.wait()
        http_server.stop()
        thread.join(timeout=10)
        engine.dispose()
        if profiles:
            import pstats

            for slot, name in ((0, HUB), (1, BASELINE)):
                selected = [p for s, p in profiles if s == slot]
                if selected:
                    stats = pstats.Stats(selected[0])
                    for profile in selected[1:]:
                        stats.add(profile)
                    stats.dump_stats(f"{profile_path}/{name}-{os.getpid()}.prof")
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        ready.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


# -- the clients (spawned processes, one thread per keep-alive connection) -------------------------


def messages(pki_directory: str, counter: str, first_index: int, count: int,
             household: str) -> list[tuple[bytes, str]]:
    """``count`` getNumUnique messages of ``counter``, CRE files of distinct ``household``-sized
    households (bench/registrations.household_form), as libsne sends them."""
    from datetime import datetime

    from conformance_tests.profiles.server.wire import mtom_request
    from support.files import interface_file

    certificate = (Path(pki_directory) / counter / "cert.pem").read_bytes()
    built = []
    for index in range(first_index, first_index + count):
        file = interface_file(counter, "CRE", household_form(household, index))
        built.append(mtom_request("getNumUnique", "numUniqueParametres", [
            ("nomFichierDemande", f"DEM{counter}-{datetime.now():%Y%m%d%H%M}-{index:06d}.xml"),
            ("fichierDemande", file),
            ("nomCertificat", f"{counter}.pem"),
            ("certificat", certificate),
        ], boundary=f"MIME_BOUNDARY_{uuid.uuid4().hex}", libsne=True))
    return built


class Connection:
    """One client connection: a counter's certificate, keep-alive, every answer checked."""

    def __init__(self, handler: str, port: int, pki_directory: str, counter: str):
        import ssl

        directory = Path(pki_directory)
        context = ssl.create_default_context(cafile=str(directory / "ca.pem"))
        context.load_cert_chain(str(directory / counter / "cert.pem"), str(directory / counter / "key.pem"))
        self.handler, self.path = handler, PATHS[handler]
        self.connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=REQUEST_TIMEOUT_S)
        self.connects = 0
        original = self.connection.connect

        def counted_connect() -> None:  # http.client reconnects silently when the server closed
            self.connects += 1
            original()

        self.connection.connect = counted_connect

    def call(self, message: tuple[bytes, str]) -> None:
        body, content_type = message
        self.connection.request("POST", self.path, body=body, headers={"Content-Type": content_type})
        response = self.connection.getresponse()
        data = response.read()
        if self.handler == HUB:
            good = response.status == 200 and b":numUnique>" in data and b"listeAnomalie" not in data
        else:
            good = response.status == 200 and b"numUniqueReponse" in data
        if not good:
            shown = max(0, data.find(b"listeAnomalie") - 200)  # the anomalies, if the register answered some
            raise RuntimeError(f"{self.handler}: HTTP {response.status}: {data[shown:shown + 1500]!r}")


class Schedule:
    """Open loop: call ``k`` is due at ``phase + k * interval`` seconds after the start, whatever the
    answers before it; a connection that takes it late has its latency counted from when it was due."""

    def __init__(self, count: int, interval: float, phase: float):
        self.count, self.interval, self.phase = count, interval, phase
        self.taken, self.lock = 0, threading.Lock()

    def next_due(self, start: float) -> float | None:
        with self.lock:
            if self.taken >= self.count:
                return None
            self.taken += 1
            return start + self.phase + (self.taken - 1) * self.interval


def client(handler: str, port: int, pki_directory: str, counter: str, connections: int, first_index: int,
           requests: int, remaining: Any, barrier: Any, results: Any, household: str = "full",
           interval: float = 0.0, phase: float = 0.0) -> None:
    """``connections`` keep-alive connections of ``counter`` (a thread each).

    Every connection makes its warm-up calls, then, after the barrier, either (saturation,
    ``interval`` 0) takes calls from the shared count ``remaining`` until the measurement's total is
    reached: connections served faster make more calls, so no connection idles at the end waiting
    for a slow one (the kernel's SO_REUSEPORT hashing may put more connections on one server process
    than on another); or (fixed rate) makes this process's ``requests`` calls on a ``Schedule``, one
    every ``interval`` seconds, each latency measured from the call's due time (no coordinated
    omission), a failed call counted as an error rather than ending the measurement.
    """
    try:
        built = messages(pki_directory, counter, first_index, connections * WARMUP + requests, household)
        warmups = [built[i * WARMUP:(i + 1) * WARMUP] for i in range(connections)]
        pool = collections.deque(built[connections * WARMUP:])  # popleft is atomic
        warm = threading.Barrier(connections + 1)
        go = threading.Event()
        outcome: list[Any] = [None] * connections
        schedule = Schedule(requests, interval, phase) if interval else None
        clock = [0.0]  # the start, set before go

        def run(slot: int) -> None:
            try:
                connection = Connection(handler, port, pki_directory, counter)
                for message in warmups[slot]:
                    connection.call(message)
                warm.wait(BARRIER_TIMEOUT_S)
                go.wait()
                latencies, errors = [], 0
                while True:
                    if schedule is None:
                        with remaining.get_lock():
                            if remaining.value <= 0:
                                break
                            remaining.value -= 1
                        before = time.perf_counter()
                    else:
                        before = schedule.next_due(clock[0])
                        if before is None:
                            break
                        time.sleep(max(0.0, before - time.perf_counter()))
                    try:
                        connection.call(pool.popleft())
                    except (OSError, http.client.HTTPException, RuntimeError):
                        if schedule is None:
                            raise
                        errors += 1
                        connection.connection.close()  # the next call reconnects
                        continue
                    latencies.append(time.perf_counter() - before)
                outcome[slot] = (time.perf_counter(), latencies, connection.connects, errors)
                connection.connection.close()
            except BaseException as error:  # noqa: BLE001
                outcome[slot] = error
                warm.abort()
                go.set()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
        for thread in threads:
            thread.start()
        try:
            warm.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            pass
        errors = [o for o in outcome if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        barrier.wait(BARRIER_TIMEOUT_S)
        cpu_before = _own_cpu()
        started = clock[0] = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes on Linux
        go.set()
        for thread in threads:
            thread.join()
        cpu = _own_cpu() - cpu_before
        errors = [o for o in outcome if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        results.put(("ok", started, max(o[0] for o in outcome), [lat for o in outcome for lat in o[1]],
                     sum(o[2] for o in outcome), cpu, sum(o[3] for o in outcome)))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        barrier.abort()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- /proc: CPU and memory of the servers, PostgreSQL and the machine -----------------------------


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)


def postgres_processes(database: str | None) -> list[int]:
    """PostgreSQL's own processes and the backends of ``database`` (not those of other databases);
    none for SQLite (``database`` None), which runs inside the server processes."""
    found: list[int] = []
    if database is None:
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parts = title.split()
        backend = len(parts) >= 4 and parts[0] == "postgres:" and "(" in parts[3]  # "postgres: user db host(port) ..."
        if not backend or parts[2] == database:
            found.append(int(entry.name))
    return found


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


def reset_peak(pid: int) -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class CpuWindow:
    servers: list[int]
    database: str | None
    started: dict = field(default_factory=dict)

    def start(self) -> None:
        self.started = {"servers": {pid: process_cpu(pid) for pid in self.servers},
                        "postgres": {pid: process_cpu(pid) for pid in postgres_processes(self.database)},
                        "machine": machine_cpu()}

    def stop(self) -> dict[str, float]:
        servers = sum(process_cpu(pid) - before for pid, before in self.started["servers"].items())
        postgres = sum(process_cpu(pid) - self.started["postgres"].get(pid, 0.0)
                       for pid in postgres_processes(self.database))
        busy, total = machine_cpu()
        busy0, total0 = self.started["machine"]
        return {"servers": servers, "postgres": postgres, "machine_busy_s": busy - busy0,
                "window_s": (total - total0) / (os.cpu_count() or 1),
                "machine_busy": (busy - busy0) / (total - total0) if total > total0 else 0.0}


# -- measurements (in the coordinating process) ---------------------------------------------------


@dataclass
class Sample:
    count: int
    wall_s: float
    latencies_s: list[float]
    peak_rss_kib: int  # the largest server process
    total_rss_kib: int  # the server processes together
    cpu_s: dict[str, float]  # servers, postgres, clients; machine_busy as a fraction
    per_server: list[int]  # requests served by each server process
    connects: int
    on_server: bool = True  # False for SQLite: no database server, its CPU is the server processes'
    errors: int = 0  # failed calls (fixed rate only: at saturation a failure ends the benchmark)
    fixed_rate: bool = False

    @property
    def throughput(self) -> float:
        return self.count / self.wall_s

    def percentile_ms(self, p: float) -> float:
        return percentile(self.latencies_s, p) * 1000

    def cpu_ms(self, who: str) -> float:
        return self.cpu_s[who] / self.count * 1000


class People:
    """Disjoint ranges of households, so that no registration of the whole benchmark is a duplicate."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, size: int) -> int:
        first, self.next = self.next, self.next + size
        return first


class Servers:
    """``count`` hub server processes on one port, started and stopped together."""

    def __init__(self, context: Any, count: int, url: str, pki: str, workdir: str, database: str,
                 profile_path: str | None = None, profile_clock: str = "cpu"):
        self.context, self.count, self.url, self.pki, self.workdir = context, count, url, pki, workdir
        self.database, self.profile_path, self.profile_clock = database, profile_path, profile_clock
        self.port = free_port()
        self.processes: list[Any] = []
        self.counts: list[Any] = []
        self.pids: list[int] = []

    def __enter__(self) -> "Servers":
        ready = self.context.Queue()
        self.stop_event = self.context.Event()
        for index in range(self.count):
            counts = self.context.Array("q", 4)  # requests (hub, baseline), CPU µs in the application (same)
            log_path = str(Path(self.workdir) / f"server-{self.count}-{index}.log")
            process = self.context.Process(
                target=server, args=(self.url, self.pki, self.port, log_path, counts, ready, self.stop_event,
                                     self.profile_path, self.profile_clock), daemon=True)
            process.start()
            self.processes.append(process)
            self.counts.append(counts)
        try:
            for _ in range(self.count):
                report = ready.get(timeout=120)
                if report[0] == "error":
                    raise RuntimeError(f"a server process failed to start: {report[1]}")
                self.threads = report[2]
        except BaseException:
            self.__exit__()
            raise
        self.pids = [p.pid for p in self.processes]
        return self

    def served(self) -> list[list[int]]:
        return [list(c) for c in self.counts]

    def __exit__(self, *exc_info: object) -> None:
        self.stop_event.set()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


class Deployed:
    """The hub as users run it, hub calls only (the baseline is measured on ``Servers``).

    ``serve``: ``sne-hub serve --only soap --soap-processes N`` started as docs/DEPLOYMENT.md says
    (TLS with client certificates, default settings and log level, the PKI of ``certificates
    demo``), on a free ``SNE_HUB_HTTPS_PORT``. ``nginx``: the production layout of
    support/topology.py, nginx (configuration of ``sne-hub deploy render``) terminating TLS in front
    of N ``sne-hub serve --only soap`` processes. ``pids``: every process of it, for the CPU figures.
    """

    def __init__(self, layout: str, topology: Any, count: int, database: str | None, workdir: str):
        self.layout, self.topology, self.count, self.database = layout, topology, count, database
        self.log_path = Path(workdir) / f"serve-{count}.log"
        self.pki = str(topology.pki)
        self.process: Any = None
        self.pids: list[int] = []

    def __enter__(self) -> "Deployed":
        import subprocess

        from support.topology import SNE_HUB, wait_until

        topology = self.topology
        try:
            if self.layout == NGINX:
                topology.render(topology.backends[:self.count])
                for backend in topology.backends[:self.count]:
                    topology.start_hub(backend)
                topology.start_proxy()
                self.port = topology.port
                self.pids = [p.pid for p in topology.hubs.values()] + descendants(topology.proxy.pid)
                return self
            self.port = free_port()
            environment = {**topology.environment(), "SNE_HUB_HTTPS_PORT": str(self.port)}
            environment.pop("SNE_HUB_LOG_LEVEL")  # the default, INFO
            self.process = subprocess.Popen(
                [SNE_HUB, "serve", "--only", "soap", "--soap-processes", str(self.count)], cwd=topology.directory,
                env=environment, stdout=subprocess.DEVNULL, stderr=self.log_path.open("ab"))
            wait_until(lambda: self.process.poll() is not None or listeners(self.port) >= self.count,
                       f"{self.count} SOAP process(es) listening on {self.port}")
            if self.process.poll() is not None:
                raise RuntimeError(f"sne-hub serve ended: {self.log_path.read_text(errors='replace')[-3000:]}")
            self.pids = descendants(self.process.pid)
        except BaseException:
            self.__exit__()
            raise
        return self

    def served(self) -> list[list[int]]:
        return []

    def __exit__(self, *exc_info: object) -> None:
        if self.layout == NGINX:
            self.topology.close()
        elif self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: drains, stops its SOAP processes
            self.process.wait(timeout=60)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (a supervisor's SOAP processes, nginx's workers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += descendants(int(child))
    return found


def listeners(port: int) -> int:
    """Listening TCP sockets on ``port``: one per SOAP process sharing it (SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            count += fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port  # 0A: LISTEN
    return count


def servers_for(deployment: str, handler: str, context: Any, count: int, register: Any, url: str,
                workdir: str) -> Any:
    """Fresh servers for one measurement: the hub as ``deployment`` runs it, the baseline always on
    ``Servers`` (its own small server, in as many processes, on the same register)."""
    if deployment == RIG or handler == BASELINE:
        return Servers(context, count, url, register.pki, workdir, register.name)
    return Deployed(deployment, register.topology, count, register.name, workdir)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Load:
    """What the clients send: ``requests`` calls at saturation, or ``rate`` calls per second for
    ``duration`` seconds (open loop), of ``household``-sized files, over ``clients`` connections."""

    requests: int
    clients: int
    client_processes: int
    household: str = "full"
    rate: float = 0.0
    duration: float = 0.0

    def calls(self, processes: int) -> list[int]:
        """The calls each client process makes (at saturation they share the total as they go)."""
        if not self.rate:
            return [self.requests] * processes
        total = max(processes, round(self.rate * self.duration))
        return [total // processes + (1 if i < total % processes else 0) for i in range(processes)]


def measure(context: Any, servers: Any, handler: str, load: Load, people: People) -> Sample:
    processes = min(load.client_processes, load.clients)
    connections = [load.clients // processes + (1 if i < load.clients % processes else 0) for i in range(processes)]
    remaining = context.Value("q", load.requests)  # calls left to make at saturation, shared by every connection
    barrier = context.Barrier(processes + 1)  # the clients, and this process (which resets the counters)
    results = context.Queue()
    interval = processes / load.rate if load.rate else 0.0  # each process's, in seconds
    workers = [
        context.Process(
            target=client,
            args=(handler, servers.port, servers.pki, COUNTER_CODES[i % len(COUNTER_CODES)], count,
                  people.take(count * WARMUP + calls), calls, remaining, barrier, results, load.household,
                  interval, i / load.rate if load.rate else 0.0),
            daemon=True,
        )
        for i, (count, calls) in enumerate(zip(connections, load.calls(processes)))
    ]
    for process in workers:
        process.start()
    window = CpuWindow(servers.pids, servers.database)
    reports = []
    try:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:  # a client failed before the clock (and aborted the barrier)
            raise RuntimeError(_failure(results, workers, handler) or f"the {handler} clients never got ready") from None
        served_before = servers.served()
        for pid in servers.pids:
            reset_peak(pid)
        window.start()
        while len(reports) < processes:
            try:
                report = results.get(timeout=5)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in workers):
                    raise RuntimeError(f"a {handler} client died: exit codes {[p.exitcode for p in workers]}")
                continue
            if report[0] == "error":
                raise RuntimeError(f"a {handler} client failed: {report[1]}")
            reports.append(report)
        cpu = window.stop()
        peaks = [peak_kib(pid) for pid in servers.pids]
        slot = 0 if handler == HUB else 1
        served_after = servers.served()  # empty for the hub as deployed: it counts nothing for us
        served = [after[slot] - before[slot] for after, before in zip(served_after, served_before)]
        cpu["application"] = sum(after[2 + slot] - before[2 + slot]
                                 for after, before in zip(served_after, served_before)) / 1_000_000
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    started = min(r[1] for r in reports)
    finished = max(r[2] for r in reports)
    cpu["clients"] = sum(r[5] for r in reports)
    # Everything else the machine ran meanwhile (other workloads, the kernel's own work), in cores.
    ours = cpu["servers"] + cpu["postgres"] + cpu["clients"]
    cpu["others_cores"] = max(0.0, cpu["machine_busy_s"] - ours) / cpu["window_s"] if cpu["window_s"] else 0.0
    latencies = [latency for r in reports for latency in r[3]]
    return Sample(len(latencies), finished - started, latencies, max(peaks), sum(peaks), cpu, served,
                  sum(r[4] for r in reports), on_server=servers.database is not None,
                  errors=sum(r[6] for r in reports), fixed_rate=bool(load.rate))


def _failure(results: Any, workers: list, handler: str) -> str | None:
    try:
        report = results.get(timeout=10)
    except queue.Empty:
        if any(p.exitcode not in (None, 0) for p in workers):
            return f"a {handler} client died: exit codes {[p.exitcode for p in workers]}"
        return None
    return f"a {handler} client failed: {report[1]}" if report[0] == "error" else None


# -- the database and the PKI (prepared and dropped by a spawned helper process) -------------------


def prepare(url: str, pki_directory: str, applications: int = 0) -> None:
    """Write the demo PKI; migrate, add the demo territory and counters with their certificates
    (support.registers.demo_register: with ``applications``, in a register of that many); add the
    baseline's table."""
    from certificates import write_demo_pki
    from core import demo
    from core.adapters.database import make_engine
    from support.registers import demo_register

    described = write_demo_pki(Path(pki_directory), [(c.code, c.name, c.mailbox) for c in demo.COUNTERS], HUB_MAIL)
    demo_register(url, {code: Path(files["cert"]).read_bytes() for code, files in described["counters"].items()},
                  applications, log)
    engine = make_engine(url)
    try:
        create_baseline_table(engine)
    finally:
        engine.dispose()


def create_baseline_table(engine: Any) -> None:
    from sqlalchemy import MetaData

    metadata = MetaData()
    baseline_table(metadata)
    metadata.create_all(engine)


def prepare_deployed(url: str) -> None:
    """Add the baseline's table to a register ``sne-hub db upgrade`` and ``demo seed`` prepared."""
    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        create_baseline_table(engine)
    finally:
        engine.dispose()


def library_versions() -> dict[str, str]:
    import ssl
    from importlib.metadata import version

    return {"cheroot": version("cheroot"), "spyne": version("spyne"), "lxml": version("lxml"),
            "openssl": ssl.OPENSSL_VERSION}


def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum keeps them on a live register."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


class Database:
    """The register the servers share: a throwaway PostgreSQL database, or a SQLite file in ``workdir``.

    ``name`` is the PostgreSQL database whose backends' CPU is counted; None for SQLite, which runs
    inside the server processes. SQLite has no autovacuum: its statistics are those ``sne-hub db
    upgrade`` leaves (``schema.upgrade`` analyses), never refreshed, as on a ``make run`` register.

    For the hub as deployed (``layout`` serve or nginx), the register and the PKI are prepared as
    an operator does, by support/topology.py (``sne-hub db upgrade``, ``demo seed``, ``certificates
    demo``, ``deploy render`` for ``backends`` SOAP processes), in ``workdir``/layout, where the
    SQLite file is the default ``var/sne-hub.db``; ``topology`` is then that layout.
    """

    def __init__(self, admin: ProcessPoolExecutor, backend: str, server_url: str, pki_directory: str,
                 workdir: str, keep_statistics: bool, layout: str = RIG, backends: int = 1, applications: int = 0):
        self.admin, self.backend, self.server_url, self.pki = admin, backend, server_url, pki_directory
        self.applications = applications
        self.keep_statistics = keep_statistics and backend == POSTGRESQL
        self.name = f"sne_hub_bench_soap_{uuid.uuid4().hex[:12]}" if backend == POSTGRESQL else None
        self.layout, self.backends, self.directory = layout, backends, Path(workdir) / "layout"
        sqlite_path = self.directory / "var" / "sne-hub.db" if layout != RIG else Path(workdir) / "sne-hub.db"
        self.sqlite_url = f"sqlite:///{sqlite_path}"
        self.url = ""
        self.topology: Any = None

    def analyze(self) -> None:
        if self.keep_statistics:
            self.admin.submit(analyze, self.url).result()

    def __enter__(self) -> str:
        if self.name is None:
            url = self.sqlite_url
        else:
            url = self.admin.submit(create_postgres_database, self.server_url, self.name).result()
        try:
            if self.layout == RIG:
                self.admin.submit(prepare, url, self.pki, self.applications).result()
            else:
                from support.topology import Topology

                (self.directory / "var").mkdir(parents=True)
                self.topology = Topology.prepare(self.directory, url, backends=self.backends,
                                                 applications=self.applications, log=log,
                                                 SNE_HUB_LOG_LEVEL="INFO")  # the default, over hub.env's
                self.pki = str(self.topology.pki)
                self.admin.submit(prepare_deployed, url).result()
        except BaseException:
            self.__exit__()
            raise
        self.url = url
        self.analyze()
        return url

    def __exit__(self, *exc_info: object) -> None:
        if self.topology is not None:
            self.topology.close()
        if self.name is not None:
            self.admin.submit(drop_postgres_database, self.server_url, self.name).result()
        # the SQLite file goes with the benchmark's temporary directory


# -- the machine and the report -------------------------------------------------------------------


def reference_loop_ms() -> float:
    """The best of 5 runs of a fixed pure-Python loop: how fast one core of this (virtual) machine is right now."""
    best = float("inf")
    for _ in range(5):
        started, total = time.perf_counter(), 0
        for i in range(300_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine(software: dict[str, str], libraries: dict[str, str], backend: str) -> list[tuple[str, str]]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if backend == SQLITE:
        database = ("SQLite", f"{sqlite_description()}, inside the server processes")
    else:
        database = ("PostgreSQL", f"{software['server_version']} at {software['host']} (fsync={software['fsync']}, "
                                  f"synchronous_commit={software['synchronous_commit']}, "
                                  f"shared_buffers={software['shared_buffers']})")
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable by this process), shared by the "
                f"server processes, the clients{' and PostgreSQL' if backend == POSTGRESQL else ''}"),
        ("RAM", ram_gib()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}, cheroot {libraries['cheroot']}, "
                   f"spyne {libraries['spyne']}, lxml {libraries['lxml']}, SQLAlchemy {software['sqlalchemy']}, "
                   f"psycopg {software['psycopg']}"),
        ("TLS", f"{libraries['openssl']}, TLS 1.2+ (Python's ssl defaults: TLS 1.3 negotiated), "
                f"client certificates"),
        database,
    ]


@dataclass
class Row:
    servers: int
    handler: str
    samples: list[Sample] = field(default_factory=list)


HEADERS = ("server processes", "handler", "registrations/s", "hub/baseline", "p50 ms", "p95 ms", "p99 ms", "errors",
           "peak RSS MiB (largest)", "peak RSS MiB (sum)")
CPU_HEADERS = ("server processes", "handler", "CPU busy %", "other work (cores)", "server CPU ms/reg", "of which in the WSGI app",
               "PostgreSQL CPU ms/reg (SQLite: in the servers)", "client CPU ms/reg", "requests per server process")


def cells(row: Row, baseline: Row | None) -> list[str]:
    ratio = "—"  # at a fixed rate both reach it: the ratio says nothing
    if row.handler == HUB and baseline is not None and not row.samples[0].fixed_rate:
        ratio = spread([h.throughput / b.throughput for h, b in zip(row.samples, baseline.samples)], 2)
    latencies = []
    for p in (50, 95, 99):
        values = [s.percentile_ms(p) for s in row.samples]
        latencies.append(spread(values, latency_digits(values)))
    return [str(row.servers), row.handler, spread([s.throughput for s in row.samples]), ratio, *latencies,
            str(sum(s.errors for s in row.samples)), spread([s.peak_rss_kib / 1024 for s in row.samples], 1),
            spread([s.total_rss_kib / 1024 for s in row.samples], 1)]


def cpu_cells(row: Row) -> list[str]:
    return [str(row.servers), row.handler,
            spread([s.cpu_s["machine_busy"] * 100 for s in row.samples]),
            spread([s.cpu_s["others_cores"] for s in row.samples], 2),
            spread([s.cpu_ms("servers") for s in row.samples], 1),
            spread([s.cpu_ms("application") for s in row.samples], 1) if row.samples[0].per_server else "—",
            spread([s.cpu_ms("postgres") for s in row.samples], 1) if row.samples[0].on_server else "—",
            spread([s.cpu_ms("clients") for s in row.samples], 1),
            "; ".join("/".join(str(n) for n in s.per_server) for s in row.samples) if row.samples[0].per_server
            else "—"]


def tables(rows: list[Row]) -> tuple[list[list[str]], list[list[str]]]:
    baselines = {r.servers: r for r in rows if r.handler == BASELINE}
    return [cells(r, baselines.get(r.servers)) for r in rows], [cpu_cells(r) for r in rows]


def plain_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def markdown_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    left = {"handler", "requests per server process"}
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if h in left else "---:" for h in headers) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


# -- profiling ------------------------------------------------------------------------------------

# Where the hub's time goes, by the cumulative time of these functions (file suffix, function name).
STAGES = (
    ("whole WSGI call", "hub/gate.py", "__call__"),
    ("read the body (TLS decrypt)", "hub/gate.py", "_body"),
    ("client certificate -> counter (1 read transaction)", "hub/gate.py", "_counter"),
    ("MTOM split + envelope parse + inline", "hub/gate.py", "_envelope"),
    ("message checked against the WSDL schema", "hub/gate.py", "_operation"),
    ("getNumUnique without spyne (hub/direct.py)", "hub/gate.py", "_direct"),
    ("spyne (deserialise, operation, serialise)", "hub/gate.py", "_spyne"),
    ("  attached certificate -> counter (1 read transaction)", "hub/identity.py", "attached_certificate"),
    ("  core.wire.processing.process", "core/wire/processing.py", "process"),
    ("    read_application_file (parse + XSD + codec)", "core/wire/processing.py", "read_application_file"),
    ("      XSD validation", "core/wire/schemas.py", "errors"),
    ("      codec read_file", "core/wire/codec.py", "read_file"),
    ("    services.register", "core/service_layer/services.py", "register"),
    ("    answer_file (codec write_file)", "core/wire/processing.py", "answer_file"),
    ("    attestation_pdf", "core/wire/attestation.py", "attestation_pdf"),
    ("  answer packaged as MTOM", "core/wire/mtom.py", "package"),
    ("SQL: cursor.execute (all statements)", "psycopg/cursor.py", "execute"),
    ("SQL: commit", "psycopg/connection.py", "commit"),
    ("SQLite: statements executed (BEGIN and COMMIT included)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("SQLite: commit", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("SQLite: commit, and the turn given to the next writer", "core/adapters/database.py", "commit"),
    ("SQL: pool pre-ping", "sqlalchemy/dialects/postgresql/_psycopg_common.py", "do_ping"),
    ("spyne's gc.collect() (at most once a second)", "~", "<built-in method gc.collect>"),
    ("SQLAlchemy ORM flush", "sqlalchemy/orm/session.py", "flush"),
    ("baseline: whole WSGI call", "bench/soap.py", "__call__"),
)


def stage_report(stats: Any, calls: int) -> list[tuple[str, float, int]]:
    found = []
    for label, suffix, name in STAGES:
        total, count = 0.0, 0
        for (filename, _line, function), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
            if function == name and (filename == suffix or filename.replace("\\", "/").endswith("/" + suffix)):
                total, count = total + ct, count + nc
        if count:
            found.append((label, total / calls * 1000, count))
    return found


def profile(context: Any, arguments: argparse.Namespace, admin: ProcessPoolExecutor, workdir: str,
            pki: str) -> int:
    import io
    import pstats

    directory = Path(arguments.profile)
    directory.mkdir(parents=True, exist_ok=True)
    register = Database(admin, arguments.database, arguments.postgres_url, pki, workdir,
                        keep_statistics=not arguments.no_analyze, applications=arguments.register)
    with register as url:
        database = register.name
        people = People()
        samples = {}
        with Servers(context, 1, url, pki, workdir, database, profile_path=str(directory.resolve()),
                     profile_clock=arguments.profile_clock) as servers:
            for handler in (HUB, BASELINE):
                samples[handler] = measure(context, servers, handler,
                                           Load(arguments.requests, 1, 1, arguments.household), people)
                log(f"profiled {handler}: {samples[handler].throughput:.1f}/s with one connection "
                    f"(cProfile slows Python down)")
    for handler in (HUB, BASELINE):
        files = sorted(directory.glob(f"{handler}-*.prof"))
        if not files:
            continue
        stats = pstats.Stats(*map(str, files))
        calls = samples[handler].count + WARMUP
        print(f"== {handler}: {calls} requests, one connection, one server process; {arguments.profile_clock} ms per "
              f"request (cumulative, cProfile on)")
        for label, per_request, count in stage_report(stats, calls):
            print(f"  {label:<58} {per_request:8.2f} ms  ({count / calls:.1f} calls/request)")
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    print(f"Profiles in {directory}: .venv/bin/python -m pstats {directory}/hub-<pid>.prof")
    return 0


# -- main -----------------------------------------------------------------------------------------


def statistics(arguments: argparse.Namespace) -> str:
    if arguments.database == SQLITE:
        return "those sne-hub db upgrade leaves (ANALYZE after the migration, on the seeded register), as make run"
    if arguments.no_analyze:
        return "left to autovacuum"
    return "ANALYZE after the set-up and after each measurement"


def server_counts(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of process counts, e.g. 1,2,3") from None
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError("every count must be at least 1")
    return counts


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/soap.py",
        description="getNumUnique (CRE, full household, distinct people) per second over real HTTPS with client "
                    "certificates, on PostgreSQL or on the embedded SQLite default: the hub as production serves it (cheroot, TLS, several server "
                    "processes sharing the port), concurrent keep-alive clients, against a baseline that only "
                    "parses and validates the same file and inserts it as one row, on the same servers. Each "
                    "measurement is repeated and reported as median (min–max). Progress goes to stderr, results "
                    "to stdout.",
    )
    parser.add_argument("--requests", type=positive, default=DEFAULT_REQUESTS,
                        help=f"timed calls per measurement, shared by the connections (default: {DEFAULT_REQUESTS})")
    parser.add_argument("--runs", type=positive, default=3, help="repetitions of each measurement (default: 3)")
    parser.add_argument("--turns", type=positive, default=1,
                        help="spans each run's measurements are cut into, hub and baseline taking turns with both "
                             "servers up, so that a change of the host's speed falls on both (default: 1, each "
                             "measured whole on servers started for it)")
    parser.add_argument("--deployment", choices=(SERVE, NGINX, RIG), default=SERVE,
                        help="how the hub runs: " + "; ".join(f"{k}: {v}" for k, v in DEPLOYMENTS.items())
                             + f"; the baseline always runs in its own small servers (default: {SERVE})")
    parser.add_argument("--household", choices=HOUSEHOLDS, default="full",
                        help="the files sent: small (one person, ~3 KB), full (issue 9's household, ~5.5 KB) or large "
                             "(the full one wishing for 30 communes, the most the register reads, ~7.5 KB) (default: full)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="calls per second, sent on schedule for --duration (open loop) instead of --requests "
                             "at saturation; latency is measured from each call's due time (default: saturation)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of a fixed-rate measurement (default: 10)")
    parser.add_argument("--server-processes", type=server_counts, default=server_counts(DEFAULT_SERVER_PROCESSES),
                        help="server process counts to measure, comma-separated "
                             f"(default: {DEFAULT_SERVER_PROCESSES})")
    parser.add_argument("--clients", type=positive, default=DEFAULT_CLIENTS,
                        help=f"concurrent keep-alive HTTPS connections (default: {DEFAULT_CLIENTS})")
    parser.add_argument("--client-processes", type=positive, default=DEFAULT_CLIENT_PROCESSES,
                        help="processes the connections are spread over, one thread per connection "
                             f"(default: {DEFAULT_CLIENT_PROCESSES})")
    parser.add_argument("--database", choices=(POSTGRESQL, SQLITE), default=POSTGRESQL,
                        help="the register: a throwaway PostgreSQL database on --postgres-url, or the embedded default "
                             "of make run, a SQLite file (in a temporary directory); the baseline inserts into the "
                             f"same one (default: {POSTGRESQL})")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server; a throwaway database is created on it and dropped at the end "
                             f"(default: {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--register", type=non_negative, default=None, metavar="APPLICATIONS",
                        help="applications in the register before the first measurement, loaded by "
                             "support.registers.bulk_load (five territories, the demo's among them) and analysed, so "
                             "that registrations land in a register of some size with statistics that describe it, "
                             "as autovacuum keeps them; PostgreSQL only (default: "
                             f"{DEFAULT_REGISTER} on PostgreSQL, 0 on SQLite)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the machine and the results as Markdown, for docs/BENCHMARKS.md")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not ANALYZE the database after the set-up and after each measurement; leave the "
                             "planner's statistics to autovacuum, as on a register created a minute ago")
    parser.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                        help="what --profile counts: the request thread's CPU time (cpu, default: what each part "
                             "costs, whatever else the machine runs) or wall time (also the waits: the database's "
                             "answers, the GIL, the host's other work)")
    parser.add_argument("--profile", metavar="DIR",
                        help="instead of the benchmark: one server process with cProfile around every request, one "
                             "connection, --requests calls to the hub then to the baseline; .prof files go to DIR "
                             "and a summary of where the time goes is printed")
    arguments = parser.parse_args(argv)
    if arguments.register is None:
        arguments.register = DEFAULT_REGISTER if arguments.database == POSTGRESQL else 0
    if arguments.register and arguments.database != POSTGRESQL:
        parser.error("--register loads the register with PostgreSQL's COPY: it needs --database postgresql")
    return arguments


def one_by_one(context: Any, deployment: str, count: int, register: Any, url: str, workdir: str, load: Load,
               people: People, references: list[float]) -> Iterator[tuple[str, Sample]]:
    """The hub, then the baseline, each measured whole on servers started for it."""
    for handler in (HUB, BASELINE):
        references.append(reference_loop_ms())
        with servers_for(deployment, handler, context, count, register, url, workdir) as servers:
            with logs_on_failure(workdir):
                sample = measure(context, servers, handler, load, people)
        register.analyze()  # outside the clock, as autovacuum would
        yield handler, sample


def in_turns(context: Any, turns: int, deployment: str, count: int, register: Any, url: str, workdir: str,
             load: Load, people: People, references: list[float]) -> list[tuple[str, Sample]]:
    """The hub and the baseline, both servers up, taking turns for ``turns`` spans of the load."""
    span = replace(load, requests=max(1, load.requests // turns), duration=load.duration / turns)
    spans: dict[str, list[Sample]] = {HUB: [], BASELINE: []}
    references.append(reference_loop_ms())
    with servers_for(deployment, HUB, context, count, register, url, workdir) as hub, \
            servers_for(deployment, BASELINE, context, count, register, url, workdir) as baseline:
        for _ in range(turns):
            for handler, servers in ((HUB, hub), (BASELINE, baseline)):
                with logs_on_failure(workdir):
                    spans[handler].append(measure(context, servers, handler, span, people))
    register.analyze()
    return [(handler, merged(samples)) for handler, samples in spans.items()]


@contextmanager
def logs_on_failure(workdir: str) -> Iterator[None]:
    """The servers' last log lines, should a measurement fail."""
    try:
        yield
    except BaseException:
        for log_file in sorted(Path(workdir).glob("**/*.log")):
            tail = log_file.read_text(errors="replace").splitlines()[-20:]
            log(f"--- {log_file.name}\n" + "\n".join(tail))
        raise


def merged(spans: list[Sample]) -> Sample:
    """One handler's spans as one measurement: calls, times and CPU added up, peaks the largest."""
    cpu = {key: sum(span.cpu_s[key] for span in spans)
           for key in ("servers", "postgres", "clients", "application", "machine_busy_s", "window_s")}
    total_window = sum(span.cpu_s["window_s"] * (os.cpu_count() or 1) for span in spans)
    cpu["machine_busy"] = cpu["machine_busy_s"] / total_window if total_window else 0.0
    ours = cpu["servers"] + cpu["postgres"] + cpu["clients"]
    cpu["others_cores"] = max(0.0, cpu["machine_busy_s"] - ours) / cpu["window_s"] if cpu["window_s"] else 0.0
    per_server = [sum(counts) for counts in zip(*(span.per_server for span in spans))]
    first = spans[0]
    return Sample(sum(span.count for span in spans), sum(span.wall_s for span in spans),
                  [latency for span in spans for latency in span.latencies_s],
                  max(span.peak_rss_kib for span in spans), max(span.total_rss_kib for span in spans), cpu,
                  per_server, sum(span.connects for span in spans), on_server=first.on_server,
                  errors=sum(span.errors for span in spans), fixed_rate=first.fixed_rate)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as admin, \
            tempfile.TemporaryDirectory(prefix="sne-hub-bench-soap-") as workdir:
        pki = str(Path(workdir) / "pki")
        on_postgres = arguments.database == POSTGRESQL
        try:
            software = admin.submit(software_facts, arguments.postgres_url if on_postgres else None).result()
        except Exception as error:  # noqa: BLE001 - the server is down or refuses us
            log(f"PostgreSQL unreachable at {arguments.postgres_url}: {error.__class__.__name__}: {error}")
            return 2
        libraries = admin.submit(library_versions).result()
        if arguments.profile:
            return profile(context, arguments, admin, workdir, pki)

        load_before = load_average()
        log(f"load average before: {load_before}")
        log(f"{arguments.database}: {arguments.runs} runs x {arguments.requests} calls per measurement, "
            f"{' and '.join(map(str, arguments.server_processes))} server process(es), {arguments.clients} "
            f"connections over {min(arguments.client_processes, arguments.clients)} client processes, "
            f"{WARMUP} untimed warm-up calls per connection")
        started = time.perf_counter()
        rows = {(n, h): Row(n, h) for n in arguments.server_processes for h in (HUB, BASELINE)}
        people = People()
        register = Database(admin, arguments.database, arguments.postgres_url, pki, workdir,
                            keep_statistics=not arguments.no_analyze, layout=arguments.deployment,
                            backends=max(arguments.server_processes), applications=arguments.register)
        references: list[float] = []
        load = Load(arguments.requests, arguments.clients, arguments.client_processes, arguments.household,
                    arguments.rate, arguments.duration)
        with register as url:
            for run in range(1, arguments.runs + 1):
                for count in arguments.server_processes:
                    measured = (in_turns(context, arguments.turns, arguments.deployment, count, register, url, workdir,
                                         load, people, references) if arguments.turns > 1 else
                                one_by_one(context, arguments.deployment, count, register, url, workdir, load, people,
                                           references))
                    for handler, sample in measured:
                        rows[(count, handler)].samples.append(sample)
                        log(f"run {run}/{arguments.runs}  {count} server process(es)  {handler:<8} "
                            f"{sample.throughput:7.1f}/s  p50 {sample.percentile_ms(50):6.1f} ms  "
                            f"p99 {sample.percentile_ms(99):6.1f} ms  errors {sample.errors}  CPU busy "
                            f"{sample.cpu_s['machine_busy'] * 100:3.0f}% (others "
                            f"{sample.cpu_s['others_cores']:.2f} cores)  server "
                            f"{sample.cpu_ms('servers'):5.1f} ms/reg (app {sample.cpu_ms('application'):4.1f})  "
                            f"{'PostgreSQL' if on_postgres else 'SQLite (in the servers)'} "
                            f"{sample.cpu_ms('postgres'):4.1f} ms/reg  clients {sample.cpu_ms('clients'):4.1f} "
                            f"ms/reg  per server {sample.per_server}  connects {sample.connects}  peak RSS "
                            f"{sample.peak_rss_kib / 1024:.1f} MiB  load {load_average()}  reference loop "
                            f"{references[-1]:.1f} ms")
        elapsed = time.perf_counter() - started

    main_lines, cpu_lines = tables(list(rows.values()))
    facts = machine(software, libraries, arguments.database)
    calls = (f"{arguments.rate:g} getNumUnique calls/s for {arguments.duration:g} s (open loop, latency from each "
             f"call's due time)" if arguments.rate else f"{arguments.requests} timed getNumUnique calls (saturation)")
    settings = (f"{'PostgreSQL' if on_postgres else 'SQLite (the embedded default)'}, the hub {DEPLOYMENTS[arguments.deployment]}, "
                f"{arguments.household} households: {arguments.runs} runs of {calls} per measurement"
                f"{f' in {arguments.turns} turns, hub and baseline alternating, both servers up' if arguments.turns > 1 else ''}, "
                f"{arguments.clients} keep-alive HTTPS connections over "
                f"{min(arguments.client_processes, arguments.clients)} client processes; median (min–max) of the runs")
    note = (f"hub/baseline: hub calls per second over baseline calls per second, run by run. Peak RSS: VmHWM of "
            f"the server processes over each measurement. CPU busy: the whole machine (all cores) during the "
            f"measurement; other work: what of it was neither the servers, PostgreSQL nor the clients (other "
            f"workloads, the kernel), in cores. CPU ms/reg: user+system CPU per call of the server processes, of PostgreSQL (this "
            f"database's backends and the server's own processes) and of the client processes. Reference loop "
            f"(a fixed pure-Python loop, best of 5, timed before each measurement: how fast a core was): "
            f"{spread(references, 1)} ms. Statistics: "
            f"{statistics(arguments)}. Register: {arguments.register:,} applications loaded before the first "
            f"measurement, plus the runs' registrations. "
            f"Load average before: {load_before}; after: {load_average()}.")
    if arguments.markdown:
        print("\n".join(f"- {name}: {value}" for name, value in facts))
        print()
        print(markdown_table(HEADERS, main_lines))
        print()
        print(markdown_table(CPU_HEADERS, cpu_lines))
        print()
        print(f"{settings}; the benchmark took {elapsed:.0f} s. {note}")
    else:
        print("Machine")
        print("\n".join(f"  {name:<11} {value}" for name, value in facts))
        print()
        print(settings)
        print()
        print(plain_table(HEADERS, main_lines))
        print()
        print(plain_table(CPU_HEADERS, cpu_lines))
        print()
        print(note)
        print(f"The benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
