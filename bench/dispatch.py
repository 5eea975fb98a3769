"""Dispatching: deliveries of a change per second to a territory's receiving systems, and the lag of a
change behind its commit while registrations go on, on PostgreSQL, against a baseline.

What is measured is outbound delivery as users run it: dispatchers are ``sne-hub dispatch run``
processes (the console script next to ``sys.executable``) with the product's DEFAULT settings (4
delivery threads, batches of 100 changes, polling every 0.2 s, notices on), except what the
environment must say for this machine: ``SNE_HUB_DATABASE_URL`` (a throwaway PostgreSQL database,
dropped at the end), ``SNE_HUB_DISPATCH_CERT``/``KEY``/``CA`` (the bench's demo PKI, written with
``certificates.write_demo_pki`` to a temporary directory) and ``SNE_HUB_LOG_LEVEL=WARNING``; no
other ``SNE_HUB_*`` variable of the caller's environment is passed on. Changes are made through
core's use cases: ``core.service_layer.services.register`` with a complete household from
``core.demo.household_form`` (applicant, co-applicant, two children), different people each time,
by the demo municipality ``DEMOC``, which receives nothing.

The receiving systems: ``--receivers`` counters of the demo territory (``RCV01``...), each the
product's reference receiver over TLS (``support.receivers.start_receiver``: cheroot, 4 threads,
the hub's client certificate required), each subscribed by SOAP push to everything
(``dispatching.set_endpoint`` and ``dispatching.subscribe(uow, code, Channel.SOAP, Filter(), now)``:
MTOM, the default; ``--inline`` subscribes them with inline base64). The receivers run in
``--receiver-processes`` spawned processes, started once and shared by every measurement; they are
started with ``check_files=False``: they parse the SOAP message, check it against the WSDL's schema,
decode every file and apply the delivery once (a ``RecordingStore``), but do not validate each DIS
file against the XSD (about a millisecond a file), so that the fake partners do not eat the CPU the
dispatchers are measured on. A store wrapping ``RecordingStore`` records, per change, when the
first and the last receiver applied it (``time.perf_counter``, CLOCK_MONOTONIC, comparable between
processes on Linux) and counts what was applied; a receiver acknowledges right after its store
returns, so "applied" is the acknowledgement, to the microseconds of writing the answer.

1. **Throughput.** ``--changes`` registrations are made first (no dispatcher running: nothing is
   fanned out yet), then ``P`` dispatcher processes are started (``--dispatchers``, 1 and 2) while
   the benchmark holds the deployment-wide fan-out lock (the PostgreSQL advisory lock
   ``core.adapters.subscriptions.FAN_OUT_LOCK``, which a dispatcher fanning out would hold); once
   every dispatcher has printed that it is running, the lock is released and the clock starts.
   The measured time runs from that moment to the last receiver's acknowledgement of the last
   change: it **includes the fan-out** (one transaction that renders each change's DIS file and
   writes one item per change and subscription: 20,000 rows for 400 changes and 50 receivers),
   since a change is not delivered before it is fanned out and the fan-out is part of what every
   change goes through; the time to the first acknowledgement is reported beside it (fan-out, the
   first claim and the first send), and so is the rate after it. It does not include the processes'
   start (imports, reading the settings): a dispatcher runs for months. It does include what the
   dispatchers do first once running (zeep reading the WSDL in each thread, the TLS handshakes with
   each receiver), as a dispatcher restarted on a backlog would. **deliveries/s** is deliveries of a
   change (one change to one receiver) over that time.

   The baseline, measured in the same run on the same receivers right after: the same DIS files
   (the stored files of the changes just delivered, read from ``dispatch_changes`` and addressed to
   each receiver with ``core.wire.dispatch.addressed``), in batches of the dispatcher's default
   size (100), one envelope per batch built once with lxml before the clock (inline base64), POSTed
   by ``P`` spawned processes of as many threads as a dispatcher has delivery workers (4), each
   thread with its own ``requests.Session`` holding the same TLS client certificate (and a
   connection pool per receiver, as the dispatcher's sessions have), as fast as the receivers
   answer; the clock starts at a barrier, before any connection is made (as for the
   dispatchers), and stops at the last acknowledgement. Every answer is checked (HTTP 200 and the
   acknowledgement of its ``idLivraison``). It is the floor of any dispatcher over this transport:
   **dispatcher/baseline** is the dispatcher's deliveries per second over the baseline's, run by
   run, for the same ``P``. The baseline sends under subscription numbers of its own, so that the
   receivers apply its deliveries in full, as they did the dispatcher's.

2. **Lag.** ``P`` dispatchers running (``--lag-dispatchers``, the same counts by default),
   ``--producers`` spawned processes register ``--rate`` applications per second between them for
   ``--duration`` seconds, on a fixed schedule (a registration late on it is made at once,
   without waiting: the schedule does not slow down when the machine does). These changes are
   made in a second territory (``054``, by its municipality ``NANCY``), whose ``--lag-receivers``
   counters (``LAG01``..., subscribed by SOAP push to everything) have the first receivers'
   systems as their endpoints: 10 receivers by default, not 50, because 100 registrations per
   second to 50 receivers are 5,000 deliveries of a change per second, beyond what the throughput
   measurement shows two shared cores can do (``--lag-receivers 50`` measures it anyway). The
   throughput measurement's counters receive nothing of that territory (a counter receives only
   its own), but the fan-out still weighs every change against all the subscriptions. Each
   producer takes ``time.perf_counter()`` right after ``services.register`` returns, i.e. right
   after the commit (more accurate than the application's ``registered_at``, which is set before
   the transaction's statements run: it is the ``now`` given to the service); the **lag** of a
   change is the moment the first receiver applied it minus that moment (and, in another column,
   the moment the last receiver did). Reported: p50, p95, p99 and max of the lag; the rate the
   producers actually reached (registrations over the time from the first commit to the last) and
   how late on their schedule they were (p99); the receivers' delivery rate (from the start of
   the schedule to the last acknowledgement). Each producer makes 2 untimed registrations first,
   delivered before the clock.

For both, the dispatcher processes' CPU (user + system) over the measurement and their peak RSS
(VmHWM, reset at the start of the measurement through ``/proc/<pid>/clear_refs``) are read from
``/proc``, and so are the CPU of the receivers' processes, of PostgreSQL (this database's backends
and the server's own processes) and of the whole machine (whatever was none of these nor the
producers or baseline clients, which count their own, is "other work"): the machine is shared and
noisy. The planner's statistics are refreshed (``ANALYZE``) after the set-up and after each
measurement, outside the clock, as autovacuum keeps them on a live register (``--no-analyze`` leaves
them to autovacuum).

Each measurement is repeated ``--runs`` times and reported as the median with the min and max;
within a run, dispatcher and baseline are measured back to back on the same receivers, and the
ratio is taken run by run. After every dispatcher measurement the streams are checked (nothing
pending, dead or refused) and so are the receivers (every change applied once by each, none twice);
a failed check stops the benchmark, otherwise nothing is asserted: it is a measurement, not a test.
``--profile DIR`` samples every dispatcher with py-spy (``--gil``: where the interpreter's time goes)
while it is measured.

    .venv/bin/python bench/dispatch.py --help
    .venv/bin/python bench/dispatch.py --quick   # a tiny load: --runs 1 --changes 20 --receivers 5 --duration 3
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/dispatch.py` from anywhere

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from bench.registrations import (  # noqa: E402 - standard library only at import time
    DEFAULT_POSTGRES_URL,
    FIRST_NAMES,
    PARTNER_FIRST_NAMES,
    IndexAllocator,
    _letters,
    cpu_model,
    create_postgres_database,
    drop_postgres_database,
    log,
    percentile,
    person_form,
    positive,
    ram_gib,
    software_facts,
    spread,
)
from bench.soap import (  # noqa: E402 - standard library only at import time
    load_average,
    machine_cpu,
    peak_kib,
    postgres_processes,
    process_cpu,
    reference_loop_ms,
    reset_peak,
)

# As in the other benchmarks, the coordinating process imports only the standard library: the
# receivers, producers, baseline clients and the admin helper are spawned; the dispatchers are the
# `sne-hub` console script.

SNE_HUB = str(Path(sys.executable).parent / "sne-hub")
PY_SPY = str(Path(sys.executable).parent / "py-spy")  # only for --profile (pip install py-spy; not a dependency)
DEFAULT_CHANGES = 400  # x 50 receivers: 20,000 deliveries of a change per measurement
DEFAULT_RECEIVERS = 50
DEFAULT_RECEIVER_PROCESSES = 2
DEFAULT_DISPATCHERS = "1,2"
DEFAULT_RATE = 100.0  # registrations per second, during the lag measurement
DEFAULT_DURATION = 30.0  # seconds of registrations, during the lag measurement
DEFAULT_PRODUCERS = 2
DEFAULT_LAG_RECEIVERS = 10
LAG_WARMUP = 2  # untimed registrations per producer, delivered before the clock
MAKER = "DEMOC"  # the counter making the throughput measurements' changes (demo territory 057); not a receiver
LAG_TERRITORY = ("054", "Meurthe-et-Moselle (banc d'essai)", "54")  # the lag measurement's territory
LAG_MAKER = "NANCY"  # the municipality making the lag measurement's changes there
LAG_COMMUNES = ("54395", "54547")  # Nancy, Vandœuvre-lès-Nancy
HUB_MAIL = "hub@sne-hub.example.org"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SERVICES = "http://ws.metier.nuu.application.i2/"
BASELINE_SUBSCRIPTIONS = 900_000  # the baseline's subscription numbers (abonnement), never the hub's
READY_TIMEOUT_S = 120
DRAIN_TIMEOUT_S = 600  # for everything to arrive once the clock started (or the producers stopped)
BARRIER_TIMEOUT_S = 300
POST_TIMEOUT_S = 60

DISPATCHER, BASELINE = "dispatcher", "baseline"


# -- the receivers (spawned "partner" processes, each serving several reference receivers) ---------


class TimingStore:
    """A RecordingStore that also notes when each change was applied and counts what was."""

    def __init__(self, shared: "Shared", times: dict, lock: threading.Lock):
        from support.receivers import RecordingStore

        self.inner = RecordingStore()
        self.shared, self.times, self.lock = shared, times, lock

    def apply(self, delivery: Any, refused: dict) -> bool:
        applied = self.inner.apply(delivery, refused)
        now = time.perf_counter()
        if applied:
            with self.lock:
                for item in delivery.items:
                    key = (item.number, item.version)
                    seen = self.times.get(key)
                    if seen is None:
                        self.times[key] = [now, now, 1]
                    else:
                        seen[1] = now
                        seen[2] += 1
                self.shared.add(len(delivery.items), now)
        return applied


@dataclass
class Shared:
    """Counters a partner process shares with the coordinator: items applied, first and last moment."""

    applied: Any  # multiprocessing Value('q')
    stamps: Any  # multiprocessing Array('d', 2): first, last (perf_counter), 0 when none

    def add(self, count: int, now: float) -> None:
        with self.applied.get_lock():
            self.applied.value += count
            if not self.stamps[0]:
                self.stamps[0] = now
            self.stamps[1] = now

    def reset(self) -> None:
        with self.applied.get_lock():
            self.applied.value = 0
            self.stamps[0] = self.stamps[1] = 0.0


def partner(pki_directory: str, codes: list[str], applied: Any, stamps: Any, commands: Any, answers: Any) -> None:
    """Serve a reference receiver for each of ``codes`` until told to stop; answer the coordinator's commands."""
    receivers = []
    try:
        from support.receivers import start_receiver

        shared, times, lock = Shared(applied, stamps), {}, threading.Lock()
        stores = {}
        for code in codes:
            store = TimingStore(shared, times, lock)
            receivers.append(start_receiver({"directory": pki_directory}, store=store, check_files=False))
            stores[code] = store
        answers.put(("ready", os.getpid(), {code: r.endpoint for code, r in zip(codes, receivers)}))
        while True:
            command = commands.get()
            if command == "stop":
                break
            if command == "reset":
                with lock:
                    times.clear()
                answers.put(("reset",))
            elif command == "report":
                with lock:
                    snapshot = {key: tuple(value) for key, value in times.items()}
                counts = {code: (len(store.inner.changes), len(store.inner.applied_twice), len(store.inner.reapplied),
                                 len(store.inner.out_of_order), store.inner.redelivered)
                          for code, store in stores.items()}
                answers.put(("report", snapshot, counts))
    except BaseException as error:  # noqa: BLE001 - reported to the coordinator, which stops the benchmark
        answers.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        for receiver in receivers:
            receiver.stop()


