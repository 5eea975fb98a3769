"""A hub process's memory under large requests stays flat once it has warmed up.

A real SOAP server process (``support/soap_server.py``: the production ``make_server``, alone, on
TLS) receives getNumUnique requests of 9.6 MB: a CRE file with 120,000 wished communes, the
hostile request of the hardening issue. Each answer must be the one NUU105 anomaly. The process's
resident memory (VmRSS, read from /proc) is taken after a warm-up that lets every worker thread
handle such a request, then again after more of them: it must not have grown by more than
``GROWTH_BOUND_KIB``. Without the release of memory after large messages (hub/soap.py
``MemoryReleased``), these 8 requests left about 250 MB more behind (spyne's reference cycles hold
each message until a full collection); with it, the growth is a few hundred kilobytes. Before the
lists were bounded, each request failed (500). No duration is asserted.
``bench/large_requests.py`` sends 100 and prints the figures (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from conformance_tests.profiles.server.wire import Client
from core.wire.codec import NS
from support.files import get_num_unique, long_list_file
from support.soap_server import SoapServerProcess

from ..channels import seed_register

THREADS = 2  # worker threads of the server process: the warm-up must reach every one
WARM_UP = 3 * THREADS
MEASURED = 8
GROWTH_BOUND_KIB = 64 * 1024  # generous (hundreds of times the growth seen), a quarter of the unfixed one


def the_anomalies(reply) -> list[tuple[str, str]]:
    answer = etree.fromstring(reply.field("fichierDemande"))
    return [(a.get("code"), a.get("propriete")) for a in answer.iter(f"{{{NS}}}anomalie")]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_memory_stays_flat_under_large_requests(database_url, uow, pki, tmp_path):
    seed_register(uow, pki)
    counter = pki["counters"]["DEMOB"]
    request = long_list_file("DEMOB", 120_000)
    assert len(request) > 9_000_000
    with SoapServerProcess(database_url, Path(pki["directory"]), tmp_path / "server.log", THREADS) as server:
        client = Client(f"https://localhost:{server.port}", pki["ca"]["cert"], counter["cert"], counter["key"],
                        keep_alive=False)
        figures = []
        for sent in range(WARM_UP + MEASURED):
            reply = get_num_unique(client, request)
            assert reply.status == 200, reply.fault_reason
            assert the_anomalies(reply) == [("NUU105", "logementRecherche.listeLocalisationSouhaite")]
            figures.append(server.rss_kib())
        warm = figures[WARM_UP - 1]
        print(f"VmRSS (KiB) after each request: {figures}")
        assert figures[-1] - warm < GROWTH_BOUND_KIB, figures
