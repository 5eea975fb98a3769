"""Signed and encrypted CRE mails processed end to end per second, on PostgreSQL, against a baseline.

What one mail is: what a counter's system sends to the hub's exchange address (docs/MAIL.md): a
MIME entity with a short text and one ``CRE`` interface file as an attachment named
``DEM<guichet>-<AAAAMMJJHHMM>-<seq>.xml`` (a complete household from ``core.demo.household_form``,
different people every time so that the duplicate check passes), signed by a demo counter's
certificate (``DEMOB``, ``DEMOC`` or ``DEMOE``: detached S/MIME signature with a signingTime) and
encrypted to the hub's certificate (AES-256, RSA key transport), both with ``certificates.smime``,
with the outer headers of ``support/mails.py`` and a unique Message-ID.
Every mail is built before the clock starts.

The hub processes it end to end: aiosmtpd receives it over a real SMTP session and the handler
stores it, already claimed (one transaction), before answering 250; a pipeline worker, handed its bytes, decrypts it,
verifies the signature, the chain, the validity and the revocation list, checks the sender against
the certificate and the register, the signingTime and the attachment's name, processes the file
through ``core`` (safe parse, XSD validation, registration, answer file, PDF attestation), builds
the reply (MIME, signed by the hub, encrypted to the counter) and queues it in ``mail_outbox`` in
the same transaction that marks the mail processed. A mail is done when its reply is queued.
Delivering the replies is not timed (with ``--deployment rig`` no delivery loop runs at all).

How the hub runs (``--deployment``):

- ``serve`` (the default): as users run it. The throwaway PostgreSQL database (dropped at the end)
  is prepared by the hub's own commands, as docs/DEPLOYMENT.md and ``make run`` do (``sne-hub db
  upgrade``, ``demo seed``, ``certificates demo``, in a directory of its own), then N ``sne-hub
  serve --only mail`` processes run there on one SMTP port (``SO_REUSEPORT``; the kernel spreads the
  clients' sessions over them), with default settings but the production one of docs/DEPLOYMENT.md,
  encryption required (``SNE_HUB_MAIL_REQUIRE_ENCRYPTION=on``): their pipeline threads, leases,
  INFO logs (to a file) and reply delivery are the command's own. With no relay configured, replies
  are delivered as files under var/demo, as ``make run`` does: that delivery is not timed, its CPU
  counts. "mails per server process" is then read from the mails' lease owners.
- ``rig``: the production parts assembled by the benchmark in its own server processes, as
  ``async_mail.service.service`` does: ``MailSettings`` (encryption required; STARTTLS offered, not
  used by the clients; the demo CA and its revocation list, written to a temporary directory),
  ``async_mail.service.handler`` (the ``HubHandler`` with its pipeline threads; ``--workers N`` for
  N) and the aiosmtpd ``Controller`` of ``async_mail.server.controller``, with its own engine on the
  throwaway database (migrated with ``core.adapters.schema.upgrade``, seeded with the demo territory
  and counters, their certificates registered), logging at INFO to a file, no delivery loop. Each
  server process listens on its own port and the client processes are spread over them, round
  robin, so that each takes an even share. ``--profile`` uses it, to put its timers around the stages.

The baseline, measured in the same run: an aiosmtpd Controller (same options) in as many server
processes (with ``rig``, in the hub's own, on another port) whose handler stores every message as
one row of a plain table (one transaction) before answering 250, and does nothing else. It is the
floor of any mail channel on this transport and this database: the ratio hub/baseline says how much
of it the hub keeps.

Clients are ``--client-processes`` spawned processes holding ``--sessions`` SMTP sessions between
them (a thread per session; each process writes as one of the three demo counters). A session sends
its mails one after the other (MAIL, RCPT, DATA) and starts a new SMTP session every
``--per-session`` mails. Every process builds its mails, connects and sends a few untimed warm-up
mails per session; once the hub has processed them, the clock starts at a barrier. Each mail's DATA
command is timestamped (wall clock) when sent and when its 250 arrives; each reply's queueing time
is read from the ``mail_outbox`` rows, through a column the benchmark adds to that table in its
throwaway database (``bench_queued_at``, default ``clock_timestamp()``: the moment of the reply's
INSERT, in the transaction that then marks the mail processed and commits). Throughput is the
mails over the time from the first DATA to the last reply queued; SMTP acceptance is the mails over
the time from the first DATA to the last 250. Latency is per mail, DATA sent to reply queued: the
clients send faster than the hub processes, so under this burst most of it is waiting in the
workers' queue. A lone-mail measurement (``--lone``; one session, one mail at a time, the next sent
once the previous reply is queued) gives the latency of a mail that waits for nothing.

Every timed mail is checked: processed (not quarantined), one application registered per mail,
and one reply per measurement decrypted and verified as its counter would, its answer file
carrying a registration number and no anomaly. The CPU used per mail by the server processes, by
PostgreSQL (this database's backends and the server's own processes) and by the clients is read from
``/proc`` (``bench/soap.py``'s helpers), from the barrier to the last reply, and so is what the rest
of the machine did meanwhile. Peak RSS is the server processes' VmHWM over the measurement. The
planner's statistics are refreshed (``ANALYZE``) after the set-up and after each measurement,
outside the clock. The register holds ``--register`` applications (50,000 by default) before the
first measurement, loaded and analysed as in ``bench/soap.py``, for the same reason: on a register
analysed while empty, statements planned once per connection keep the plans of empty tables (the
index tables' foreign-key checks, before migration 0015, kept a sequential scan of ``applications``:
docs/BENCHMARKS.md, "Seventh pass"). For the same reason the mail channel's own tables hold a
history, ``--history`` processed mails with their sent replies (50,000 by default, one per
application, spread over the retention period as a running channel holds them): analysed while
empty, the replay check and the statements that settle a mail by its id kept a sequential scan of
``mail_messages``, read once more for every mail as it grew (docs/BENCHMARKS.md, "Twelfth pass").

Each measurement is repeated ``--runs`` times with fresh server processes and reported as the
median with the min and max; the ratio is taken run by run. Nothing is asserted: it is a
measurement, not a test. ``--profile DIR`` runs, instead, one server process twice with a lone
client: once with timers around the stages (CPU and wall per mail, SQL statements counted), once
with cProfile around every mail, and prints where the time goes.

    .venv/bin/python bench/mail.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/mail.py` from anywhere

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from bench.registrations import (  # noqa: E402 - standard library only at import time
    COUNTER_CODES,
    DEFAULT_POSTGRES_URL,
    cpu_model,
    create_postgres_database,
    drop_postgres_database,
    latency_digits,
    log,
    percentile,
    person_form,
    non_negative,
    positive,
    ram_gib,
    software_facts,
    spread,
)
from bench.soap import (  # noqa: E402 - standard library only at import time
    CpuWindow,
    People,
    analyze,
    free_port,
    load_average,
    peak_kib,
    reference_loop_ms,
    reset_peak,
)

# As in the other benchmarks, the coordinating process imports only the standard library: servers,
# clients and the admin helper are spawned, and a lean parent keeps their memory figures their own.

DEFAULT_MAILS = 400  # timed mails per measurement, shared by the sessions
DEFAULT_REGISTER = 50_000  # applications loaded before the measurements (bench/soap.py's default)
DEFAULT_HISTORY = 50_000  # processed mails, each with its sent reply, stored before the measurements
DEFAULT_SERVER_PROCESSES = "1,2"
SERVE = "serve"  # the pipeline threads `sne-hub serve` runs by default; also the hub as deployed (--deployment)
RIG = "rig"  # the hub's mail channel assembled by the benchmark in its own server processes (--deployment)
DEFAULT_WORKERS = SERVE
DEFAULT_CLIENT_PROCESSES = 4
DEFAULT_SESSIONS = 8
DEFAULT_PER_SESSION = 20
DEFAULT_LONE = 30
DEFAULT_PROFILE_MAILS = 100
TARGET = 150  # mails per second, the target
WARMUP = 2  # untimed mails per session before the barrier (imports, XSD, caches, connections)
BARRIER_TIMEOUT_S = 300
SMTP_TIMEOUT_S = 120

HUB, BASELINE, LONE = "hub", "baseline", "hub, one at a time"
HUB_MAIL = "hub@sne-hub.example.org"
BASELINE_TABLE = "bench_mail_baseline"
QUEUED_COLUMN = "bench_queued_at"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # core.cli's
PENDING = ("received", "processing")


# -- the server processes: the hub's mail channel as production runs it, and the baseline ----------


def baseline_table(metadata: Any = None) -> Any:
    from sqlalchemy import Column, LargeBinary, MetaData, String, Table

    from core.adapters.orm import Identifier

    return Table(
        BASELINE_TABLE,
        metadata if metadata is not None else MetaData(),
        Column("id", Identifier, primary_key=True, autoincrement=True),
        Column("sender", String(320), nullable=False),
        Column("raw", LargeBinary, nullable=False),
    )


class BaselineHandler:
    """aiosmtpd: every message stored as one row of a plain table (one transaction), then 250."""

    def __init__(self, engine: Any):
        from sqlalchemy import insert

        self.engine = engine
        self.statement = insert(baseline_table())  # built once, as the hub's statements are

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        with self.engine.begin() as connection:
            connection.execute(self.statement, {"sender": envelope.mail_from or "", "raw": raw})
        return "250 2.0.0 OK"


def pipeline_workers(token: str) -> dict:
    """A --workers value as MailSettings fields: "serve" (what `sne-hub serve` does by default), or N threads."""
    return {} if token == SERVE else {"workers": int(token)}


def mail_settings(pki_directory: str, port: int, workers: str, drop_directory: str) -> Any:
    from async_mail.config import MailSettings

    directory = Path(pki_directory)
    return MailSettings(host="127.0.0.1", port=port, addresses=(HUB_MAIL,), certificate=directory / "hub-cert.pem",
                        key=directory / "hub-key.pem", trusted=directory / "ca.pem", crl=directory / "crl.pem",
                        tls_certificate=directory / "server-cert.pem", tls_key=directory / "server-key.pem",
                        require_encryption=True, drop_directory=Path(drop_directory), **pipeline_workers(workers))


def server(url: str, pki_directory: str, port: int | None, baseline_port: int, workers: str, log_path: str,
           drop_directory: str, ready: Any, stop: Any, profile: dict | None, measuring: Any) -> None:
    """One server process: the hub's mail channel (as async_mail.service sets it up) and the baseline;
    the baseline alone when ``port`` is None (the hub then runs as `sne-hub serve`, see ``Served``)."""
    try:
        import logging

        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, filename=log_path)
        from aiosmtpd.controller import Controller

        from async_mail import service
        from async_mail.server import controller, tls_context
        from core.adapters.database import make_engine
        from core.domain.calendar import now_in_paris

        instruments = Instruments(profile, measuring) if profile else None
        settings = mail_settings(pki_directory, port or baseline_port, workers, drop_directory)
        engine = make_engine(url)
        if instruments is not None:
            instruments.attach(engine)
        handler = smtp = None
        if port is not None:
            handler = service.handler(settings, engine)  # as `sne-hub serve` builds it
            smtp = controller(settings, handler)
            smtp.start()
            handler.take_waiting(now_in_paris())
        baseline = Controller(BaselineHandler(engine), hostname=settings.host, port=baseline_port,
                              data_size_limit=settings.max_bytes, tls_context=tls_context(settings),
                              decode_data=False, server_hostname="sne-hub-baseline")
        baseline.start()
        ready.put(("ok", os.getpid()))
        stop.wait()
        baseline.stop()
        if handler is not None:
            smtp.stop()
            handler.workers.shutdown(wait=True)
        if instruments is not None:
            instruments.dump()
        engine.dispose()
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        ready.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


# -- profiling instruments (server side, --profile only) ------------------------------------------

# Stages timed in --profile: (module, function or Class.method, label). Labels are indented by
# nesting; each stage's figure includes the stages below it.
STAGES = (
    ("async_mail.server", "HubHandler.handle_DATA", "SMTP DATA handler (event loop thread, waits for the store)"),
    ("async_mail.store", "MailStore.receive_many", "  store the raw mail (INSERT, 1 transaction; Receiver thread)"),
    ("async_mail.pipeline", "Pipeline.run", "pipeline, whole (worker thread)"),
    ("async_mail.store", "MailStore.claim", "  claim (UPDATE, 1 transaction; released or resumed mails only)"),
    ("async_mail.store", "MailStore.get", "  read the stored mail back (SELECT, 1 transaction)"),
    ("async_mail.pipeline", "_headers", "  outer headers parsed (email, compat32)"),
    ("async_mail.pipeline", "Pipeline._open", "  open: decrypt and verify (certificates.smime.open_message)"),
    ("certificates.smime", "_decrypted", "    decrypt"),
    ("cryptography.hazmat.primitives.serialization.pkcs7", "pkcs7_decrypt_der",
     "      cryptography pkcs7_decrypt_der (RSA key transport + AES)"),
    ("certificates.smime", "_signed_parts", "    cut the multipart/signed (header parsing, regex)"),
    ("certificates.smime", "_verify_signature", "    signature: CMS parsed (asn1crypto), digest, RSA verify"),
    ("certificates.smime", "_check_signature", "      RSA verify of the signature"),
    ("certificates.smime", "_check_trust", "    trust: chain, purpose, validity, CRL"),
    ("certificates.smime", "_issuer_among", "      chain (RSA verify of the certificate)"),
    ("certificates.smime", "_check_revocation", "      CRL (RSA verify of the CRL, every mail)"),
    ("async_mail.pipeline", "Pipeline._identify", "  sender: From vs certificate, register look-up"),
    ("core.service_layer.services", "identify", "    services.identify (1 read transaction)"),
    ("async_mail.pipeline", "Pipeline._process", "  replay check, process, reply, queue (1 transaction)"),
    ("async_mail.store", "MailStore.earlier", "    replay check: the counter's Message-ID or digest, under locks"),
    ("async_mail.pipeline", "Pipeline._files", "    attachments (email parser, compat32)"),
    ("core.wire.processing", "process", "    core.wire.processing.process"),
    ("core.wire.processing", "read_application_file", "      read_application_file"),
    ("core.wire.processing", "parse", "        safe XML parse"),
    ("core.wire.schemas", "errors", "        XSD validation"),
    ("core.wire.processing", "read_file", "        codec read_file"),
    ("core.service_layer.services", "register", "      services.register (core, SQL)"),
    ("core.wire.processing", "answer_file", "      answer file (codec write_file)"),
    ("core.wire.processing", "attestation_pdf", "      attestation PDF"),
    ("async_mail.messages", "reply", "    reply: MIME, sign, encrypt"),
    ("certificates.mail", "body_entity", "      MIME body written (certificates.mail.body_entity)"),
    ("certificates.smime", "sign", "      sign (certificates.smime.sign)"),
    ("certificates.smime", "_signature_now", "        SignedData built (cryptography), RSA sign included"),
    ("certificates.smime", "_sign_bytes", "          RSA sign"),
    ("certificates.smime", "encrypt", "      encrypt (certificates.smime.encrypt)"),
    ("cryptography.hazmat.primitives.serialization.pkcs7", "PKCS7EnvelopeBuilder.encrypt",
     "        cryptography PKCS7EnvelopeBuilder.encrypt (RSA key transport + AES)"),
    ("async_mail.store", "MailStore.answered", "    queue the reply and mark the mail processed (1 statement)"),
    ("async_mail.store", "MailStore.enqueue", "      queue the reply (INSERT; SQLite, refusals)"),
    ("async_mail.store", "MailStore.processed", "      mark the mail processed (UPDATE; SQLite)"),
)


class Instruments:
    """--profile: stage timers and SQL counters ("stages"), or cProfile around every mail ("cprofile").

    Installed by patching the modules' attributes in the server process only; nothing is recorded
    while ``measuring`` is clear (warm-up mails)."""

    def __init__(self, profile: dict, measuring: Any):
        import importlib
        import inspect

        self.mode, self.path, self.measuring = profile["mode"], profile["path"], measuring
        self.lock = threading.Lock()
        self.stages: dict[str, list] = {}
        self.sql: dict[str, int] = {"statements": 0, "checkouts": 0, "pings": 0, "commits": 0}
        self.statements: dict[str, int] = {}
        self.profiles: list[Any] = []
        self.mails = 0
        if self.mode == "stages":
            for module_name, attribute, label in STAGES:
                owner = importlib.import_module(module_name)
                name = attribute
                if "." in attribute:
                    class_name, name = attribute.split(".")
                    owner = getattr(owner, class_name)
                original = getattr(owner, name)
                timed = self._timed_async if inspect.iscoroutinefunction(original) else self._timed
                setattr(owner, name, timed(original, label))
        else:
            from async_mail.server import HubHandler

            HubHandler.process = self._profiled(HubHandler.process)
            HubHandler.handle_DATA = self._profiled_async(HubHandler.handle_DATA)

    def _record(self, label: str, cpu: float, wall: float) -> None:
        if not self.measuring.is_set():
            return
        with self.lock:
            entry = self.stages.setdefault(label, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += cpu
            entry[2] += wall

    def _timed(self, function: Any, label: str) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._record(label, time.thread_time() - cpu, time.perf_counter() - wall)
        return timed

    def _timed_async(self, function: Any, label: str) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()  # the handler never suspends: one thread
            try:
                return await function(*args, **kwargs)
            finally:
                self._record(label, time.thread_time() - cpu, time.perf_counter() - wall)
        return timed

    def _keep(self, profile: Any, mail: bool) -> None:
        with self.lock:
            self.profiles.append(profile)
            self.mails += int(mail)

    def _profiled(self, function: Any) -> Any:
        import cProfile

        def profiled(*args: Any, **kwargs: Any) -> Any:
            if not self.measuring.is_set():
                return function(*args, **kwargs)
            profile = cProfile.Profile()  # this thread only: one per mail, merged at the end
            profile.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profile.disable()
                self._keep(profile, True)
        return profiled

    def _profiled_async(self, function: Any) -> Any:
        import cProfile

        async def profiled(*args: Any, **kwargs: Any) -> Any:
            if not self.measuring.is_set():
                return await function(*args, **kwargs)
            profile = cProfile.Profile()
            profile.enable()
            try:
                return await function(*args, **kwargs)
            finally:
                profile.disable()
                self._keep(profile, False)
        return profiled

    def attach(self, engine: Any) -> None:
        if self.mode != "stages":
            return
        from sqlalchemy import event

        def count(name: str) -> None:
            if self.measuring.is_set():
                with self.lock:
                    self.sql[name] += 1

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(connection, cursor, statement, parameters, context, executemany) -> None:
            if self.measuring.is_set():
                words = " ".join(statement.split())
                key = _statement_kind(words)
                with self.lock:
                    self.sql["statements"] += 1
                    self.statements[key] = self.statements.get(key, 0) + 1

        @event.listens_for(engine.pool, "checkout")
        def _checkout(*_: Any) -> None:
            count("checkouts")

        @event.listens_for(engine, "commit")
        def _commit(*_: Any) -> None:
            count("commits")

        dialect = engine.dialect
        do_ping = dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> Any:
            count("pings")
            return do_ping(dbapi_connection)

        dialect.do_ping = counted_ping

    def dump(self) -> None:
        pid = os.getpid()
        if self.mode == "stages":
            Path(self.path, f"stages-{pid}.json").write_text(json.dumps(
                {"stages": self.stages, "sql": self.sql, "statements": self.statements}, indent=1))
            return
        import pstats

        if self.profiles:
            stats = pstats.Stats(self.profiles[0])
            for profile in self.profiles[1:]:
                stats.add(profile)
            stats.dump_stats(str(Path(self.path, f"hub-{pid}.prof")))
        Path(self.path, f"hub-{pid}.json").write_text(json.dumps({"mails": self.mails}))


def _statement_kind(statement: str) -> str:
    """``SELECT counters`` or ``INSERT INTO applications``: a statement's verb and first table."""
    words = statement.replace("(", " ( ").split()
    verb = words[0].upper() if words else "?"
    if verb == "WITH":
        return "WITH … (data-modifying CTE)"
    table = "?"
    for keyword in ("FROM", "INTO", "UPDATE"):
        upper = [w.upper() for w in words]
        if keyword in upper:
            index = upper.index(keyword) + 1
            if index < len(words):
                table = words[index].strip('"')
                break
    return f"{verb} {table}"


