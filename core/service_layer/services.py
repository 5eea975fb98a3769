"""The register's use cases: one function per thing a counter (or an operator) can ask.

Each one opens the unit of work, loads what it needs, lets the domain decide, stores the result and
its events, and commits. Channels call these functions and nothing else; they hand over an acting
counter's code, already authenticated, and the time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from core.domain.application import (
    Application,
    Cancellation,
    check_filing_date,
    check_renewal_date,
    check_separation,
)
from core.domain.codes import ApplicationState
from core.domain.errors import (
    ApplicationNotFound,
    DuplicateCandidate,
    DuplicateSuspected,
    InvalidAssociation,
    InvalidContent,
    InvalidNumber,
    ReferenceDataConflict,
    UnknownCertificate,
    UnknownCounter,
    UnknownTerritory,
)
from core.domain.form import ApplicationForm, DaloInformation
from core.domain.identity import PersonKey
from core.domain.numbers import SEQUENCE_MAX, RegistrationNumber
from core.domain.referential import Counter, CounterCertificate, Operation, Territory, authorize
from core.domain.search import COUNT_LIMIT, PAGE_SIZE, SearchCriteria, SearchResult, page
from core.domain.validation import check_codes, normalized, territory_free_anomalies, validate_form
from core.domain.vocabulary import RegistryNames

from .unit_of_work import UnitOfWork

# -- reference data -----------------------------------------------------------------------------


def add_territory(uow: UnitOfWork, territory: Territory, last_issued: int = 0) -> None:
    """A new territory; ``last_issued`` continues the numbering of a territory taken over from elsewhere."""
    if not 0 <= last_issued <= SEQUENCE_MAX:
        raise InvalidNumber(f"Dernier numéro d'ordre attribué hors limites : {last_issued}", "last_issued")
    with uow:
        if uow.territories.get(territory.code) is not None:
            raise ReferenceDataConflict(f"Le territoire {territory.code} existe déjà", "code")
        taken = uow.territories.claimed_areas(territory.departements, territory.communes)
        if taken:
            listed = ", ".join(f"{area} ({code})" for area, code in sorted(taken.items()))
            raise ReferenceDataConflict(f"Zones déjà couvertes par un autre territoire : {listed}", "departements")
        uow.territories.add(territory)
        uow.sequences.create(territory.code, last_issued)
        uow.commit()


def add_counter(uow: UnitOfWork, counter: Counter) -> None:
    with uow:
        if uow.territories.get(counter.territory) is None:
            raise UnknownTerritory(f"Territoire inconnu : {counter.territory}", "territory")
        if uow.counters.get(counter.code) is not None:
            raise ReferenceDataConflict(f"Le guichet {counter.code} existe déjà", "code")
        uow.counters.add(counter)
        uow.commit()


def register_certificate(uow: UnitOfWork, certificate: CounterCertificate, now: datetime | None = None) -> None:
    """Let a counter authenticate with this certificate (TLS client, S/MIME signer).

    A revoked certificate stays revoked: registering it again is refused (NUU185), not reported
    as done. With ``now``, so is one that expired before it: it would authenticate nothing."""
    with uow:
        if uow.counters.get(certificate.counter) is None:
            raise UnknownCounter(f"Guichet inconnu : {certificate.counter}", "counter")
        known = uow.certificates.get(certificate.fingerprint)
        if known is not None and known.revoked_at is not None:
            raise UnknownCertificate(f"Certificat révoqué le {known.revoked_at:%d/%m/%Y} : il le reste, l'enregistrer "
                                     "de nouveau n'y change rien ; en émettre un nouveau", "fingerprint")
        if now is not None and certificate.not_after < now:
            raise UnknownCertificate(f"Certificat expiré le {certificate.not_after:%d/%m/%Y} : il n'authentifierait "
                                     "aucun guichet", "not_after")
        if known is not None:
            if known.counter != certificate.counter:
                raise ReferenceDataConflict(f"Ce certificat est déjà celui du guichet {known.counter}", "fingerprint")
            if known.der is None and certificate.der is not None:  # registered before the register kept them
                uow.certificates.keep_der(certificate.fingerprint, certificate.der)
                uow.commit()
            return
        uow.certificates.add(certificate)
        uow.commit()


def revoke_certificate(uow: UnitOfWork, fingerprint: str, at: datetime) -> None:
    with uow:
        if uow.certificates.get(fingerprint) is None:
            raise UnknownCertificate(f"Aucun certificat d'empreinte {fingerprint}", "fingerprint")
        uow.certificates.revoke(fingerprint, at)
        uow.commit()


def revocation_mark(uow: UnitOfWork) -> tuple:
    """A value that changes whenever a certificate is revoked or a counter deactivated: what the
    channels' certificate caches compare to forget at once what they knew."""
    with uow:
        return uow.certificates.revocation_mark()


