"""``sne-hub dispatch``, ``sne-hub notices`` and ``sne-hub epcis`` as operators use them.

Every command and subcommand answers ``--help`` (found by walking the click groups as ``sne-hub``
loads them, so a new command cannot be missed); the operator flows print what they should and change
the register. Commands run in-process through click's runner, as the installed script runs them
(tests/integration/core/test_cli.py runs the script itself), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gc
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from core import demo
from core.cli import main
from core.domain.calendar import PARIS, add_months, now_in_paris
from core.domain.dispatch import Filter, ItemStatus, Range, RetrySchedule
from core.service_layer import dispatching, notices, services
from dispatching.worker import Dispatcher
from support.receivers import Faults

from .conftest import with_settings

GROUPS = ("dispatch", "notices", "epcis")


def plugged(name: str) -> click.Command:
    """A group as ``sne-hub`` finds it (core's own, or plugged in through an entry point)."""
    return main.get_command(click.Context(main), name)


def walk(command: click.Command, path: tuple[str, ...]):
    yield path
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            yield from walk(command.get_command(context, name), path + (name,))


COMMANDS = [path for group in GROUPS for path in walk(plugged(group), (group,))]


def test_the_groups_are_plugged_in_and_walked_to_their_leaves():
    for group in GROUPS:
        assert isinstance(plugged(group), click.Group), group
        assert len([path for path in COMMANDS if path[0] == group]) > 1, group
    assert {("dispatch", "dead", "retry"), ("notices", "letters", "close"), ("epcis", "add")} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"], prog_name="sne-hub")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: sne-hub {' '.join(command)}")
    description = result.output.split("\n\n")[1].strip()
    assert description and not description.startswith("Options:")
    leaf = plugged(command[0])
    for name in command[1:]:
        leaf = leaf.get_command(click.Context(leaf), name)
    for option in leaf.params:
        if isinstance(option, click.Option) and not option.hidden:
            assert option.opts[-1] in result.output, option.name  # every option is explained


# -- running the commands ---------------------------------------------------------------------------


@pytest.fixture
def sne_hub(register, database_url, tmp_path):
    """Run ``sne-hub …`` on the seeded register; ``fails=True`` expects a refusal (exit code 1)."""
    environment = {"SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_LOG_LEVEL": "WARNING",
                   "SNE_HUB_LETTERS_DIR": str(tmp_path / "letters"), "SNE_HUB_NOTICES_DIR": str(tmp_path / "notices"),
                   "SNE_HUB_SMTP_RELAY": "", "SNE_HUB_SMS_PROVIDER": "demo"}

    def run(*args: str, fails: bool = False, exit_code: int = 1):
        result = CliRunner().invoke(main, list(args), env=environment, prog_name="sne-hub")
        gc.collect()  # the command's engine and its connections go now, not at the end of the session
        if fails:
            assert result.exit_code == exit_code, result.output
            assert "Traceback" not in result.output
        else:
            assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        return result

    return run


def household(uow, surname: str, counter: str = "DEMOC", communes=(demo.METZ,), **options):
    form = demo.household_form(surname, "Camille", date(1990, 3, 3), communes=communes, **options)
    return services.register(uow(), form, now_in_paris().date(), counter, now_in_paris())


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()]


def subscription(uow, subscription_id: int):
    [row] = [row for row in dispatching.status(uow(readonly=True), now_in_paris())
             if row.subscription.id == subscription_id]
    return row


# -- epcis -------------------------------------------------------------------------------------------


def test_epcis_add_and_list(sne_hub, register):
    added = sne_hub("epcis", "add", "245701404", "--name", "Metz Métropole", "--territory", "057",
                    "--commune", demo.METZ, "--commune", demo.WOIPPY)
    assert added.stdout == "EPCI 245701404 added (2 communes)\n"
    assert sne_hub("epcis", "list").stdout == "245701404  057  Metz Métropole: 57463, 57751\n"
    assert sne_hub("epcis", "list", "--territory", "054").stdout == ""

    outside = sne_hub("epcis", "add", "200000000", "--name", "Débordante", "--territory", "057",
                      "--commune", "54395", fails=True)
    assert "NUU194 communes" in outside.stderr and "54395" in outside.stderr
    twice = sne_hub("epcis", "add", "245701404", "--name", "Encore", "--territory", "057", "--commune", demo.METZ,
                    fails=True)
    assert "NUU192" in twice.stderr
    with register(readonly=True) as work:
        [epci] = work.territories.epcis()
    assert (epci.code, epci.name, epci.communes) == ("245701404", "Metz Métropole", {demo.METZ, demo.WOIPPY})

    # a filter may name it, and then selects its communes
    household(register, "Woippy", communes=(demo.WOIPPY,))
    household(register, "Thionville", communes=(demo.THIONVILLE,))
    sne_hub("dispatch", "fan-out")
    assert "1 of the 2 changes" in sne_hub("dispatch", "preview", "DEMOB", "--epci", "245701404").stdout
    assert "NUU103 epcis" in sne_hub("dispatch", "preview", "DEMOB", "--epci", "200000000", fails=True).stderr


