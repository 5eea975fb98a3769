"""The production layout, started for real: nginx in front of SOAP processes, one database.

Set up as an operator does (docs/DEPLOYMENT.md): the register migrated and seeded, the demo PKI
written (``sne-hub db upgrade``, ``demo seed``, ``certificates demo`` in a directory of its own),
the configuration rendered by ``sne-hub deploy render``, then ``sne-hub serve --only soap`` once per
backend port and nginx with that configuration. nginx runs in the foreground from the directory
(pid file, logs, temporary files there), as whoever runs the tests.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from conformance_tests.profiles.server.wire import DEMANDE, Client
from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork

from .registers import bulk_load

BIN = Path(sys.executable).parent
SNE_HUB = str(BIN / "sne-hub")
WSDL_PATH = "/services/DemandeLogementImplService/?wsdl"
START_BOUND = 60  # seconds: a hang bound on a shared machine, not a speed limit


class NginxMissing(Exception):
    pass


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise NginxMissing("nginx is missing: `make test` (or `make nginx`, as root) installs Debian's package")
    return found


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(condition, what: str, bound: float = START_BOUND) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting for {what} after {bound} s")
        time.sleep(0.1)


def seed_register(directory: Path, database_url: str, environment: dict, applications: int = 0,
                  log: Callable[[str], None] = print) -> None:
    """The register and the demo PKI as an operator prepares them: ``sne-hub db upgrade``, ``demo
    seed`` and ``certificates demo`` in ``directory``. With ``applications``, the migrated register
    first receives that many by ``support.registers.bulk_load`` (PostgreSQL; the demo territory and
    counters among its reference data, so that ``demo seed`` adds only what they lack)."""
    for command in (("db", "upgrade"), ("demo", "seed"), ("certificates", "demo")):
        if command == ("demo", "seed") and applications:
            bulk_load(database_url, applications, log=log)
        subprocess.run([SNE_HUB, *command], cwd=directory, env=environment, check=True, capture_output=True)


@dataclass
class Topology:
    """nginx on ``port`` (TLS), SOAP processes on ``backends`` (plain HTTP), all on ``database_url``."""

    directory: Path
    database_url: str
    port: int
    backends: list[int]
    hubs: dict[int, subprocess.Popen] = field(default_factory=dict)
    proxy: subprocess.Popen | None = None
    hub_settings: dict = field(default_factory=dict)  # SNE_HUB_* of the SOAP processes, over hub.env's
    _engine: object = None

    @classmethod
    def prepare(cls, directory: Path, database_url: str, backends: int, *, applications: int = 0,
                log: Callable[[str], None] = print, **hub_settings: str) -> Topology:
        """Seed the register (:func:`seed_register`, with ``applications`` loaded first), write the
        PKI and render the configuration (nothing started yet)."""
        port, *ports = free_ports(backends + 1)
        topology = cls(directory, database_url, port, ports, hub_settings={k: str(v) for k, v in hub_settings.items()})
        seed_register(directory, database_url, topology.environment(), applications, log)
        topology.render()
        return topology

    @property
    def pki(self) -> Path:
        return self.directory / "var" / "demo"

    @property
    def conf(self) -> Path:
        return self.directory / "proxy"

    @property
    def engine(self):
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def unit_of_work(self, readonly: bool = False) -> SqlUnitOfWork:
        """The register, directly (as RunningHub.unit_of_work): to seed or check what the hubs wrote."""
        return SqlUnitOfWork(self.engine, readonly=readonly)

    def environment(self) -> dict:
        return {**os.environ, "SNE_HUB_DATABASE_URL": self.database_url, "SNE_HUB_LOG_LEVEL": "WARNING"}

    def render(self, ports: list[int] | None = None) -> None:
        """``sne-hub deploy render`` for ``ports`` (default: every backend), through ``python -m``."""
        backends = [argument for port in (ports or self.backends) for argument in ("--backend", f"127.0.0.1:{port}")]
        subprocess.run([sys.executable, "-m", "hub.deploy", "render", "--out", str(self.conf),
                        "--public-port", str(self.port), "--listen", f"127.0.0.1:{self.port}", *backends,
                        "--server-cert", str(self.pki / "server-cert.pem"),
                        "--server-key", str(self.pki / "server-key.pem"),
                        "--client-ca", str(self.pki / "ca.pem"), "--crl", str(self.pki / "crl.pem"),
                        "--runtime-dir", str(self.conf / "run"), "--log-dir", str(self.conf / "run"),
                        "--user", "root" if os.geteuid() == 0 else "", "--nginx", nginx_binary()],
                       cwd=self.directory, env=self.environment(), check=True, capture_output=True)
        (self.conf / "run").mkdir(exist_ok=True)

    def hub_environment(self, port: int) -> dict:
        settings = dict(line.split("=", 1) for line in (self.conf / "hub.env").read_text().splitlines()
                        if line and not line.startswith("#"))
        return {**self.environment(), **settings, **self.hub_settings, "SNE_HUB_HTTPS_PORT": str(port)}

    # -- processes ----------------------------------------------------------------------------------

    def start_hub(self, port: int) -> subprocess.Popen:
        process = subprocess.Popen([SNE_HUB, "serve", "--only", "soap"], cwd=self.directory,
                                   env=self.hub_environment(port), stdout=subprocess.DEVNULL,
                                   stderr=(self.conf / "run" / f"hub-{port}.log").open("ab"))
        self.hubs[port] = process
        wait_until(lambda: process.poll() is not None or self._hub_answers(port), f"the SOAP process on {port}")
        if process.poll() is not None:
            raise RuntimeError(f"the SOAP process on {port} ended: {self.log(f'hub-{port}.log')}")
        return process

    def stop_hub(self, port: int, signum: int = signal.SIGTERM) -> int:
        process = self.hubs.pop(port)
        process.send_signal(signum)
        return process.wait(timeout=START_BOUND)

    def start_proxy(self) -> None:
        self.proxy = subprocess.Popen(self._nginx("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        wait_until(lambda: self.proxy.poll() is not None or self._proxy_answers(), "nginx")
        if self.proxy.poll() is not None:
            raise RuntimeError(f"nginx ended: {self.proxy.stderr.read().decode(errors='replace')}")

    def reload_proxy(self) -> None:
        """Reread the configuration, the certificates and the CRL (what ``systemctl reload`` does),
        and wait until the workers of the old configuration have finished their requests and left."""
        old_workers = self._workers()
        subprocess.run(self._nginx("-s", "reload"), check=True, capture_output=True)
        wait_until(lambda: not (self._workers() & old_workers), "nginx's old workers to leave")

    def _workers(self) -> set[int]:
        tasks = Path(f"/proc/{self.proxy.pid}/task")
        return {int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()}

    def close(self) -> None:
        for port in list(self.hubs):
            self.hubs[port].kill()
            self.hubs.pop(port).wait(timeout=START_BOUND)
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.send_signal(signal.SIGQUIT)
            try:
                self.proxy.wait(timeout=START_BOUND)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
        if self._engine is not None:
            self._engine.dispose()

    def _nginx(self, *arguments: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.conf), "-c", str(self.conf / "nginx.conf"), *arguments]

    def log(self, name: str) -> str:
        path = self.conf / "run" / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- clients ------------------------------------------------------------------------------------

    def client(self, counter: str | None = "DEMOB", stranger: bool = False) -> Client:
        """A client of the proxy, with ``counter``'s certificate (none if None), as RunningHub.client."""
        if stranger:
            raise NotImplementedError("no foreign authority in the demo PKI")
        if counter is None:
            return Client(f"https://localhost:{self.port}", str(self.pki / "ca.pem"), keep_alive=False)
        return Client(f"https://localhost:{self.port}", str(self.pki / "ca.pem"), str(self.pki / counter / "cert.pem"),
                      str(self.pki / counter / "key.pem"), name=counter, keep_alive=False)

    def _hub_answers(self, port: int) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", WSDL_PATH)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def _proxy_answers(self) -> bool:
        try:
            return self.client().wsdl(DEMANDE).status_code == 200
        except OSError:
            return False