class Partners:
    """The receiving systems: ``count`` reference receivers spread over ``processes`` spawned processes."""

    def __init__(self, context: Any, pki_directory: str, codes: list[str], processes: int):
        self.context, self.pki, self.codes = context, pki_directory, codes
        self.count = max(1, min(processes, len(codes)))
        self.processes: list[Any] = []
        self.shared: list[Shared] = []
        self.channels: list[tuple[Any, Any]] = []
        self.endpoints: dict[str, str] = {}
        self.pids: list[int] = []

    def __enter__(self) -> "Partners":
        for index in range(self.count):
            mine = self.codes[index::self.count]
            shared = Shared(self.context.Value("q", 0), self.context.Array("d", 2))
            commands, answers = self.context.Queue(), self.context.Queue()
            process = self.context.Process(target=partner, args=(self.pki, mine, shared.applied, shared.stamps,
                                                                 commands, answers), daemon=True)
            process.start()
            self.processes.append(process)
            self.shared.append(shared)
            self.channels.append((commands, answers))
        try:
            for _commands, answers in self.channels:
                answer = self._answer(answers, READY_TIMEOUT_S)
                if answer[0] != "ready":
                    raise RuntimeError(f"a receivers' process failed to start: {answer}")
                self.pids.append(answer[1])
                self.endpoints.update(answer[2])
        except BaseException:
            self.__exit__()
            raise
        return self

    def _answer(self, answers: Any, timeout: float) -> tuple:
        try:
            answer = answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError("a receivers' process did not answer") from None
        if answer[0] == "error":
            raise RuntimeError(f"a receivers' process failed: {answer[1]}")
        return answer

    def applied(self) -> int:
        return sum(shared.applied.value for shared in self.shared)

    def first_last(self) -> tuple[float, float]:
        firsts = [shared.stamps[0] for shared in self.shared if shared.stamps[0]]
        lasts = [shared.stamps[1] for shared in self.shared if shared.stamps[1]]
        return (min(firsts) if firsts else 0.0), (max(lasts) if lasts else 0.0)

    def reset(self) -> None:
        for shared in self.shared:
            shared.reset()
        for commands, _answers in self.channels:
            commands.put("reset")
        for _commands, answers in self.channels:
            self._answer(answers, 60)

    def report(self) -> tuple[dict, dict]:
        """Per change: (first applied, last applied, receivers); per receiver: (changes, applied twice,
        reapplied, out of order, deliveries received again)."""
        times: dict = {}
        counts: dict = {}
        for commands, _answers in self.channels:
            commands.put("report")
        for _commands, answers in self.channels:
            _, snapshot, theirs = self._answer(answers, 120)
            counts.update(theirs)
            for key, (first, last, seen) in snapshot.items():
                known = times.get(key)
                times[key] = (first, last, seen) if known is None else \
                    (min(known[0], first), max(known[1], last), known[2] + seen)
        return times, counts

    def wait_for(self, expected: int, timeout: float, dispatchers: "Dispatchers | None" = None) -> None:
        deadline = time.perf_counter() + timeout
        while self.applied() < expected:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {self.applied()} of {expected} deliveries of a change arrived "
                                   f"in {timeout:.0f} s")
            if any(p.exitcode is not None for p in self.processes):
                raise RuntimeError("a receivers' process died")
            if dispatchers is not None:
                dispatchers.check()
            time.sleep(0.01)

    def __exit__(self, *exc_info: object) -> None:
        for commands, _answers in self.channels:
            commands.put("stop")
        for process in self.processes:
            process.join(timeout=20)
            if process.is_alive():
                process.terminate()


