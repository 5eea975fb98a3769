"""``sne-hub``: the operators' command line. Every command has ``--help``.

Channels plug their own commands and background services in through entry points (groups
``sne_hub.commands`` and ``sne_hub.services``), so this module never imports them.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from typing import Callable

import click

from core import demo
from core.adapters import schema
from core.adapters.database import database_url, make_engine
from core.adapters.document_store import DEFAULT_KEYRING, add_key, make_document_store
from core.adapters.repository import SqlUnitOfWork
from core.adapters.serialization import to_document
from core.domain.calendar import PARIS, now_in_paris
from core.domain.codes import CounterType
from core.domain.documents import JournalEvent, JournalQuery, Profile
from core.domain.errors import RegisterError
from core.domain.indicators import PrefectDelay
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Epci, Territory
from core.domain.shared_management import NATIONAL_TYPES, Feature, ValueType, territorial_type
from core.service_layer import dispatching, documents, indicators, renewal_clock, retention, services, shared_management

log = logging.getLogger("sne_hub")


class Context:
    """Lazily opened database, shared by the commands of one invocation."""

    def __init__(self, url: str):
        self.url = url
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def uow(self, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=readonly)

    def documents(self) -> retention.ApplicationDocuments:
        """Where supporting documents live, for the purge to erase them with their application: the
        deployment's store (SNE_HUB_DOCUMENT_STORE, SNE_HUB_DOCUMENT_KEYS), opened when needed."""
        return documents.StoredDocuments(make_document_store)

    def require_schema(self) -> None:
        if schema.current_revision(self.engine) != schema.head_revision(self.engine):
            raise click.ClickException("the database is not up to date: run `sne-hub db upgrade` first")


pass_context = click.make_pass_decorator(Context)


class RegisterErrors(click.Group):
    """Turn the register's refusals into one-line errors with their stable code, not tracebacks.

    Commands of other packages (entry points ``sne_hub.commands``) are found when asked for, so
    that importing this module never imports them.
    """

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *(entry.name for entry in _plugins())})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            entry = next((entry for entry in _plugins() if entry.name == name), None)
            command = entry.load() if entry else None
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RegisterError as error:
            details = "; ".join(f"{a.code} {a.property or '-'}: {a.message}" for a in error.anomalies)
            raise click.ClickException(details) from error


@click.group(cls=RegisterErrors)
@click.option("--database-url", envvar="SNE_HUB_DATABASE_URL", default=database_url, show_default="var/sne-hub.db",
              help="SQLAlchemy URL of the register (env SNE_HUB_DATABASE_URL).")
@click.option("--log-level", envvar="SNE_HUB_LOG_LEVEL", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), help="Logging threshold (env SNE_HUB_LOG_LEVEL).")
@click.pass_context
def main(ctx: click.Context, database_url: str, log_level: str) -> None:
    """Operate the sne-hub register: database, reference data, applications, jobs, servers."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = Context(database_url)


# -- database -----------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Create and migrate the database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@pass_context
def db_upgrade(context: Context, revision: str) -> None:
    """Apply migrations up to REVISION (creates the database on first run)."""
    schema.upgrade(context.engine, revision)
    click.echo(f"database at revision {schema.current_revision(context.engine)}")


@db.command("current")
@pass_context
def db_current(context: Context) -> None:
    """Print the database's revision and the latest one known."""
    click.echo(f"current: {schema.current_revision(context.engine)}  head: {schema.head_revision(context.engine)}")


# -- territories and counters -------------------------------------------------------------------


@main.group()
def territories() -> None:
    """Territories: codes used in registration numbers and the areas they cover."""


@territories.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name.")
@click.option("--departement", "departements", multiple=True, help="Département covered (repeatable): 57, 2A, 971.")
@click.option("--commune", "communes", multiple=True, help="Single commune covered, INSEE code (repeatable).")
@click.option("--last-issued", type=click.IntRange(0, 999_999), default=0, show_default=True,
              help="Last sequence number already issued, when taking over a territory's numbering.")
@pass_context
def territories_add(context: Context, code: str, name: str, departements: tuple[str, ...],
                    communes: tuple[str, ...], last_issued: int) -> None:
    """Add territory CODE (3 characters, e.g. 057, 02A, 971)."""
    context.require_schema()
    territory = Territory(code, name, frozenset(departements), frozenset(communes))
    services.add_territory(context.uow(), territory, last_issued)
    click.echo(f"territory {code} added")


