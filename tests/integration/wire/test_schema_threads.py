"""A fresh process compiles its schemas safely from several threads at once.

The mail channel's workers each load the XSD for their first file; libxml2 sets up its built-in
types during the first schema compilation of a process, and two threads doing it together failed
("the given type is not a built-in type"): the first mails after a start were left unprocessed.
The race lives once per process, so each try is a fresh interpreter: without the lock, forty starts
of eight threads failed in every one of a dozen runs (about three seconds).
"""

from __future__ import annotations

import subprocess
import sys

from core.wire import schemas

STARTS = 40
THREADS = 8

FIRST_COMPILATIONS = f"""
import threading
from core.wire.xml import schema
failures = []
def compile_one():
    try:
        schema({str(schemas.directory() / schemas.APPLICATION_FILES["02.01"])!r})
    except Exception as error:
        failures.append(repr(error))
threads = [threading.Thread(target=compile_one) for _ in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures)
"""


def test_threads_compiling_the_first_schemas_of_a_process_all_succeed():
    # one start after the other: the threads of a start need both cores for the race to show
    outputs = [subprocess.run([sys.executable, "-c", FIRST_COMPILATIONS], capture_output=True, text=True,
                              timeout=120, check=True).stdout.strip() for _ in range(STARTS)]
    assert outputs == ["[]"] * STARTS
