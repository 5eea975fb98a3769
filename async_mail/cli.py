"""``sne-hub mail …``: operators' view of the signed mail channel (quarantine, mails being processed,
outgoing replies, retention)."""

from __future__ import annotations

import sys

import click

from core.cli import Context, pass_context
from core.domain.calendar import now_in_paris

from .config import MailSettings
from .store import DEAD, QUEUED, SENT, MailStore


@click.group()
def mail() -> None:
    """The signed mail channel: quarantined messages, mails being processed, the queue of replies,
    their retention."""


@mail.group()
def quarantine() -> None:
    """Mail refused by the checks, kept raw with the precise reason until released or erased with
    the retention period."""


@quarantine.command("list")
@pass_context
def quarantine_list(context: Context) -> None:
    """List quarantined messages with their reason."""
    context.require_schema()
    for row in MailStore(context.engine).quarantined():
        click.echo(f"{row.id:>6}  {row.received_at:%Y-%m-%d %H:%M}  {row.reason_code:<18} {row.sender or '-'}  "
                   f"{row.reason}")


@quarantine.command("show")
@click.argument("message", type=int)
@click.option("--raw", is_flag=True, help="Print the message exactly as received.")
@pass_context
def quarantine_show(context: Context, message: int, raw: bool) -> None:
    """Show quarantined MESSAGE: its reason, or its raw bytes."""
    context.require_schema()
    row = MailStore(context.engine).get(message)
    if row is None:
        raise click.ClickException(f"no message {message}")
    if raw:
        click.get_binary_stream("stdout").write(row.raw)
        return
    click.echo(f"message:   {row.id}\nreceived:  {row.received_at:%Y-%m-%d %H:%M:%S}\nstatus:    {row.status}")
    click.echo(f"sender:    {row.sender or '-'}\nreason:    {row.reason_code or '-'} {row.reason or ''}")


@quarantine.command("release")
@click.argument("message", type=int)
@pass_context
def quarantine_release(context: Context, message: int) -> None:
    """Send quarantined MESSAGE through the checks again (e.g. once its certificate is registered).

    A running mail process picks it up within ten seconds, or the next to start.
    """
    context.require_schema()
    if not MailStore(context.engine).release(message):
        raise click.ClickException(f"message {message} is not in quarantine")
    click.echo(f"message {message} released")


@mail.command("processing")
@pass_context
def processing(context: Context) -> None:
    """Mails being processed, by the mail process holding them (its name is in its start banner).

    A lapsed lease means its process stopped or died: a running mail process takes those mails
    within ten seconds. Mails not yet taken (released from quarantine) are counted apart."""
    context.require_schema()
    store, now = MailStore(context.engine), now_in_paris()
    holders = store.holders()
    for row in holders:
        lease = (f"until {row.lease_until:%Y-%m-%d %H:%M:%S}" if row.lease_until and row.lease_until >= now
                 else "lapsed or let go")
        click.echo(f"{row.owner or '-':<32}  {row.mails:>6} mail(s)  oldest {row.oldest:%Y-%m-%d %H:%M:%S}  "
                   f"lease {lease}")
    not_taken = len(store.unfinished()) - sum(row.mails for row in holders)
    click.echo(f"{len(holders)} holder(s); {not_taken} mail(s) waiting to be taken")


@mail.group()
def outbox() -> None:
    """Replies waiting to be sent, sent, or given up (dead letters)."""


@outbox.command("list")
@click.option("--status", type=click.Choice([QUEUED, SENT, DEAD]), help="Only replies in this state.")
@pass_context
def outbox_list(context: Context, status: str | None) -> None:
    """List replies with their state, attempts and last error."""
    context.require_schema()
    for row in MailStore(context.engine).replies(status):
        click.echo(f"{row.id:>6}  {row.created_at:%Y-%m-%d %H:%M}  {row.status:<6} {row.attempts:>3}  "
                   f"{row.recipient}  {row.last_error or ''}")


@outbox.command("retry")
@click.argument("reply", type=int)
@pass_context
def outbox_retry(context: Context, reply: int) -> None:
    """Try REPLY again now (a dead letter gets a fresh delay)."""
    context.require_schema()
    if not MailStore(context.engine).retry(reply, now_in_paris()):
        raise click.ClickException(f"reply {reply} is unknown or already sent")
    click.echo(f"reply {reply} queued")


@mail.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say how many mails and replies are due.")
@pass_context
def purge(context: Context, dry_run: bool) -> None:
    """Erase the mails and replies past their retention period (SNE_HUB_MAIL_RETENTION_DAYS, 90 days
    by default): mails processed or left in quarantine, replies sent or dead, never one still to be
    processed or sent. Every mail process does it each hour; this does it now. Safe to repeat."""
    context.require_schema()
    try:
        settings = MailSettings.from_environment()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    store, before = MailStore(context.engine), now_in_paris() - settings.retention
    due = store.due_for_purge(before)
    if dry_run:
        click.echo(f"{due.mails} mail(s) and {due.replies} reply(ies) to erase, received or queued before "
                   f"{before:%Y-%m-%d %H:%M}")
        return
    with click.progressbar(length=due.mails + due.replies, label="mail retention", file=sys.stderr) as bar:
        purged = store.purge(before, progress=bar.update)
    click.echo(str(purged))
