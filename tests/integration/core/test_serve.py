"""``sne-hub serve`` as operators run it: chosen services, several SOAP processes, graceful stops.

Real processes on a real port, set up the way ``make run`` does (db upgrade, demo seed, demo PKI).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from conformance_tests.profiles.server.wire import DEMANDE, Client, mtom_request, read_reply
from core.cli import KILL_SECONDS, STOP_SECONDS
from core.wire.codec import NS
from support.files import get_num_unique, interface_file, person

SNE_HUB = str(Path(sys.executable).parent / "sne-hub")
DEMANDE_PATH = f"/services/{DEMANDE}/"
STARTUP_BOUND = 60  # seconds: generous, a hang bound on a shared machine, not a speed limit
CLIENTS_AT_STOP = 24  # client threads connecting again and again while the stop comes


@pytest.fixture
def register(tmp_path) -> dict:
    """A migrated and seeded SQLite register, the demo PKI, a free port: what ``make run`` prepares."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "SNE_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'register.db'}",
                   "SNE_HUB_HTTPS_PORT": str(port), "SNE_HUB_LOG_LEVEL": "INFO"}
    for command in (("db", "upgrade"), ("demo", "seed"), ("certificates", "demo")):
        subprocess.run([SNE_HUB, *command], cwd=tmp_path, env=environment, check=True, capture_output=True)
    return {"cwd": tmp_path, "env": environment, "port": port, "pki": tmp_path / "var" / "demo"}


