"""The proof of the delivery guarantees: a territory's counters' systems on a bad day, dispatchers killed.

On PostgreSQL, as deployed: 2,000 changes of 500 households (creation, two changes, cancellation)
made by three counters while three ``sne-hub dispatch run`` processes push them to twenty-two
receiving systems (the reference receiver over TLS) and two counters' mailboxes. About 30 % of
deliveries go wrong on purpose (Receiver faults, answers after the hub stopped waiting, slow
answers, connections reset before or after the request got through; mail servers refusing for
now), and a dispatcher is killed with SIGKILL every few seconds and started again.

The expected deliveries are computed here from the filters, independently of the product. In the
end every (change, matching subscription) pair was applied exactly once, in each application's
order, nothing reached a counter whose filter or rights exclude it, nothing died or was refused.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import demo
from core.adapters import orm
from core.adapters.database import make_engine
from core.adapters.repository import SqlUnitOfWork
from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.codes import CounterType
from core.domain.dispatch import Channel, Filter, Subscription
from core.domain.referential import Counter, Epci
from core.service_layer import dispatching, services
from support.mailboxes import start_mailboxes
from support.receivers import Faults, RunningReceiver, start_receiver

from ..channels import HUB_ADDRESS, seed_register

pytestmark = pytest.mark.slow

SPAWN = multiprocessing.get_context("spawn")
SNE_HUB = str(Path(sys.executable).parent / "sne-hub")
HOUSEHOLDS = 500  # four changes each: 2,000, enough for every fault and kill to strike many times
MAKERS = ("DEMOC", "RCV01", "RCV17")  # the counters making the changes
COMMUNES = ("57463", "57672", "57480", "57751", "57227", "57606", "57630", "57433", "57019", "57058")
EPCI = Epci("245700398", "Metz Métropole (essai)", "057", frozenset({"57463", "57480", "57751"}))
KILL_EVERY = (2.0, 4.0)  # seconds between SIGKILLs, drawn at random
DRAIN_TIMEOUT = 900  # seconds from the start for everything to arrive: a hang detector, not a speed test


def receiving_filters() -> dict[str, Filter]:
    """Twenty receivers' filters: everything, communes, EPCI, département, kinds, own changes, none."""
    kinds = [{"CRE"}, {"RAD"}, {"MOD"}, {"CRE", "RAD"}]
    filters = {"RCV01": Filter(), "RCV02": Filter(), "RCV17": Filter(include_own=True, kinds=frozenset({"RAD"})),
               "RCV18": Filter(departements=frozenset({"57"})), "RCV19": Filter(epcis=frozenset({EPCI.code})),
               "RCV20": Filter(dalo_statuses=frozenset({"ACTIF"}))}  # nobody is: receives nothing
    for index in range(3, 9):
        filters[f"RCV{index:02d}"] = Filter(communes=frozenset(COMMUNES[(index * 2) % 10:(index * 2) % 10 + 2]))
    for index in range(9, 13):
        filters[f"RCV{index:02d}"] = Filter(kinds=frozenset(kinds[index - 9]))
    for index in range(13, 17):
        filters[f"RCV{index:02d}"] = Filter(kinds=frozenset(kinds[index - 13]),
                                            communes=frozenset(COMMUNES[index - 13:index - 10]))
    return filters


# -- the changes (spawned processes) --------------------------------------------------------------


def make_changes(url: str, process: int, count: int, results) -> None:
    """Register ``count`` households, change each twice, cancel it; report what was done."""
    try:
        engine = make_engine(url)
        unit_of_work = lambda: SqlUnitOfWork(engine)  # noqa: E731
        done = []
        for index in range(count):
            maker = MAKERS[(process + index) % len(MAKERS)]
            commune = COMMUNES[(process * 7 + index) % len(COMMUNES)]
            form = demo.household_form(f"Flotte{process}", f"Personne{index}",
                                       date(1950, 1, 1) + timedelta(days=process * 9000 + index), communes=(commune,))
            now = now_in_paris()
            application = services.register(unit_of_work(), form, now.date(), maker, now)
            number = application.number
            done.append((str(number), 1, "CRE", maker, commune))
            for version in (2, 3):
                form.details = f"Changement {version}"
                services.update(unit_of_work(), number, form, maker, now_in_paris())
                done.append((str(number), version, "MOD", maker, commune))
            services.cancel(unit_of_work(), number, Cancellation(date=now.date(), motive="RADABA"), maker,
                            now_in_paris())
            done.append((str(number), 4, "RAD", maker, commune))
        results.put(("ok", done))
        engine.dispose()
    except BaseException:  # noqa: BLE001 - the parent must hear of it
        results.put(("crashed", traceback.format_exc()))