# -- dispatch ----------------------------------------------------------------------------------------


def test_subscribe_with_a_filter_then_preview_list_and_status(sne_hub, register):
    household(register, "Metz")  # by DEMOC, in Metz
    household(register, "Thionville", communes=(demo.THIONVILLE,))
    household(register, "Propre", counter="DEMOB")  # the landlord's own: not sent to it by default
    fanned = sne_hub("dispatch", "fan-out")
    assert fanned.stdout == "3 changes fanned out\n" and "fan-out: 3 changes so far" in fanned.stderr
    assert sne_hub("dispatch", "fan-out").stdout == "0 changes fanned out\n"

    previewed = sne_hub("dispatch", "preview", "DEMOB", "--commune", demo.METZ)
    assert previewed.stdout == "filter communes=57463: 1 of the 3 changes of the last 30 days\n"
    assert "2 of the 3" in sne_hub("dispatch", "preview", "DEMOB", "--commune", demo.METZ, "--include-own").stdout
    assert "0 of the 3" in sne_hub("dispatch", "preview", "DEMOB", "--kind", "RAD").stdout

    subscribed = sne_hub("dispatch", "subscribe", "DEMOB", "--channel", "pull", "--commune", demo.METZ,
                         "--kind", "CRE", "--kind", "MOD", "--housing-type", "t3", "--household-size", "2-6")
    assert subscribed.stdout.splitlines() == [
        "subscription 1: DEMOB by pull, filter kinds=CRE,MOD communes=57463 housing_types=T3 household_size=2-6",
        "it would have received 1 of the 3 changes of the last 30 days"]
    assert subscription(register, 1).subscription.filter == Filter(
        kinds=frozenset({"CRE", "MOD"}), communes=frozenset({demo.METZ}), housing_types=frozenset({"T3"}),
        household_size=Range(2, 6))

    sne_hub("dispatch", "subscribe", "DEMOE", "--channel", "daily_mail", "--inline", "--dalo", "non",
            "--resources", "-1500", "--mutations-only")
    assert rows(sne_hub("dispatch", "list").stdout) == [
        ["1", "DEMOB", "pull", "mtom", "sequence", "0", "filter", "kinds=CRE,MOD", "communes=57463",
         "housing_types=T3", "household_size=2-6"],
        ["2", "DEMOE", "daily_mail", "inline", "sequence", "0", "filter", "monthly_resources=-1500",
         "dalo_statuses=NON", "mutations_only=True"]]
    assert [row[1] for row in rows(sne_hub("dispatch", "list", "--counter", "DEMOE").stdout)] == ["DEMOE"]

    status = rows(sne_hub("dispatch", "status").stdout)
    assert status[0][:6] == ["id", "counter", "channel", "state", "pending", "lag"]
    assert status[1:] == [["1", "DEMOB", "pull", "enabled", "0", "-", "0", "0", "-", "-"],
                          ["2", "DEMOE", "daily_mail", "enabled", "0", "-", "0", "0", "-", "-"]]
    assert len(rows(sne_hub("dispatch", "status", "--territory", "054").stdout)) == 1  # the header only