# -- the dispatchers (`sne-hub dispatch run` processes) ----------------------------------------------


class Dispatchers:
    """``count`` ``sne-hub dispatch run`` processes with the default settings; ready once each said so.

    With ``profile`` (a directory), each is sampled by ``py-spy record --nonblocking`` once ready,
    until it is stopped: collapsed stacks in ``<profile>/<label>-<index>.txt``."""

    def __init__(self, count: int, environment: dict, workdir: str, label: str, profile: str | None = None):
        self.count, self.environment, self.workdir, self.label = count, environment, workdir, label
        self.profile = profile
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.profilers: list[subprocess.Popen] = []

    def __enter__(self) -> "Dispatchers":
        for index in range(self.count):
            log_path = Path(self.workdir) / f"dispatcher-{self.label}-{index}.log"
            with log_path.open("wb") as output:
                self.processes.append(subprocess.Popen([SNE_HUB, "dispatch", "run"], env=self.environment,
                                                       cwd=self.workdir, stdout=output, stderr=subprocess.STDOUT))
            self.logs.append(log_path)
        try:
            deadline = time.perf_counter() + READY_TIMEOUT_S
            while not all("dispatching with" in path.read_text(errors="replace") for path in self.logs):
                self.check()
                if time.perf_counter() > deadline:
                    raise RuntimeError("the dispatchers did not start")
                time.sleep(0.05)
            time.sleep(0.5)  # the threads start right after the line is printed
            if self.profile:
                for index, process in enumerate(self.processes):
                    output = Path(self.profile) / f"{self.label}-{index}.txt"
                    self.profilers.append(subprocess.Popen(
                        [PY_SPY, "record", "--pid", str(process.pid), "--nonblocking", "--gil", "--rate", "100",
                         "--threads", "--format", "raw", "--output", str(output)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
                time.sleep(1.0)  # py-spy attached
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def check(self) -> None:
        for process, path in zip(self.processes, self.logs):
            if process.poll() is not None:
                raise RuntimeError(f"a dispatcher exited with {process.returncode}: {self.tail(path)}")

    @staticmethod
    def tail(path: Path) -> str:
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:])

    def errors(self) -> list[str]:
        """What the dispatchers logged at WARNING or above (nothing, when all went well)."""
        found = []
        for path in self.logs:
            found += [line for line in path.read_text(errors="replace").splitlines()
                      if line and not line.startswith("dispatching with")]
        return found

    def __exit__(self, *exc_info: object) -> None:
        for profiler in self.profilers:
            profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled
        for profiler in self.profilers:
            try:
                profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                profiler.kill()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the producers (spawned processes registering applications) -------------------------------------


def lag_form(index: int) -> Any:
    """``person_form``'s household, wishing communes of the lag measurement's territory."""
    from datetime import date, timedelta

    from core import demo

    surname = f"Lorrain-{_letters(index).capitalize()}"
    birth_date = date(1940, 1, 1) + timedelta(days=index % 20_000)
    return demo.household_form(
        surname, FIRST_NAMES[index % len(FIRST_NAMES)], birth_date, communes=LAG_COMMUNES,
        co_applicant=(surname, PARTNER_FIRST_NAMES[index % len(PARTNER_FIRST_NAMES)], birth_date - timedelta(days=400)),
    )


def producer(url: str, first_index: int, warmup: int, count: int, interval: float, offset: float,
             ready: Any, start: Any, go: Any, results: Any) -> None:
    """Register ``warmup`` applications, then ``count`` on a schedule (one every ``interval`` seconds
    from ``start`` + ``offset``); report (number, due, committed) for each timed one."""
    engine = None
    try:
        from core.adapters.database import make_engine
        from core.adapters.repository import SqlUnitOfWork
        from core.domain.calendar import now_in_paris
        from core.service_layer import services

        engine = make_engine(url)
        forms = [lag_form(first_index + i) for i in range(warmup + count)]
        warm = []
        for form in forms[:warmup]:
            now = now_in_paris()
            warm.append(str(services.register(SqlUnitOfWork(engine), form, now.date(), LAG_MAKER, now).number))
        ready.put(("ready", warm))
        go.wait(BARRIER_TIMEOUT_S)
        cpu_before = _own_cpu()
        begin = start.value + offset
        done = []
        for index, form in enumerate(forms[warmup:]):
            due = begin + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            now = now_in_paris()
            application = services.register(SqlUnitOfWork(engine), form, now.date(), LAG_MAKER, now)
            done.append((str(application.number), due, time.perf_counter()))
        results.put(("ok", done, _own_cpu() - cpu_before))
    except BaseException as error:  # noqa: BLE001 - reported to the coordinator, which stops the benchmark
        go.set()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        if engine is not None:
            engine.dispose()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the baseline (spawned processes POSTing prepared envelopes) ------------------------------------


def envelopes(url: str, first_change: int, targets: list[tuple[str, str]], subscriptions: dict[str, int],
              batch: int, tag: str) -> list[tuple[str, str, bytes]]:
    """The stored DIS files of the changes after ``first_change``, addressed to each target counter, in
    deliveries of ``batch``: (endpoint, idLivraison, envelope), batch after batch, receiver after receiver."""
    import base64

    from lxml import etree
    from sqlalchemy import select

    from core.adapters import orm
    from core.adapters.database import make_engine
    from core.wire.dispatch import addressed, file_name

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            changes = connection.execute(
                select(orm.dispatch_changes.c.id, orm.dispatch_changes.c.number, orm.dispatch_changes.c.kind,
                       orm.dispatch_changes.c.version, orm.dispatch_changes.c.actor, orm.dispatch_changes.c.at,
                       orm.dispatch_changes.c.file)
                .where(orm.dispatch_changes.c.id > first_change).order_by(orm.dispatch_changes.c.id)).all()
    finally:
        engine.dispose()
    chunks = [changes[i:i + batch] for i in range(0, len(changes), batch)]
    built = []
    for number, chunk in enumerate(chunks):
        for code, endpoint in targets:
            envelope = etree.Element(f"{{{NS_SOAP12}}}Envelope", nsmap={"soap": NS_SOAP12})
            body = etree.SubElement(envelope, f"{{{NS_SOAP12}}}Body")
            message = etree.SubElement(body, f"{{{NS_SERVICES}}}recevoirDispatchParametres", nsmap={"tns": NS_SERVICES})
            delivery = f"B{tag}-{code}-{number:04d}"
            first_sequence = number * batch + 1
            for name, value in (("idLivraison", delivery), ("guichet", code),
                                ("abonnement", str(subscriptions[code])),
                                ("derniereSequence", str(len(changes)))):
                etree.SubElement(message, name).text = value
            for offset, change in enumerate(chunk):
                sequence = first_sequence + offset
                item = etree.SubElement(message, "dispatch")
                for name, value in (("sequence", str(sequence)), ("typeChangement", change.kind),
                                    ("numUnique", change.number), ("version", str(change.version)),
                                    ("dateChangement", change.at.isoformat()), ("guichetOrigine", change.actor)):
                    etree.SubElement(item, name).text = value
                if change.file is not None:
                    etree.SubElement(item, "nomFichier").text = file_name(code, change.at, sequence)
                    etree.SubElement(item, "fichierDis").text = base64.b64encode(
                        addressed(change.file, code)).decode("ascii")
            built.append((endpoint, delivery, etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")))
    return built


def baseline_client(url: str, pki_directory: str, first_change: int, targets: list[tuple[str, str]],
                    subscriptions: dict[str, int], batch: int, threads: int, tag: str, barrier: Any,
                    results: Any) -> None:
    """Build the envelopes, wait at the barrier, POST them with ``threads`` threads (a Session each)."""
    try:
        import collections

        import requests

        pool = collections.deque(envelopes(url, first_change, targets, subscriptions, batch, tag))
        directory = Path(pki_directory)
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{NS_SERVICES}recevoirDispatch"',
                   "User-Agent": "sne-hub-bench-baseline"}
        outcome: list[Any] = [None] * threads

        def run(slot: int) -> None:
            try:
                session = requests.Session()
                session.trust_env = False
                session.cert = (str(directory / "hub-client-cert.pem"), str(directory / "hub-client-key.pem"))
                session.verify = str(directory / "ca.pem")
                # a pool per receiver: requests' default keeps 10, and would close a connection to open another
                session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=max(10, len(targets)),
                                                                        pool_maxsize=1, max_retries=0))
                go.wait()
                posts = 0
                while True:
                    try:
                        endpoint, delivery, body = pool.popleft()  # atomic
                    except IndexError:
                        break
                    answer = session.post(endpoint, data=body, headers=headers, timeout=POST_TIMEOUT_S)
                    acknowledged = f"<idLivraison>{delivery}</idLivraison>".encode() in answer.content
                    if answer.status_code != 200 or not acknowledged:
                        raise RuntimeError(f"baseline: HTTP {answer.status_code}: {answer.content[:800]!r}")
                    posts += 1
                outcome[slot] = (time.perf_counter(), posts)
                session.close()
            except BaseException as error:  # noqa: BLE001
                outcome[slot] = error

        go = threading.Event()
        workers = [threading.Thread(target=run, args=(slot,)) for slot in range(threads)]
        for worker in workers:
            worker.start()
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
        except BaseException:
            go.set()
            raise
        cpu_before = _own_cpu()
        started = time.perf_counter()
        go.set()
        for worker in workers:
            worker.join()
        errors = [o for o in outcome if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        results.put(("ok", started, max(o[0] for o in outcome), sum(o[1] for o in outcome), _own_cpu() - cpu_before))
    except BaseException as error:  # noqa: BLE001 - reported to the coordinator, which stops the benchmark
        barrier.abort()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


# -- the database, the PKI, the register (run by a spawned helper process) --------------------------


def prepare(url: str, pki_directory: str, codes: list[str], lag_codes: list[str]) -> dict:
    """Migrate, add the demo territory and counters and the receiving counters, and the lag
    measurement's territory, its maker and its receiving counters; write the demo PKI; return the
    product's default dispatch settings that matter here."""
    from certificates import write_demo_pki
    from core import demo
    from core.adapters import schema
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork
    from core.domain.codes import CounterType
    from core.domain.referential import Counter, Territory
    from core.service_layer import services
    from dispatching.config import DispatchSettings

    write_demo_pki(Path(pki_directory), [(c.code, c.name, c.mailbox) for c in demo.COUNTERS], HUB_MAIL)
    engine = make_engine(url)
    try:
        schema.upgrade(engine)
        services.add_territory(SqlUnitOfWork(engine), demo.TERRITORY)
        for counter in demo.COUNTERS:
            services.add_counter(SqlUnitOfWork(engine), counter)
        for code in codes:
            services.add_counter(SqlUnitOfWork(engine),
                                 Counter(code, f"Système {code}", CounterType.LANDLORD, demo.TERRITORY.code))
        territory, name, departement = LAG_TERRITORY
        services.add_territory(SqlUnitOfWork(engine), Territory(territory, name, frozenset({departement})))
        services.add_counter(SqlUnitOfWork(engine), Counter(LAG_MAKER, "Ville de Nancy", CounterType.MUNICIPALITY,
                                                            territory))
        for code in lag_codes:
            services.add_counter(SqlUnitOfWork(engine), Counter(code, f"Système {code}", CounterType.LANDLORD,
                                                                territory))
    finally:
        engine.dispose()
    defaults = DispatchSettings()
    return {"workers": defaults.workers, "batch": defaults.batch, "poll": defaults.poll}


def subscribe(url: str, endpoints: dict[str, str], mtom: bool) -> None:
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork
    from core.domain.calendar import now_in_paris
    from core.domain.dispatch import Channel, Filter
    from core.service_layer import dispatching

    engine = make_engine(url)
    try:
        for code, endpoint in endpoints.items():
            dispatching.set_endpoint(SqlUnitOfWork(engine), code, endpoint)
            dispatching.subscribe(SqlUnitOfWork(engine), code, Channel.SOAP, Filter(), now_in_paris(), mtom=mtom)
    finally:
        engine.dispose()


def register_changes(url: str, first_index: int, count: int) -> tuple[int, float]:
    """Register ``count`` applications; return the last change id before them, and the rate reached."""
    from sqlalchemy import func, select

    from core.adapters import orm
    from core.adapters.database import make_engine
    from core.adapters.repository import SqlUnitOfWork
    from core.domain.calendar import now_in_paris
    from core.service_layer import services

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            before = connection.scalar(select(func.coalesce(func.max(orm.outbox.c.id), 0)))
        forms = [person_form(first_index + i) for i in range(count)]
        started = time.perf_counter()
        for form in forms:
            now = now_in_paris()
            services.register(SqlUnitOfWork(engine), form, now.date(), MAKER, now)
        return before, count / (time.perf_counter() - started)
    finally:
        engine.dispose()


_LOCK: dict[str, Any] = {}


def hold_fan_out_lock(url: str) -> None:
    """Take the deployment-wide fan-out lock in a session of this (admin) process, as a dispatcher
    fanning out would: the dispatchers' fan-out finds it taken and waits its poll interval."""
    from sqlalchemy import text

    from core.adapters.database import make_engine
    from core.adapters.subscriptions import FAN_OUT_LOCK

    engine = make_engine(url)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": FAN_OUT_LOCK})
    _LOCK.update(engine=engine, connection=connection, key=FAN_OUT_LOCK)


def release_fan_out_lock() -> float:
    """Release it; the moment it was released (perf_counter): the throughput clock's start."""
    from sqlalchemy import text

    connection, engine = _LOCK.pop("connection"), _LOCK.pop("engine")
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK.pop("key")})
    released = time.perf_counter()
    connection.close()
    engine.dispose()
    return released


