"""The application aggregate: one household's request, from registration to cancellation.

Every rule about the life of an application is a method here, with the regulation's delays as
named constants. Methods check, change the state, bump the version and record an event; the service
layer persists the application and writes its events to the journal and the outbox in the same
transaction.

Delays (arrêté of 23 March 2015 and the SNE's own practice):

- registration: within one month of the filing date, which certifies seniority;
- validity: one year; the renewal is due on the anniversary of the filing date, and renewing moves
  it to the next anniversary (filed 26/05/2014, renewed 18/05/2015: next due 26/05/2016);
- renewal opens three months before the due date;
- notices: two months before the due date, then one month before if still not renewed;
- non-renewal cancellation (RADREN) one month after the due date (13 months after filing or last
  renewal), reactivable until six months after the due date (18 months);
- unreachable applicant (RADCON): two months after the letter left unanswered, reactivable for five
  months after the cancellation;
- deletion (SUP) of an application registered in error: only by the counter that registered it, on
  the day it registered it, before anyone changed it (version 1). The number is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from . import changes, codes, indicators, retention
from .calendar import add_months, anniversary
from .codes import ApplicationState, CancellationMotive, DaloStatus
from .dispatch import Profile
from .errors import (
    INCONSISTENT_VALUES,
    MISSING_VALUE,
    Anomaly,
    ApplicationNotActive,
    CancellationDetailsMissing,
    CancellationRefused,
    DaloThroughDeclarationOnly,
    DeletionRefused,
    InvalidAssociation,
    InvalidContent,
    InvalidDate,
    LeaseDateRefused,
    NotAllowed,
    ReactivationRefused,
    ReactivationWindowClosed,
    RenewalNotOpen,
)
from .events import ChangeFacts, Event, EventKind
from .form import ApplicationForm, DaloInformation
from .identity import PersonKey
from .numbers import RegistrationNumber
from .referential import Actor, Operation, authorize, authorize_cancellation, may
from .vocabulary import InseeCommune, RegistryNames, wire, wire_path

REGISTRATION_DELAY_MONTHS = 1
VALIDITY_YEARS = 1
RENEWAL_OPENS_MONTHS_BEFORE = 3
NOT_RENEWED_CANCELLATION_MONTHS_AFTER = 1
NOT_RENEWED_REACTIVATION_MONTHS_AFTER = 6
UNREACHABLE_WAIT_MONTHS = 2
UNREACHABLE_REACTIVATION_MONTHS = 5


@dataclass
class NoAnswer:
    """``absenceReponse``: the letter the applicant did not answer."""

    letter_date: date | None = wire("dateCourrier")


@dataclass
class AllocationAddress:
    """``adresse`` of the allocated dwelling."""

    flat: str | None = wire("appartement")
    floor: str | None = wire("etage")
    staircase: str | None = wire("escalier")
    building: str | None = wire("batiment")
    complement: str | None = wire("compAdresse")
    street_number: str | None = wire("numero")
    street: str | None = wire("voie")
    place_name: str | None = wire("lieuDit")
    postal_code: str | None = wire("codePostal")
    commune: str | None = wire("commune", codes=InseeCommune)


@dataclass
class Allocation:
    """``attributionLogement``: the dwelling a landlord allocated, recorded on RADATT."""

    lease_signed_on: date | None = wire("dateSignatureBail")
    already_housed_by_landlord: str | None = wire("dejaLogeParcBailleur", codes=codes.YesNoUnknown)
    rpls_number: str | None = wire("numeroRpls")
    allocated_by_dalo_committee: bool | None = wire("attribueEnComDALO")
    collective_agreement: str | None = wire("accordCollectif", codes=codes.CollectiveAgreement)
    reservation_quota: str | None = wire("typeReservataire", codes=codes.ReservationQuota)
    landlord_siren: str | None = wire("codeSirenBailleur")
    priority_area: str | None = wire("zus", codes=codes.PriorityArea)
    housing_type: str | None = wire("typeLogement", codes=codes.RplsHousingType)
    surface: int | None = wire("surface")
    rent: int | None = wire("montantLoyer")
    address: AllocationAddress | None = wire("adresse")


@dataclass
class Cancellation:
    """``radiation``: why and when an application ended."""

    date: date | None = wire("dateRadiation")
    motive: str | None = wire("motifRadiation", codes=codes.CancellationMotive, required=True)  # empty: reactivate
    inadmissibility_reason: str | None = wire("sousMotifIrrecevabilite", codes=codes.InadmissibilityReason)
    no_answer: NoAnswer | None = wire("absenceReponse")
    allocation: Allocation | None = wire("attributionLogement")

    @property
    def allocation_commune(self) -> str | None:
        address = self.allocation.address if self.allocation else None
        return address.commune if address else None


@dataclass
class Renewal:
    """The renewal block: when the application was last renewed, when it is due, and its notices.

    A notice is *requested* when the clock decides it is due (it goes to the outbox) and *sent* when
    a channel actually took it (relay, SMS provider, closed letter batch): only the latter counts.
    """

    next_due: date
    last_renewed_on: date | None = None
    notice_sent_on: date | None = None
    second_notice_sent_on: date | None = None
    notice_requested_on: date | None = None
    second_notice_requested_on: date | None = None

    @property
    def cancellation_date(self) -> date:
        return add_months(self.next_due, NOT_RENEWED_CANCELLATION_MONTHS_AFTER)

    @property
    def reactivation_deadline(self) -> date:
        return add_months(self.next_due, NOT_RENEWED_REACTIVATION_MONTHS_AFTER)


def counters_part(sent: ApplicationForm, stored: ApplicationForm | None, by: Actor, territory: str) -> ApplicationForm:
    """The form a CRE, CRS, MOD or REN stores: what the counter sent, with the register's own blocks
    kept as the register holds them (docs/REGISTER.md, "Who owns each block of the file").

    ``informationDalo`` belongs to the State's services and changes only through the DALO
    declaration, which journals it as its own event: a file that leaves the block out keeps it, one
    that repeats it (or says no more than "NON") is accepted, one that would change it is refused,
    with the rights anomaly for a counter that may not declare DALO at all. ``informationTraitement``
    holds indicators the register computes: what a counter sends there is not taken.
    """
    kept_dalo = stored.dalo if stored is not None else None
    if sent.dalo is not None and _dalo_meaning(sent.dalo) != _dalo_meaning(kept_dalo):
        where = wire_path(ApplicationForm, "dalo")
        if not may(by, Operation.DECLARE_DALO):
            raise NotAllowed(f"Le statut DALO relève des services de l'État : un guichet de type {by.type.label} "
                             "ne le déclare ni ne le change", where)
        raise DaloThroughDeclarationOnly("Le bloc informationDalo ne change que par getDeclarationNouveauDalo", where)
    if kept_dalo is None:
        kept_dalo = sent.dalo
    kept_processing = stored.processing if stored is not None else None
    if kept_dalo is sent.dalo and kept_processing is sent.processing:
        return sent  # the very form sent: what the adapters built from it ahead still describes it
    return replace(sent, dalo=kept_dalo, processing=kept_processing)


def check_separation(original: set[PersonKey], new: set[PersonKey], holder: PersonKey | None) -> None:
    """A CRS is a couple separating: the original application holds two adults or more, the new
    holder is one of them, and at least one of them stays behind. Anything else would copy an
    application's seniority onto a new number (docs/REGISTER.md, "Creation after separation")."""
    def among(key: PersonKey, people: set[PersonKey]) -> bool:
        return any(key.matches(other) for other in people)

    where = RegistryNames.ASSOCIATED_NUMBER
    if holder is None or not among(holder, original):
        raise InvalidAssociation("Le demandeur doit être le demandeur ou un co-titulaire de la demande d'origine",
                                 where)
    if len(original) < 2:
        raise InvalidAssociation("La demande d'origine n'a qu'un adulte : il n'y a pas de couple à séparer", where)
    if all(among(person, new) for person in original):
        raise InvalidAssociation("Tous les adultes de la demande d'origine sont dans la nouvelle demande : "
                                 "une séparation en laisse au moins un dans la demande d'origine", where)


