"""A hub process's memory and answers under large hostile requests (the hardening issue's item 3).

What one request is: a getNumUnique message (MTOM, sent by the kit's client,
``conformance_tests/profiles/server/wire.Client``) carrying a CRE file of DEMOB whose
``listeLocalisationSouhaite`` holds ``--communes`` wished communes (120,000 by default: 9.6 MB,
inside the 10 MB bound; built by ``support/files.long_list_file``). The register reads 30 items of a
list at most, so every answer must be the one NUU105 anomaly, in a RET file of a few kilobytes.

The server is the production one, alone in its process: ``support/soap_server.py`` runs
``hub.server.make_server`` with the environment's settings (cheroot, TLS 1.2+, client certificates,
``--threads`` worker threads, 16 by default as in production) on a fresh SQLite register with the
demo territory and counters. The client sends ``--requests`` requests one after the other, each on a
connection of its own. After each, the server process's VmRSS is read from ``/proc``; the figures
printed are the RSS at start, after the warm-up (as many requests as worker threads, so that each
thread has handled one, then as many again), at the end, the growth from warm-up to end, the peak
(VmHWM), the answer sizes and the latencies. Nothing is asserted: it is a measurement;
tests/integration/hub/test_large_requests.py asserts the same with a small load.

    .venv/bin/python bench/large_requests.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `.venv/bin/python bench/large_requests.py` from anywhere

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from lxml import etree  # noqa: E402

from conformance_tests.profiles.server.wire import Client  # noqa: E402
from support.files import get_num_unique, long_list_file  # noqa: E402
from support.soap_server import SoapServerProcess, prepare_register  # noqa: E402

NS = "http://nuu.application.i2/"


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def anomaly_codes(reply) -> list[str]:
    data = reply.field("fichierDemande") if reply.status == 200 else None
    if not data:
        return [f"HTTP {reply.status} {reply.fault_code}"]
    return [a.get("code") for a in etree.fromstring(data).iter(f"{{{NS}}}anomalie")]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests sent, one after the other (100)")
    parser.add_argument("--communes", type=int, default=120_000, help="wished communes in the file (120000)")
    parser.add_argument("--threads", type=int, default=16, help="worker threads of the server process (16)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="sne-hub-large-") as workdir:
        work = Path(workdir)
        url = f"sqlite:///{work / 'register.db'}"
        pki = prepare_register(url, work / "pki")
        counter = pki["counters"]["DEMOB"]
        request = long_list_file("DEMOB", arguments.communes)
        with SoapServerProcess(url, work / "pki", work / "server.log", arguments.threads) as server:
            client = Client(f"https://localhost:{server.port}", pki["ca"]["cert"], counter["cert"], counter["key"],
                            keep_alive=False)
            start = server.rss_kib()
            rss, latencies, sizes, answers = [], [], set(), {}
            for sent in range(arguments.requests):
                began = time.perf_counter()
                reply = get_num_unique(client, request)
                latencies.append(time.perf_counter() - began)
                rss.append(server.rss_kib())
                sizes.add(len(reply.body))
                key = " ".join(anomaly_codes(reply))
                answers[key] = answers.get(key, 0) + 1
                if (sent + 1) % 10 == 0:
                    print(f"  {sent + 1:4d} requests: VmRSS {rss[-1] / 1024:7.1f} MiB", flush=True)
            peak = peak_kib(server.pid)
    warm_up = min(2 * arguments.threads, len(rss)) - 1
    print(f"request: {len(request):,} bytes (getNumUnique, MTOM, {arguments.communes:,} wished communes); "
          f"{arguments.requests} requests, server with {arguments.threads} worker threads")
    print(f"answers: {answers}; answer sizes (bytes): {sorted(sizes)}")
    print(f"latency: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
    print(f"VmRSS: start {start / 1024:.1f} MiB, after {warm_up + 1} requests {rss[warm_up] / 1024:.1f} MiB, "
          f"end {rss[-1] / 1024:.1f} MiB; growth after warm-up {(rss[-1] - rss[warm_up]) / 1024:+.1f} MiB; "
          f"peak (VmHWM) {peak / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
