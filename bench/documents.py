"""Supporting documents: deposit and read throughput and latency with 2 MB files, over real HTTPS.

What one deposit is: a counter's software posting ``deposerPiece`` to
``/services/PiecesJustificativesImplService/`` as MTOM (the envelope as root part, the document as a
base64 part; built by the kit's ``mtom_request(..., libsne=True)``), carrying a ``--size`` byte PDF (2 MB by
default, the register's limit) padded with incompressible bytes as a scan is (``support/documents.pdf``).
The hub authenticates the client certificate, unpacks MTOM, checks the message against the WSDL's
schema, then the register checks the content (PDF structure, active content, every Flate stream),
hashes it, seals it (AES-256-GCM) into the filesystem store, and records the document and its
journal line in one transaction. What one read is: ``lirePiece`` of one of the deposited documents,
the hub unsealing it, checking its SHA-256 and answering it as MTOM; every answer's bytes are
compared with what was deposited.

The server is the production one, alone in its process (``support/soap_server.py``:
``hub.server.make_server`` with cheroot, TLS 1.2+, client certificates, ``--threads`` worker
threads), on a register made for the run: SQLite in a temporary directory by default, or
``--database-url`` (a PostgreSQL database, which the bench migrates and fills: use a throwaway one),
with a document store and keyring in the temporary directory. Pay slips (``RESMEN``/``FPAIE``, 15 per
application) are deposited on as many applications as needed, registered before the clock starts.

``--clients`` threads each hold one keep-alive HTTPS connection and take calls from one shared
count; the clock starts when every connection has made one untimed warm-up call. Throughput is calls
(and megabytes of documents) over the wall time of the phase; latency is per call, from sending the
request to having read the whole answer. The server process's peak RSS (VmHWM) is read at the end.
Nothing is asserted: it is a measurement, not a test.

    .venv/bin/python bench/documents.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/documents.py` from anywhere

import argparse  # noqa: E402
import http.client  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from lxml import etree  # noqa: E402

from conformance_tests.profiles.server.wire import mtom_request, read_reply  # noqa: E402
from core import demo  # noqa: E402
from core.adapters.database import make_engine  # noqa: E402
from core.adapters.document_store import add_key  # noqa: E402
from core.adapters.repository import SqlUnitOfWork  # noqa: E402
from core.domain.calendar import now_in_paris  # noqa: E402
from core.service_layer import services  # noqa: E402
from support import documents as samples  # noqa: E402
from support.files import person  # noqa: E402
from support.soap_server import SoapServerProcess, prepare_register  # noqa: E402

SERVICE = "/services/PiecesJustificativesImplService/"
PIECES_NS = "{http://nuu.application.i2/}"
PER_APPLICATION = 15  # pay slips an application holds at most


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deposits", type=int, default=300, help="documents deposited (default 300)")
    parser.add_argument("--reads", type=int, default=600, help="documents read (default 600)")
    parser.add_argument("--size", type=int, default=2 * 1024 * 1024, help="bytes per document (default 2 MB)")
    parser.add_argument("--clients", type=int, default=4, help="keep-alive connections (default 4)")
    parser.add_argument("--threads", type=int, default=16, help="the server's worker threads (default 16)")
    parser.add_argument("--database-url", help="a throwaway database (default: SQLite in a temporary directory)")
    return parser.parse_args(argv)


@dataclass
class Phase:
    name: str
    calls: int = 0
    document_bytes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        return (f"{self.name:<8} {self.calls:>6} {self.calls / self.seconds:>9.1f} "
                f"{self.document_bytes / self.seconds / 1e6:>8.1f} {cuts[49]:>8.1f} {cuts[89]:>8.1f} "
                f"{cuts[98]:>8.1f} {ms[-1]:>8.1f}")


class Connection:
    """One keep-alive HTTPS connection of one counter."""

    def __init__(self, port: int, pki: Path, counter: str):
        context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        context.load_cert_chain(str(pki / counter / "cert.pem"), str(pki / counter / "key.pem"))
        self.connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=120)

    def call(self, operation: str, fields: list):
        body, content_type = mtom_request(operation, f"{operation}Parametres", fields, libsne=True)
        self.connection.request("POST", SERVICE, body=body, headers={"Content-Type": content_type})
        response = self.connection.getresponse()
        reply = read_reply(response.status, response.getheader("Content-Type") or "", response.read())
        if reply.status != 200:
            raise RuntimeError(f"{operation}: HTTP {reply.status} {reply.fault_code} {reply.fault_reason}")
        return reply


def run_phase(name: str, connections: list[Connection], total: int, make_call) -> Phase:
    """``make_call(connection, index) -> document bytes moved``, ``total`` times over the connections."""
    phase, lock, counter = Phase(name), threading.Lock(), itertools.count()
    errors: list[BaseException] = []
    start = threading.Barrier(len(connections) + 1)

    def work(connection: Connection) -> None:
        try:
            make_call(connection, -1)  # warm-up, untimed
            start.wait()
            while (index := next(counter)) < total:
                began = time.perf_counter()
                moved = make_call(connection, index)
                elapsed = time.perf_counter() - began
                with lock:
                    phase.calls += 1
                    phase.document_bytes += moved
                    phase.latencies.append(elapsed)
        except BaseException as error:  # reported after the phase
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=work, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return phase


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="sne-bench-documents-") as scratch:
        directory = Path(scratch)
        url = arguments.database_url or f"sqlite:///{directory / 'register.db'}"
        prepare_register(url, directory / "pki")
        add_key(directory / "document-keys", "bench")
        warm_ups = arguments.clients  # one untimed deposit per connection
        numbers = register_applications(url, -(-(arguments.deposits + warm_ups) // PER_APPLICATION))
        content = samples.pdf(arguments.size)
        environment = {"SNE_HUB_DOCUMENT_STORE": str(directory / "documents"),
                       "SNE_HUB_DOCUMENT_KEYS": str(directory / "document-keys"), "SNE_HUB_LOG_LEVEL": "WARNING"}
        with SoapServerProcess(url, directory / "pki", directory / "server.log", arguments.threads,
                               environment) as server:
            connections = [Connection(server.port, directory / "pki", "DEMOB") for _ in range(arguments.clients)]
            slots = itertools.count()
            deposited: list[str] = []

            def deposit(connection: Connection, index: int) -> int:
                number = numbers[next(slots) // PER_APPLICATION]
                reply = connection.call("deposerPiece", [
                    ("numUnique", number), ("codeCategorie", "RESMEN"), ("codeType", "FPAIE"),
                    ("nomFichierPiece", "bulletin.pdf"), ("fichierPiece", content)])
                answer = etree.fromstring(reply.field("fichierXmlRetour"))
                deposited.append((number, answer.findtext(f"{PIECES_NS}piece/{PIECES_NS}idPiece")))
                return len(content)

            def read(connection: Connection, index: int) -> int:
                number, document_id = deposited[index % len(deposited)]
                reply = connection.call("lirePiece", [("numUnique", number), ("idPiece", document_id)])
                if reply.field("fichierPiece") != content:
                    raise RuntimeError("a read answered other bytes than those deposited")
                return len(content)

            phases = [run_phase("deposit", connections, arguments.deposits, deposit),
                      run_phase("read", connections, arguments.reads, read)]
            peak = peak_kib(server.pid)
        report(arguments, phases, peak, url)


def register_applications(url: str, count: int) -> list[str]:
    engine = make_engine(url)
    try:
        now = now_in_paris()
        return [str(services.register(SqlUnitOfWork(engine), person(index, communes=(demo.METZ,)), now.date(),
                                      "DEMOB", now).number) for index in range(count)]
    finally:
        engine.dispose()


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def report(arguments: argparse.Namespace, phases: list[Phase], peak: int, url: str) -> None:
    print(f"documents of {arguments.size} bytes, {arguments.clients} connections, {arguments.threads} server "
          f"threads, {url.split(':')[0]}, {os.cpu_count()} CPUs")
    print(f"{'phase':<8} {'calls':>6} {'calls/s':>9} {'MB/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")
    for phase in phases:
        print(phase.row())
    print(f"deposits/s and reads/s above; server peak RSS {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