def streams(url: str) -> dict[str, int]:
    """What the streams hold once a measurement is over: pending, dead and refused items, lost leases."""
    from sqlalchemy import func, select

    from core.adapters import orm
    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            by_status = dict(connection.execute(
                select(orm.dispatch_items.c.status, func.count()).group_by(orm.dispatch_items.c.status)).all())
            outbox = connection.scalar(select(func.count()).select_from(orm.outbox)
                                       .where(orm.outbox.c.delivered_at.is_(None),
                                              orm.outbox.c.topic.like("application.%")))
            failing = connection.scalar(select(func.count()).select_from(orm.subscriptions)
                                        .where(orm.subscriptions.c.last_error.is_not(None)))
    finally:
        engine.dispose()
    return {"not fanned out": outbox, "failing streams": failing,
            **{status: count for status, count in by_status.items() if status != "delivered"}}


def analyze(url: str) -> None:
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def library_versions() -> dict[str, str]:
    import ssl
    from importlib.metadata import version

    return {name: version(name) for name in ("zeep", "requests", "urllib3", "lxml", "cheroot")} | {
        "openssl": ssl.OPENSSL_VERSION}


class Database:
    def __init__(self, admin: ProcessPoolExecutor, server_url: str, keep_statistics: bool):
        self.admin, self.server_url, self.keep_statistics = admin, server_url, keep_statistics
        self.name = f"sne_hub_bench_dispatch_{uuid.uuid4().hex[:12]}"
        self.url = ""

    def __enter__(self) -> "Database":
        self.url = self.admin.submit(create_postgres_database, self.server_url, self.name).result()
        return self

    def analyze(self) -> None:
        if self.keep_statistics:
            self.admin.submit(analyze, self.url).result()

    def __exit__(self, *exc_info: object) -> None:
        self.admin.submit(drop_postgres_database, self.server_url, self.name).result()