@territories.command("list")
@pass_context
def territories_list(context: Context) -> None:
    """List territories."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        for territory in uow.territories.list():
            click.echo(f"{territory.code}  {territory.name}")


@territories.command("show")
@click.argument("code")
@pass_context
def territories_show(context: Context, code: str) -> None:
    """Show territory CODE with its areas and counters."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        territory = uow.territories.get(code)
        if territory is None:
            raise click.ClickException(f"no territory {code}")
        counters = uow.counters.list(code)
    click.echo(f"code:         {territory.code}\nname:         {territory.name}")
    click.echo(f"départements: {', '.join(sorted(territory.departements)) or '-'}")
    click.echo(f"communes:     {', '.join(sorted(territory.communes)) or '-'}")
    click.echo(f"counters:     {', '.join(c.code for c in counters) or '-'}")


@main.group()
def epcis() -> None:
    """Inter-municipal bodies (EPCI): named sets of communes that dispatching filters can name."""


@epcis.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name.")
@click.option("--territory", required=True, help="Territory code.")
@click.option("--commune", "communes", multiple=True, required=True, help="Member commune, INSEE code (repeatable).")
@pass_context
def epcis_add(context: Context, code: str, name: str, territory: str, communes: tuple[str, ...]) -> None:
    """Add EPCI CODE (its SIREN, 9 digits) with its communes."""
    context.require_schema()
    dispatching.add_epci(context.uow(), Epci(code, name, territory, frozenset(communes)))
    click.echo(f"EPCI {code} added ({len(communes)} communes)")


@epcis.command("list")
@click.option("--territory", help="Only this territory's.")
@pass_context
def epcis_list(context: Context, territory: str | None) -> None:
    """List EPCIs and their communes."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        for epci in uow.territories.epcis(territory):
            click.echo(f"{epci.code}  {epci.territory}  {epci.name}: {', '.join(sorted(epci.communes))}")


@main.group()
def counters() -> None:
    """Counters (guichets enregistreurs) and their territory."""


@counters.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name.")
@click.option("--type", "type_", required=True, type=click.Choice([t.value for t in CounterType]),
              help="Kind of counter; rights follow it.")
@click.option("--territory", required=True, help="Territory code.")
@click.option("--mailbox", help="Exchange mailbox of the signed mail channel.")
@click.option("--endpoint", help="URL of the counter's own system, for dispatching.")
@pass_context
def counters_add(context: Context, code: str, name: str, type_: str, territory: str, mailbox: str | None,
                 endpoint: str | None) -> None:
    """Add counter CODE (5 characters)."""
    context.require_schema()
    services.add_counter(context.uow(), Counter(code, name, CounterType(type_), territory, mailbox, endpoint))
    click.echo(f"counter {code} added")


@counters.command("list")
@click.option("--territory", help="Only this territory's counters.")
@pass_context
def counters_list(context: Context, territory: str | None) -> None:
    """List counters."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        for counter in uow.counters.list(territory):
            state = "" if counter.active else "  (inactive)"
            click.echo(f"{counter.code}  {counter.territory}  {counter.type.value:<12} {counter.name}{state}")


@counters.command("show")
@click.argument("code")
@pass_context
def counters_show(context: Context, code: str) -> None:
    """Show counter CODE."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        counter = uow.counters.get(code)
    if counter is None:
        raise click.ClickException(f"no counter {code}")
    for key, value in asdict(counter).items():
        click.echo(f"{key + ':':<10} {value.value if isinstance(value, CounterType) else value}")


# -- shared management ----------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Shared management: the types of the events recorded on applications."""


@events.group("types")
def event_types() -> None:
    """Event types: the decree's (national) and each territory's own."""


