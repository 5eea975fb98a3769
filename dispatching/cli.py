"""``sne-hub dispatch …`` and ``sne-hub notices …``: operating outbound delivery.

Plugged into the ``sne-hub`` command through the ``sne_hub.commands`` entry point. Every decision
(filters, rights, retries) is core's; these commands only call its use cases and print.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import click

from core.cli import Context, pass_context
from core.domain.calendar import PARIS, now_in_paris
from core.domain.dispatch import ChangeKind, Channel, Filter, ItemStatus, Range, kinds_of
from core.service_layer import dispatching, notices
from core.wire.dispatch import stored_file

from .config import DispatchSettings
from .receiver import FileStore, Receiver, serve
from .worker import Dispatcher


def filter_options(function):
    """The options that make a filter, shared by subscribe, preview and filter."""
    options = [
        click.option("--kind", "kinds", multiple=True, metavar="TYPE",
                     help=f"Change types to receive (repeatable): {', '.join(k.value for k in ChangeKind)}; "
                          "all by default."),
        click.option("--commune", "communes", multiple=True, metavar="INSEE", help="Wished commune (repeatable)."),
        click.option("--epci", "epcis", multiple=True, metavar="SIREN",
                     help="Wished EPCI (repeatable; sne-hub epcis)."),
        click.option("--departement", "departements", multiple=True, help="Wished département (repeatable)."),
        click.option("--housing-type", "housing_types", multiple=True, metavar="CODE",
                     help="Dwelling type sought (repeatable): C, T1 … T5, T6P."),
        click.option("--household-size", metavar="RANGE", help="People in the household: 3, 2-5, 4-, -2."),
        click.option("--resources", metavar="RANGE",
                     help="Monthly resources of the household in euros: -1500, 800-2000."),
        click.option("--dalo", "dalo_statuses", multiple=True, metavar="STATUS",
                     help="DALO status (repeatable): NON, ACTIF, CADUC, ACTREL."),
        click.option("--mutations-only", is_flag=True, help="Only households already in social housing."),
        click.option("--include-own", is_flag=True, help="Also the counter's own changes (not by default)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_filter(kinds, communes, epcis, departements, housing_types, household_size, resources, dalo_statuses,
                mutations_only, include_own) -> Filter:
    try:
        return Filter(kinds=kinds_of(kinds), communes=frozenset(communes), epcis=frozenset(epcis),
                      departements=frozenset(departements), housing_types=frozenset(t.upper() for t in housing_types),
                      household_size=Range.parse(household_size) if household_size else Range(),
                      monthly_resources=Range.parse(resources) if resources else Range(),
                      dalo_statuses=frozenset(s.upper() for s in dalo_statuses), mutations_only=mutations_only,
                      include_own=include_own)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# -- dispatch -------------------------------------------------------------------------------------


@click.group()
def dispatch() -> None:
    """Dispatching: counters' subscriptions to the changes of their territory, and their streams."""


@dispatch.command("subscribe")
@click.argument("counter")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), required=True,
              help="soap: push to the counter's endpoint; mail: signed mail at once; daily_mail: one mail a day "
                   "(a null flow on quiet days); pull: getDispatchDepuis only.")
@click.option("--inline", is_flag=True, help="SOAP push with files inline in base64 instead of MTOM.")
@filter_options
@pass_context
def subscribe(context: Context, counter: str, channel: str, inline: bool, **criteria) -> None:
    """Subscribe COUNTER to the changes its filter selects, from now on."""
    context.require_schema()
    chosen = make_filter(**criteria)
    now = now_in_paris()
    subscription = dispatching.subscribe(context.uow(), counter, Channel(channel), chosen, now, mtom=not inline)
    matched, total = dispatching.preview(context.uow(readonly=True), counter, chosen, now)
    click.echo(f"subscription {subscription.id}: {counter} by {channel}, filter {chosen.describe()}")
    click.echo(f"it would have received {matched} of the {total} changes of the last 30 days")


@dispatch.command("preview")
@click.argument("counter")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="How far back to look.")
@filter_options
@pass_context
def preview(context: Context, counter: str, days: int, **criteria) -> None:
    """How many of the territory's recent changes a filter would send COUNTER."""
    context.require_schema()
    chosen = make_filter(**criteria)
    matched, total = dispatching.preview(context.uow(readonly=True), counter, chosen, now_in_paris(), days)
    click.echo(f"filter {chosen.describe()}: {matched} of the {total} changes of the last {days} days")


@dispatch.command("filter")
@click.argument("subscription", type=int)
@filter_options
@pass_context
def change_filter(context: Context, subscription: int, **criteria) -> None:
    """Give SUBSCRIPTION a new filter (for changes from now on; `replay` applies it to the past)."""
    context.require_schema()
    changed = dispatching.change_filter(context.uow(), subscription, make_filter(**criteria))
    click.echo(f"subscription {subscription}: filter {changed.filter.describe()}")