def test_subscriptions_the_register_refuses_say_why_with_their_stable_code(sne_hub, register):
    no_endpoint = sne_hub("dispatch", "subscribe", "DEMOC", "--channel", "soap", fails=True)
    assert "NUU194 endpoint" in no_endpoint.stderr and "sne-hub dispatch endpoint" in no_endpoint.stderr
    no_mailbox = sne_hub("dispatch", "subscribe", "GEST1", "--channel", "mail", fails=True)
    assert "NUU194 mailbox" in no_mailbox.stderr
    outside = sne_hub("dispatch", "subscribe", "DEMOB", "--channel", "pull", "--commune", "54395", fails=True)
    assert "NUU103 communes" in outside.stderr and "hors du territoire 057" in outside.stderr
    unknown = sne_hub("dispatch", "subscribe", "NOBOD", "--channel", "pull", fails=True)
    assert "NUU180" in unknown.stderr
    bad_range = sne_hub("dispatch", "subscribe", "DEMOB", "--channel", "pull", "--household-size", "5-2",
                        fails=True, exit_code=2)
    assert "intervalle vide" in bad_range.stderr
    assert dispatching.status(register(readonly=True), now_in_paris()) == []  # nothing was created

    endpoint = "https://democ.example.test/services/ReceptionDispatchImplService/"
    assert sne_hub("dispatch", "endpoint", "DEMOC", endpoint).stdout == f"counter DEMOC: endpoint {endpoint}\n"
    assert "subscription 1: DEMOC by soap" in sne_hub("dispatch", "subscribe", "DEMOC", "--channel", "soap").stdout
    assert sne_hub("dispatch", "endpoint", "DEMOC").stdout == "counter DEMOC: endpoint removed\n"
    with register(readonly=True) as work:
        assert work.counters.get("DEMOC").endpoint is None
    assert "NUU194 endpoint" in sne_hub("dispatch", "enable", "1", fails=True).stderr  # nowhere to push to