# -- the clients (spawned processes, one thread per SMTP session) ---------------------------------


def build_mails(pki_directory: str, counter: str, first_index: int, count: int) -> tuple[str, list[tuple[str, bytes]]]:
    """``count`` mails of ``counter``, each a CRE file of a distinct household, signed and encrypted to the hub."""
    from certificates import load_certificate, smime
    from certificates.reading import load_private_key
    from core import demo
    from core.domain.calendar import now_in_paris
    from support.files import interface_file
    from support.mails import entity, headers

    directory = Path(pki_directory)
    certificate = load_certificate((directory / counter / "cert.pem").read_bytes())
    key = load_private_key((directory / counter / "key.pem").read_bytes())
    hub = load_certificate((directory / "hub-cert.pem").read_bytes())
    mailbox = {c.code: c.mailbox for c in demo.COUNTERS}[counter]
    built = []
    for index in range(first_index, first_index + count):
        name = f"DEM{counter}-{now_in_paris():%Y%m%d%H%M}-{index % 1_000_000:06d}.xml"
        content = entity([(name, interface_file(counter, "CRE", person_form(index)))],
                         text=f"Demande du guichet {counter}")
        message_id = f"<bench-{uuid.uuid4().hex}@guichets.sne-hub.test>"
        sealed = smime.encrypt(smime.sign(content, certificate, key), hub)
        built.append((message_id, headers(mailbox, message_id, subject=f"Fichiers {counter}") + sealed))
    return mailbox, built