@dispatch.command("endpoint")
@click.argument("counter")
@click.argument("url", required=False)
@pass_context
def endpoint(context: Context, counter: str, url: str | None) -> None:
    """Set (or, without URL, remove) where SOAP pushes reach COUNTER's system."""
    context.require_schema()
    dispatching.set_endpoint(context.uow(), counter, url)
    click.echo(f"counter {counter}: endpoint {url or 'removed'}")


@dispatch.command("status")
@click.option("--counter", help="Only this counter's subscriptions.")
@click.option("--territory", help="Only this territory's.")
@pass_context
def status(context: Context, counter: str | None, territory: str | None) -> None:
    """Each stream: enabled or not, waiting items and lag, last success, failures, dead letters."""
    context.require_schema()
    now = now_in_paris()
    rows = dispatching.status(context.uow(readonly=True), now, counter, territory)
    click.echo(f"{'id':>5} {'counter':<7} {'channel':<10} {'state':<9} {'pending':>8} {'lag':>9} {'dead':>5} "
               f"{'refused':>7} {'last success':<16} last error")
    for row in rows:
        subscription = row.subscription
        state = "enabled" if subscription.enabled else "DISABLED"
        if subscription.enabled and subscription.failing_since:
            state = "FAILING"
        click.echo(f"{subscription.id:>5} {subscription.counter:<7} {subscription.channel.value:<10} {state:<9} "
                   f"{row.counts.pending:>8} {_duration(row.lag):>9} {row.counts.dead:>5} {row.counts.refused:>7} "
                   f"{_moment(subscription.last_success_at):<16} "
                   f"{subscription.disabled_reason or subscription.last_error or '-'}")


@dispatch.command("list")
@click.option("--counter", help="Only this counter's subscriptions.")
@pass_context
def list_(context: Context, counter: str | None) -> None:
    """Subscriptions and their filters."""
    context.require_schema()
    for row in dispatching.status(context.uow(readonly=True), now_in_paris(), counter):
        subscription = row.subscription
        click.echo(f"{subscription.id:>5} {subscription.counter:<7} {subscription.channel.value:<10} "
                   f"{'mtom' if subscription.mtom else 'inline'}  sequence {subscription.last_sequence}  "
                   f"filter {subscription.filter.describe()}")


@dispatch.command("enable")
@click.argument("subscription", type=int)
@pass_context
def enable(context: Context, subscription: int) -> None:
    """Resume SUBSCRIPTION's stream where it stopped (its waiting items go first)."""
    context.require_schema()
    dispatching.set_enabled(context.uow(), subscription, True, now_in_paris())
    click.echo(f"subscription {subscription} enabled")


@dispatch.command("disable")
@click.argument("subscription", type=int)
@click.option("--reason", help="Why (shown by status).")
@pass_context
def disable(context: Context, subscription: int, reason: str | None) -> None:
    """Stop pushing SUBSCRIPTION (its items keep accumulating, nothing is lost)."""
    context.require_schema()
    dispatching.set_enabled(context.uow(), subscription, False, now_in_paris(), reason)
    click.echo(f"subscription {subscription} disabled")


@dispatch.command("replay")
@click.argument("subscription", type=int)
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), required=True,
              help="Send again every change since this day (Paris time) that the filter selects today.")
@pass_context
def replay(context: Context, subscription: int, since: datetime) -> None:
    """Send again the changes since a date, as new items at the end of SUBSCRIPTION's stream."""
    context.require_schema()
    count = dispatching.replay(context.uow(), subscription, since.replace(tzinfo=PARIS), now_in_paris())
    click.echo(f"subscription {subscription}: {count} changes queued again")


@dispatch.group()
def dead() -> None:
    """Dead letters: deliveries whose retry schedule ran out."""


@dead.command("list")
@click.argument("subscription", type=int)
@pass_context
def dead_list(context: Context, subscription: int) -> None:
    """SUBSCRIPTION's dead letters, with the delivery they belong to and the last error."""
    context.require_schema()
    for item in dispatching.items(context.uow(readonly=True), subscription, [ItemStatus.DEAD]):
        click.echo(f"{item.sequence:>10} {item.batch}  {item.kind:<4} {item.number} v{item.version}  "
                   f"{item.error or ''}")


@dead.command("retry")
@click.argument("subscription", type=int)
@pass_context
def dead_retry(context: Context, subscription: int) -> None:
    """Send SUBSCRIPTION's dead letters again, first, under their delivery ids."""
    context.require_schema()
    count = dispatching.retry_dead(context.uow(), subscription)
    click.echo(f"subscription {subscription}: {count} dead letters queued again")


@dispatch.command("fan-out")
@pass_context
def fan_out(context: Context) -> None:
    """Fan out every change waiting in the outbox now, with progress (the dispatcher does it continuously)."""
    context.require_schema()
    total = 0
    while handled := dispatching.fan_out(context.uow(), now_in_paris(), stored_file):
        total += handled
        click.echo(f"fan-out: {total} changes so far", err=True)
    click.echo(f"{total} changes fanned out")


