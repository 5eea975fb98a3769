"""The hub as ``make run`` starts it, in a directory of its own, for tests that speak to it from outside.

``sne-hub db upgrade``, ``demo seed`` and ``certificates demo`` (the demo territory 057, its
counters DEMOB, DEMOC, DEMOE and their certificates under ``var/demo/``), then ``sne-hub serve
--only soap`` (or ``--only mail``: ``channel``) on a free port, on a SQLite register in that directory,
with ``settings`` (``SNE_HUB_*``) over the defaults. Two counters the demo does not
have are added the way an operator would (``territories add``, ``counters add``, ``certificates
issue``): ``NANCY``, a municipality of another territory (054), and ``ETAT1``, the State in 057.
``applications`` more households registered at DEMOB beforehand make a register a search pages
through (500 numbers a page).
"""

from __future__ import annotations

import http.client
import os
import signal
import smtplib
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork
from core.domain.calendar import now_in_paris
from core.service_layer import services

from .files import person
from .topology import SNE_HUB, START_BOUND, free_ports, wait_until

ROOT = Path(__file__).resolve().parent.parent
WSDL_PATH = "/services/DemandeLogementImplService/?wsdl"
EXTRA_COUNTERS = (
    (("territories", "add", "054", "--name", "Meurthe-et-Moselle", "--departement", "54"),),
    (("counters", "add", "NANCY", "--name", "Ville de Nancy", "--type", "commune", "--territory", "054"),
     ("certificates", "issue", "NANCY", "--out", "var/counters/NANCY", "--ca-dir", "var/demo")),
    (("counters", "add", "ETAT1", "--name", "Préfecture de démonstration", "--type", "Etat", "--territory", "057"),
     ("certificates", "issue", "ETAT1", "--out", "var/counters/ETAT1", "--ca-dir", "var/demo")),
)


@dataclass
class DemoHub:
    """A context manager: set up and started on entry, stopped (SIGTERM) on exit."""

    directory: Path
    applications: int = 0
    port: int = 0
    channel: str = "soap"  # or "mail": the SMTP listener on ``port``
    settings: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def ca(self) -> Path:
        return self.directory / "var" / "demo" / "ca.pem"

    def credentials(self, counter: str) -> tuple[Path, Path]:
        """(certificate, key) of a counter: the demo's or one of the extra ones."""
        demo = self.directory / "var" / "demo" / counter
        directory = demo if demo.exists() else self.directory / "var" / "counters" / counter
        return directory / "cert.pem", directory / "key.pem"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.directory / 'register.db'}"

    def environment(self) -> dict:
        return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "SNE_HUB_DATABASE_URL": self.database_url,
                "SNE_HUB_LOG_LEVEL": "WARNING", "SNE_HUB_HTTPS_PORT": str(self.port),
                "SNE_HUB_SMTP_PORT": str(self.port), **self.settings}

    def sne_hub(self, *arguments: str) -> None:
        subprocess.run([SNE_HUB, *arguments], cwd=self.directory, env=self.environment(), check=True,
                       capture_output=True)

    def __enter__(self) -> "DemoHub":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_ports(1)[0]
        for command in (("db", "upgrade"), ("demo", "seed"), ("certificates", "demo")):
            self.sne_hub(*command)
        for commands in EXTRA_COUNTERS:
            for command in commands:
                self.sne_hub(*command)
        self._register_households()
        log = (self.directory / "serve.log").open("ab")
        self.process = subprocess.Popen([SNE_HUB, "serve", "--only", self.channel], cwd=self.directory,
                                        env=self.environment(), stdout=log, stderr=log)
        log.close()
        wait_until(lambda: self.process.poll() is not None or self._answers(), "the demo hub", START_BOUND)
        if self.process.poll() is not None:
            raise RuntimeError(f"the demo hub ended: {(self.directory / 'serve.log').read_text()[-2000:]}")
        return self

    def _register_households(self) -> None:
        engine, now = make_engine(self.database_url), now_in_paris()
        try:
            for index in range(self.applications):
                services.register(SqlUnitOfWork(engine), person(1000 + index), now.date(), "DEMOB", now)
        finally:
            engine.dispose()

    def _answers(self) -> bool:
        return self._smtp_answers() if self.channel == "mail" else self._https_answers()

    def _smtp_answers(self) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as connection:
                return connection.noop()[0] == 250
        except OSError:
            return False

    def _https_answers(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca))
        connection = http.client.HTTPSConnection("localhost", self.port, context=context, timeout=2)
        try:
            connection.request("GET", WSDL_PATH)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=START_BOUND)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