class Session:
    """A counter's SMTP client: MAIL, RCPT, DATA per mail; a new SMTP session every ``per_session`` mails."""

    def __init__(self, port: int, mailbox: str, per_session: int):
        self.port, self.mailbox, self.per_session = port, mailbox, per_session
        self.smtp: Any = None
        self.in_session = 0
        self.sessions = 0

    def send(self, raw: bytes) -> tuple[float, float]:
        """(DATA sent, 250 received), wall clock: comparable with PostgreSQL's clock on this machine."""
        import smtplib

        if self.smtp is None or self.in_session >= self.per_session:
            self.close()
            self.smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=SMTP_TIMEOUT_S)
            self.smtp.ehlo()
            self.sessions += 1
            self.in_session = 0
        code, answer = self.smtp.mail(self.mailbox)
        if code != 250:
            raise RuntimeError(f"MAIL FROM refused: {code} {answer!r}")
        code, answer = self.smtp.rcpt(HUB_MAIL)
        if code not in (250, 251):
            raise RuntimeError(f"RCPT TO refused: {code} {answer!r}")
        sent = time.time()
        code, answer = self.smtp.data(raw)  # raises SMTPDataError on anything but 250
        acked = time.time()
        self.in_session += 1
        return sent, acked

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # noqa: BLE001 - closing anyway
                self.smtp.close()
            self.smtp = None


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client(port: int, pki_directory: str, counter: str, sessions: int, first_index: int, count: int,
           per_session: int, warm_barrier: Any, go_barrier: Any, results: Any) -> None:
    """``sessions`` SMTP sessions of ``counter`` (a thread each) sending ``count`` pre-built mails between them."""
    try:
        mailbox, built = build_mails(pki_directory, counter, first_index, sessions * WARMUP + count)
        warmups = [built[i * WARMUP:(i + 1) * WARMUP] for i in range(sessions)]
        timed = built[sessions * WARMUP:]
        shares = [timed[i::sessions] for i in range(sessions)]
        ready = threading.Barrier(sessions + 1)
        go = threading.Event()
        outcome: list[Any] = [None] * sessions

        def run(slot: int) -> None:
            try:
                session = Session(port, mailbox, per_session)
                for _, raw in warmups[slot]:
                    session.send(raw)
                ready.wait(BARRIER_TIMEOUT_S)
                go.wait()
                records = []
                for message_id, raw in shares[slot]:
                    sent, acked = session.send(raw)
                    records.append((message_id, sent, acked))
                session.close()
                outcome[slot] = (records, session.sessions)
            except BaseException as error:  # noqa: BLE001
                outcome[slot] = error
                ready.abort()
                go.set()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
        for thread in threads:
            thread.start()
        try:
            ready.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            pass
        errors = [o for o in outcome if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        warm_barrier.wait(BARRIER_TIMEOUT_S)  # the coordinator waits for the warm-up mails to be processed
        go_barrier.wait(BARRIER_TIMEOUT_S)
        cpu_before = _own_cpu()
        go.set()
        for thread in threads:
            thread.join()
        cpu = _own_cpu() - cpu_before
        errors = [o for o in outcome if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        results.put(("ok", [r for o in outcome for r in o[0]], sum(o[1] for o in outcome), cpu))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        warm_barrier.abort()
        go_barrier.abort()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))