def expiring_certificates(uow: UnitOfWork, now: datetime, until: datetime) -> list[CounterCertificate]:
    """Registered certificates, not revoked, still valid at ``now`` and ending by ``until``: those
    whose counters need a new one soon (several per counter when one was already renewed)."""
    with uow:
        return uow.certificates.expiring(now, until)


def identify(uow: UnitOfWork, fingerprint: str, at: datetime) -> tuple[Counter, datetime]:
    """The active counter a certificate authenticates at ``at``, and until when the certificate
    is valid; UnknownCertificate otherwise."""
    with uow:
        certificate = uow.certificates.get(fingerprint)
        if certificate is None or not certificate.valid_at(at):
            raise UnknownCertificate(property="certificat")
        counter = uow.counters.get(certificate.counter)
        if counter is None or not counter.active:
            raise UnknownCertificate("Le guichet de ce certificat est inconnu ou désactivé", "certificat")
        return counter, certificate.not_after


# -- applications -------------------------------------------------------------------------------


def register(
    uow: UnitOfWork,
    form: ApplicationForm,
    filing_date: date | None,
    counter_code: str,
    now: datetime,
    *,
    force_duplicate: bool = False,
    associated_number: RegistrationNumber | None = None,
) -> Application:
    """CRE, or CRS when ``associated_number`` names the application of the couple that separated.

    What needs no database is done before the transaction opens (SQLite's write lock is held from
    its start): the identity keys, the form's validation but for its territory, and the stored
    form's document and index rows. In the transaction: the counter and territory, read with the
    people's identities locked; the checks they allow; the people's duplicates, and the number,
    drawn only once every check passed (a refusal leaves no gap). The adapter may draw it with the
    duplicates' read when that read finds no one, which saves PostgreSQL a round trip."""
    form = normalized(form)
    keys = _person_keys(form)
    today = now.date()
    checked = territory_free_anomalies(form, today)
    prepared = uow.prepare_form(form)
    with uow:
        found = uow.registration_counter(counter_code, keys)
        counter, territory = _acting_counter_and_territory(found, counter_code)
        original = None
        if associated_number is not None:
            authorize(counter, Operation.REGISTER_AFTER_SEPARATION, territory.code)
            original = _separation_source(uow, associated_number, form, territory.code)
        else:
            authorize(counter, Operation.REGISTER, territory.code)
            check_filing_date(filing_date, today)
        validate_form(form, territory, today, checked)
        read = uow.registration_candidates(counter_code, keys, territory.code, draw=original is None)
        forced = _unless_forced(read.candidates, force_duplicate, exclude=original.number if original else None)
        sequence = read.sequence if read.sequence is not None else uow.sequences.next(territory.code)
        number = RegistrationNumber.issue(territory.code, today, sequence, counter.code)
        application = Application.register(number, territory.code, form, filing_date, counter, now,
                                           forced_duplicates=forced, after_separation_from=original)
        uow.commit_registration(application, prepared)
    return application


def update(
    uow: UnitOfWork,
    number: RegistrationNumber,
    form: ApplicationForm,
    counter_code: str,
    now: datetime,
    *,
    force_duplicate: bool = False,
) -> Application:
    """MOD: replace the household's form as a whole; a changed identity is checked for duplicates again."""
    form = normalized(form)
    keys = _person_keys(form)

    def change(application: Application, counter: Counter) -> None:
        validate_form(form, _territory(uow, application.territory), now.date())
        if keys != _person_keys(application.form):
            _check_duplicates(uow, keys, application.territory, force_duplicate, exclude=application.number)
        application.update(form, counter, now)

    return _change(uow, number, counter_code, change)