def expected(changes: list[tuple], counter: str, chosen: Filter) -> set[tuple[str, int, str]]:
    """What a counter of territory 057 must have received, computed from the filter by hand."""
    wanted = set(chosen.communes) | (set(EPCI.communes) if chosen.epcis else set())
    found = set()
    for number, version, kind, maker, commune in changes:
        if maker == counter and not chosen.include_own:
            continue
        if chosen.kinds and kind not in chosen.kinds:
            continue
        if (chosen.communes or chosen.epcis) and commune not in wanted:
            continue
        if chosen.dalo_statuses:  # every household here is NON
            continue
        found.add((number, version, kind))
    return found


# -- the dispatchers (``sne-hub dispatch run`` processes, killed at random) -------------------------


class Dispatchers:
    def __init__(self, environment: dict, count: int, logs: Path):
        self.environment, self.logs = environment, logs
        self.processes = [self._start(index) for index in range(count)]
        self.kills = 0

    def _start(self, index: int) -> subprocess.Popen:
        log = (self.logs / f"dispatcher-{index}.log").open("ab")
        return subprocess.Popen([SNE_HUB, "dispatch", "run", "--without-notices"], env=self.environment,
                                stdout=log, stderr=subprocess.STDOUT)

    def kill_one(self, chance: random.Random) -> None:
        index = chance.randrange(len(self.processes))
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait()
        self.kills += 1
        self.processes[index] = self._start(index)

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def pending(unit_of_work) -> int:
    """Changes not fanned out yet, and items not delivered yet."""
    with unit_of_work(readonly=True) as work:
        outbox = work.connection.scalar(select(func.count()).select_from(orm.outbox).where(
            orm.outbox.c.delivered_at.is_(None), orm.outbox.c.topic.like("application.%")))
    return outbox + sum(row.counts.pending for row in dispatching.status(unit_of_work(readonly=True), now_in_paris()))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_change_reaches_every_matching_system_once_in_order_through_faults_and_kills(
        database_url, uow, pki, tmp_path):
    seed_register(uow, pki)
    filters = receiving_filters()
    for code in filters:
        services.add_counter(uow(), Counter(code, f"Système {code}", CounterType.LANDLORD, "057"))
    services.add_counter(uow(), Counter("INACT", "Guichet fermé", CounterType.LANDLORD, "057", active=False))
    dispatching.add_epci(uow(), EPCI)
    chance = random.Random(20261202)
    faults = Faults(error=0.12, late=0.06, slow=0.06, reset=0.06, late_seconds=3.5, slow_seconds=0.5, seed=7)
    receivers = {code: start_receiver(pki, faults=faults, check_files=False)
                 for code in [*filters, "NANCY", "INACT"]}
    mail_faults = Faults(error=0.3, seed=11)
    mailboxes, mail_server = start_mailboxes(pki, ["DEMOE", "ETAT1", "NANCY"], mail_faults)
    now = now_in_paris()
    subscriptions = {}
    for code, receiver in receivers.items():
        dispatching.set_endpoint(uow(), code, receiver.endpoint)
        chosen = filters.get(code, Filter())
        with uow() as work:  # INACT's subscription is made while it is closed: through the port
            subscriptions[code] = work.subscriptions.add(Subscription(
                None, code, Channel.SOAP, chosen, mtom=code != "RCV02", created_at=now))
            work.commit()
    mail_filters = {"DEMOE": Filter(), "ETAT1": Filter(kinds=frozenset({"RAD"})), "NANCY": Filter()}
    for code, chosen in mail_filters.items():
        dispatching.subscribe(uow(), code, Channel.MAIL, chosen, now)

    directory = Path(pki["directory"])
    environment = {
        **os.environ, "SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_LOG_LEVEL": "WARNING",
        "SNE_HUB_DISPATCH_CERT": str(directory / "hub-client-cert.pem"),
        "SNE_HUB_DISPATCH_KEY": str(directory / "hub-client-key.pem"), "SNE_HUB_DISPATCH_CA": str(directory / "ca.pem"),
        "SNE_HUB_DISPATCH_TIMEOUT": "3", "SNE_HUB_DISPATCH_LEASE": "8s", "SNE_HUB_DISPATCH_POLL": "0.05",
        "SNE_HUB_DISPATCH_WORKERS": "4", "SNE_HUB_DISPATCH_BATCH": "50",
        "SNE_HUB_DISPATCH_RETRY": ",".join(["0s", "0.2s", "0.5s"] + ["1s"] * 27),
        "SNE_HUB_DISPATCH_DISABLE_AFTER": "1h", "SNE_HUB_SMTP_RELAY": f"127.0.0.1:{mail_server.port}",
        "SNE_HUB_MAIL_CERT": str(directory / "hub-cert.pem"), "SNE_HUB_MAIL_KEY": str(directory / "hub-key.pem"),
        "SNE_HUB_MAIL_ADDRESSES": HUB_ADDRESS,
    }
    dispatchers = Dispatchers(environment, 3, tmp_path)
    results = SPAWN.Queue()
    makers = [SPAWN.Process(target=make_changes, args=(database_url, process, HOUSEHOLDS // 2, results))
              for process in range(2)]
    try:
        for maker in makers:
            maker.start()
        changes, reports, started = [], [], time.monotonic()
        while len(reports) < len(makers) or pending(uow) or time.monotonic() - started < 10:
            time.sleep(chance.uniform(*KILL_EVERY))
            while not results.empty():
                reports.append(results.get())
            if len(reports) < len(makers) or dispatchers.kills < 6:
                dispatchers.kill_one(chance)
            assert time.monotonic() - started < DRAIN_TIMEOUT, f"still {pending(uow)} items pending"
        for status, payload in reports:
            assert status == "ok", payload
            changes.extend(payload)
    finally:
        dispatchers.stop()
        for maker in makers:
            maker.join(timeout=30)
        with ThreadPoolExecutor() as pool:  # one after the other, two dozen servers take seconds to stop
            list(pool.map(RunningReceiver.stop, receivers.values()))
        mail_server.stop()

    assert len(changes) == 4 * HOUSEHOLDS and dispatchers.kills >= 6
    assert all(faults.drawn[kind] > 0 for kind in ("error", "late", "slow", "reset")), faults.drawn
    statuses = {row.subscription.counter + ":" + row.subscription.channel.value: row
                for row in dispatching.status(uow(readonly=True), now_in_paris())}
    for name, row in statuses.items():
        assert (row.counts.pending, row.counts.dead, row.counts.refused) == (0, 0, 0), name
    redelivered = 0
    for code, receiver in receivers.items():
        store = receiver.store
        want = expected(changes, code, filters[code]) if code in filters else set()  # NANCY, INACT: nothing
        assert store.changes == want, f"{code}: {len(store.changes)} applied, {len(want)} expected"
        assert store.applied_twice == [] and store.reapplied == [] and store.out_of_order == [], code
        redelivered += store.redelivered
    for code, chosen in mail_filters.items():
        box = mailboxes.of(code)
        want = expected(changes, code, chosen) if code != "NANCY" else set()
        assert box.unreadable == [] and box.store.changes == want, code
        assert box.store.applied_twice == [] and box.store.out_of_order == [], code
    assert redelivered > 0  # the hub did redeliver, and receivers did not apply twice
    total = sum(len(expected(changes, code, chosen)) for code, chosen in filters.items())
    print(f"\n{len(changes)} changes, {total} SOAP deliveries of a change, {dispatchers.kills} dispatchers killed, "
          f"{redelivered} deliveries received twice and applied once, faults drawn {dict(faults.drawn)}")