def _dalo_meaning(dalo: DaloInformation | None) -> DaloInformation | None:
    """None for a block that declares nothing: absent, or status "NON" (or none) and nothing else."""
    if dalo is None:
        return None
    empty = DaloInformation(status=dalo.status if dalo.status in (None, DaloStatus.NO.value) else "?")
    return None if dalo == empty else dalo


def check_filing_date(filing_date: date | None, today: date) -> date:
    """Registration happens within a month of filing; the filing date is never in the future."""
    return _check_declared_date(filing_date, today, RegistryNames.FILING_DATE, "dépôt")


def check_renewal_date(renewed_on: date | None, today: date) -> date:
    """A counter records a renewal within a month, as it registers a filing; by default, today."""
    if renewed_on is None:
        return today
    return _check_declared_date(renewed_on, today, RegistryNames.RENEWAL_DATE, "renouvellement")


def _check_declared_date(day: date | None, today: date, property: str, what: str) -> date:
    if day is None:
        raise InvalidDate(f"La date de {what} est obligatoire", property)
    if day > today:
        raise InvalidDate(f"La date de {what} ne peut pas être dans le futur", property)
    if day < add_months(today, -REGISTRATION_DELAY_MONTHS):
        raise InvalidDate(f"La date de {what} remonte à plus d'un mois", property)
    return day