@event_types.command("list")
@click.option("--territory", help="Also list this territory's own types.")
@pass_context
def event_types_list(context: Context, territory: str | None) -> None:
    """List the national types, and a territory's own with --territory."""
    context.require_schema()
    listed = list(NATIONAL_TYPES)
    if territory:
        with context.uow(readonly=True) as uow:
            listed += uow.shared_events.types(territory)
    for event_type in listed:
        flags = ",".join(name for name, on in (("réglementaire", event_type.regulatory),
                                               ("publié", event_type.published)) if on) or "-"
        validity = f"  {event_type.valid_from or ''}..{event_type.valid_until or ''}" \
            if event_type.valid_from or event_type.valid_until else ""
        features = " ".join(f"{f.code}:{f.value_type.value}{'!' if f.required else ''}" for f in event_type.features)
        click.echo(f"{event_type.code:<10} {event_type.territory or 'national':<8} {flags:<20} {event_type.label}"
                   f"{validity}  [{features}]")


def _features(specs: tuple[str, ...], choices: tuple[str, ...]) -> list[Feature]:
    """``CODE:TYPE[!]:Libellé`` (``!``: required) and ``FEATURE:CODE:Libellé`` choices of LST features."""
    options: dict[str, list[tuple[str, str]]] = {}
    for choice in choices:
        feature, _, rest = choice.partition(":")
        code, _, label = rest.partition(":")
        if not (feature and code and label):
            raise click.BadParameter(f"{choice!r}: FEATURE:CODE:Libellé", param_hint="--choice")
        options.setdefault(feature, []).append((code, label))
    features = []
    for spec in specs:
        code, _, rest = spec.partition(":")
        kind, _, label = rest.partition(":")
        required = kind.endswith("!")
        try:
            value_type = ValueType(kind.rstrip("!"))
        except ValueError:
            raise click.BadParameter(f"{spec!r}: CODE:TYPE[!]:Libellé, TYPE among "
                                     f"{', '.join(t.value for t in ValueType)}", param_hint="--feature") from None
        features.append(Feature(code, label, value_type, required, choices=tuple(options.pop(code, ()))))
    if options:
        raise click.BadParameter(f"choices for no feature: {', '.join(options)}", param_hint="--choice")
    return features


@event_types.command("add")
@click.argument("code")
@click.option("--territory", required=True, help="The territory the type is for.")
@click.option("--manager", required=True, help="Code of the territory's manager (gestionnaire) defining it.")
@click.option("--label", required=True, help="Label (libelleTypeEvenement), 100 characters at most.")
@click.option("--description", required=True, help="What it means, for the counters (texteDescriptifSNE).")
@click.option("--description-public", help="What it means, for the applicant (texteDescriptifPGP); "
                                           "defaults to --description.")
@click.option("--publish/--no-publish", default=False, show_default=True,
              help="Whether the applicant sees events of this type on the public portal (aPublierSurPGP).")
@click.option("--case-search/--no-case-search", default=False, show_default=True,
              help="Usable as a criterion of case-work searches (utilisableRechercheInstruction).")
@click.option("--conditional-allocations/--no-conditional-allocations", default=False, show_default=True,
              help="Counts for allocations subject to refusal by earlier candidates "
                   "(utilisableMultiplesAttributionsSousConditions).")
@click.option("--feature", "features", multiple=True,
              help="A specific characteristic, CODE:TYPE[!]:Libellé (TYPE: DAT, TXT, NUM, BOO, LST; ! when "
                   "required), repeatable.")
@click.option("--choice", "choices", multiple=True, help="A code of an LST characteristic, FEATURE:CODE:Libellé, "
                                                         "repeatable.")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="First day events of this type may be recorded.")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]), help="Last day events of this type may be recorded.")
@pass_context
def event_types_add(context: Context, code: str, territory: str, manager: str, label: str, description: str,
                    description_public: str | None, publish: bool, case_search: bool, conditional_allocations: bool,
                    features: tuple[str, ...], choices: tuple[str, ...], valid_from: datetime | None,
                    valid_until: datetime | None) -> None:
    """Add territory's own event type CODE (1 to 10 letters or digits; never regulatory)."""
    context.require_schema()
    event_type = territorial_type(
        territory, code, label, description, description_public or description, published=publish,
        usable_for_conditional_allocations=conditional_allocations, usable_in_case_search=case_search,
        features=_features(features, choices), valid_from=valid_from.date() if valid_from else None,
        valid_until=valid_until.date() if valid_until else None)
    shared_management.define_territorial_type(context.uow(), event_type, manager, now_in_paris())
    click.echo(f"event type {code} added to territory {territory}")