def start(register: dict, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen([SNE_HUB, "serve", *arguments], cwd=register["cwd"], env=register["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def listening(pid: int, port: int) -> bool:
    """Whether the process holds a socket listening on ``port``: a serving process does once its
    SIGTERM handler is in place (a process still starting would die of the signal instead)."""
    listeners = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:  # 0A: LISTEN
                listeners.add(f"socket:[{fields[9]}]")
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") in listeners for fd in os.listdir(f"/proc/{pid}/fd"))
    except FileNotFoundError:  # it exited, or closed a descriptor while we looked
        return False


def client(register: dict) -> Client:
    pki = register["pki"]
    return Client(f"https://localhost:{register['port']}", str(pki / "ca.pem"), str(pki / "DEMOB" / "cert.pem"),
                  str(pki / "DEMOB" / "key.pem"), keep_alive=False)


def wait_until(condition, what: str, details=lambda: "") -> None:
    deadline = time.monotonic() + STARTUP_BOUND
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}{details()}"
        time.sleep(0.2)


def answers(register: dict) -> bool:
    try:
        return client(register).wsdl(DEMANDE).status_code == 200
    except OSError:
        return False


def registered(reply) -> str:
    assert reply.status == 200, reply.body[:500]
    return etree.fromstring(reply.field("fichierDemande")).findtext(f".//{{{NS}}}numUnique")


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=STARTUP_BOUND)
    return output


def test_an_unknown_service_is_refused_with_the_list(register):
    result = subprocess.run([SNE_HUB, "serve", "--only", "soap,smtp"], cwd=register["cwd"], env=register["env"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown service smtp: choose among clock, " in result.stderr and "dispatch" in result.stderr


def test_only_the_chosen_services_run(register):
    process = start(register, "--only", "clock")
    try:
        wait_until(lambda: process.poll() is not None or "database:" in (process.stdout.readline() or ""),
                   "the serve banner")
        assert not answers(register)  # no SOAP server in this process
    finally:
        output = stop(process)
    assert process.returncode == 0, output


def test_supervised_soap_processes_share_the_port_restart_and_stop_gracefully(register):
    process = start(register, "--only", "soap", "--soap-processes", "2")
    try:
        wait_until(lambda: len(children(process.pid)) == 2 and answers(register), "two SOAP processes")
        first = children(process.pid)
        assert registered(get_num_unique(client(register), interface_file("DEMOB", form=person(1))))

        killed = sorted(first)[0]
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: len(children(process.pid) - {killed}) == 2, "a SOAP process in place of the killed one")
        assert registered(get_num_unique(client(register), interface_file("DEMOB", form=person(2))))

        # A request in flight when the stop comes: headers and half the body sent, then SIGTERM.
        body, content_type = mtom_request("getNumUnique", "numUniqueParametres", [
            ("nomFichierDemande", "DEMDEMOB-202612021200-000001.xml"),
            ("fichierDemande", interface_file("DEMOB", form=person(3))),
            ("nomCertificat", "c.pem"), ("certificat", b"")])
        with socket.create_connection(("127.0.0.1", register["port"]), timeout=STARTUP_BOUND) as raw, \
                client(register).context.wrap_socket(raw, server_hostname="localhost") as connection:
            connection.sendall(f"POST {DEMANDE_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
                               f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:len(body) // 2])
            time.sleep(0.5)  # the request is being read by a worker of one SOAP process
            running = children(process.pid)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            connection.sendall(body[len(body) // 2:])
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, payload = answer.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        assert head.startswith(b"HTTP/1.1 200"), head
        assert registered(read_reply(200, headers["Content-Type"], payload))
        output, _ = process.communicate(timeout=STARTUP_BOUND)
        assert process.returncode == 0, output
        assert not any(Path(f"/proc/{pid}").exists() for pid in running)  # stopped, and reaped
    finally:
        if process.poll() is None:
            process.kill()


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its new parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def described(pids) -> str:
    """What a process still there is doing, for a failure's message: its state, parent, where it
    sleeps in the kernel, and its signals (pending, blocked, ignored, caught)."""
    lines = []
    for pid in sorted(pids):
        try:
            status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
            wchan = Path(f"/proc/{pid}/wchan").read_text()
        except FileNotFoundError:
            continue
        lines.append(f"{pid}: " + " ".join(f"{key}={status.get(key, '?').strip()}" for key in
                                           ("State", "PPid", "Threads", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"))
                     + f" wchan={wchan}")
    return "".join(f"\n  {line}" for line in lines)


def test_a_supervisor_kills_a_soap_process_that_does_not_stop_and_says_so(register):
    process = start(register, "--only", "soap", "--soap-processes", "2")
    frozen = None
    try:
        wait_until(lambda: len(children(process.pid)) == 2
                   and all(listening(pid, register["port"]) for pid in children(process.pid)), "two SOAP processes")
        frozen, other = sorted(children(process.pid))
        os.kill(frozen, signal.SIGSTOP)  # it will not act on the SIGTERM the supervisor forwards
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=STOP_SECONDS + KILL_SECONDS + STARTUP_BOUND)
        assert process.returncode == 1, output
        assert f"SOAP process {frozen} not stopped within {STOP_SECONDS} s: killing it" in output
        assert gone(frozen) and gone(other)
        assert not answers(register)  # nobody left on the port
    finally:
        if process.poll() is None:
            process.kill()
        if frozen is not None and not gone(frozen):  # the test failed: leave no stopped process behind
            os.kill(frozen, signal.SIGKILL)


def test_soap_processes_stop_when_their_supervisor_is_killed(register):
    process = start(register, "--only", "soap", "--soap-processes", "2")
    running = set()
    try:
        wait_until(lambda: len(children(process.pid)) == 2 and answers(register), "two SOAP processes")
        running = children(process.pid)
        process.kill()  # no chance to stop them: the kernel tells them (PR_SET_PDEATHSIG)
        process.wait()
        wait_until(lambda: all(gone(pid) for pid in running), "the orphaned SOAP processes to stop",
                   lambda: described(pid for pid in running if not gone(pid)))
        assert not answers(register)
    finally:
        if process.poll() is None:
            process.kill()
        for pid in running:
            if not gone(pid):  # the test failed: leave no orphan behind on a port of this machine
                os.kill(pid, signal.SIGKILL)


def test_a_soap_process_whose_supervisor_died_ends_even_if_it_cannot_stop():
    """The watch behind PR_SET_PDEATHSIG (core.cli._watch_supervisor): a process deaf to SIGTERM, whose
    supervisor died, still ends once the bound a supervisor would have given it is over."""
    deaf = ("import os, signal, threading, time; from core.cli import _watch_supervisor; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "threading.Thread(target=_watch_supervisor, args=(os.getppid(), 0.1, 2), daemon=True).start(); "
            f"time.sleep({STARTUP_BOUND * 2})")
    supervisor = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {deaf!r}])
        print(child.pid, flush=True)
        time.sleep({STARTUP_BOUND})
        """)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    orphan = int(supervisor.stdout.readline())
    try:
        time.sleep(1)  # the orphan is past its imports, watching
        supervisor.kill()
        supervisor.wait()
        killed = time.monotonic()
        time.sleep(1)
        assert not gone(orphan), "the SIGTERM it ignores ended it"
        wait_until(lambda: gone(orphan), "the orphan to end", lambda: described([orphan]))
        assert time.monotonic() - killed >= 2  # its bound, not sooner
    finally:
        supervisor.kill()
        if not gone(orphan):
            os.kill(orphan, signal.SIGKILL)


class Outcomes:
    """What each client connection of the stop test met, counted across the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answered, self.refused, self.answered_after_stop = 0, 0, 0
        self.failures: list[str] = []
        self.stop_sent = threading.Event()

    def add(self, outcome: str) -> None:
        with self.lock:
            if outcome == "answered":
                self.answered += 1
                self.answered_after_stop += self.stop_sent.is_set()
            elif outcome == "refused":
                self.refused += 1
            else:
                self.failures.append(outcome)


def one_connection(register: dict, context: ssl.SSLContext) -> str:
    """Connect, ask for the WSDL, read the whole answer: "answered", "refused" (no connection), or what failed
    on a connection the server had accepted."""
    try:
        raw = socket.create_connection(("127.0.0.1", register["port"]), timeout=STARTUP_BOUND)
    except ConnectionRefusedError:
        return "refused"
    try:
        with raw, context.wrap_socket(raw, server_hostname="localhost") as connection:
            connection.sendall(f"GET {DEMANDE_PATH}?wsdl HTTP/1.1\r\nHost: localhost\r\n"
                               "Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    except (OSError, ssl.SSLError) as error:  # a reset, an EOF in the middle of TLS, a timeout
        return f"accepted, then {type(error).__name__}: {error}"
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    if not head.startswith(b"HTTP/1.1 200") or length != len(body):
        return f"accepted, then an incomplete answer: {head[:60]!r}, {len(body)} bytes of {length}"
    return "answered"


def test_a_stop_serves_every_connection_already_accepted_then_refuses(register):
    """SIGTERM while many clients connect: every connection the hub accepted gets its whole answer (none
    reset, none cut), and the clients then find the port closed (refused), as a proxy needs to go
    elsewhere. Before, connections waiting in the kernel's accept queue, or accepted and waiting for
    their request, were reset when the listening socket closed."""
    register = {**register, "env": {**register["env"], "SNE_HUB_CONNECTIONS_PER_CLIENT": "0"}}  # all from here
    process = start(register, "--only", "soap")
    try:
        wait_until(lambda: process.poll() is None and answers(register), "the SOAP server")
        pki = register["pki"]
        context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        outcomes = Outcomes()

        def client_loop() -> None:
            while (outcome := one_connection(register, context)) != "refused":
                outcomes.add(outcome)
            outcomes.add("refused")

        clients = [threading.Thread(target=client_loop) for _ in range(CLIENTS_AT_STOP)]
        for thread in clients:
            thread.start()
        wait_until(lambda: outcomes.answered >= 5 * CLIENTS_AT_STOP, "answers before the stop")
        process.send_signal(signal.SIGTERM)
        outcomes.stop_sent.set()
        for thread in clients:
            thread.join(timeout=STARTUP_BOUND)
        output, _ = process.communicate(timeout=STARTUP_BOUND)
    finally:
        if process.poll() is None:
            process.kill()
    assert outcomes.failures == [], outcomes.failures[:5]
    assert outcomes.refused == CLIENTS_AT_STOP  # each client ended on a closed port, none hangs
    assert outcomes.answered_after_stop > 0  # the stop came while connections were in progress
    assert process.returncode == 0, output
    assert "listening socket closed" in output


MAILS = 60  # enough that the killed process still holds mails it stored and has not processed


def mail_process_owner(process: subprocess.Popen) -> str:
    """The name a `serve --only mail` process gives itself in its leases, from its banner."""
    for line in process.stdout:
        if found := re.search(r"serving: smtp://.*\(mail process (\w+)", line):
            return found.group(1)
    raise AssertionError(f"the mail process ended before serving (exit {process.wait()})")


def test_mail_processes_share_the_port_and_a_killed_ones_mails_are_processed_by_the_other(register):
    """Two `serve --only mail` on one port and one database; SIGKILL of one after every mail was
    acknowledged: the other takes the mails the dead one held once their lease ran out, and every
    acknowledged mail is processed once, with one reply."""
    import smtplib
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from core.demo import COUNTERS
    from support.mails import HUB, Identity, entity, ours

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    register = {**register, "env": {**register["env"], "SNE_HUB_SMTP_PORT": str(port), "SNE_HUB_MAIL_WORKERS": "1",
                                    "SNE_HUB_MAIL_LEASE_SECONDS": "3"}}
    pki, cwd = register["pki"], register["cwd"]
    demob = Identity("DEMOB", next(c.mailbox for c in COUNTERS if c.code == "DEMOB"), pki / "DEMOB" / "cert.pem",
                     pki / "DEMOB" / "key.pem")
    mails = [ours(entity([(f"DEMDEMOB-202612041200-{index:06d}.xml", interface_file("DEMOB", form=person(index)))]),
                  demob, pki / "hub-cert.pem") for index in range(MAILS)]
    database = sqlite3.connect(cwd / "register.db")

    def scalar(sql: str, *parameters) -> int:
        return database.execute(sql, parameters).fetchone()[0]

    def send(raw: bytes) -> str:
        with smtplib.SMTP("127.0.0.1", port, timeout=STARTUP_BOUND) as session:
            session.ehlo()
            session.mail(demob.mailbox)
            session.rcpt(HUB)
            code, text = session.data(raw)
        assert code == 250, text
        return text.decode()

    processes = [start(register, "--only", "mail") for _ in range(2)]
    try:
        owners = [mail_process_owner(process) for process in processes]
        seeded = scalar("SELECT count(*) FROM applications")  # the demo's
        with ThreadPoolExecutor(6) as clients:
            acknowledged = list(clients.map(send, mails))
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].wait()
        held = scalar("SELECT count(*) FROM mail_messages WHERE owner = ? AND status = 'processing'", owners[0])
        assert held > 0, "the killed process had processed every mail already: nothing to take over"

        wait_until(lambda: scalar("SELECT count(*) FROM mail_messages WHERE status = 'processed'") == MAILS,
                   "every mail processed")
        assert len(set(acknowledged)) == MAILS and scalar("SELECT count(*) FROM mail_messages") == MAILS
        assert scalar("SELECT count(*) FROM applications") == seeded + MAILS
        assert scalar("SELECT count(*) FROM mail_messages WHERE owner = ?", owners[1]) >= held
        wait_until(lambda: len(list((cwd / "var" / "demo" / "DEMOB" / "inbox").glob("*.eml"))) == MAILS,
                   "one reply a mail")
    finally:
        database.close()
        outputs = [stop(process) if process.poll() is None else "" for process in processes]
    assert processes[1].returncode == 0, outputs[1]


def test_a_mail_process_erases_the_mails_past_their_retention_as_it_starts(register):
    """What `sne-hub mail purge` does, a mail process does at start and then every hour: the settled
    mails and replies older than the period go, the others stay; a stop waits for it."""
    from datetime import timedelta

    from async_mail.store import MailStore
    from core.adapters.database import make_engine
    from core.domain.calendar import now_in_paris

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    register = {**register, "env": {**register["env"], "SNE_HUB_SMTP_PORT": str(port),
                                    "SNE_HUB_MAIL_RETENTION_DAYS": "30"}}
    engine = make_engine(register["env"]["SNE_HUB_DATABASE_URL"])
    store, now, replies = MailStore(engine), now_in_paris(), {}
    for age in (31, 29):
        message = store.receive(b"raw", "x@example.org", None, now - timedelta(days=age))
        store.quarantine(message, "MAIL-TEST", f"{age} days old", now - timedelta(days=age))
        replies[age] = store.enqueue("x@example.org", f"<{age}@hub>", b"reply", now - timedelta(days=age))
        store.sent(replies[age], now)

    process = start(register, "--only", "mail")
    try:
        mail_process_owner(process)
        # the mails, then the replies, each in transactions of their own
        wait_until(lambda: len(store.quarantined()) == 1 and len(store.replies()) == 1, "the old mail and reply erased")
        assert [row.reason for row in store.quarantined()] == ["29 days old"]
        assert [row.id for row in store.replies()] == [replies[29]]
    finally:
        output = stop(process)
        engine.dispose()
    assert process.returncode == 0, output
    assert "mail retention: 1 mail(s) and 1 reply(ies) erased" in output