def lone_client(url: str, port: int, pki_directory: str, counter: str, first_index: int, count: int,
                warm_barrier: Any, go_barrier: Any, results: Any) -> None:
    """One session, one mail at a time: the next is sent once the previous one's reply is queued."""
    engine = None
    try:
        from sqlalchemy import text

        from core.adapters.database import make_engine

        mailbox, built = build_mails(pki_directory, counter, first_index, WARMUP + count)
        engine = make_engine(url)
        poll = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        query = text(f"SELECT m.status, m.reason_code, extract(epoch FROM o.{QUEUED_COLUMN}) FROM mail_messages m "
                     "LEFT JOIN mail_outbox o ON o.id = m.reply_id WHERE m.message_id = :message_id")
        session = Session(port, mailbox, 10 ** 9)

        def done(message_id: str) -> float:
            deadline = time.monotonic() + SMTP_TIMEOUT_S
            while True:
                row = poll.execute(query, {"message_id": message_id}).first()
                if row is not None and row[0] not in PENDING:
                    if row[0] != "processed" or row[2] is None:
                        raise RuntimeError(f"mail {message_id} {row[0]}: {row[1]}")
                    return float(row[2])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"mail {message_id} not processed after {SMTP_TIMEOUT_S} s")
                time.sleep(0.002)

        for message_id, raw in built[:WARMUP]:
            session.send(raw)
            done(message_id)
        warm_barrier.wait(BARRIER_TIMEOUT_S)
        go_barrier.wait(BARRIER_TIMEOUT_S)
        cpu_before = _own_cpu()
        records = []
        for message_id, raw in built[WARMUP:]:
            sent, acked = session.send(raw)
            records.append((message_id, sent, acked, done(message_id)))
        cpu = _own_cpu() - cpu_before
        session.close()
        poll.close()
        results.put(("ok", records, 1, cpu))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which stops the benchmark
        warm_barrier.abort()
        go_barrier.abort()
        results.put(("error", f"{error.__class__.__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        if engine is not None:
            engine.dispose()


# -- the database and the PKI (prepared, queried and dropped by a spawned helper process) ---------


def prepare(url: str, pki_directory: str, applications: int = 0, history: int = 0) -> None:
    """Write the demo PKI and its CA's (empty) revocation list; migrate, add the demo territory and
    counters with their certificates (support.registers.demo_register: with ``applications``, in a
    register of that many); then the benchmark's own additions (``instrument``)."""
    from certificates import write_demo_pki
    from certificates.authority import Authority
    from certificates.revocation import build_crl, crl_pem
    from core import demo
    from support.registers import demo_register

    directory = Path(pki_directory)
    described = write_demo_pki(directory, [(c.code, c.name, c.mailbox) for c in demo.COUNTERS], HUB_MAIL)
    (directory / "crl.pem").write_bytes(crl_pem(build_crl(Authority.load(directory), [], 1)))  # as `certificates demo`
    demo_register(url, {code: Path(files["cert"]).read_bytes() for code, files in described["counters"].items()},
                  applications, log)
    instrument(url, history)


def prepare_served(url: str, directory: str, applications: int = 0, history: int = 0) -> str:
    """The register and the PKI as an operator prepares them (``support.topology.seed_register``, as
    ``make run`` does), with ``applications`` loaded before the seed; then the benchmark's own
    additions. Returns the PKI's directory."""
    from support.topology import seed_register

    environment = {**os.environ, "SNE_HUB_DATABASE_URL": url, "SNE_HUB_LOG_LEVEL": "WARNING"}
    seed_register(Path(directory), url, environment, applications, log)
    instrument(url, history)
    return str(Path(directory) / "var" / "demo")


def instrument(url: str, history: int = 0) -> None:
    """The benchmark's additions to the register: the baseline's table, a column of ``mail_outbox``
    that keeps the moment each reply is queued, read back after each measurement, and ``history``
    mails already processed (``MAIL_HISTORY``)."""
    from sqlalchemy import MetaData, text

    from async_mail.config import MailSettings
    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        metadata = MetaData()
        baseline_table(metadata)
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE mail_outbox ADD COLUMN {QUEUED_COLUMN} timestamptz NOT NULL "
                                    "DEFAULT clock_timestamp()"))
            if history:
                step = MailSettings().retention.total_seconds() / (history + 1)  # the last within the period
                connection.execute(text(MAIL_HISTORY), {"mails": history, "size": HISTORY_MAIL_BYTES, "step": step})
                log(f"stored a history of {history:,} processed mails and their replies")
    finally:
        engine.dispose()


# A mail channel that has been running: ``mails`` mails processed over its retention period (what a
# channel holds: older ones are erased, docs/MAIL.md "Retention"), from the demo's counters, each
# with its reply sent. Their bytes are a received mail's and a reply's size but one
# byte repeated, which PostgreSQL stores compressed to almost nothing: no statement of a mail reads
# another mail's bytes, while the rows, their indexes and the planner's statistics are those of a
# real history. Digests and Message-IDs are the history's own and match no mail sent.
HISTORY_MAIL_BYTES = 13 * 1024
MAIL_HISTORY = """
    WITH replies AS (
        INSERT INTO mail_outbox (created_at, recipient, message_id, raw, status, attempts, next_attempt_at, sent_at)
        SELECT now() - make_interval(secs => i * :step), 'historique@example.org',
               '<reponse-' || i || '@hub.example.org>', convert_to(repeat('x', :size), 'UTF8'), 'sent', 1,
               now() - make_interval(secs => i * :step), now() - make_interval(secs => i * :step)
        FROM generate_series(1, :mails) AS i
        RETURNING id, created_at, substring(message_id FROM '[0-9]+')::integer AS i)
    INSERT INTO mail_messages (received_at, message_id, sender, raw, status, digest, counter_code, reply_id,
                               processed_at)
    SELECT r.created_at, '<historique-' || r.i || '@guichet.example.org>', 'historique@example.org',
           convert_to(repeat('x', :size), 'UTF8'), 'processed', encode(sha256(convert_to('historique ' || r.i, 'UTF8')),
           'hex'), (ARRAY['DEMOB', 'DEMOC', 'DEMOE'])[1 + r.i % 3], r.id, r.created_at
    FROM replies AS r"""


def settle(url: str, expected: int, timeout: float) -> float:
    """Wait until ``expected`` mails are stored and none is waiting or being processed; seconds waited."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    started = time.monotonic()
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            pending = text("SELECT EXISTS (SELECT 1 FROM mail_messages WHERE status IN ('received', 'processing'))")
            while True:
                if not connection.execute(pending).scalar_one():
                    total = connection.execute(text("SELECT count(*) FROM mail_messages")).scalar_one()
                    if total >= expected:
                        return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    total = connection.execute(text("SELECT count(*) FROM mail_messages")).scalar_one()
                    raise TimeoutError(f"{total} of {expected} mails stored, some still waiting after {timeout:.0f} s")
                time.sleep(0.05)
    finally:
        engine.dispose()


def outcomes(url: str, message_ids: list[str]) -> dict[str, tuple[str, str | None, float | None]]:
    """Per Message-ID: status, refusal code, and when its reply was queued (epoch seconds)."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                f"SELECT m.message_id, m.status, m.reason_code, extract(epoch FROM o.{QUEUED_COLUMN}) "
                "FROM mail_messages m LEFT JOIN mail_outbox o ON o.id = m.reply_id "
                "WHERE m.message_id = ANY(:ids)"), {"ids": message_ids})
            return {r[0]: (r[1], r[2], float(r[3]) if r[3] is not None else None) for r in rows}
    finally:
        engine.dispose()


def mails_per_process(url: str, message_ids: list[str]) -> list[int]:
    """How many of these mails each mail process took (its lease's owner), most first."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM mail_messages WHERE message_id = ANY(:ids) "
                                           "GROUP BY owner ORDER BY 1 DESC"), {"ids": message_ids})
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def count_applications(url: str) -> int:
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM applications")).scalar_one()
    finally:
        engine.dispose()


def check_reply(url: str, pki_directory: str, message_id: str) -> str:
    """Open the reply to ``message_id`` as its counter would (decrypt, verify against the CA) and
    check its answer file: a registration number, no anomaly. Returns the answer file's name."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from async_mail import messages
    from certificates import load_certificate, smime
    from certificates.reading import load_private_key
    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT m.counter_code, o.raw FROM mail_messages m JOIN mail_outbox o ON o.id = m.reply_id "
                "WHERE m.message_id = :message_id"), {"message_id": message_id}).one()
    finally:
        engine.dispose()
    directory = Path(pki_directory)
    verified = smime.open_message(
        row.raw, hub_certificate=load_certificate((directory / row.counter_code / "cert.pem").read_bytes()),
        hub_key=load_private_key((directory / row.counter_code / "key.pem").read_bytes()),
        trusted=[load_certificate((directory / "ca.pem").read_bytes())], crls=[], at=datetime.now(timezone.utc))
    files = dict(messages.attachments(verified.content))
    answers = [name for name in files if name.startswith("RET") and name.endswith(".xml")]
    if len(answers) != 1 or b"numUnique>" not in files[answers[0]] or b"listeAnomalie" in files[answers[0]]:
        raise RuntimeError(f"the reply to {message_id} carries no clean registration: {sorted(files)}")
    if not any(name.startswith("ATT") and files[name].startswith(b"%PDF") for name in files):
        raise RuntimeError(f"the reply to {message_id} carries no attestation: {sorted(files)}")
    return answers[0]


def sizes(url: str) -> tuple[float, float]:
    """Average bytes of a received mail and of a queued reply."""
    from sqlalchemy import text

    from core.adapters.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return (float(connection.execute(text("SELECT avg(length(raw)) FROM mail_messages")).scalar_one()),
                    float(connection.execute(text("SELECT avg(length(raw)) FROM mail_outbox")).scalar_one()))
    finally:
        engine.dispose()


def library_versions() -> dict[str, str]:
    import ssl
    from importlib.metadata import version

    return {name: version(name) for name in ("aiosmtpd", "cryptography", "asn1crypto", "lxml")} | {
        "openssl": ssl.OPENSSL_VERSION}