def renew(
    uow: UnitOfWork,
    number: RegistrationNumber,
    counter_code: str,
    now: datetime,
    *,
    renewed_on: date | None = None,
    form: ApplicationForm | None = None,
) -> Application:
    """REN: renew for a year, with the household's updated form when the counter sends one."""
    form = normalized(form) if form is not None else None

    def change(application: Application, counter: Counter) -> None:
        if form is not None:
            validate_form(form, _territory(uow, application.territory), now.date())
        application.renew(counter, now, check_renewal_date(renewed_on, now.date()), form)

    return _change(uow, number, counter_code, change)


def cancel(uow: UnitOfWork, number: RegistrationNumber, cancellation: Cancellation, counter_code: str,
           now: datetime) -> Application:
    """RAD with a motive."""

    def change(application: Application, counter: Counter) -> None:
        anomalies = check_codes(cancellation, RegistryNames.CANCELLATION + ".")
        if anomalies:
            raise InvalidContent(anomalies)
        application.cancel(cancellation, counter, now)

    return _change(uow, number, counter_code, change)


def reactivate(uow: UnitOfWork, number: RegistrationNumber, counter_code: str, now: datetime) -> Application:
    """RAD without a motive (the SNE's "déradiation"): undo a cancellation within its window."""
    return _change(uow, number, counter_code, lambda application, counter: application.reactivate(counter, now))


def delete(uow: UnitOfWork, number: RegistrationNumber, counter_code: str, now: datetime) -> Application:
    """SUP: erase an application registered in error."""
    return _change(uow, number, counter_code, lambda application, counter: application.delete(counter, now))


def get(uow: UnitOfWork, number: RegistrationNumber, counter_code: str) -> Application:
    """Read one application, within the counter's territory."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        application = _load(uow, number)
        authorize(counter, Operation.READ, application.territory)
        return application


def find_duplicates(uow: UnitOfWork, form: ApplicationForm, counter_code: str) -> list[DuplicateCandidate]:
    """What registering ``form`` would collide with, without registering it."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        authorize(counter, Operation.SEARCH, counter.territory)
        return uow.applications.find_duplicates(_person_keys(form), counter.territory)


def search(uow: UnitOfWork, criteria: SearchCriteria, counter_code: str) -> SearchResult:
    """rechercheDemandeMulticritere: one page of matches in the counter's territory, from the place
    of ``criteria.after`` in the SNE's order, and how many follow it (counted up to COUNT_LIMIT)."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        authorize(counter, Operation.SEARCH, counter.territory)
        after = uow.applications.sort_key(criteria.after) if criteria.after else None
        found = uow.applications.search(criteria, counter.territory, after, PAGE_SIZE + 1)
        counted = (uow.applications.count(criteria, counter.territory, found[PAGE_SIZE - 1], COUNT_LIMIT + 1)
                   if len(found) > PAGE_SIZE else 0)
        return page(found, counted)


def declare_dalo(uow: UnitOfWork, number: RegistrationNumber, dalo: DaloInformation, counter_code: str,
                 now: datetime) -> Application:
    """getDeclarationNouveauDalo: record the DALO commission's decision on an application."""

    def change(application: Application, counter: Counter) -> None:
        anomalies = check_codes(dalo, "informationDalo.")
        if anomalies:
            raise InvalidContent(anomalies)
        application.declare_dalo(dalo, counter, now)

    return _change(uow, number, counter_code, change)


def cancelled_since(uow: UnitOfWork, counter_code: str, since: datetime, *, motive: str | None = None,
                    dalo_status: str | None = None, reservation_quota: str | None = None) -> list[str]:
    """getDemandesRadieesDepuisLe: numbers of the territory's applications cancelled since ``since``."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        authorize(counter, Operation.READ, counter.territory)
        found = uow.applications.cancelled_since(counter.territory, since, motive)
    return [str(a.number) for a in found
            if (dalo_status is None or a.dalo_status == dalo_status)
            and (reservation_quota is None or _quota(a) == reservation_quota)]


def new_dalo_since(uow: UnitOfWork, counter_code: str, since: datetime) -> list[str]:
    """getNouveauxDaloDepuisLe: numbers of the territory's applications whose DALO became active since."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        authorize(counter, Operation.READ, counter.territory)
        return uow.applications.dalo_active_since(counter.territory, since)


def _quota(application: Application) -> str | None:
    allocation = application.cancellation.allocation if application.cancellation else None
    return allocation.reservation_quota if allocation else None


# -- helpers ------------------------------------------------------------------------------------