@event_types.command("end")
@click.argument("code")
@click.option("--territory", required=True, help="The type's territory.")
@click.option("--manager", required=True, help="Code of the territory's manager (gestionnaire).")
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Last day events of this type may be recorded (those recorded keep it).")
@pass_context
def event_types_end(context: Context, code: str, territory: str, manager: str, last_day: datetime) -> None:
    """End territory's own event type CODE: no new event of it after --last-day."""
    context.require_schema()
    shared_management.end_territorial_type(context.uow(), territory, code, last_day.date(), manager)
    click.echo(f"event type {code} of territory {territory} ends on {last_day:%Y-%m-%d}")


# -- applications -------------------------------------------------------------------------------


@main.group()
def applications() -> None:
    """Look at applications in the register."""


@applications.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print the whole application as JSON.")
@click.option("--journal", is_flag=True, help="Also print the application's journal.")
@pass_context
def applications_show(context: Context, number: str, as_json: bool, journal: bool) -> None:
    """Show application NUMBER (18 characters; spaces allowed)."""
    context.require_schema()
    parsed = RegistrationNumber.parse(number)
    with context.uow(readonly=True) as uow:
        application = uow.applications.get(parsed)
        history = uow.events.history(str(parsed)) if journal else []
    if application is None:
        raise click.ClickException(f"no application {parsed.display()}")
    if as_json:
        document = {
            "number": str(application.number), "state": application.state.value, "version": application.version,
            "territory": application.territory, "filing_date": application.filing_date.isoformat(),
            "next_due": application.renewal.next_due.isoformat(), "form": to_document(application.form),
            "cancellation": to_document(application.cancellation) if application.cancellation else None,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        renewal = application.renewal
        rows = [
            ("number", application.number.display()), ("state", application.state.label),
            ("territory", application.territory), ("filing date", application.filing_date),
            ("registered", f"{application.registered_at:%Y-%m-%d %H:%M} by {application.registered_by}"),
            ("last change", f"{application.last_changed_at:%Y-%m-%d %H:%M} by {application.last_changed_by}"),
            ("version", application.version), ("next renewal", renewal.next_due),
            ("last renewal", renewal.last_renewed_on or "-"),
            ("notices", f"{renewal.notice_sent_on or '-'} / {renewal.second_notice_sent_on or '-'}"),
            ("wished communes", ", ".join(application.form.wished_communes) or "-"),
            ("indicators", _indicators_line(application.form.processing)),
        ]
        if application.cancellation:
            rows.append(("cancelled", f"{application.cancellation.date} ({application.cancellation.motive})"))
        if application.associated_number:
            rows.append(("associated", application.associated_number.display()))
        for label, value in rows:
            click.echo(f"{label + ':':<17}{value}")
    for entry in history:
        click.echo(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor:<6} {entry.kind}  {json.dumps(entry.details)}")


def _indicators_line(processing) -> str:
    if processing is None or processing.computed_at is None:
        return "not computed yet"
    return (f"long wait {'yes' if processing.abnormally_long_wait else 'no'}, conditional allocation "
            f"{'yes' if processing.multiple_conditional_allocations else 'no'} ({processing.computed_at:%Y-%m-%d %H:%M})")


# -- supporting documents ---------------------------------------------------------------------------


@main.group("documents")
def documents_group() -> None:
    """Supporting documents: their journal, counters' profiles, the encryption keys (docs/DOCUMENTS.md)."""


_DAY_OR_MOMENT = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


@documents_group.command("journal")
@click.argument("number")
@click.option("--category", help="Only this category (IDD, RFR, IDC, SITPRO, RESMEN, LOGACT, MOTIF, PACH, HANDI, "
                                 "DOCINT).")
@click.option("--type", "type_code", help="Only this document type (CID, FPAIE, JUSTL…).")
@click.option("--event", type=click.Choice([e.value for e in JournalEvent]),
              help="Only this event: CRE creation, MOD modification, SUP deletion, QUA quarantine, RES restoration.")
@click.option("--since", type=_DAY_OR_MOMENT, help="From this day or moment (Paris time).")
@click.option("--until", type=_DAY_OR_MOMENT, help="Up to this moment, or to the end of this day (Paris time).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (semicolons, UTF-8) instead of a table.")
@pass_context
def documents_journal(context: Context, number: str, category: str | None, type_code: str | None,
                      event: str | None, since: datetime | None, until: datetime | None, as_csv: bool) -> None:
    """The journal of application NUMBER's documents, newest first: creations, modifications,
    deletions, quarantines, restorations, each with the counter, the moment and the document's hash."""
    context.require_schema()
    if until is not None and until.time() == datetime.min.time():
        until = until + timedelta(days=1) - timedelta(microseconds=1)
    query = JournalQuery(str(RegistrationNumber.parse(number)), category, type_code,
                         JournalEvent(event) if event else None,
                         since.replace(tzinfo=PARIS) if since else None, until.replace(tzinfo=PARIS) if until else None)
    lines = documents.journal(context.uow(readonly=True), query)
    if as_csv:
        click.echo(documents.journal_csv(lines), nl=False)
        return
    for line in lines:
        click.echo(f"{line.at:%Y-%m-%d %H:%M:%S}  {line.event.label:<20} {line.category:<6} {line.type:<5} "
                   f"{line.actor:<6} {line.document_id}  {line.description}")


@documents_group.command("profile")
@click.argument("counter")
@click.argument("profile", type=click.Choice([p.value for p in Profile]))
@pass_context
def documents_profile(context: Context, counter: str, profile: str) -> None:
    """Grant COUNTER a document profile: consultant_simple (lists of non-sensitive documents),
    consultant_demande (non-sensitive documents), consultant_sensible (all documents, read only) or
    guichet (a registering counter's: all documents, deposit, change, delete, restore; the default)."""
    context.require_schema()
    documents.set_profile(context.uow(), counter, Profile(profile))
    click.echo(f"{counter}: {Profile(profile).label}")


@documents_group.group("keys")
def documents_keys() -> None:
    """The keyring that seals documents at rest (SNE_HUB_DOCUMENT_KEYS)."""


@documents_keys.command("add")
@click.argument("key_id")
@click.option("--keyring", envvar="SNE_HUB_DOCUMENT_KEYS", default=DEFAULT_KEYRING, show_default=True,
              help="The keyring file (env SNE_HUB_DOCUMENT_KEYS); created, mode 0600, if absent.")
def documents_keys_add(key_id: str, keyring: str) -> None:
    """Add a fresh random key KEY_ID to the keyring, as the current one: new documents are sealed
    with it; the others still open with their own key until `sne-hub documents rekey` moves them.
    Restart the hub's processes so that they read the keyring again."""
    try:
        add_key(keyring, key_id)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{keyring}: current key is now {key_id}")


@documents_group.command("rekey")
@pass_context
def documents_rekey(context: Context) -> None:
    """Seal every stored document again with the current key (after `documents keys add`); safe to
    repeat and to interrupt. When it is done with no unreadable document, older keys can leave the
    keyring; an unreadable one (absent or altered bytes, its storage key logged) makes it exit 1."""
    context.require_schema()
    store = make_document_store()
    with click.progressbar(length=documents.document_count(context.uow(readonly=True)), label="rekey",
                           file=sys.stderr) as bar:
        report = documents.rekey(context.uow, store, progress=bar.update)
    click.echo(f"clé courante {store.keyring.current} : {report}")
    if report.unreadable:
        raise SystemExit(1)


# -- jobs ---------------------------------------------------------------------------------------


@main.group()
def renewals() -> None:
    """The renewal clock: notices before the due date, cancellation after it."""


@renewals.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Run for this day (default: today, Paris).")
@pass_context
def renewals_run(context: Context, day: datetime | None) -> None:
    """Run the daily renewal job for a day; safe to repeat, catches up missed days."""
    context.require_schema()
    today = day.date() if day else now_in_paris().date()
    report = _run_clock(context, today, show_progress=True)
    click.echo(str(report))


def _run_clock(context: Context, today: date, show_progress: bool) -> renewal_clock.ClockReport:
    numbers = renewal_clock.pending(context.uow, today)
    if not show_progress:
        return renewal_clock.run(context.uow, today, now_in_paris(), numbers)
    with click.progressbar(length=len(numbers), label=f"renewal clock {today}",
                           file=sys.stderr) as bar:
        return renewal_clock.run(context.uow, today, now_in_paris(), numbers, progress=bar.update)


@main.group()
def delays() -> None:
    """The delay each département's prefect set, after which a wait is abnormally long (estDelaiAnormalementLong)."""


@delays.command("set")
@click.argument("departement")
@click.argument("months", type=int)
@pass_context
def delays_set(context: Context, departement: str, months: int) -> None:
    """Set DEPARTEMENT's delay (57, 2A, 971…) to MONTHS months from the filing date; the next
    `sne-hub indicators run` (or the daily job) applies it."""
    context.require_schema()
    indicators.set_prefect_delay(context.uow(), PrefectDelay(departement, months), now_in_paris())
    click.echo(f"département {departement}: {months} months")


@delays.command("unset")
@click.argument("departement")
@pass_context
def delays_unset(context: Context, departement: str) -> None:
    """Forget DEPARTEMENT's delay: no application of it is flagged any more after the next run."""
    context.require_schema()
    indicators.clear_prefect_delay(context.uow(), departement)
    click.echo(f"département {departement}: no delay")


@delays.command("list")
@pass_context
def delays_list(context: Context) -> None:
    """Every département a territory covers, with its delay (or none: nobody flagged there)."""
    context.require_schema()
    set_delays, covered = indicators.prefect_delays(context.uow(readonly=True))
    for departement in sorted(covered | set(set_delays)):
        months = set_delays.get(departement)
        click.echo(f"{departement:<4}{f'{months} months' if months else 'not set: no application flagged'}")


@main.group("indicators")
def indicators_group() -> None:
    """The register's indicators of each application (informationTraitement)."""


@indicators_group.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Compute for this day (default: today, Paris).")
@pass_context
def indicators_run(context: Context, day: datetime | None) -> None:
    """Recompute every active application's indicators; only those that changed are written. Safe to repeat."""
    context.require_schema()
    today = day.date() if day else now_in_paris().date()
    click.echo(str(_run_indicators(context, today, show_progress=True)))


def _run_indicators(context: Context, today: date, show_progress: bool) -> indicators.IndicatorReport:
    found = indicators.pending(context.uow, today)
    if not show_progress:
        return indicators.run(context.uow, today, now_in_paris(), found=found)
    with click.progressbar(length=len(found.due), label=f"indicators {today}", file=sys.stderr) as bar:
        return indicators.run(context.uow, today, now_in_paris(), progress=bar.update, found=found)


@main.group("retention")
def retention_group() -> None:
    """Erasing applications one year after their cancellation."""


@retention_group.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Purge as of this day (default: today, Paris).")
@click.option("--dry-run", is_flag=True, help="Only say how many applications are due.")
@pass_context
def retention_run(context: Context, day: datetime | None, dry_run: bool) -> None:
    """Erase the applications cancelled more than a year before the day, with their documents;
    the journal keeps one line per application. Safe to repeat."""
    context.require_schema()
    today = day.date() if day else now_in_paris().date()
    if dry_run:
        click.echo(f"{len(retention.pending(context.uow, today))} demandes à effacer au {today}")
        return
    click.echo(str(_run_retention(context, today, show_progress=True)))


def _run_retention(context: Context, today: date, show_progress: bool) -> retention.PurgeReport:
    numbers = retention.pending(context.uow, today)
    stored = context.documents()
    if not show_progress:
        return retention.run(context.uow, today, now_in_paris(), stored, numbers)
    with click.progressbar(length=len(numbers), label=f"retention {today}", file=sys.stderr) as bar:
        return retention.run(context.uow, today, now_in_paris(), stored, numbers, progress=bar.update)


@main.group()
def demo_group() -> None:
    """Demo data for a first look (make run)."""


main.add_command(demo_group, name="demo")


@demo_group.command("seed")
@pass_context
def demo_seed(context: Context) -> None:
    """Create the demo territory 057, counters DEMOB/DEMOC/DEMOE, three households and a supporting
    document (with the document keyring, if absent), once."""
    context.require_schema()
    added = demo.seed(context.uow, now_in_paris())
    keyring = os.environ.get("SNE_HUB_DOCUMENT_KEYS", DEFAULT_KEYRING)
    if not os.path.exists(keyring):
        add_key(keyring, "demo1")
        added.append(f"document keyring {keyring}")
    added += demo.seed_documents(context.uow, make_document_store(), now_in_paris())
    click.echo("demo data: " + (", ".join(added) if added else "already present"))


# -- serving ------------------------------------------------------------------------------------

Service = Callable[[threading.Event], None]


CERTIFICATE_WARNING_DAYS = 30


def clock_service(context: Context) -> Service:
    """Every day at 02:00 Paris time (and once at start, to catch up): the renewal clock, the
    register's indicators, the retention purge, and a warning for each counter certificate that
    expires within 30 days."""

    def serve(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                _run_daily_jobs(context, now_in_paris().date())
                _warn_expiring_certificates(context)
            except Exception:  # keep the scheduler alive; the next run catches up
                log.exception("daily jobs failed")
            stop.wait(_seconds_until_next_run())

    return serve


def _run_daily_jobs(context: Context, today: date) -> None:
    """The register's daily jobs, in this order: cancellations for non-renewal first (they change
    which applications are active), then the indicators of the active ones, then the purge. Each
    logs its report."""
    _run_clock(context, today, show_progress=False)
    _run_indicators(context, today, show_progress=False)
    _run_retention(context, today, show_progress=False)


def _warn_expiring_certificates(context: Context) -> None:
    now = now_in_paris()
    until = now + timedelta(days=CERTIFICATE_WARNING_DAYS)
    for certificate in services.expiring_certificates(context.uow(readonly=True), now, until):
        log.warning("certificate %s… of counter %s expires on %s: issue a new one (sne-hub certificates issue)",
                    certificate.fingerprint[:16], certificate.counter, certificate.not_after.date().isoformat())


def _seconds_until_next_run(hour: int = 2) -> float:
    current = now_in_paris()
    next_run = current.replace(hour=hour, minute=0, second=0, microsecond=0)
    if next_run <= current:
        next_run += timedelta(days=1)
    return (next_run - current).total_seconds()


CLOCK = "clock"
SOAP = "soap"


def _roles(requested: tuple[str, ...]) -> tuple[list[str], dict[str, Callable]]:
    """The services to run, in a stable order, and how to start each (clock, then the plugins)."""
    factories: dict[str, Callable] = {CLOCK: clock_service}
    factories.update({entry.name: entry.load() for entry in entry_points(group="sne_hub.services")})
    names = [name.strip() for value in requested for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(factories))
    if unknown:
        raise click.BadParameter(f"unknown service {', '.join(unknown)}: choose among {', '.join(factories)}",
                                 param_hint="--only")
    return (names or list(factories)), factories


@main.command()
@click.option("--only", "requested", multiple=True, metavar="SERVICE[,SERVICE…]",
              help="Run only these services (repeatable): clock, soap, mail, dispatch, demo-receiver. "
                   "Default: every one installed.")
@click.option("--soap-processes", type=click.IntRange(min=1), default=1, show_default=True,
              envvar="SNE_HUB_SOAP_PROCESSES",
              help="SOAP server processes sharing the port (SO_REUSEPORT), started, restarted and stopped by this "
                   "one, never left running without it (env SNE_HUB_SOAP_PROCESSES).")
@pass_context
def serve(context: Context, requested: tuple[str, ...], soap_processes: int) -> None:
    """Serve the register: the renewal clock and the channels' servers, until SIGINT or SIGTERM.

    A stop lets what is in flight finish (requests answered, mails and deliveries committed or
    rolled back whole) before the process exits. In production, run the services as separate
    processes (docs/DEPLOYMENT.md) or let one process supervise the SOAP ones (--soap-processes)."""
    _follow_supervisor()
    context.require_schema()
    names, factories = _roles(requested)
    supervised = soap_processes if SOAP in names and soap_processes > 1 else 0
    services_to_run: dict[str, Service] = {}
    supervisor = SoapProcesses(supervised, context.url) if supervised else None
    for name in names:
        if name == SOAP and supervisor:
            services_to_run[f"{SOAP} ×{supervised}"] = supervisor.serve
            continue
        started = factories[name](context)
        if started is not None:  # a service may decline (the demo receiver, unless asked for)
            services_to_run[name] = started
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=run, args=(stop,), name=name) for name, run in services_to_run.items()]
    for thread in threads:
        thread.start()
        click.echo(f"serving: {thread.name}")
    click.echo(f"database: {context.engine.url.render_as_string(hide_password=True)}  (Ctrl-C to stop)")
    stop.wait()
    log.info("stopping: letting what is in flight finish")
    # a supervisor's thread outlives its processes' own STOP_SECONDS by KILL_SECONDS, to kill stragglers
    deadline = time.monotonic() + STOP_SECONDS + (KILL_SECONDS if supervised else 0)
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stragglers = [thread.name for thread in threads if thread.is_alive()]
    if stragglers:  # their transactions roll back: nothing is half done, only not done
        log.error("not stopped within %d s: %s; exiting anyway", STOP_SECONDS, ", ".join(stragglers))
    if stragglers or (supervisor and supervisor.killed):
        logging.shutdown()
        os._exit(1)


