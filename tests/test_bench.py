"""Every benchmark runs, with a tiny load, so that none rots between the runs that measure.

Each script is started as users start it (``python bench/<name>.py``), with arguments that keep it
to seconds; it must finish and print its table. Nothing here looks at the figures: a benchmark is a
measurement, not a test (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
HANG_BOUND = 600  # seconds: a bound on a hung script on a shared machine, not a speed limit

# A run's name: its script, then the arguments that make it another variant (if any).
TINY = {
    "registrations.py": (["--count", "20", "--runs", "1"], "registrations/s"),
    "soap.py --turns": (["--requests", "20", "--runs", "1", "--turns", "2", "--server-processes", "1", "--clients",
                         "2", "--client-processes", "1", "--register", "300"], "hub/baseline"),
    "soap.py --database sqlite": (["--database", "sqlite", "--requests", "20", "--runs", "1", "--server-processes",
                                   "1", "--clients", "2", "--client-processes", "1"], "hub/baseline"),
    "soap.py --deployment rig --household small": (["--deployment", "rig", "--household", "small", "--requests", "20",
                                                    "--runs", "1", "--server-processes", "1", "--clients", "2",
                                                    "--client-processes", "1", "--register", "300"], "hub/baseline"),
    "soap.py --deployment nginx --rate": (["--deployment", "nginx", "--rate", "20", "--duration", "2", "--household",
                                           "large", "--runs", "1", "--server-processes", "2", "--clients", "2",
                                           "--client-processes", "1", "--register", "0"], "hub/baseline"),
    "mail.py": (["--mails", "10", "--runs", "1", "--server-processes", "1", "--sessions", "2",
                 "--client-processes", "1", "--lone", "2", "--register", "300", "--history", "300"], "mails/s"),
    "large_requests.py": (["--requests", "3", "--communes", "2000", "--threads", "2"], "growth after warm-up"),
    "search.py": (["--size", "500", "--database", "sne_bench_search_smoke", "--rebuild", "--drop", "--runs", "1",
                   "--repeat", "3", "--soap-repeat", "2"], "allocation commune"),
    "documents.py": (["--deposits", "4", "--reads", "4", "--clients", "2", "--threads", "2"], "deposits/s"),
    "dispatch.py": (["--changes", "50", "--receivers", "2", "--receiver-processes", "1", "--dispatchers", "1",
                     "--lag-dispatchers", "1", "--lag-receivers", "2", "--rate", "10", "--duration", "2",
                     "--producers", "1", "--runs", "1"], "deliveries/s"),
}


def test_every_bench_script_has_its_tiny_run():
    assert sorted({run.split()[0] for run in TINY}) == sorted(
        path.name for path in BENCH.glob("*.py") if not path.name.startswith("_"))


@pytest.mark.parametrize("run", sorted(TINY))
def test_bench_runs_with_a_tiny_load(run, postgres_url):
    arguments, table_word = TINY[run]
    result = subprocess.run([sys.executable, str(BENCH / run.split()[0]), *arguments], capture_output=True, text=True,
                            timeout=HANG_BOUND, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert table_word in result.stdout, result.stdout[-3000:]