def _change(uow: UnitOfWork, number: RegistrationNumber, counter_code: str,
            change: Callable[[Application, Counter], None]) -> Application:
    with uow:
        counter = _acting_counter(uow, counter_code)
        application = _load(uow, number, for_update=True)
        loaded_version = application.version
        change(application, counter)
        uow.applications.save(application, loaded_version)
        uow.events.append(application.events)
        uow.commit()
    return application


def _acting_counter(uow: UnitOfWork, code: str) -> Counter:
    counter = uow.counters.get(code)
    if counter is None or not counter.active:
        raise UnknownCounter(f"Guichet inconnu ou inactif : {code}", RegistryNames.COUNTER)
    return counter


def _acting_counter_and_territory(found: tuple[Counter, Territory | None] | None,
                                  code: str) -> tuple[Counter, Territory]:
    """The counter ``code`` and its territory as read (``Counters.get_with_territory``), with
    ``_acting_counter``'s and ``_territory``'s refusals."""
    if found is None or not found[0].active:
        raise UnknownCounter(f"Guichet inconnu ou inactif : {code}", RegistryNames.COUNTER)
    counter, territory = found
    if territory is None:
        raise UnknownTerritory(f"Territoire inconnu : {counter.territory}", RegistryNames.COUNTER)
    return counter, territory


def existing_application(uow: UnitOfWork, number: RegistrationNumber, *, for_update: bool = False) -> Application:
    """An application the register still knows (a deleted one answers "unknown number", as a purged one)."""
    application = uow.applications.get(number, for_update=for_update)
    if application is None or application.state is ApplicationState.DELETED:
        raise ApplicationNotFound(f"Aucune demande n° {number.display()}", RegistryNames.NUMBER)
    return application


def _territory(uow: UnitOfWork, code: str) -> Territory:
    territory = uow.territories.get(code)
    if territory is None:
        raise UnknownTerritory(f"Territoire inconnu : {code}", RegistryNames.COUNTER)
    return territory


def _load(uow: UnitOfWork, number: RegistrationNumber, *, for_update: bool = False) -> Application:
    application = uow.applications.get(number, for_update=for_update)
    if application is None:
        raise ApplicationNotFound(f"Aucune demande n° {number.display()}", RegistryNames.NUMBER)
    return application


def _holder_key(form: ApplicationForm) -> PersonKey | None:
    holder = form.household.applicant if form.household else None
    return PersonKey.of(holder.surname, holder.birth_name, holder.first_name, holder.birth_date) if holder else None


def _person_keys(form: ApplicationForm) -> set[PersonKey]:
    keys = (PersonKey.of(p.surname, p.birth_name, p.first_name, p.birth_date) for p in form.people)
    return {key for key in keys if key is not None}


def _check_duplicates(uow: UnitOfWork, keys: set[PersonKey], territory: str, force: bool,
                      exclude: RegistrationNumber | None) -> list[str]:
    """Refuse a probable duplicate of the people ``keys`` identify unless forced; return the numbers
    knowingly overridden."""
    uow.applications.lock_identities(keys)
    return _unless_forced(uow.applications.find_duplicates(keys, territory), force, exclude)


def _unless_forced(candidates: list[DuplicateCandidate], force: bool, exclude: RegistrationNumber | None) -> list[str]:
    """Refuse the candidates (but ``exclude``'s) unless forced; return the numbers knowingly overridden."""
    candidates = [candidate for candidate in candidates if candidate.number != str(exclude)]
    if candidates and not force:
        raise DuplicateSuspected(candidates, RegistryNames.FORCE_DUPLICATE)
    return sorted({candidate.number for candidate in candidates})


def _separation_source(uow: UnitOfWork, number: RegistrationNumber, form: ApplicationForm,
                       territory: str) -> Application:
    """The couple's application a CRS comes from: active, same territory, the new holder among its adults."""
    original = uow.applications.get(number)
    if original is None:
        raise InvalidAssociation(f"Aucune demande n° {number.display()}", RegistryNames.ASSOCIATED_NUMBER)
    if not original.is_active:
        raise InvalidAssociation("La demande d'origine n'est pas active", RegistryNames.ASSOCIATED_NUMBER)
    if original.territory != territory:
        raise InvalidAssociation("La demande d'origine relève d'un autre territoire", RegistryNames.ASSOCIATED_NUMBER)
    check_separation(_person_keys(original.form), _person_keys(form), _holder_key(form))
    return original