STOP_SECONDS = 30
KILL_SECONDS = 5  # a supervisor's wait beyond STOP_SECONDS: a SOAP process not gone by then is killed
SUPERVISOR_PID = "SNE_HUB_SUPERVISOR_PID"  # set by SoapProcesses in the environment of the processes it starts
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class SoapProcesses:
    """N ``sne-hub serve --only soap`` processes on one port, restarted when one dies, stopped with
    SIGTERM (each lets its requests in flight finish) when this process stops.

    None of them outlives this process: one that has not exited a second after its own STOP_SECONDS
    (frozen, or it never got the signal) is killed, and each stops by itself, within the same bound,
    should this process die without stopping them (:func:`_follow_supervisor`). A process left behind
    would keep taking connections on the shared port, unsupervised, beside the next supervisor's."""

    RESTART_DELAY = 1.0

    def __init__(self, count: int, database_url: str):
        self.count, self.database_url = count, database_url
        self.killed: list[int] = []  # the processes it had to kill when stopping: the stop was not clean

    def serve(self, stop: threading.Event) -> None:
        children = [self._start() for _ in range(self.count)]
        while not stop.wait(0.5):
            for index, child in enumerate(children):
                if child.poll() is not None:
                    log.error("SOAP process %d ended (exit %s): starting another", child.pid, child.returncode)
                    stop.wait(self.RESTART_DELAY)
                    if not stop.is_set():
                        children[index] = self._start()
        self._stop(children, deadline=time.monotonic() + STOP_SECONDS + 1)  # their own 30 s, and a second to exit

    def _stop(self, children: list[subprocess.Popen], deadline: float) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("SOAP process %d not stopped within %d s: killing it", child.pid, STOP_SECONDS)
                child.kill()
                child.wait()
                self.killed.append(child.pid)

    def _start(self) -> subprocess.Popen:
        command = [sys.executable, "-m", "core.cli", "--database-url", self.database_url, "serve", "--only", SOAP]
        child = subprocess.Popen(command, env={**os.environ, "SNE_HUB_SOAP_PROCESSES": "1",
                                               SUPERVISOR_PID: str(os.getpid())})
        log.info("SOAP process %d started", child.pid)
        return child


