"""Pipeline workers in processes of their own, so that the mail channel uses every core.

A mail's processing is Python holding the GIL nearly all the time (MIME, S/MIME, the register's
rules, SQL): pipeline threads of one process share one core, whatever their number. The pipeline
needs nothing of the SMTP process but the stored message's id: every worker claims the message
in the database (``MailStore.claim``), checks replays under the store's locks, and commits the
mail, its files and its reply in one transaction, as threads do. So the SMTP process stores each
mail, answers 250, and hands the id to one of N processes (``SNE_HUB_MAIL_PROCESSES``), each with
its own engine and its own copy of the hub's keys.

The processes are spawned (not forked: a fork would share the parent's database connections) and
ignore SIGINT and SIGTERM: the serving process stops them once the mails they hold are done. A
process that dies takes its mail's transaction with it (rolled back); the pool is replaced and the
mails it held, that one included, are handed to the new one, as a start of the channel would.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .config import MailSettings

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # core.cli's

_pipeline = None  # the pipeline of this worker process, built by _start


def _start(database_url: str, settings: MailSettings, log_level: int, log_file: str | None) -> None:
    """A worker process's start: its logging (where the serving process's goes), its engine and its
    pipeline, built once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the serving process decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format=LOG_FORMAT, filename=log_file)
    from core.adapters.database import make_engine

    from .pipeline import Pipeline
    from .service import KeyRing
    from .store import MailStore

    global _pipeline
    engine = make_engine(database_url)
    _pipeline = Pipeline(engine, settings, KeyRing(settings), MailStore(engine))


def _run(message: int, resuming: bool) -> None:
    from .server import run_stored

    run_stored(_pipeline, message, resuming)


def _ready() -> bool:
    return _pipeline is not None


def _log_file() -> str | None:
    """The file the serving process logs to, if it logs to one (else stderr, which the workers share)."""
    return next((handler.baseFilename for handler in logging.getLogger().handlers
                 if isinstance(handler, logging.FileHandler)), None)


class PipelineProcesses:
    """An executor of :func:`_run` over ``count`` worker processes, replaced if one of them dies."""

    task = staticmethod(_run)

    def __init__(self, count: int, database_url: str, settings: MailSettings):
        self.count, self.database_url, self.settings = count, database_url, settings
        self._lock = threading.RLock()  # a broken pool's callbacks submit again, maybe from within submit
        self._closing = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                   initargs=(self.database_url, self.settings, logging.getLogger().level,
                                             _log_file()))

    def warm_up(self) -> None:
        """Start every process now (imports, engine, keys) rather than on the first mails."""
        for future in [self._pool.submit(_ready) for _ in range(self.count)]:
            future.result()

    def submit(self, function, message: int, resuming: bool) -> Future:
        """``function`` is :attr:`task`, what HubHandler passes. If a process dies, the pool breaks: every
        mail it held (queued, or being processed: that transaction rolled back) is handed to a new pool,
        as a start would (``resuming``: all the broken pool's processes are gone, nobody else has it)."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the mail workers are stopping")
            try:
                future = self._pool.submit(function, message, resuming)
            except BrokenProcessPool:
                log.error("a mail worker process ended abruptly: starting new ones")
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                future = self._pool.submit(function, message, resuming)
        future.add_done_callback(lambda done: self._again_if_broken(done, function, message))
        return future

    def _again_if_broken(self, done: Future, function, message: int) -> None:
        if done.cancelled() or self._closing or not isinstance(done.exception(), BrokenProcessPool):
            return
        self.submit(function, message, True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closing = True
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)