# -- /proc: CPU and memory of the processes involved -----------------------------------------------


@dataclass
class CpuWindow:
    groups: dict[str, list[int]]  # name -> pids
    database: str
    started: dict = field(default_factory=dict)

    def start(self) -> None:
        self.started = {name: {pid: process_cpu(pid) for pid in pids} for name, pids in self.groups.items()}
        self.started["postgres"] = {pid: process_cpu(pid) for pid in postgres_processes(self.database)}
        self.machine = machine_cpu()

    def stop(self) -> dict[str, float]:
        used = {name: sum(process_cpu(pid) - before for pid, before in self.started[name].items())
                for name in self.groups}
        used["postgres"] = sum(process_cpu(pid) - self.started["postgres"].get(pid, 0.0)
                               for pid in postgres_processes(self.database))
        busy, total = machine_cpu()
        busy0, total0 = self.machine
        used["window_s"] = (total - total0) / (os.cpu_count() or 1)
        used["machine_busy"] = (busy - busy0) / (total - total0) if total > total0 else 0.0
        used["machine_busy_s"] = busy - busy0
        return used


def others_cores(cpu: dict[str, float], ours: float) -> float:
    """What the rest of the machine used meanwhile (other workloads, the kernel), in cores."""
    return max(0.0, cpu["machine_busy_s"] - ours) / cpu["window_s"] if cpu["window_s"] else 0.0


# -- measurements (in the coordinating process) ---------------------------------------------------


@dataclass
class Throughput:
    sender: str
    processes: int
    deliveries: int
    wall_s: float
    first_s: float  # clock start to the first acknowledgement
    cpu: dict[str, float]
    peak_rss_kib: list[int]  # each dispatcher process (none for the baseline)
    redelivered: int = 0

    @property
    def rate(self) -> float:
        return self.deliveries / self.wall_s

    @property
    def rate_after_first(self) -> float:
        return self.deliveries / (self.wall_s - self.first_s) if self.wall_s > self.first_s else 0.0

    def per_thousand_ms(self, who: str) -> float:
        return self.cpu[who] / self.deliveries * 1_000_000


@dataclass
class Lag:
    processes: int
    registrations: int
    achieved_rate: float
    behind_p99_ms: float  # how late on its schedule the producers' registrations were made
    first_lags_s: list[float]
    all_lags_s: list[float]
    deliveries: int
    delivery_rate: float
    missing: int
    cpu: dict[str, float]
    peak_rss_kib: list[int]
    redelivered: int = 0

    def lag_ms(self, p: float, which: str = "first") -> float:
        values = self.first_lags_s if which == "first" else self.all_lags_s
        return (max(values) if p == 100 else percentile(values, p)) * 1000