def test_disable_enable_change_the_filter_and_replay_the_past(sne_hub, register):
    metz = household(register, "Metz")
    thionville = household(register, "Thionville", communes=(demo.THIONVILLE,))
    sne_hub("dispatch", "subscribe", "DEMOB", "--channel", "soap", "--commune", demo.METZ)  # DEMOB has an endpoint
    sne_hub("dispatch", "fan-out")
    assert subscription(register, 1).counts.pending == 1

    assert sne_hub("dispatch", "disable", "1", "--reason", "maintenance du logiciel").stdout == \
        "subscription 1 disabled\n"
    [row] = rows(sne_hub("dispatch", "status", "--counter", "DEMOB").stdout)[1:]
    assert row[3] == "DISABLED" and " ".join(row).endswith("maintenance du logiciel")
    assert not subscription(register, 1).subscription.enabled
    assert sne_hub("dispatch", "enable", "1").stdout == "subscription 1 enabled\n"
    assert rows(sne_hub("dispatch", "status").stdout)[1][3] == "enabled"
    assert subscription(register, 1).subscription.enabled

    assert sne_hub("dispatch", "filter", "1", "--commune", demo.THIONVILLE).stdout == \
        "subscription 1: filter communes=57672\n"
    assert subscription(register, 1).subscription.filter == Filter(communes=frozenset({demo.THIONVILLE}))
    assert "NUU103 communes" in sne_hub("dispatch", "filter", "1", "--commune", "54395", fails=True).stderr

    since = (now_in_paris() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert sne_hub("dispatch", "replay", "1", "--since", since).stdout == "subscription 1: 1 changes queued again\n"
    items = dispatching.items(register(readonly=True), 1, [ItemStatus.PENDING])
    assert [(item.sequence, item.number) for item in items] == [(1, str(metz.number)), (2, str(thionville.number))]
    assert rows(sne_hub("dispatch", "status").stdout)[1][4] == "2"
    tomorrow = (now_in_paris() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert sne_hub("dispatch", "replay", "1", "--since", tomorrow).stdout == "subscription 1: 0 changes queued again\n"
    assert "NUU193" in sne_hub("dispatch", "disable", "99", fails=True).stderr


def test_dead_letters_are_listed_and_sent_again_under_their_delivery_id(sne_hub, register, settings, receivers):
    faults = Faults(error=1.0)  # the counter's system fails every delivery
    receiver = receivers(faults=faults)
    sne_hub("dispatch", "endpoint", "DEMOB", receiver.endpoint)
    sne_hub("dispatch", "subscribe", "DEMOB", "--channel", "soap")
    application = household(register, "Perdu")
    dispatcher = Dispatcher(register, with_settings(settings, retry=RetrySchedule.parse("0s")))  # one attempt
    dispatcher.fan_out_once()
    assert dispatcher.deliver_once("test") == "dead"

    [dead] = rows(sne_hub("dispatch", "dead", "list", "1").stdout)
    assert dead[:5] == ["1", "S1-0000000001-0000000001", "CRE", str(application.number), "v1"]
    assert "panne simulée" in " ".join(dead[5:])
    assert rows(sne_hub("dispatch", "status").stdout)[1][6] == "1"  # the dead column

    faults.error = 0.0  # the system is repaired
    assert sne_hub("dispatch", "dead", "retry", "1").stdout == "subscription 1: 1 dead letters queued again\n"
    assert sne_hub("dispatch", "dead", "list", "1").stdout == ""
    assert dispatcher.deliver_once("test") == "delivered"
    assert receiver.store.deliveries == {"S1-0000000001-0000000001"}  # the same delivery id
    assert receiver.store.changes == {(str(application.number), 1, "CRE")}
    assert rows(sne_hub("dispatch", "status").stdout)[1][4:7] == ["0", "-", "0"]
    assert sne_hub("dispatch", "dead", "retry", "1").stdout == "subscription 1: 0 dead letters queued again\n"


# -- notices -----------------------------------------------------------------------------------------


def test_notices_list_letters_close_retry_and_mark_sent(sne_hub, register, dispatcher, tmp_path):
    today = now_in_paris().date()
    filed = add_months(today, -11)  # due in a month: the first notice is owed today
    registered_at = datetime(filed.year, filed.month, filed.day, 10, tzinfo=PARIS)

    def letter_only(surname: str, address: bool = True):
        form = demo.household_form(surname, "Dominique", date(1970, 1, 1), email=None, mobile=None)
        if not address:
            form.household.applicant.postal_address = None
        return services.register(register(), form, filed, "DEMOC", registered_at)

    posted, homeless = letter_only("Postée"), letter_only("Sansadresse", address=False)
    assert "2 premiers préavis demandés" in sne_hub("renewals", "run").stdout
    dispatcher.notices.run_once(now_in_paris())  # the dispatcher takes the clock's requests

    listed = rows(sne_hub("notices", "list").stdout)
    due = add_months(filed, 12).isoformat()
    assert [row[1:] for row in listed] == [
        [str(posted.number), "first", "due", due, "pending", "-", "letter", "queued", "×0"],
        [str(homeless.number), "first", "due", due, "pending", "-", "letter", "queued", "×0"]]

    assert sne_hub("notices", "letters", "close").stdout == "1 batches closed\n"
    [batch] = rows(sne_hub("notices", "letters", "list").stdout)
    path = Path(batch[-1])
    assert batch[1:6] == ["057", "letter", today.isoformat(), "1", "letters"]
    assert path.parent == tmp_path / "letters" / "057" and path.read_bytes().startswith(b"%PDF-1.4")
    assert posted.number.display().encode() in path.read_bytes()

    [sent] = rows(sne_hub("notices", "list", "--status", "sent").stdout)
    assert sent[1] == str(posted.number) and sent[-3:] == ["letter", "sent", "×1"]
    failed = sne_hub("notices", "list", "--status", "failed").stdout
    assert str(homeless.number) in failed and "(adresse postale absente : courrier impossible)" in failed
    everything = sne_hub("notices", "list").stdout
    assert "Sansadresse" not in everything and "Postée" not in everything and "Jardins" not in everything
    by_number = sne_hub("notices", "list", "--number", homeless.number.display()).stdout
    assert [row[1] for row in rows(by_number)] == [str(homeless.number)]

    notice = int(rows(failed)[0][0])
    assert sne_hub("notices", "retry", str(notice)).stdout == f"notice {notice}: 1 sends queued again\n"
    assert notices.listing(register(), "pending")[0].id == notice
    assert "NUU195" in sne_hub("notices", "retry", "9999", fails=True).stderr

    by_hand = today - timedelta(days=2)
    marked = sne_hub("notices", "mark-sent", str(notice), "--channel", "letter", "--on", by_hand.isoformat())
    assert marked.stdout == f"notice {notice}: sent by letter on {by_hand.isoformat()}\n"
    [record] = notices.listing(register(), number=str(homeless.number))
    assert (record.status, record.sent_channel) == ("sent", "letter")
    with register(readonly=True) as work:
        assert work.applications.get(homeless.number).renewal.notice_sent_on == by_hand
    shown = sne_hub("applications", "show", str(homeless.number)).stdout
    assert re.search(rf"notices:\s+{by_hand.isoformat()} / -", shown)
    assert "NUU195" in sne_hub("notices", "mark-sent", "9999", "--channel", "letter", "--on", by_hand.isoformat(),
                               fails=True).stderr