@dataclass(frozen=True)
class _Before:
    """The blocks a change may replace, as they were: kept by reference, never copied (changes
    replace these objects rather than mutate them)."""

    form: ApplicationForm
    cancellation: "Cancellation | None"
    last_renewed_on: date | None


@dataclass
class Application:
    number: RegistrationNumber
    territory: str
    filing_date: date
    registered_at: datetime
    registered_by: str
    last_changed_at: datetime
    last_changed_by: str
    form: ApplicationForm
    renewal: Renewal
    version: int = 1
    state: ApplicationState = ApplicationState.ACTIVE
    associated_number: RegistrationNumber | None = None
    cancellation: Cancellation | None = None
    online: bool = False  # created or renewed online at least once: notices by email/SMS only
    dalo_active_since: datetime | None = None  # when the DALO status last became ACTIF
    documents_changed_on: date | None = None  # dateDerniereModificationPiece: the register's, never a file's
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    # -- creation ---------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        number: RegistrationNumber,
        territory: str,
        form: ApplicationForm,
        filing_date: date,
        by: Actor,
        now: datetime,
        *,
        forced_duplicates: list[str] = (),
        after_separation_from: "Application | None" = None,
    ) -> "Application":
        """A new application. After a separation it keeps the original's seniority and due date."""
        operation = Operation.REGISTER_AFTER_SEPARATION if after_separation_from else Operation.REGISTER
        authorize(by, operation, territory)
        if after_separation_from is not None:
            filing_date = after_separation_from.filing_date
            renewal = Renewal(next_due=after_separation_from.renewal.next_due)
        else:
            renewal = Renewal(next_due=anniversary(filing_date, VALIDITY_YEARS))
        form = counters_part(form, None, by, territory)
        application = cls(
            number=number,
            territory=territory,
            filing_date=filing_date,
            registered_at=now,
            registered_by=by.code,
            last_changed_at=now,
            last_changed_by=by.code,
            form=form,
            renewal=renewal,
            associated_number=after_separation_from.number if after_separation_from else None,
            online=bool(form.online_renewal),
        )
        application._track_dalo(None, now)
        details: dict[str, Any] = {}
        if after_separation_from is not None:
            details["associated_number"] = str(after_separation_from.number)
        if forced_duplicates:
            details["forced_duplicates"] = list(forced_duplicates)
        kind = EventKind.REGISTERED_AFTER_SEPARATION if after_separation_from else EventKind.REGISTERED
        application._record(kind, by, now, details)
        return application

    # -- changes by counters ----------------------------------------------------------------

    def update(self, form: ApplicationForm, by: Actor, now: datetime) -> None:
        """MOD: the household's part is replaced as a whole by the form sent (docs/REGISTER.md,
        "Update (MOD)": the file is a whole application, its ``modifie`` marks are not instructions)."""
        authorize(by, Operation.UPDATE, self.territory)
        self._require_active()
        before = self._before()
        self.form = counters_part(form, self.form, by, self.territory)
        self.online = self.online or bool(form.online_renewal)
        self._touch(by, now)
        self._record(EventKind.UPDATED, by, now, before=before)

    def renew(self, by: Actor, now: datetime, renewed_on: date, form: ApplicationForm | None = None) -> None:
        """Renew for a year; late renewal of an application cancelled for non-renewal reactivates it."""
        authorize(by, Operation.RENEW, self.territory)
        form = counters_part(form, self.form, by, self.territory) if form is not None else None
        if self.state is ApplicationState.CANCELLED and self._cancelled_for(CancellationMotive.NOT_RENEWED):
            self._check_reactivation_window(renewed_on)
        else:
            self._require_active()
            opens = add_months(self.renewal.next_due, -RENEWAL_OPENS_MONTHS_BEFORE)
            if renewed_on < opens:
                raise RenewalNotOpen(
                    f"Renouvellement possible à partir du {opens:%d/%m/%Y}", RegistryNames.RENEWAL_DATE
                )
        before = self._before()
        if form is not None:
            self.form = form
            self.online = self.online or bool(form.online_renewal)
        was_cancelled = self.state is ApplicationState.CANCELLED
        self._extend_validity(renewed_on)
        self._touch(by, now)
        self._record(EventKind.RENEWED, by, now, {"next_due": self.renewal.next_due.isoformat(),
                                                  "reactivated": was_cancelled}, before=before)

    def cancel(self, cancellation: Cancellation, by: Actor, now: datetime) -> None:
        authorize(by, Operation.CANCEL, self.territory)
        self._require_active()
        motive = self._check_cancellation(cancellation, by, now.date())
        before = self._before()
        self.cancellation = cancellation
        self.state = ApplicationState.CANCELLED
        self._touch(by, now)
        self._record(EventKind.CANCELLED, by, now, {"motive": motive.value, "date": cancellation.date.isoformat()},
                     before=before)

    def reactivate(self, by: Actor, now: datetime) -> None:
        """Undo a cancellation for non-renewal or for an unreachable applicant, within its window."""
        authorize(by, Operation.REACTIVATE, self.territory)
        if self.state is not ApplicationState.CANCELLED:
            raise ReactivationRefused("Seule une demande radiée peut être réactivée", RegistryNames.CANCELLATION)
        today = now.date()
        before = self._before()
        if self._cancelled_for(CancellationMotive.NOT_RENEWED):
            self._check_reactivation_window(today)
            self._extend_validity(today)
        elif self._cancelled_for(CancellationMotive.UNREACHABLE):
            deadline = add_months(self.cancellation.date, UNREACHABLE_REACTIVATION_MONTHS)
            if today > deadline:
                raise ReactivationWindowClosed(
                    f"Réactivation possible jusqu'au {deadline:%d/%m/%Y}", _at("date")
                )
            self.state, self.cancellation = ApplicationState.ACTIVE, None
        else:
            raise ReactivationRefused(
                f"Une radiation pour le motif {self.cancellation.motive} est définitive", _at("motive")
            )
        self._touch(by, now)
        self._record(EventKind.REACTIVATED, by, now, before=before)

    def delete(self, by: Actor, now: datetime) -> None:
        """Erase an application registered in error; its number stays used."""
        authorize(by, Operation.DELETE, self.territory)
        if self.state is ApplicationState.DELETED:
            raise ApplicationNotActive("Cette demande a déjà été supprimée", RegistryNames.NUMBER)
        if by.code != self.registered_by:
            raise DeletionRefused("Seul le guichet qui a enregistré la demande peut la supprimer", RegistryNames.COUNTER)
        if now.date() != self.registered_at.date():
            raise DeletionRefused("Une demande ne peut être supprimée que le jour de son enregistrement", RegistryNames.NUMBER)
        if self.version != 1:
            raise DeletionRefused("La demande a déjà été modifiée : la radier plutôt que la supprimer", RegistryNames.NUMBER)
        self.state = ApplicationState.DELETED
        self.form = ApplicationForm()
        self._touch(by, now)
        self._record(EventKind.DELETED, by, now, before=None)

    def declare_dalo(self, dalo: DaloInformation, by: Actor, now: datetime) -> None:
        """Record a DALO decision (getDeclarationNouveauDalo) on an active application."""
        authorize(by, Operation.DECLARE_DALO, self.territory)
        self._require_active()
        before = self._before()
        self.form = replace(self.form, dalo=dalo)
        self._track_dalo(before.form.dalo.status if before.form.dalo else None, now)
        self._touch(by, now)
        self._record(EventKind.DALO_DECLARED, by, now, before=before)

    @property
    def dalo_status(self) -> str | None:
        return self.form.dalo.status if self.form.dalo else None

    def _track_dalo(self, previous: str | None, now: datetime) -> None:
        if self.dalo_status != DaloStatus.ACTIVE.value:
            self.dalo_active_since = None
        elif previous != DaloStatus.ACTIVE.value:
            self.dalo_active_since = now

    # -- the register's own clock -------------------------------------------------------------

    def request_notice(self, second: bool, requested_on: date, by: Actor, now: datetime,
                       delivery: dict[str, Any]) -> None:
        """Queue a renewal notice for the notice channels. It counts only once it has left
        (:meth:`notice_left`); neither changes the application's version."""
        if second:
            self.renewal.second_notice_requested_on = requested_on
        else:
            self.renewal.notice_requested_on = requested_on
        details = {"notice": _notice_name(second), "due": self.renewal.next_due.isoformat(),
                   "channels": delivery["channels"]}
        self.events.append(Event(EventKind.RENEWAL_NOTICE, str(self.number), now, by.code, details, delivery))

    def notice_left(self, second: bool, due: date, on: date, channel: str, by: Actor, now: datetime) -> bool:
        """A channel took the notice of the renewal due ``due`` on ``on``. False, and nothing
        recorded, when it no longer matters: renewed or ended since, or already recorded."""
        if not self.is_active or due != self.renewal.next_due:
            return False
        if (self.renewal.second_notice_sent_on if second else self.renewal.notice_sent_on) is not None:
            return False
        if second:
            self.renewal.second_notice_sent_on = on
        else:
            self.renewal.notice_sent_on = on
        details = {"notice": _notice_name(second), "due": due.isoformat(), "channel": channel}
        self.events.append(Event(EventKind.NOTICE_SENT, str(self.number), now, by.code, details))
        return True

    def notice_failed(self, second: bool, due: date, reason: str, by: Actor, now: datetime) -> None:
        """No channel could take the notice: journaled for operators; the clock keeps waiting."""
        details = {"notice": _notice_name(second), "due": due.isoformat(), "reason": reason}
        self.events.append(Event(EventKind.NOTICE_FAILED, str(self.number), now, by.code, details))

    def cancel_not_renewed(self, on: date, by: Actor, now: datetime) -> None:
        self._require_active()
        before = self._before()
        self.cancellation = Cancellation(date=on, motive=CancellationMotive.NOT_RENEWED.value)
        self.state = ApplicationState.CANCELLED
        self._touch(by, now)
        self._record(EventKind.CANCELLED, by, now, {"motive": CancellationMotive.NOT_RENEWED.value,
                                                    "date": on.isoformat()}, before=before)

    def record_indicators(self, computed: tuple[bool, bool], by: Actor, now: datetime) -> bool:
        """Store the register's flags (``informationTraitement``); True when they changed.

        A change of a flag is a change of the application: its version, a journal line, and a MOD
        for the other counters. The first computation that finds both flags false only dates the
        block (it says no more than the absent block did), so the day the register starts computing
        does not send every application of the territory to every counter."""
        previous = indicators.stored_flags(self.form.processing)
        if previous == computed:
            return False
        before = self._before()
        self.form = replace(self.form, processing=indicators.block(computed, now))
        if previous is None and not any(computed):
            return True
        self._touch(by, now)
        long_wait, conditional = computed
        self._record(EventKind.INDICATORS_CHANGED, by, now, {"abnormally_long_wait": long_wait,
                                                              "multiple_conditional_allocations": conditional},
                     before=before)
        return True

    def purge(self, by: Actor, now: datetime, today: date) -> None:
        """Erase a cancelled application whose retention period is over on ``today``; the journal
        keeps that it existed, when it ended and why (no personal data), nothing else."""
        if self.state is not ApplicationState.CANCELLED or not retention.is_due(self.cancellation.date, today):
            raise ApplicationNotActive("Seule une demande radiée depuis plus d'un an est effacée", RegistryNames.NUMBER)
        self.events.append(Event(EventKind.PURGED, str(self.number), now, by.code,
                                 {"version": self.version, "cancelled_on": self.cancellation.date.isoformat(),
                                  "motive": self.cancellation.motive}))

    # -- helpers ------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.state is ApplicationState.ACTIVE

    def _require_active(self) -> None:
        if self.state is ApplicationState.CANCELLED:
            raise ApplicationNotActive(
                f"La demande est radiée depuis le {self.cancellation.date:%d/%m/%Y} ({self.cancellation.motive})",
                RegistryNames.CANCELLATION,
            )
        if self.state is not ApplicationState.ACTIVE:
            raise ApplicationNotActive("Cette demande a été supprimée", RegistryNames.NUMBER)

    def _cancelled_for(self, motive: CancellationMotive) -> bool:
        return self.cancellation is not None and self.cancellation.motive == motive.value

    def _check_reactivation_window(self, on: date) -> None:
        deadline = self.renewal.reactivation_deadline
        if on > deadline:
            raise ReactivationWindowClosed(
                f"Réactivation possible jusqu'au {deadline:%d/%m/%Y} (18 mois après le dépôt ou le dernier "
                "renouvellement)",
                _at("date"),
            )

    def _extend_validity(self, renewed_on: date) -> None:
        years = self.renewal.next_due.year - self.filing_date.year + VALIDITY_YEARS
        self.renewal = Renewal(next_due=anniversary(self.filing_date, years), last_renewed_on=renewed_on)
        self.state, self.cancellation = ApplicationState.ACTIVE, None

    def _check_cancellation(self, cancellation: Cancellation, by: Actor, today: date) -> CancellationMotive:
        if not codes.CancellationMotive.has(cancellation.motive):
            raise CancellationDetailsMissing("Motif de radiation absent ou inconnu", _at("motive"))
        motive = CancellationMotive(cancellation.motive)
        authorize_cancellation(by, motive)
        if cancellation.date is None:
            raise CancellationDetailsMissing("La date de radiation est obligatoire", _at("date"))
        if cancellation.date > today:
            raise CancellationRefused("La date de radiation ne peut pas être dans le futur", _at("date"))
        if cancellation.date < self.filing_date:
            raise CancellationRefused("La date de radiation précède la date de dépôt", _at("date"))
        _check_motive_details(cancellation, motive, today)
        if motive is CancellationMotive.UNREACHABLE:
            earliest = add_months(cancellation.no_answer.letter_date, UNREACHABLE_WAIT_MONTHS)
            if cancellation.date < earliest:
                raise CancellationRefused(
                    f"Radiation pour non-réponse possible à partir du {earliest:%d/%m/%Y} (2 mois après le courrier)",
                    _at("date"),
                )
        return motive

    def _touch(self, by: Actor, now: datetime) -> None:
        self.version += 1
        self.last_changed_at = now
        self.last_changed_by = by.code

    def _before(self) -> _Before:
        return _Before(self.form, self.cancellation, self.renewal.last_renewed_on)

    def _record(self, kind: EventKind, by: Actor, now: datetime, details: dict[str, Any] | None = None, *,
                before: _Before | None = None) -> None:
        """Journal the change; for other counters, note what it altered (nothing for a creation or
        a deletion: the whole application is new, or gone)."""
        altered: dict[str, Any] = {}
        before_profile = None
        if before is not None:
            altered = changes.altered(form=(before.form, self.form),
                                      cancellation=(before.cancellation, self.cancellation),
                                      renewal=(before.last_renewed_on, self.renewal.last_renewed_on))
            if before.form is not self.form:
                before_profile = Profile.of(before.form)
        facts = ChangeFacts(self, altered, before_profile)
        self.events.append(Event(kind, str(self.number), now, by.code, {"version": self.version, **(details or {})},
                                 change=facts))

    def snapshot(self) -> "Application":
        """A copy without pending events, for comparisons in tests and dry runs."""
        return replace(self, events=[])