class Database:
    """The throwaway register: created, prepared, analyzed, dropped; counts the mails sent to the hub.

    For the hub as deployed (``deployment`` serve), the register and the PKI are prepared by the
    hub's own commands in ``workdir``/layout, where ``Served`` then starts `sne-hub serve`."""

    def __init__(self, admin: ProcessPoolExecutor, server_url: str, pki_directory: str, keep_statistics: bool,
                 deployment: str = RIG, workdir: str = "", applications: int = 0, history: int = 0):
        self.admin, self.server_url, self.pki = admin, server_url, pki_directory
        self.applications, self.history = applications, history
        self.keep_statistics, self.deployment = keep_statistics, deployment
        self.directory = Path(workdir) / "layout"
        self.name = f"sne_hub_bench_mail_{uuid.uuid4().hex[:12]}"
        self.url = ""
        self.hub_mails = history  # rows of mail_messages

    def analyze(self) -> None:
        if self.keep_statistics:
            self.admin.submit(analyze, self.url).result()

    def settle(self, timeout: float) -> float:
        return self.admin.submit(settle, self.url, self.hub_mails, timeout).result()

    def __enter__(self) -> "Database":
        self.url = self.admin.submit(create_postgres_database, self.server_url, self.name).result()
        try:
            if self.deployment == SERVE:
                self.directory.mkdir(parents=True)
                self.pki = self.admin.submit(prepare_served, self.url, str(self.directory), self.applications,
                                             self.history).result()
            else:
                self.admin.submit(prepare, self.url, self.pki, self.applications, self.history).result()
        except BaseException:
            self.__exit__()
            raise
        self.analyze()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.admin.submit(drop_postgres_database, self.server_url, self.name).result()


# -- measurements (in the coordinating process) ---------------------------------------------------


@dataclass
class Sample:
    count: int
    wall_s: float  # first DATA to last reply queued (the baseline: to the last 250)
    accept_wall_s: float  # first DATA to last 250
    latencies_s: list[float]  # DATA sent to reply queued (the baseline: to 250)
    accept_latencies_s: list[float]  # DATA sent to 250
    peak_rss_kib: int  # the largest server process
    total_rss_kib: int  # the server processes together
    cpu_s: dict[str, float]
    per_server: list[int]
    sessions: int

    @property
    def throughput(self) -> float:
        return self.count / self.wall_s

    @property
    def accepted(self) -> float:
        return self.count / self.accept_wall_s

    def percentile_ms(self, p: float, accept: bool = False) -> float:
        return percentile(self.accept_latencies_s if accept else self.latencies_s, p) * 1000

    def cpu_ms(self, who: str) -> float:
        return self.cpu_s[who] / self.count * 1000


class Servers:
    """``count`` server processes, each on its own port (and its own baseline port); the baseline
    alone without ``hub``."""

    def __init__(self, context: Any, count: int, workers: str, database: Database, workdir: str,
                 profile: dict | None = None, measuring: Any = None, hub: bool = True):
        self.context, self.count, self.workers, self.database, self.workdir = context, count, workers, database, workdir
        self.profile, self.measuring, self.hub = profile, measuring, hub
        self.ports = [free_port() for _ in range(count)]
        self.baseline_ports = [free_port() for _ in range(count)]
        self.processes: list[Any] = []
        self.pids: list[int] = []

    def __enter__(self) -> "Servers":
        ready = self.context.Queue()
        self.stop_event = self.context.Event()
        measuring = self.measuring if self.measuring is not None else self.context.Event()
        for index in range(self.count):
            log_path = str(Path(self.workdir) / f"server-{self.count}x{self.workers}-{index}.log")
            process = self.context.Process(
                target=server, args=(self.database.url, self.database.pki, self.ports[index] if self.hub else None,
                                     self.baseline_ports[index], self.workers, log_path,
                                     str(Path(self.workdir) / "drop"), ready, self.stop_event, self.profile,
                                     measuring), daemon=True)
            process.start()
            self.processes.append(process)
        try:
            for _ in range(self.count):
                report = ready.get(timeout=120)
                if report[0] == "error":
                    raise RuntimeError(f"a server process failed to start: {report[1]}")
        except BaseException:
            self.__exit__()
            raise
        self.pids = [p.pid for p in self.processes]
        return self

    @property
    def baseline_pids(self) -> list[int]:
        return self.pids  # the baseline runs in the hub's server processes

    def mails_per_process(self, admin: ProcessPoolExecutor, message_ids: list[str], shares: list[int]) -> list[int]:
        return shares  # each process has its own port: the clients' shares

    def __exit__(self, *exc_info: object) -> None:
        self.stop_event.set()
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()

    def logs_tail(self) -> str:
        return logs_tail(self.workdir)


class Served:
    """The hub as users run it: ``count`` ``sne-hub serve --only mail`` processes started in the
    register's directory with default settings but two, the production ones of docs/DEPLOYMENT.md
    (encryption required; the SMTP port, shared by the processes with ``SO_REUSEPORT``), each
    pipeline thread count its default unless ``--workers`` says otherwise. Replies are delivered as
    `make run` does without a relay, as files under var/demo (their delivery is not timed, its
    CPU counts). The baseline runs in ``count`` processes of its own, one port each."""

    def __init__(self, context: Any, count: int, workers: str, database: Database, workdir: str):
        self.context, self.count, self.workers, self.database, self.workdir = context, count, workers, database, workdir
        self.port = free_port()
        self.ports = [self.port]  # the clients' sessions are spread over the processes by the kernel
        self.baseline = Servers(context, count, workers, database, workdir, hub=False)
        self.processes: list[Any] = []
        self.pids: list[int] = []

    def __enter__(self) -> "Served":
        import subprocess

        from bench.soap import descendants, listeners
        from support.topology import SNE_HUB, wait_until

        environment = {**os.environ, "SNE_HUB_DATABASE_URL": self.database.url,
                       "SNE_HUB_SMTP_PORT": str(self.port), "SNE_HUB_MAIL_REQUIRE_ENCRYPTION": "on",
                       **({} if self.workers == SERVE else {"SNE_HUB_MAIL_WORKERS": self.workers})}
        environment.pop("SNE_HUB_LOG_LEVEL", None)  # the default, INFO
        try:
            self.baseline.__enter__()
            for index in range(self.count):
                log_path = Path(self.workdir) / f"serve-{self.count}x{self.workers}-{index}.log"
                self.processes.append(subprocess.Popen(
                    [SNE_HUB, "serve", "--only", "mail"], cwd=self.database.directory, env=environment,
                    stdout=subprocess.DEVNULL, stderr=log_path.open("ab")))
            wait_until(lambda: any(p.poll() is not None for p in self.processes) or listeners(self.port) >= self.count,
                       f"{self.count} mail process(es) listening on {self.port}")
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"sne-hub serve ended:\n{self.logs_tail()}")
        except BaseException:
            self.__exit__()
            raise
        self.pids = [pid for p in self.processes for pid in descendants(p.pid)]  # a supervisor's children too
        self.baseline_ports = self.baseline.baseline_ports
        return self

    @property
    def baseline_pids(self) -> list[int]:
        return self.baseline.pids

    def mails_per_process(self, admin: ProcessPoolExecutor, message_ids: list[str], shares: list[int]) -> list[int]:
        return admin.submit(mails_per_process, self.database.url, message_ids).result()

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()  # SIGTERM: a graceful stop, the leases let go
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: it did not stop
                process.kill()
        self.baseline.__exit__()

    def logs_tail(self) -> str:
        return logs_tail(self.workdir)


def logs_tail(workdir: str) -> str:
    out = []
    for log_file in sorted(Path(workdir).glob("serve*.log")):
        tail = log_file.read_text(errors="replace").splitlines()[-15:]
        out.append(f"--- {log_file.name}\n" + "\n".join(tail))
    return "\n".join(out)


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _failure(results: Any, workers: list, what: str) -> str:
    try:
        report = results.get(timeout=10)
    except queue.Empty:
        return f"the {what} clients never got ready: exit codes {[p.exitcode for p in workers]}"
    return f"a {what} client failed: {report[1]}" if report[0] == "error" else f"the {what} clients never got ready"


def _collect(results: Any, workers: list, count: int, what: str) -> list[tuple]:
    reports = []
    while len(reports) < count:
        try:
            report = results.get(timeout=5)
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in workers):
                raise RuntimeError(f"a {what} client died: exit codes {[p.exitcode for p in workers]}") from None
            continue
        if report[0] == "error":
            raise RuntimeError(f"a {what} client failed: {report[1]}")
        reports.append(report)
    return reports


