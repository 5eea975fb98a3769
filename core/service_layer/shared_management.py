"""Shared management's use cases: event types, and the events of an application.

Every change of an application's events is journaled (without its comment or characteristics:
the journal outlives the applications and keeps no personal data) and queued in the outbox in the
same transaction, where dispatching turns it into an ``EVT`` change for the territory's other
counters (docs/DISPATCHING.md). The application is locked while its events change, so that two
changes of one application's events are dispatched in the order they were committed.
"""

from __future__ import annotations

from datetime import date, datetime

from core.domain.application import Application
from core.domain.codes import CounterType
from core.domain.errors import (
    INVALID_VALUE,
    TOO_MANY_VALUES,
    Anomaly,
    EventNotFound,
    EventTypeConflict,
    InvalidEvent,
    NotAllowed,
    UnknownEventType,
)
from core.domain.events import ChangeFacts, Event, EventKind
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Operation, authorize
from core.domain.shared_management import (
    MAX_EVENTS,
    NATIONAL_TYPES,
    EventInput,
    EventType,
    Nature,
    SharedEvent,
    authorize_event_add,
    authorize_event_change,
    check_content,
    find_type,
    usable_type,
)
from core.domain.vocabulary import RegistryNames

from .services import _acting_counter, _territory, existing_application
from .unit_of_work import UnitOfWork

# -- event types ----------------------------------------------------------------------------------


def national_types(uow: UnitOfWork, counter_code: str) -> tuple[EventType, ...]:
    """listerTypesEvenementsNationaux: the decree's types, for any active counter."""
    with uow:
        _acting_counter(uow, counter_code)
    return NATIONAL_TYPES


def territorial_types(uow: UnitOfWork, counter_code: str, territory: str) -> list[EventType]:
    """listerTypesEvenementsTerritoriaux: a territory's own types, for the counters of that territory."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        authorize(counter, Operation.READ, territory)
        return uow.shared_events.types(territory)


def define_territorial_type(uow: UnitOfWork, event_type: EventType, manager_code: str, now: datetime) -> None:
    """A territory's manager adds one of the territory's own types (``sne-hub events types add``)."""
    with uow:
        _managing(uow, manager_code, event_type.territory)
        _territory(uow, event_type.territory)
        if any(known.code == event_type.code for known in uow.shared_events.types(event_type.territory)):
            raise EventTypeConflict([Anomaly(EventTypeConflict.code, f"Le type {event_type.code} existe déjà dans le "
                                                            f"territoire {event_type.territory}", "code")])
        uow.shared_events.add_type(event_type, now, manager_code)
        uow.commit()


def end_territorial_type(uow: UnitOfWork, territory: str, code: str, last_day: date, manager_code: str) -> None:
    """No new event of this type after ``last_day``; the events already recorded keep it."""
    with uow:
        _managing(uow, manager_code, territory)
        event_type = next((t for t in uow.shared_events.types(territory) if t.code == code), None)
        if event_type is None:
            raise UnknownEventType(f"Le territoire {territory} n'a pas de type {code}", "code")
        if event_type.valid_from is not None and last_day < event_type.valid_from:
            raise EventTypeConflict([Anomaly(INVALID_VALUE, "Fin de validité avant son début", "valid_until")])
        uow.shared_events.end_type(territory, code, last_day)
        uow.commit()


def _managing(uow: UnitOfWork, manager_code: str, territory: str | None) -> Counter:
    manager = _acting_counter(uow, manager_code)
    if manager.type is not CounterType.TERRITORIAL_MANAGER:
        raise NotAllowed(f"Le guichet {manager.code} n'est pas un gestionnaire territorial : lui seul définit les "
                         "types d'événements de son territoire", RegistryNames.COUNTER)
    authorize(manager, Operation.READ, territory or "")
    return manager


# -- events of an application ------------------------------------------------------------------------


def list_events(uow: UnitOfWork, number: RegistrationNumber,
                counter_code: str) -> list[tuple[SharedEvent, EventType]]:
    """listerEvenementsDemande: the application's events and their types, oldest first."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        application = existing_application(uow, number)
        authorize(counter, Operation.READ, application.territory)
        territorial = uow.shared_events.types(application.territory)
        return [(event, find_type(event.type_code, territorial))
                for event in uow.shared_events.of_application(str(application.number))]