def _notice_name(second: bool) -> str:
    return "second" if second else "first"


def _at(python_path: str) -> str:
    """The wire path of a cancellation property, for anomalies."""
    return f"{RegistryNames.CANCELLATION}.{wire_path(Cancellation, python_path)}"


# What each motive requires, and what it forbids: (needs sub-motive, needs letter, needs allocation).
_MOTIVE_DETAILS = {
    CancellationMotive.ABANDONMENT: (False, False, False),
    CancellationMotive.ALLOCATION: (False, False, True),
    CancellationMotive.INADMISSIBILITY: (True, False, False),
    CancellationMotive.UNREACHABLE: (False, True, False),
    CancellationMotive.NOT_RENEWED: (False, False, False),
}


def _check_motive_details(cancellation: Cancellation, motive: CancellationMotive, today: date) -> None:
    needs_reason, needs_letter, needs_allocation = _MOTIVE_DETAILS[motive]
    given = {
        _at("inadmissibility_reason"): (needs_reason, cancellation.inadmissibility_reason is not None),
        _at("no_answer.letter_date"): (
            needs_letter, cancellation.no_answer is not None and cancellation.no_answer.letter_date is not None),
        _at("allocation"): (needs_allocation, cancellation.allocation is not None),
    }
    missing = [Anomaly(MISSING_VALUE, f"Obligatoire pour le motif {motive.value}", prop)
               for prop, (needed, present) in given.items() if needed and not present]
    if missing:
        raise CancellationDetailsMissing(missing[0].message, missing[0].property)
    extra = [Anomaly(INCONSISTENT_VALUES, f"Sans objet pour le motif {motive.value}", prop)
             for prop, (needed, present) in given.items() if present and not needed]
    if extra:
        raise InvalidContent(extra)
    if needs_allocation:
        _check_allocation(cancellation.allocation)
        _check_lease_date(cancellation.allocation.lease_signed_on, cancellation.date, today)