class Bench:
    def __init__(self, arguments: argparse.Namespace, context: Any, admin: ProcessPoolExecutor, database: Database,
                 partners: Partners, environment: dict, workdir: str, defaults: dict, pki: str):
        self.arguments, self.context, self.admin, self.database = arguments, context, admin, database
        self.partners, self.environment, self.workdir, self.defaults = partners, environment, workdir, defaults
        self.pki = pki
        self.people = IndexAllocator()
        self.receivers = len(partners.endpoints)
        self.lag_receivers = arguments.lag_receivers
        self.baselines = 0

    def throughput(self, processes: int, run: int) -> tuple[Throughput, int]:
        """Register the changes, start the dispatchers under the fan-out lock, release it, time the drain."""
        changes = self.arguments.changes
        first_change, rate = self.admin.submit(register_changes, self.database.url, self.people.take(changes),
                                               changes).result()
        log(f"  {changes} changes registered beforehand ({rate:.0f}/s)")
        self.partners.reset()
        _, before = self.partners.report()
        expected = changes * self.receivers
        self.admin.submit(hold_fan_out_lock, self.database.url).result()
        locked = True
        try:
            with Dispatchers(processes, self.environment, self.workdir, f"run{run}-p{processes}",
                             self.arguments.profile) as dispatchers:
                window = CpuWindow({"dispatchers": dispatchers.pids, "receivers": self.partners.pids},
                                   self.database.name)
                for pid in dispatchers.pids:
                    reset_peak(pid)
                window.start()
                started = self.admin.submit(release_fan_out_lock).result()
                locked = False
                self.partners.wait_for(expected, DRAIN_TIMEOUT_S, dispatchers)
                cpu = window.stop()
                peaks = [peak_kib(pid) for pid in dispatchers.pids]
                first, last = self.partners.first_last()
                errors = dispatchers.errors()
        finally:
            if locked:
                self.admin.submit(release_fan_out_lock).result()
        redelivered = self.check(changes, before)
        if errors:
            log("  the dispatchers logged:\n    " + "\n    ".join(errors[:20]))
        return Throughput(DISPATCHER, processes, expected, last - started, first - started, cpu, peaks,
                          redelivered), first_change

    def check(self, changes: int, before: dict) -> int:
        """Nothing left in the streams; every receiver applied every change once, none twice or out of
        order since ``before`` (the receivers' counts then). Returns the deliveries received again."""
        left = self.admin.submit(streams, self.database.url).result()
        if any(left.values()):
            raise RuntimeError(f"the streams are not clean after the measurement: {left}")
        times, counts = self.partners.report()
        if len(times) != changes or any(seen != self.receivers for _f, _l, seen in times.values()):
            raise RuntimeError(f"{len(times)} changes applied, {changes} expected, not all by every receiver")
        return self.since(before, counts)

    @staticmethod
    def since(before: dict, counts: dict) -> int:
        """Raise if a receiver applied a change twice or out of order since ``before``; the deliveries
        received again (and not applied again) since then."""
        delta = {code: tuple(now - then for now, then in zip(counts[code], before[code])) for code in counts}
        wrong = {code: d[1:4] for code, d in delta.items() if any(d[1:4])}
        if wrong:
            raise RuntimeError(f"changes applied twice, reapplied or out of order (per receiver): {wrong}")
        return sum(d[4] for d in delta.values())

    def baseline(self, processes: int, first_change: int, run: int) -> Throughput:
        """The same files, prepared envelopes POSTed by ``processes`` x workers threads."""
        self.baselines += 1
        subscriptions = {code: BASELINE_SUBSCRIPTIONS + self.baselines * 1000 + index
                         for index, code in enumerate(sorted(self.partners.endpoints))}
        targets = sorted(self.partners.endpoints.items())
        shares = [targets[index::processes] for index in range(processes)]
        self.partners.reset()
        barrier = self.context.Barrier(processes + 1)
        results = self.context.Queue()
        clients = [self.context.Process(
            target=baseline_client,
            args=(self.database.url, self.pki, first_change, share, subscriptions, self.defaults["batch"],
                  self.defaults["workers"], f"{run}{processes}", barrier, results), daemon=True)
            for share in shares]
        for client in clients:
            client.start()
        reports = []
        try:
            try:
                barrier.wait(BARRIER_TIMEOUT_S)
            except threading.BrokenBarrierError:
                raise RuntimeError(f"the baseline clients never got ready: {self._failure(results)}") from None
            window = CpuWindow({"receivers": self.partners.pids}, self.database.name)
            window.start()
            started = time.perf_counter()
            while len(reports) < processes:
                try:
                    report = results.get(timeout=5)
                except queue.Empty:
                    if any(c.exitcode not in (None, 0) for c in clients):
                        raise RuntimeError("a baseline client died") from None
                    continue
                if report[0] == "error":
                    raise RuntimeError(f"a baseline client failed: {report[1]}")
                reports.append(report)
            expected = self.arguments.changes * self.receivers
            self.partners.wait_for(expected, 60)
            cpu = window.stop()
            cpu["clients"] = sum(report[4] for report in reports)  # their own count: they may have exited
        finally:
            for client in clients:
                client.join(timeout=10)
                if client.is_alive():
                    client.terminate()
        started = min([started] + [r[1] for r in reports])
        first, last = self.partners.first_last()
        return Throughput(BASELINE, processes, expected, last - started, first - started, cpu, [])

    @staticmethod
    def _failure(results: Any) -> str:
        try:
            report = results.get(timeout=10)
        except queue.Empty:
            return "no report"
        return report[1] if report[0] == "error" else str(report)

    def lag(self, processes: int, run: int) -> Lag:
        arguments = self.arguments
        producers = arguments.producers
        total = max(producers, round(arguments.rate * arguments.duration))
        shares = [total // producers + (1 if i < total % producers else 0) for i in range(producers)]
        interval = producers / arguments.rate  # each producer's, in seconds
        with Dispatchers(processes, self.environment, self.workdir, f"run{run}-lag{processes}",
                         self.arguments.profile) as dispatchers:
            self.partners.reset()
            ready, results = self.context.Queue(), self.context.Queue()
            start, go = self.context.Value("d", 0.0), self.context.Event()
            workers = [self.context.Process(
                target=producer,
                args=(self.database.url, self.people.take(LAG_WARMUP + share), LAG_WARMUP, share, interval,
                      index / arguments.rate, ready, start, go, results), daemon=True)
                for index, share in enumerate(shares)]
            for worker in workers:
                worker.start()
            try:
                for _ in workers:
                    try:
                        ready.get(timeout=READY_TIMEOUT_S)
                    except queue.Empty:
                        raise RuntimeError(f"the producers never got ready: {self._failure(results)}") from None
                self.partners.wait_for(producers * LAG_WARMUP * self.lag_receivers, DRAIN_TIMEOUT_S, dispatchers)
                self.partners.reset()
                _, before = self.partners.report()
                window = CpuWindow({"dispatchers": dispatchers.pids, "receivers": self.partners.pids},
                                   self.database.name)
                for pid in dispatchers.pids:
                    reset_peak(pid)
                window.start()
                start.value = time.perf_counter() + 0.05
                go.set()
                reports = []
                while len(reports) < producers:
                    try:
                        report = results.get(timeout=5)
                    except queue.Empty:
                        if any(w.exitcode not in (None, 0) for w in workers):
                            raise RuntimeError("a producer died") from None
                        dispatchers.check()
                        continue
                    if report[0] == "error":
                        raise RuntimeError(f"a producer failed: {report[1]}")
                    reports.append(report)
                self.partners.wait_for(total * self.lag_receivers, DRAIN_TIMEOUT_S, dispatchers)
                cpu = window.stop()
                peaks = [peak_kib(pid) for pid in dispatchers.pids]
                errors = dispatchers.errors()
            finally:
                go.set()
                for worker in workers:
                    worker.join(timeout=10)
                    if worker.is_alive():
                        worker.terminate()
        if errors:
            log("  the dispatchers logged:\n    " + "\n    ".join(errors[:20]))
        times, counts = self.partners.report()
        redelivered = self.since(before, counts)
        done = [record for report in reports for record in report[1]]
        cpu["producers"] = sum(report[2] for report in reports)  # their own count, from getrusage
        begin = start.value
        first_lags, all_lags, missing = [], [], 0
        for number, _due, committed in done:
            seen = times.get((number, 1))
            if seen is None:
                missing += 1
                continue
            first_lags.append(seen[0] - committed)
            if seen[2] == self.lag_receivers:
                all_lags.append(seen[1] - committed)
        first_commit, last_commit = min(record[2] for record in done), max(record[2] for record in done)
        _first, last = self.partners.first_last()
        behind = [max(0.0, committed - due) for _n, due, committed in done]
        reached = (len(done) - 1) / (last_commit - first_commit) if len(done) > 1 else 0.0
        return Lag(processes, len(done), reached, percentile(behind, 99) * 1000,
                   first_lags, all_lags, self.partners.applied(), self.partners.applied() / (last - begin), missing,
                   cpu, peaks, redelivered)


# -- the report -----------------------------------------------------------------------------------


def machine(software: dict[str, str], libraries: dict[str, str]) -> list[tuple[str, str]]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable by this process), shared by the "
                f"dispatchers, the receivers, the producers and PostgreSQL"),
        ("RAM", ram_gib()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}, zeep {libraries['zeep']}, "
                   f"requests {libraries['requests']}, urllib3 {libraries['urllib3']}, lxml {libraries['lxml']}, "
                   f"cheroot {libraries['cheroot']}, SQLAlchemy {software['sqlalchemy']}, "
                   f"psycopg {software['psycopg']}"),
        ("TLS", f"{libraries['openssl']}, client certificates both ways (the hub's to the receivers)"),
        ("PostgreSQL", f"{software['server_version']} at {software['host']} (fsync={software['fsync']}, "
                       f"synchronous_commit={software['synchronous_commit']}, "
                       f"shared_buffers={software['shared_buffers']})"),
    ]


THROUGHPUT_HEADERS = ("processes", "sender", "deliveries/s", "dispatcher/baseline", "first ack s",
                      "deliveries/s after first ack", "wall s", "sender CPU s (sum)", "peak RSS MiB (largest)")
CPU_HEADERS = ("processes", "sender", "CPU busy %", "other work (cores)", "sender CPU ms/1k", "receivers CPU ms/1k",
               "PostgreSQL CPU ms/1k")
LAG_HEADERS = ("dispatchers", "registrations/s reached", "lag p50 ms", "lag p95 ms", "lag p99 ms", "lag max ms",
               "last receiver p95 ms", "deliveries/s", "dispatcher CPU s (sum)", "dispatcher CPU % of a core",
               "peak RSS MiB (largest)", "CPU busy %", "producers behind p99 ms")


def digits(values: list[float]) -> int:
    return 1 if statistics.median(values) < 100 else 0