def measure(context: Any, admin: ProcessPoolExecutor, servers: Servers | Served, database: Database, target: str,
            mails: int, client_processes: int, sessions: int, per_session: int, people: People) -> Sample:
    """A burst of ``mails`` pre-built mails over ``sessions`` SMTP sessions, to the hub or to the baseline."""
    processes = min(client_processes, sessions)
    session_counts = _split(sessions, processes)
    shares = [sum(_split(mails, sessions)[sum(session_counts[:i]):sum(session_counts[:i + 1])])
              for i in range(processes)]
    ports = servers.ports if target == HUB else servers.baseline_ports
    warm = context.Barrier(processes + 1)
    go = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(target=client, args=(
            ports[i % len(ports)], database.pki, COUNTER_CODES[i % len(COUNTER_CODES)], session_counts[i],
            people.take(session_counts[i] * WARMUP + shares[i]), shares[i], per_session, warm, go, results),
            daemon=True)
        for i in range(processes)
    ]
    per_server = [sum(shares[i] for i in range(processes) if i % len(ports) == k) for k in range(len(ports))]
    pids = servers.pids if target == HUB else servers.baseline_pids
    for process in workers:
        process.start()
    window = CpuWindow(pids, database.name)
    timeout = 120 + mails / 5
    try:
        try:
            warm.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            raise RuntimeError(_failure(results, workers, target)) from None
        if target == HUB:
            database.hub_mails += sessions * WARMUP
            database.settle(timeout)  # the warm-up mails processed: the workers' queues are empty
            applications_before = admin.submit(count_applications, database.url).result()
        for pid in pids:
            reset_peak(pid)
        window.start()
        try:
            go.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            raise RuntimeError(_failure(results, workers, target)) from None
        reports = _collect(results, workers, processes, target)
        if target == HUB:
            database.hub_mails += mails
            database.settle(timeout)
        cpu = window.stop()
        peaks = [peak_kib(pid) for pid in pids]
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    records = [r for report in reports for r in report[1]]
    first_sent = min(r[1] for r in records)
    accept_latencies = [r[2] - r[1] for r in records]
    last_ack = max(r[2] for r in records)
    if target == HUB:
        found = admin.submit(outcomes, database.url, [r[0] for r in records]).result()
        bad = [(m, found.get(m)) for m, _, _ in records if found.get(m, (None,))[0] != "processed"
               or found[m][2] is None]
        if bad:
            raise RuntimeError(f"{len(bad)} of {len(records)} mails not processed with a reply, e.g. {bad[:3]}")
        registered = admin.submit(count_applications, database.url).result() - applications_before
        if registered != len(records):
            raise RuntimeError(f"{len(records)} mails processed but {registered} applications registered")
        admin.submit(check_reply, database.url, database.pki, records[len(records) // 2][0]).result()
        queued = [found[m][2] for m, _, _ in records]
        latencies = [q - r[1] for q, r in zip(queued, records)]
        wall = max(queued) - first_sent
        per_server = servers.mails_per_process(admin, [r[0] for r in records], per_server)
    else:
        latencies, wall = accept_latencies, last_ack - first_sent
    cpu["clients"] = sum(r[3] for r in reports)
    ours = cpu["servers"] + cpu["postgres"] + cpu["clients"]
    cpu["others_cores"] = max(0.0, cpu["machine_busy_s"] - ours) / cpu["window_s"] if cpu["window_s"] else 0.0
    return Sample(len(records), wall, last_ack - first_sent, latencies, accept_latencies, max(peaks), sum(peaks),
                  cpu, per_server, sum(r[2] for r in reports))


def measure_lone(context: Any, servers: Servers | Served, database: Database, mails: int, people: People,
                 measuring: Any = None) -> Sample:
    """One session, one mail at a time, to the first server process: latency without any queue."""
    warm = context.Barrier(2)
    go = context.Barrier(2)
    results = context.Queue()
    process = context.Process(target=lone_client, args=(
        database.url, servers.ports[0], database.pki, COUNTER_CODES[0], people.take(WARMUP + mails), mails, warm,
        go, results), daemon=True)
    process.start()
    window = CpuWindow(servers.pids, database.name)
    try:
        try:
            warm.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            raise RuntimeError(_failure(results, [process], LONE)) from None
        database.hub_mails += WARMUP + mails
        if measuring is not None:
            measuring.set()
        for pid in servers.pids:
            reset_peak(pid)
        window.start()
        try:
            go.wait(BARRIER_TIMEOUT_S)
        except threading.BrokenBarrierError:
            raise RuntimeError(_failure(results, [process], LONE)) from None
        report = _collect(results, [process], 1, LONE)[0]
        cpu = window.stop()
        if measuring is not None:
            measuring.clear()
        peaks = [peak_kib(pid) for pid in servers.pids]
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    records = report[1]
    cpu["clients"] = report[3]
    ours = cpu["servers"] + cpu["postgres"] + cpu["clients"]
    cpu["others_cores"] = max(0.0, cpu["machine_busy_s"] - ours) / cpu["window_s"] if cpu["window_s"] else 0.0
    latencies = [r[3] - r[1] for r in records]
    return Sample(len(records), max(r[3] for r in records) - min(r[1] for r in records),
                  max(r[2] for r in records) - min(r[1] for r in records), latencies, [r[2] - r[1] for r in records],
                  max(peaks), sum(peaks), cpu, [len(records)] + [0] * (len(servers.pids) - 1), 1)


# -- the machine and the report -------------------------------------------------------------------


def machine(software: dict[str, str], libraries: dict[str, str]) -> list[tuple[str, str]]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable by this process), shared by the "
                f"server processes, the clients and PostgreSQL"),
        ("RAM", ram_gib()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}, aiosmtpd {libraries['aiosmtpd']}, "
                   f"cryptography {libraries['cryptography']}, asn1crypto {libraries['asn1crypto']}, "
                   f"lxml {libraries['lxml']}, SQLAlchemy {software['sqlalchemy']}, psycopg {software['psycopg']}"),
        ("Crypto", f"{libraries['openssl']} (Python's ssl); RSA 2048 keys (demo PKI), SHA-256, AES-256-CBC"),
        ("PostgreSQL", f"{software['server_version']} at {software['host']} (fsync={software['fsync']}, "
                       f"synchronous_commit={software['synchronous_commit']}, "
                       f"shared_buffers={software['shared_buffers']})"),
    ]


@dataclass
class Row:
    servers: int
    workers: str | None
    handler: str
    samples: list[Sample] = field(default_factory=list)


HEADERS = ("server processes", "workers", "handler", "mails/s", "hub/baseline", "SMTP accepted/s", "p50 ms",
           "p95 ms", "p99 ms", "DATA→250 p50 ms", "peak RSS MiB (largest)", "peak RSS MiB (sum)")
CPU_HEADERS = ("server processes", "workers", "handler", "CPU busy %", "other work (cores)", "server CPU ms/mail",
               "PostgreSQL CPU ms/mail", "client CPU ms/mail", "mails per server process")
LEFT = {"handler", "mails per server process"}


def _latency(values: list[float]) -> str:
    return spread(values, latency_digits(values))


def cells(row: Row, baseline: Row | None) -> list[str]:
    ratio = "—"
    if row.handler == HUB and baseline is not None and len(baseline.samples) == len(row.samples):
        ratio = spread([h.throughput / b.throughput for h, b in zip(row.samples, baseline.samples)], 2)
    latencies = [_latency([s.percentile_ms(p) for s in row.samples]) for p in (50, 95, 99)]
    return [str(row.servers), str(row.workers) if row.workers else "—", row.handler,
            spread([s.throughput for s in row.samples], 1 if row.handler == LONE else 0), ratio,
            spread([s.accepted for s in row.samples]) if row.handler == HUB else "—", *latencies,
            _latency([s.percentile_ms(50, accept=True) for s in row.samples]),
            spread([s.peak_rss_kib / 1024 for s in row.samples], 1),
            spread([s.total_rss_kib / 1024 for s in row.samples], 1)]


def cpu_cells(row: Row) -> list[str]:
    return [str(row.servers), str(row.workers) if row.workers else "—", row.handler,
            spread([s.cpu_s["machine_busy"] * 100 for s in row.samples]),
            spread([s.cpu_s["others_cores"] for s in row.samples], 2),
            spread([s.cpu_ms("servers") for s in row.samples], 1),
            spread([s.cpu_ms("postgres") for s in row.samples], 1),
            spread([s.cpu_ms("clients") for s in row.samples], 1),
            "; ".join("/".join(str(n) for n in s.per_server) for s in row.samples)]


def tables(rows: list[Row]) -> tuple[list[list[str]], list[list[str]]]:
    baselines = {r.servers: r for r in rows if r.handler == BASELINE}
    return [cells(r, baselines.get(r.servers)) for r in rows], [cpu_cells(r) for r in rows if r.handler != LONE]


def plain_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def markdown_table(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if h in LEFT else "---:" for h in headers) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def verdict(rows: list[Row]) -> str:
    hubs = [r for r in rows if r.handler == HUB and r.samples]
    if not hubs:
        return ""
    best = max(hubs, key=lambda r: statistics.median(s.throughput for s in r.samples))
    rate = statistics.median(s.throughput for s in best.samples)
    return (f"Best configuration: {best.servers} server process(es) with {best.workers} pipeline workers each, "
            f"{spread([s.throughput for s in best.samples])} mails/s end to end; the target of {TARGET}/s is "
            f"{'met' if rate >= TARGET else 'not met'}.")


# -- profiling ------------------------------------------------------------------------------------