@dispatch.command("run")
@click.option("--workers", type=click.IntRange(1, 64), help="Delivery threads (env SNE_HUB_DISPATCH_WORKERS).")
@click.option("--without-notices", is_flag=True, help="Leave the applicants' notices to another process.")
@pass_context
def run(context: Context, workers: int | None, without_notices: bool) -> None:
    """Run the dispatcher alone, until interrupted; several may run at once on PostgreSQL."""
    context.require_schema()
    settings = DispatchSettings.from_environment()
    if workers:
        settings = replace(settings, workers=workers)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"dispatching with {settings.workers} workers (Ctrl-C to stop)")
    Dispatcher(context.uow, settings, notices=not without_notices).run(stop)


@dispatch.command("receiver")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where received files are written.")
@click.option("--port", type=click.IntRange(1, 65535), default=8444, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--cert", "certificate", type=click.Path(exists=True, path_type=Path), default="var/demo/server-cert.pem",
              show_default=True, help="The receiver's TLS server certificate.")
@click.option("--key", type=click.Path(exists=True, path_type=Path), default="var/demo/server-key.pem",
              show_default=True)
@click.option("--client-ca", type=click.Path(exists=True, path_type=Path), default="var/demo/ca.pem",
              show_default=True, help="The authority of the hub's client certificate.")
def receiver(directory: Path, port: int, host: str, certificate: Path, key: Path, client_ca: Path) -> None:
    """Run the reference receiver (a counter's system) until interrupted: a worked example of the contract."""
    server = serve(Receiver(FileStore(directory)), host, port, certificate, key, client_ca)
    click.echo(f"receiving at https://{host}:{port}/services/ReceptionDispatchImplService/ into {directory}/")
    try:
        server.safe_start()
    finally:
        server.stop()


# -- notices --------------------------------------------------------------------------------------


@click.group("notices")
def notices_group() -> None:
    """Renewal notices to applicants: where each stands, failures, letter batches."""


@notices_group.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only notices in this state.")
@click.option("--number", help="Only this application's (18 characters).")
@pass_context
def notices_list(context: Context, status: str | None, number: str | None) -> None:
    """Notices, each channel's attempts and last error (no personal data)."""
    context.require_schema()
    for notice in notices.listing(context.uow(readonly=True), status, number.replace(" ", "") if number else None):
        sends = ", ".join(f"{channel} {state} ×{attempts}" + (f" ({error})" if error and state != "sent" else "")
                          for channel, state, attempts, error in notice.sends)
        click.echo(f"{notice.id:>7} {notice.number} {'second' if notice.second else 'first ':<6} due {notice.due} "
                   f"{notice.status:<8} {_moment(notice.sent_at):<16} {sends}")


@notices_group.command("retry")
@click.argument("notice", type=int)
@pass_context
def notices_retry(context: Context, notice: int) -> None:
    """Try NOTICE's failed channels again now."""
    context.require_schema()
    click.echo(f"notice {notice}: {notices.retry(context.uow(), notice, now_in_paris())} sends queued again")


@notices_group.command("mark-sent")
@click.argument("notice", type=int)
@click.option("--channel", type=click.Choice(list(notices.CHANNELS)), required=True, help="How it was sent.")
@click.option("--on", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day it left.")
@pass_context
def notices_mark_sent(context: Context, notice: int, channel: str, day: datetime) -> None:
    """Record that NOTICE left by other means (a letter posted by hand): the clock counts from DAY."""
    context.require_schema()
    notices.mark_sent_by_hand(context.uow(), notice, channel, day.date(), now_in_paris())
    click.echo(f"notice {notice}: sent by {channel} on {day:%Y-%m-%d}")


@notices_group.group()
def letters() -> None:
    """The daily PDF batches of letters and registered letters, per territory."""


@letters.command("close")
@pass_context
def letters_close(context: Context) -> None:
    """Close the batches now (the dispatcher does it daily at SNE_HUB_LETTERS_AT) and write their PDFs."""
    context.require_schema()
    sender = Dispatcher(context.uow, DispatchSettings.from_environment()).notices
    closed = sender.close_letters(now_in_paris())
    click.echo(f"{len(closed)} batches closed")


@letters.command("list")
@pass_context
def letters_list(context: Context) -> None:
    """Letter batches: territory, kind, day, number of letters, where the PDF was written."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        for batch in uow.notices.batches():
            click.echo(f"{batch.id:>6} {batch.territory} {batch.channel:<17} {batch.day} {batch.letters:>5} letters  "
                       f"{batch.export_path or 'not written yet'}")


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


def _moment(value: datetime | None) -> str:
    return f"{value.astimezone(PARIS):%Y-%m-%d %H:%M}" if value else "-"