def throughput_lines(samples: dict[tuple[int, str], list[Throughput]]) -> tuple[list[list[str]], list[list[str]]]:
    main, cpu = [], []
    for (processes, sender), runs in samples.items():
        ratio = "—"
        if sender == DISPATCHER and (processes, BASELINE) in samples:
            ratio = spread([d.rate / b.rate for d, b in zip(runs, samples[(processes, BASELINE)])], 2)
        who = "dispatchers" if sender == DISPATCHER else "clients"
        main.append([str(processes), sender, spread([s.rate for s in runs]), ratio,
                     spread([s.first_s for s in runs], 2), spread([s.rate_after_first for s in runs]),
                     spread([s.wall_s for s in runs], 1), spread([s.cpu[who] for s in runs], 1),
                     spread([max(s.peak_rss_kib) / 1024 for s in runs], 1) if runs[0].peak_rss_kib else "—"])
        cpu.append([str(processes), sender, spread([s.cpu["machine_busy"] * 100 for s in runs]),
                    spread([others_cores(s.cpu, s.cpu[who] + s.cpu["receivers"] + s.cpu["postgres"]) for s in runs], 2),
                    spread([s.per_thousand_ms(who) for s in runs]),
                    spread([s.per_thousand_ms("receivers") for s in runs]),
                    spread([s.per_thousand_ms("postgres") for s in runs])])
    return main, cpu


def lag_lines(samples: dict[int, list[Lag]]) -> list[list[str]]:
    lines = []
    for processes, runs in samples.items():
        lags = {}
        for p in (50, 95, 99, 100):
            values = [s.lag_ms(p) for s in runs]
            lags[p] = spread(values, digits(values))
        every = [s.lag_ms(95, "all") for s in runs if s.all_lags_s]
        lines.append([str(processes), spread([s.achieved_rate for s in runs], 1), lags[50], lags[95], lags[99],
                      lags[100], spread(every, digits(every)) if every else "—",
                      spread([s.delivery_rate for s in runs]), spread([s.cpu["dispatchers"] for s in runs], 1),
                      spread([s.cpu["dispatchers"] / s.cpu["window_s"] * 100 for s in runs]),
                      spread([max(s.peak_rss_kib) / 1024 for s in runs], 1),
                      spread([s.cpu["machine_busy"] * 100 for s in runs]),
                      spread([s.behind_p99_ms for s in runs], 1)])
    return lines


def plain_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def markdown_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    left = {"sender"}
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if h in left else "---:" for h in headers) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


# -- main -----------------------------------------------------------------------------------------


def process_counts(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of process counts, e.g. 1,2") from None
    if any(c < 0 for c in counts):
        raise argparse.ArgumentTypeError("every count must be at least 1 (or 0 to skip)")
    return [c for c in counts if c > 0]


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return number


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/dispatch.py",
        description="Dispatching on PostgreSQL: deliveries of a change per second from `sne-hub dispatch run` "
                    "processes (default settings) to reference receivers over TLS, against a baseline POSTing the "
                    "same files in prepared envelopes to the same receivers; then the lag of each change behind "
                    "its commit while applications are registered at a fixed rate. Each measurement is repeated "
                    "and reported as median (min–max). Progress goes to stderr, results to stdout.",
    )
    parser.add_argument("--changes", type=positive, default=DEFAULT_CHANGES,
                        help=f"changes per throughput measurement, each delivered to every receiver "
                             f"(default: {DEFAULT_CHANGES})")
    parser.add_argument("--receivers", type=positive, default=DEFAULT_RECEIVERS,
                        help=f"receiving counters, each a reference receiver subscribed to everything "
                             f"(default: {DEFAULT_RECEIVERS})")
    parser.add_argument("--receiver-processes", type=positive, default=DEFAULT_RECEIVER_PROCESSES,
                        help=f"processes the receivers are spread over (default: {DEFAULT_RECEIVER_PROCESSES})")
    parser.add_argument("--dispatchers", type=process_counts, default=process_counts(DEFAULT_DISPATCHERS),
                        help=f"dispatcher process counts of the throughput measurements, comma-separated; "
                             f"0 skips them (default: {DEFAULT_DISPATCHERS})")
    parser.add_argument("--lag-dispatchers", type=process_counts, default=None,
                        help="dispatcher process counts of the lag measurements, comma-separated; 0 skips them "
                             "(default: as --dispatchers)")
    parser.add_argument("--lag-receivers", type=positive, default=DEFAULT_LAG_RECEIVERS,
                        help="receiving counters of the lag measurement, of another territory, served by the first "
                             "receivers' systems (at most --receivers; default: %(default)s)")
    parser.add_argument("--rate", type=positive_float, default=DEFAULT_RATE,
                        help=f"registrations per second during the lag measurement (default: {DEFAULT_RATE:g})")
    parser.add_argument("--duration", type=positive_float, default=DEFAULT_DURATION,
                        help=f"seconds of registrations during the lag measurement (default: {DEFAULT_DURATION:g})")
    parser.add_argument("--producers", type=positive, default=DEFAULT_PRODUCERS,
                        help=f"processes sharing the registrations of the lag measurement "
                             f"(default: {DEFAULT_PRODUCERS})")
    parser.add_argument("--inline", action="store_true",
                        help="subscribe the receivers with inline base64 files instead of MTOM (the default)")
    parser.add_argument("--runs", type=positive, default=3, help="repetitions of each measurement (default: 3)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server; a throwaway database is created on it and dropped at the end "
                             f"(default: {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not ANALYZE the database after the set-up and after each measurement")
    parser.add_argument("--markdown", action="store_true",
                        help="print the machine and the results as Markdown, for docs/BENCHMARKS.md")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample every dispatcher with py-spy (pip install py-spy into the virtualenv; not a "
                             "dependency of the project) while it is measured: collapsed stacks per process in DIR "
                             "(py-spy's own sampling takes CPU: do not quote the figures of such a run)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny load, to see that it runs: --runs 1 --changes 20 --receivers 5 --duration 3 "
                             "(each may still be given)")
    if parser.parse_known_args(argv)[0].quick:
        parser.set_defaults(runs=1, changes=20, receivers=5, duration=3.0)
    arguments = parser.parse_args(argv)
    arguments.lag_receivers = min(arguments.lag_receivers, arguments.receivers)
    if arguments.lag_dispatchers is None:
        arguments.lag_dispatchers = list(arguments.dispatchers) or [1]
    if arguments.profile:
        if not Path(PY_SPY).exists():
            parser.error(f"--profile needs {PY_SPY}: .venv/bin/pip install py-spy")
        arguments.profile = str(Path(arguments.profile).resolve())
        Path(arguments.profile).mkdir(parents=True, exist_ok=True)
    if not Path(SNE_HUB).exists():
        parser.error(f"{SNE_HUB} not found: install the project into the virtualenv first (make install)")
    return arguments