# Where the (profiled, wall) self time goes, by library: (label, test on (filename, function)).
def _category(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    root = str(ROOT).replace("\\", "/") + "/"
    if path == "~":  # built-in and C-extension functions: named by their object
        if any(k in function for k in ("cryptography", "pkcs7", "_rust", "x509", "RSAP", "hashes")):
            return "cryptography (C/Rust: RSA, AES, X.509, hashes)"
        if "lxml" in function or "etree" in function:
            return "lxml (C: XML parse, XSD, serialise)"
        if "hashlib" in function or "_sha" in function:
            return "hashlib"
        return OTHER_BUILTINS
    if path.endswith("/psycopg/connection.py") and function == "wait":
        return "waiting for PostgreSQL (psycopg wait)"
    for marker, label in (("/asn1crypto/", "asn1crypto (pure Python: CMS, certificates)"),
                          ("/email/", "email package (pure Python: MIME parse and build)"),
                          ("/sqlalchemy/", "SQLAlchemy"),
                          ("/psycopg/", "psycopg (Python side)"),
                          ("/cryptography/", "cryptography (Python side)"),
                          ("/aiosmtpd/", "aiosmtpd, asyncio"), ("/asyncio/", "aiosmtpd, asyncio"),
                          ("/lxml/", "lxml (C: XML parse, XSD, serialise)")):
        if marker in path:
            return label
    if path.startswith(root + "core/"):
        return "core/ (register, codec, PDF)"
    if path.startswith(root + "async_mail/"):
        return "async_mail/ (pipeline, S/MIME glue)"
    if path.startswith(root + "certificates/"):
        return "certificates/"
    return "other Python (stdlib: re, base64, datetime…)"


OTHER_BUILTINS = "other built-ins (C)"


def by_library(stats: Any) -> dict[str, float]:
    """Self time by library; generic built-ins go to their callers' libraries, pro rata."""
    totals: dict[str, float] = {}

    def add(label: str, seconds: float) -> None:
        totals[label] = totals.get(label, 0.0) + seconds

    for (filename, _line, function), (_cc, _nc, tt, _ct, callers) in stats.stats.items():
        label = _category(filename, function)
        shares = {caller: values[2] for caller, values in (callers or {}).items()}
        if label != OTHER_BUILTINS or sum(shares.values()) <= 0:
            add(label, tt)
            continue
        whole = sum(shares.values())
        for (caller_file, _caller_line, caller_function), share in shares.items():
            add(_category(caller_file, caller_function), tt * share / whole)
    return totals


def profile(context: Any, arguments: argparse.Namespace, admin: ProcessPoolExecutor, workdir: str, pki: str) -> int:
    import io
    import pstats

    directory = Path(arguments.profile).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for old in list(directory.glob("stages-*.json")) + list(directory.glob("hub-*.prof")) + \
            list(directory.glob("hub-*.json")):
        old.unlink()
    people = People()
    samples = {}
    with Database(admin, arguments.postgres_url, pki, keep_statistics=not arguments.no_analyze,
                  applications=arguments.register, history=arguments.history) as database:
        for mode in ("stages", "cprofile"):
            measuring = context.Event()
            with Servers(context, 1, str(arguments.profile_workers), database, workdir,
                         profile={"mode": mode, "path": str(directory)}, measuring=measuring) as servers:
                try:
                    samples[mode] = measure_lone(context, servers, database, arguments.profile_mails, people,
                                                 measuring)
                except BaseException:
                    log(servers.logs_tail())
                    raise
            database.analyze()
            sample = samples[mode]
            log(f"profiled ({mode}): {sample.count} mails one at a time, p50 {sample.percentile_ms(50):.1f} ms, "
                f"server {sample.cpu_ms('servers'):.1f} ms CPU/mail, PostgreSQL {sample.cpu_ms('postgres'):.1f} ms/mail")
        mail_bytes, reply_bytes = admin.submit(sizes, database.url).result()
    stages_file = next(directory.glob("stages-*.json"))
    recorded = json.loads(stages_file.read_text())
    stages = recorded["stages"]
    mails = stages.get("pipeline, whole (worker thread)", [0])[0] or 1
    sample = samples["stages"]
    print(f"== Stages: {mails} mails sent one at a time to one server process ({arguments.profile_workers} "
          f"worker(s)), timers only (no profiler); per mail")
    print(f"   DATA sent to reply queued: p50 {sample.percentile_ms(50):.1f} ms, p95 {sample.percentile_ms(95):.1f} ms; "
          f"server process CPU {sample.cpu_ms('servers'):.2f} ms, PostgreSQL CPU {sample.cpu_ms('postgres'):.2f} ms "
          f"(includes the client's polling), client CPU {sample.cpu_ms('clients'):.2f} ms")
    print(f"  {'stage':<78} {'calls':>6} {'CPU ms':>7} {'wall ms':>8}")
    for _, _, label in STAGES:
        if label in stages:
            calls, cpu, wall = stages[label]
            print(f"  {label:<78} {calls / mails:6.1f} {cpu / mails * 1000:7.2f} {wall / mails * 1000:8.2f}")
    sql = recorded["sql"]
    print(f"  SQL per mail: {sql['statements'] / mails:.1f} statements, {sql['commits'] / mails:.1f} commits, "
          f"{sql['checkouts'] / mails:.1f} connection checkouts, {sql['pings'] / mails:.1f} pre-pings")
    for kind, count in sorted(recorded["statements"].items(), key=lambda item: -item[1]):
        print(f"    {count / mails:5.2f}  {kind}")
    print(f"  sizes: a received mail {mail_bytes / 1024:.1f} KiB, its queued reply {reply_bytes / 1024:.1f} KiB (average)")
    print()
    prof_files = sorted(directory.glob("hub-*.prof"))
    counted = json.loads(next(directory.glob("hub-*.json")).read_text())["mails"] or 1
    stats = pstats.Stats(*map(str, prof_files))
    waits = sum(nc for (filename, _, function), (_, nc, _, _, _) in stats.stats.items()
                if function == "wait" and filename.replace("\\", "/").endswith("/psycopg/connection.py"))
    print(f"== Round trips to PostgreSQL (psycopg waits for the server), from cProfile: {waits / counted:.1f} per mail")
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.stats.items())
    by_category = by_library(stats)
    print(f"== cProfile: {counted} mails (the worker's processing and the DATA handler), wall ms per mail, "
          f"self time by library (generic C built-ins such as isinstance, str.join or re counted with the "
          f"library that called them; lxml's compiled functions are invisible to cProfile and count in core/; "
          f"cProfile slows pure Python down more than C)")
    for label, tt in sorted(by_category.items(), key=lambda item: -item[1]):
        print(f"  {label:<58} {tt / counted * 1000:7.2f} ms  {tt / total * 100:5.1f} %")
    print(f"  {'total':<58} {total / counted * 1000:7.2f} ms")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())
    print(f"Profiles in {directory}: .venv/bin/python -m pstats {prof_files[0]}")
    return 0


# -- main -----------------------------------------------------------------------------------------


def worker_tokens(value: str) -> list[str]:
    tokens = [part.strip() for part in value.split(",")]
    if not tokens or not all(t == SERVE or re.fullmatch(r"[1-9][0-9]*", t) for t in tokens):
        raise argparse.ArgumentTypeError("a comma-separated list of thread counts, or serve")
    return tokens