def _check_lease_date(signed_on: date, cancelled_on: date, today: date) -> None:
    """The landlord cancels on lease signature (RADATT): a lease not signed yet (a date in the
    future) ends nothing, and a cancellation cannot follow a lease signed after it."""
    where = _at("allocation.lease_signed_on")
    if signed_on > today:
        raise LeaseDateRefused(f"Le bail ne peut pas être signé dans le futur ({signed_on:%d/%m/%Y}) : radier pour "
                               "attribution une fois le bail signé", where)
    if signed_on > cancelled_on:
        raise LeaseDateRefused(f"Bail signé le {signed_on:%d/%m/%Y}, après la date de radiation du "
                               f"{cancelled_on:%d/%m/%Y} : la radiation pour attribution suit la signature du bail",
                               where)


def _check_allocation(allocation: Allocation) -> None:
    required = {
        _at("allocation.lease_signed_on"): allocation.lease_signed_on,
        _at("allocation.already_housed_by_landlord"): allocation.already_housed_by_landlord,
        _at("allocation.collective_agreement"): allocation.collective_agreement,
        _at("allocation.reservation_quota"): allocation.reservation_quota,
        _at("allocation.address.commune"): allocation.address.commune if allocation.address else None,
    }
    missing = [Anomaly(MISSING_VALUE, "Obligatoire pour une radiation suite à attribution", prop)
               for prop, value in required.items() if value is None]
    if missing:
        raise CancellationDetailsMissing(missing[0].message, missing[0].property)