def add_event(uow: UnitOfWork, number: RegistrationNumber, content: EventInput, counter_code: str,
              now: datetime) -> tuple[SharedEvent, EventType]:
    """ajouterEvenementDemande: record an event on an application of the counter's territory."""
    with uow:
        counter = _acting_counter(uow, counter_code)
        application = existing_application(uow, number, for_update=True)
        authorize(counter, Operation.READ, application.territory)
        event_type = usable_type(content.type_code, uow.shared_events.types(application.territory), now.date())
        authorize_event_add(counter.type, event_type)
        check_content(event_type, content, now.date(), application.filing_date)
        if len(uow.shared_events.of_application(str(application.number))) >= MAX_EVENTS:
            raise InvalidEvent([Anomaly(TOO_MANY_VALUES, f"La demande porte déjà {MAX_EVENTS} événements, le plus "
                                                         "qu'elle puisse en porter", "listeEvenements")])
        event = uow.shared_events.add(SharedEvent(
            None, str(application.number), application.territory, event_type.code, content.occurred_on, now,
            counter.code, content.comment, content.values))
        _journal(uow, EventKind.SHARED_EVENT_ADDED, application, event, Nature.CREATED, counter, now)
        uow.commit()
    return event, event_type


def change_event(uow: UnitOfWork, number: RegistrationNumber, event_id: int, content: EventInput,
                 counter_code: str, now: datetime) -> tuple[SharedEvent, EventType]:
    """modifierEvenementDemande: replace an event's date, comment and characteristics (its type stays)."""
    with uow:
        counter, application, event, event_type = _existing(uow, number, event_id, counter_code)
        if content.type_code != event.type_code:
            raise UnknownEventType(f"L'événement {event.id} est de type {event.type_code} : un événement ne change "
                                   "pas de type (le supprimer, en inscrire un autre)", "codeTypeEvenement")
        check_content(event_type, content, now.date(), application.filing_date)
        event = event.changed(content, counter.code, now)
        uow.shared_events.save(event)
        _journal(uow, EventKind.SHARED_EVENT_CHANGED, application, event, Nature.CHANGED, counter, now)
        uow.commit()
    return event, event_type


def delete_event(uow: UnitOfWork, number: RegistrationNumber, event_id: int, counter_code: str,
                 now: datetime) -> tuple[SharedEvent, EventType]:
    """supprimerEvenementDemande: remove an event (the journal keeps that it existed)."""
    with uow:
        counter, application, event, event_type = _existing(uow, number, event_id, counter_code)
        uow.shared_events.delete(event.id)
        _journal(uow, EventKind.SHARED_EVENT_DELETED, application, event, Nature.DELETED, counter, now)
        uow.commit()
    return event, event_type


def _existing(uow: UnitOfWork, number: RegistrationNumber, event_id: int,
              counter_code: str) -> tuple[Counter, Application, SharedEvent, EventType]:
    counter = _acting_counter(uow, counter_code)
    application = existing_application(uow, number, for_update=True)
    authorize(counter, Operation.READ, application.territory)
    event = uow.shared_events.get(event_id, for_update=True)
    if event is None or event.number != str(application.number):
        raise EventNotFound(f"La demande n° {number.display()} n'a pas d'événement {event_id}", "idEvenement")
    authorize_event_change(counter.code, counter.type, event)
    return counter, application, event, find_type(event.type_code, uow.shared_events.types(application.territory))


def _journal(uow: UnitOfWork, kind: EventKind, application: Application, event: SharedEvent, nature: Nature,
             counter: Counter, now: datetime) -> None:
    """Journal the change (identifiers only) and queue it for dispatching, with the application as it
    stands (what subscription filters look at)."""
    details = {"version": application.version, "event": event.id, "type": event.type_code, "nature": nature.value}
    uow.events.append([Event(kind, str(application.number), now, counter.code, details,
                             change=ChangeFacts(application, {}))])