def counts(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of counts, e.g. 1,2") from None
    if not numbers or any(n < 1 for n in numbers):
        raise argparse.ArgumentTypeError("every count must be at least 1")
    return numbers


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/mail.py",
        description="Signed and encrypted CRE mails (one file each, distinct households) processed end to end per "
                    "second by the hub's mail channel, on PostgreSQL: real SMTP sessions from concurrent clients, "
                    "stored, decrypted, verified, processed through core, answered by a signed and encrypted reply "
                    "queued in the outbox (delivery not timed), with 1 or more server processes and several "
                    "pipeline workers; against a baseline that stores each received mail as one row. Each "
                    "measurement is repeated and reported as median (min–max). Progress goes to stderr, results "
                    "to stdout.",
    )
    parser.add_argument("--deployment", choices=(SERVE, RIG), default=SERVE,
                        help="serve: the hub as users run it, `sne-hub serve --only mail` processes sharing one "
                             "port, the register prepared by its own commands; rig: the hub's mail channel set up "
                             "by the benchmark in its own server processes, one port each, the baseline beside it "
                             "(--profile always uses it) (default: serve)")
    parser.add_argument("--mails", type=positive, default=DEFAULT_MAILS,
                        help=f"timed mails per measurement, shared by the sessions (default: {DEFAULT_MAILS})")
    parser.add_argument("--runs", type=positive, default=3, help="repetitions of each measurement (default: 3)")
    parser.add_argument("--server-processes", type=counts, default=counts(DEFAULT_SERVER_PROCESSES),
                        help="server process counts to measure, comma-separated (default: "
                             f"{DEFAULT_SERVER_PROCESSES})")
    parser.add_argument("--workers", type=worker_tokens, default=worker_tokens(DEFAULT_WORKERS),
                        help="pipeline threads per server process to measure, comma-separated: N, or serve, "
                             f"what `sne-hub serve` does by default (default: {DEFAULT_WORKERS})")
    parser.add_argument("--client-processes", type=positive, default=DEFAULT_CLIENT_PROCESSES,
                        help="client processes (with --deployment rig, spread round robin over the server "
                             f"processes' ports) (default: {DEFAULT_CLIENT_PROCESSES})")
    parser.add_argument("--sessions", type=positive, default=DEFAULT_SESSIONS,
                        help=f"concurrent SMTP sessions, over the client processes (default: {DEFAULT_SESSIONS})")
    parser.add_argument("--per-session", type=positive, default=DEFAULT_PER_SESSION,
                        help=f"mails sent per SMTP session before a new one (default: {DEFAULT_PER_SESSION})")
    parser.add_argument("--lone", type=int, default=DEFAULT_LONE,
                        help="mails sent one at a time (each once the previous reply is queued) to the first server "
                             "process of the first configuration measured, per run; 0 to skip "
                             f"(default: {DEFAULT_LONE})")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="PostgreSQL server; a throwaway database is created on it and dropped at the end "
                             f"(default: {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--markdown", action="store_true",
                        help="print the machine and the results as Markdown, for docs/BENCHMARKS.md")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not ANALYZE the database after the set-up and after each measurement")
    parser.add_argument("--register", type=non_negative, default=DEFAULT_REGISTER, metavar="APPLICATIONS",
                        help="applications in the register before the first measurement, loaded by "
                             "support.registers.bulk_load and analysed, as in bench/soap.py "
                             f"(default: {DEFAULT_REGISTER})")
    parser.add_argument("--history", type=non_negative, default=DEFAULT_HISTORY, metavar="MAILS",
                        help="mails already processed, each with its sent reply, stored and analysed before the "
                             "first measurement, as a running mail channel holds them "
                             f"(default: {DEFAULT_HISTORY})")
    parser.add_argument("--profile", metavar="DIR",
                        help="instead of the benchmark: one server process, mails sent one at a time, first with "
                             "timers around the stages, then with cProfile around every mail; .prof files go to DIR "
                             "and a summary of where the time goes is printed")
    parser.add_argument("--profile-mails", type=positive, default=DEFAULT_PROFILE_MAILS,
                        help=f"mails per profiling pass (default: {DEFAULT_PROFILE_MAILS})")
    parser.add_argument("--profile-workers", type=positive, default=2,
                        help="pipeline threads of the profiled server process, which runs the pipeline in its own "
                             "threads so that the timers see every stage (default: 2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as admin, \
            tempfile.TemporaryDirectory(prefix="sne-hub-bench-mail-") as workdir:
        pki = str(Path(workdir) / "pki")
        try:
            software = admin.submit(software_facts, arguments.postgres_url).result()
        except Exception as error:  # noqa: BLE001 - the server is down or refuses us
            log(f"PostgreSQL unreachable at {arguments.postgres_url}: {error.__class__.__name__}: {error}")
            return 2
        libraries = admin.submit(library_versions).result()
        if arguments.profile:
            return profile(context, arguments, admin, workdir, pki)

        load_before = load_average()
        log(f"load average before: {load_before}")
        log(f"{arguments.runs} runs x {arguments.mails} mails per measurement; server processes "
            f"{','.join(map(str, arguments.server_processes))}; workers {','.join(map(str, arguments.workers))}; "
            f"{arguments.sessions} SMTP sessions over {min(arguments.client_processes, arguments.sessions)} client "
            f"processes, {arguments.per_session} mails per SMTP session, {WARMUP} untimed warm-up mails per session")
        started = time.perf_counter()
        rows: dict[tuple, Row] = {}
        for count in arguments.server_processes:
            for workers in arguments.workers:
                rows[(count, workers, HUB)] = Row(count, workers, HUB)
            rows[(count, None, BASELINE)] = Row(count, None, BASELINE)
        lone_at = (arguments.server_processes[0], arguments.workers[0])  # the lone mails: first configuration
        if arguments.lone:
            rows[(*lone_at, LONE)] = Row(*lone_at, LONE)
        people = People()
        references: list[float] = []
        started_as = Served if arguments.deployment == SERVE else Servers
        with Database(admin, arguments.postgres_url, pki, keep_statistics=not arguments.no_analyze,
                      deployment=arguments.deployment, workdir=workdir, applications=arguments.register,
                      history=arguments.history) as database:
            for run in range(1, arguments.runs + 1):
                for count in arguments.server_processes:
                    for position, workers in enumerate(arguments.workers):
                        with started_as(context, count, workers, database, workdir) as servers:
                            plan = [HUB] + ([BASELINE] if position == 0 else []) + (
                                [LONE] if (count, workers) == lone_at and arguments.lone else [])
                            for handler in plan:
                                references.append(reference_loop_ms())
                                try:
                                    if handler == LONE:
                                        sample = measure_lone(context, servers, database, arguments.lone, people)
                                    else:
                                        sample = measure(context, admin, servers, database, handler, arguments.mails,
                                                         arguments.client_processes, arguments.sessions,
                                                         arguments.per_session, people)
                                except BaseException:
                                    log(servers.logs_tail())
                                    raise
                                key = (count, None if handler == BASELINE else workers, handler)
                                rows[key].samples.append(sample)
                                database.analyze()  # outside the clock, as autovacuum would
                                log(f"run {run}/{arguments.runs}  {count} server process(es) x "
                                    f"{workers if handler != BASELINE else '-'} workers  {handler:<18} "
                                    f"{sample.throughput:6.1f}/s  accepted {sample.accepted:6.1f}/s  "
                                    f"p50 {sample.percentile_ms(50):7.1f} ms  p99 {sample.percentile_ms(99):7.1f} ms  "
                                    f"CPU busy {sample.cpu_s['machine_busy'] * 100:3.0f}% (others "
                                    f"{sample.cpu_s['others_cores']:.2f} cores)  server {sample.cpu_ms('servers'):5.1f} "
                                    f"ms/mail  PostgreSQL {sample.cpu_ms('postgres'):4.1f} ms/mail  clients "
                                    f"{sample.cpu_ms('clients'):4.1f} ms/mail  per server {sample.per_server}  "
                                    f"SMTP sessions {sample.sessions}  peak RSS {sample.peak_rss_kib / 1024:.1f} MiB  "
                                    f"load {load_average()}  reference loop {references[-1]:.1f} ms")
        elapsed = time.perf_counter() - started

    ordered = [row for row in rows.values() if row.samples]
    main_lines, cpu_lines = tables(ordered)
    facts = machine(software, libraries)
    started = ("the hub started by sne-hub serve --only mail, N processes sharing one port (encryption required, "
               "otherwise default settings; replies delivered as files, as make run does)"
               if arguments.deployment == SERVE else
               "the hub's mail channel set up by the benchmark in its own server processes, one port each")
    settings = (f"{started}; {arguments.runs} runs of {arguments.mails} timed mails per measurement (one CRE file each), "
                f"{arguments.sessions} SMTP sessions over {min(arguments.client_processes, arguments.sessions)} client "
                f"processes, a new SMTP session every {arguments.per_session} mails"
                + (f"; the lone row: {arguments.lone} mails one at a time" if arguments.lone else "")
                + "; median (min–max) of the runs")
    note = (f"mails/s: timed mails over the time from the first DATA to the last reply queued (the baseline: to "
            f"the last 250, the row being stored). hub/baseline: run by run. SMTP accepted/s: mails over the time "
            f"from the first DATA to the last 250. Latency: DATA sent to reply queued, per mail (the baseline: to "
            f"250). Peak RSS: VmHWM of the server processes over each measurement. CPU busy: the whole machine "
            f"during the measurement; other work: what of it was neither the servers, PostgreSQL nor the clients, "
            f"in cores. CPU ms/mail: user+system CPU per mail of the server processes, of PostgreSQL (this "
            f"database's backends and the server's own processes) and of the client processes. Reference loop (a "
            f"fixed pure-Python loop, best of 5, timed before each measurement: how fast a core was): "
            f"{spread(references, 1)} ms. Register: {arguments.register:,} applications and a history of "
            f"{arguments.history:,} processed mails with their replies loaded before the first measurement, plus the "
            f"runs' registrations and mails. Load average before: {load_before}; after: "
            f"{load_average()}.")
    if arguments.markdown:
        print("\n".join(f"- {name}: {value}" for name, value in facts))
        print()
        print(markdown_table(HEADERS, main_lines))
        print()
        print(markdown_table(CPU_HEADERS, cpu_lines))
        print()
        print(f"{settings}; the benchmark took {elapsed:.0f} s. {note}")
        print()
        print(verdict(ordered))
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
        print(verdict(ordered))
        print(f"The benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