def _follow_supervisor() -> None:
    """In a process SoapProcesses started: stop when the supervisor dies, however it dies (killed,
    crashed), and at once if it already has, for a process left behind would keep serving the shared
    port unsupervised. The kernel sends SIGTERM the moment the supervisor dies (Linux's
    PR_SET_PDEATHSIG); a watch thread (:func:`_watch_supervisor`) covers the rest: the other systems,
    a supervisor that died before the prctl, and a stop that does not end."""
    supervisor = os.environ.pop(SUPERVISOR_PID, None)  # for this process, not for what it may start
    if not supervisor:
        return
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("cannot follow the supervisor (prctl: errno %d)", ctypes.get_errno())
    threading.Thread(target=_watch_supervisor, args=(int(supervisor),), name="supervisor-watch", daemon=True).start()


def _watch_supervisor(supervisor: int, every: float = 1.0, bound: float = STOP_SECONDS + 1) -> None:
    """Once this process has another parent (the supervisor is gone), send it the SIGTERM a supervisor's
    stop would have sent, and end it ``bound`` seconds later (a second after its STOP_SECONDS), as the
    supervisor would have killed it. Nothing is logged on the way: a process that cannot stop may be
    one whose log output is blocked."""
    while os.getppid() == supervisor:
        time.sleep(every)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(bound)
    os._exit(1)


def _plugins():
    return entry_points(group="sne_hub.commands")

if __name__ == "__main__":
    main()