def dispatcher_environment(url: str, pki: str) -> dict[str, str]:
    """The caller's environment without any SNE_HUB_* variable, plus what this machine must say."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SNE_HUB_")}
    directory = Path(pki)
    environment.update({
        "SNE_HUB_DATABASE_URL": url,
        "SNE_HUB_LOG_LEVEL": "WARNING",
        "SNE_HUB_DISPATCH_CERT": str(directory / "hub-client-cert.pem"),
        "SNE_HUB_DISPATCH_KEY": str(directory / "hub-client-key.pem"),
        "SNE_HUB_DISPATCH_CA": str(directory / "ca.pem"),
    })
    return environment


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    context = multiprocessing.get_context("spawn")
    codes = [f"RCV{index:02d}" for index in range(1, arguments.receivers + 1)]
    lag_codes = [f"LAG{index:02d}" for index in range(1, arguments.lag_receivers + 1)]
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as admin, \
            tempfile.TemporaryDirectory(prefix="sne-hub-bench-dispatch-") as workdir:
        pki = str(Path(workdir) / "pki")
        try:
            software = admin.submit(software_facts, arguments.postgres_url).result()
        except Exception as error:  # noqa: BLE001 - the server is down or refuses us
            log(f"PostgreSQL unreachable at {arguments.postgres_url}: {error.__class__.__name__}: {error}")
            return 2
        libraries = admin.submit(library_versions).result()
        load_before = load_average()
        log(f"load average before: {load_before}")
        started = time.perf_counter()
        throughput: dict[tuple[int, str], list[Throughput]] = {
            (p, s): [] for p in arguments.dispatchers for s in (DISPATCHER, BASELINE)}
        lags: dict[int, list[Lag]] = {p: [] for p in arguments.lag_dispatchers}
        references: list[float] = []
        with Database(admin, arguments.postgres_url, keep_statistics=not arguments.no_analyze) as database:
            defaults = admin.submit(prepare, database.url, pki, codes, lag_codes).result()
            log(f"{arguments.runs} runs; {arguments.receivers} receivers over "
                f"{min(arguments.receiver_processes, arguments.receivers)} processes; throughput: "
                f"{arguments.changes} changes x {arguments.receivers} receivers with "
                f"{' and '.join(map(str, arguments.dispatchers)) or 'no'} dispatcher process(es); lag: "
                f"{arguments.rate:g} registrations/s for {arguments.duration:g} s with "
                f"{' and '.join(map(str, arguments.lag_dispatchers)) or 'no'} dispatcher process(es); "
                f"dispatcher defaults: {defaults['workers']} workers, batches of {defaults['batch']}, "
                f"poll {defaults['poll']} s; {'inline base64' if arguments.inline else 'MTOM'} subscriptions")
            with Partners(context, pki, codes, arguments.receiver_processes) as partners:
                admin.submit(subscribe, database.url, partners.endpoints, not arguments.inline).result()
                # the lag measurement's counters: the systems of the first RCV counters serve them too
                lag_endpoints = {lag: partners.endpoints[code] for lag, code in zip(lag_codes, codes)}
                admin.submit(subscribe, database.url, lag_endpoints, not arguments.inline).result()
                database.analyze()
                bench = Bench(arguments, context, admin, database, partners,
                              dispatcher_environment(database.url, pki), workdir, defaults, pki)
                for run in range(1, arguments.runs + 1):
                    for processes in arguments.dispatchers:
                        references.append(reference_loop_ms())
                        sample, first_change = bench.throughput(processes, run)
                        throughput[(processes, DISPATCHER)].append(sample)
                        database.analyze()
                        log(f"run {run}/{arguments.runs}  {processes} dispatcher(s)  {sample.rate:7.0f} deliveries/s  "
                            f"first ack {sample.first_s:5.2f} s  wall {sample.wall_s:5.1f} s  CPU busy "
                            f"{sample.cpu['machine_busy'] * 100:3.0f}%  dispatchers {sample.cpu['dispatchers']:5.1f} s "
                            f"CPU ({sample.per_thousand_ms('dispatchers'):4.0f} ms/1k)  receivers "
                            f"{sample.per_thousand_ms('receivers'):4.0f} ms/1k  PostgreSQL "
                            f"{sample.per_thousand_ms('postgres'):4.0f} ms/1k  peak RSS "
                            f"{max(sample.peak_rss_kib) / 1024:.1f} MiB  redelivered {sample.redelivered}  "
                            f"load {load_average()}  reference loop {references[-1]:.1f} ms")
                        references.append(reference_loop_ms())
                        base = bench.baseline(processes, first_change, run)
                        throughput[(processes, BASELINE)].append(base)
                        log(f"run {run}/{arguments.runs}  {processes} baseline process(es)  {base.rate:7.0f} "
                            f"deliveries/s  wall {base.wall_s:5.1f} s  "
                            f"CPU busy {base.cpu['machine_busy'] * 100:3.0f}%  "
                            f"clients {base.per_thousand_ms('clients'):4.0f} ms/1k  receivers "
                            f"{base.per_thousand_ms('receivers'):4.0f} ms/1k  ratio {sample.rate / base.rate:.2f}")
                    for processes in arguments.lag_dispatchers:
                        references.append(reference_loop_ms())
                        sample = bench.lag(processes, run)
                        lags[processes].append(sample)
                        database.analyze()
                        log(f"run {run}/{arguments.runs}  lag with {processes} dispatcher(s)  "
                            f"{sample.achieved_rate:5.1f} registrations/s reached  "
                            f"lag p50 {sample.lag_ms(50):6.0f} ms  "
                            f"p95 {sample.lag_ms(95):6.0f} ms  p99 {sample.lag_ms(99):6.0f} ms  max "
                            f"{sample.lag_ms(100):6.0f} ms  last receiver p95 "
                            f"{sample.lag_ms(95, 'all') if sample.all_lags_s else float('nan'):6.0f} ms  "
                            f"{sample.delivery_rate:5.0f} deliveries/s  "
                            f"dispatchers {sample.cpu['dispatchers']:5.1f} s CPU  "
                            f"CPU busy {sample.cpu['machine_busy'] * 100:3.0f}%  missing {sample.missing}  "
                            f"load {load_average()}")
        elapsed = time.perf_counter() - started

    main_lines, cpu_lines = throughput_lines({k: v for k, v in throughput.items() if v})
    lag_table = lag_lines({k: v for k, v in lags.items() if v})
    facts = machine(software, libraries)
    transport = "inline base64" if arguments.inline else "MTOM"
    settings = (f"{arguments.runs} runs; {arguments.receivers} receivers (reference receiver, TLS, check_files=False) "
                f"over {min(arguments.receiver_processes, arguments.receivers)} processes, each subscribed by SOAP "
                f"push ({transport}) to everything; throughput: {arguments.changes} changes = "
                f"{arguments.changes * arguments.receivers:,} deliveries of a change per measurement; lag: "
                f"{arguments.rate:g} registrations/s for {arguments.duration:g} s from {arguments.producers} "
                f"processes; dispatchers with the default settings ({defaults['workers']} workers, batches of "
                f"{defaults['batch']}); median (min–max) of the runs")
    analyzed = "ANALYZE after the set-up and after each measurement"
    note = (f"deliveries/s: deliveries of a change (one change to one receiver) from the release of the fan-out "
            f"lock (dispatchers) or the barrier (baseline) to the last acknowledgement; first ack: from then to the "
            f"first acknowledgement (the fan-out, the first claim and send). dispatcher/baseline: run by run, same "
            f"process count. CPU ms/1k: CPU per 1,000 deliveries of a change, of the dispatchers (or baseline "
            f"clients), of the receivers' processes and of PostgreSQL (this database's backends and the server's "
            f"own processes). Peak RSS: VmHWM of each dispatcher process over the measurement. Lag: from the "
            f"producer's return from services.register (after the commit) to the first receiver's acknowledgement "
            f"(last receiver: the last one's). Reference loop (a fixed pure-Python loop, best of 5, before each "
            f"measurement): {spread(references, 1)} ms. Statistics: "
            f"{'left to autovacuum' if arguments.no_analyze else analyzed}. "
            f"Load average before: {load_before}; after: {load_average()}.")
    if arguments.markdown:
        print("\n".join(f"- {name}: {value}" for name, value in facts))
        for title, headers, lines in (("Throughput", THROUGHPUT_HEADERS, main_lines), ("CPU", CPU_HEADERS, cpu_lines),
                                      ("Lag", LAG_HEADERS, lag_table)):
            if lines:
                print(f"\n{title}:\n")
                print(markdown_table(headers, lines))
        print()
        print(f"{settings}; the benchmark took {elapsed:.0f} s. {note}")
    else:
        print("Machine")
        print("\n".join(f"  {name:<11} {value}" for name, value in facts))
        print()
        print(settings)
        for title, headers, lines in (("Throughput", THROUGHPUT_HEADERS, main_lines), ("CPU", CPU_HEADERS, cpu_lines),
                                      ("Lag", LAG_HEADERS, lag_table)):
            if lines:
                print(f"\n{title}\n")
                print(plain_table(headers, lines))
        print()
        print(note)
        print(f"The benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
