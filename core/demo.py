"""Demo data: a territory, its counters and a few households, for ``make run`` and the tests.

Everything here is fictitious (the ``.test`` domain is reserved for that). The forms are complete
CERFA households, the kind a counter's software sends, so that they exercise most of the model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Callable

from core.domain import codes
from core.domain.codes import CounterType
from core.domain.dispatch import Channel, Filter
from core.domain.documents import Metadata
from core.domain.form import (
    Address,
    Applicant,
    ApplicationForm,
    CoApplicant,
    CurrentHousing,
    DaloInformation,
    Dependant,
    Household,
    HousingSought,
    Motives,
    PaidResource,
    ProfessionalSituation,
    ReceivedResource,
    TaxIncome,
    WishedLocation,
)
from core.domain.numbers import RegistrationNumber
from core.domain.referential import Counter, Territory
from core.domain.search import SearchCriteria
from core.domain.shared_management import Feature, ValueType, territorial_type
from core.service_layer import dispatching, documents, services, shared_management
from core.service_layer.unit_of_work import DocumentStore, UnitOfWork
from core.wire.pdf import document

TERRITORY = Territory("057", "Moselle (démo)", departements=frozenset({"57"}))
RECEIVER_ENDPOINT = "https://localhost:8444/services/ReceptionDispatchImplService/"  # the demo landlord's system
COUNTERS = (
    Counter("DEMOB", "Bailleur social de démonstration", CounterType.LANDLORD, "057",
            mailbox="demob@guichets.sne-hub.test", endpoint=RECEIVER_ENDPOINT),
    Counter("DEMOC", "Commune de démonstration", CounterType.MUNICIPALITY, "057",
            mailbox="democ@guichets.sne-hub.test"),
    Counter("DEMOE", "Intercommunalité de démonstration", CounterType.INTERMUNICIPAL_BODY, "057",
            mailbox="demoe@guichets.sne-hub.test"),
)
# The territory's manager: it defines the territory's own event types from the command line (no
# certificate: it does not call the SOAP services in the demo).
MANAGER = Counter("DEMOG", "Gestion territoriale de démonstration", CounterType.TERRITORIAL_MANAGER, "057")
METZ, THIONVILLE, MONTIGNY, WOIPPY = "57463", "57672", "57480", "57751"


def address(street: str = "12 rue des Jardins", commune: str = METZ, postal_code: str = "57000") -> Address:
    number, _, name = street.partition(" ")
    return Address(abroad=False, street_number=number, street=name, postal_code=postal_code, commune=commune)


def household_form(
    surname: str = "Martin",
    first_name: str = "Claire",
    birth_date: date = date(1985, 4, 12),
    *,
    communes: tuple[str, ...] = (METZ, WOIPPY),
    co_applicant: tuple[str, str, date] | None = None,
    birth_name: str | None = None,
    email: str | None = "claire.martin@example.org",
    mobile: str | None = "0612345678",
    online: bool = False,
) -> ApplicationForm:
    """A complete household: applicant, optional partner, two children, resources, housing, motives."""
    applicant = Applicant(
        civility=codes.Civility.MRS.value,
        surname=surname,
        birth_name=birth_name,
        first_name=first_name,
        birth_date=birth_date,
        nationality=codes.Nationality.FRENCH.value,
        family_situation=codes.FamilySituation.MARRIED.value if co_applicant else codes.FamilySituation.SINGLE.value,
        mobile_phone=mobile,
        email=email,
        sms_notifications=mobile is not None,
        event_notifications=True,
        postal_address=address(),
        professional_situation=ProfessionalSituation(
            profession="Aide-soignante", contract=codes.EmploymentContract.PERMANENT.value,
            main_employer="CHR Metz-Thionville", abroad=False, postal_code="57000", commune=METZ,
        ),
        tax_income=TaxIncome(year_minus_1=2025, amount_minus_1=19_850, year_minus_2=2024, amount_minus_2=18_900),
        resources_received=[ReceivedResource(codes.ReceivedResourceKind.SALARY.value, 1_650),
                            ReceivedResource(codes.ReceivedResourceKind.FAMILY_ALLOWANCE.value, 140)],
        resources_paid=[PaidResource(codes.PaidResourceKind.ALIMONY_PAID.value, 0)],
    )
    partners = []
    if co_applicant is not None:
        partner_surname, partner_first_name, partner_birth_date = co_applicant
        partners.append(CoApplicant(
            civility=codes.Civility.MR.value, surname=partner_surname, first_name=partner_first_name,
            birth_date=partner_birth_date, nationality=codes.Nationality.EUROPEAN_UNION.value,
            family_situation=codes.FamilySituation.MARRIED.value,
            relationship=codes.CoApplicantRelationship.SPOUSE.value,
            professional_situation=ProfessionalSituation(contract=codes.EmploymentContract.FIXED_TERM.value),
            resources_received=[ReceivedResource(codes.ReceivedResourceKind.SALARY.value, 1_200)],
        ))
    return ApplicationForm(
        internal_reference=f"REF-{surname[:6].upper()}",
        online_renewal=online,
        details="Souhaite un logement proche d'une école.",
        housing_sought=HousingSought(
            category=codes.SoughtHousingCategory.FLAT.value, with_parking=False, max_rent=650, widened=True,
            housing_types=[codes.HousingType.T3.value, codes.HousingType.T4.value],
            wished_locations=[WishedLocation(commune) for commune in communes],
        ),
        motives=Motives(motives=[codes.RequestMotive.TOO_SMALL.value, codes.RequestMotive.CLOSER_TO_WORK.value]),
        household=Household(
            applicant=applicant,
            dependants=[
                Dependant(surname, "Léo", date(2014, 9, 3), codes.Sex.MALE.value, codes.Kinship.CHILD.value),
                Dependant(surname, "Inès", date(2018, 1, 22), codes.Sex.FEMALE.value, codes.Kinship.CHILD.value),
            ],
            co_applicants=partners,
            current_housing=CurrentHousing(
                kinds=[codes.CurrentHousingKind.PRIVATE_TENANT.value], monthly_rent=720, monthly_housing_benefit=110,
                occupants=3 + len(partners), category=codes.HousingCategory.FLAT.value,
                housing_type=codes.HousingType.T2.value, surface=41, owner=False,
            ),
        ),
        dalo=DaloInformation(status=codes.DaloStatus.NO.value),
    )


DEMO_HOUSEHOLDS = (
    ("DEMOB", household_form()),
    ("DEMOC", household_form("Nguyen", "Thanh", date(1979, 11, 2), communes=(THIONVILLE,),
                             co_applicant=("Nguyen", "Minh", date(1977, 6, 30)))),
    ("DEMOE", household_form("Lefèvre-Dupont", "Jérôme", date(1992, 2, 29), communes=(MONTIGNY, METZ),
                             email=None, mobile=None)),
)


# Dispatching in the demo: the landlord's system gets the territory's changes pushed by SOAP (to the
# demo receiver), the inter-municipal body one signed mail a day (as .eml files without a relay).
SUBSCRIPTIONS = (("DEMOB", Channel.SOAP), ("DEMOE", Channel.DAILY_MAIL))


def seed(unit_of_work: Callable[[], UnitOfWork], now: datetime) -> list[str]:
    """Create the demo territory, counters, subscriptions and households unless they exist; return
    what was added. Subscriptions come first, so the households' registrations are dispatched."""
    added = []
    with unit_of_work() as uow:
        present = uow.territories.get(TERRITORY.code) is not None
    if not present:
        services.add_territory(unit_of_work(), TERRITORY)
        added.append(f"territory {TERRITORY.code}")
        for counter in COUNTERS:
            services.add_counter(unit_of_work(), counter)
            added.append(f"counter {counter.code}")
    added += _subscriptions(unit_of_work, now)
    added += _event_types(unit_of_work, now)
    if not present:
        for counter_code, form in DEMO_HOUSEHOLDS:
            application = services.register(unit_of_work(), replace(form), now.date(), counter_code, now)
            added.append(f"application {application.number}")
    return added


# The demo territory's own event types (shared management), next to the decree's national ones.
EVENT_TYPES = (
    territorial_type(
        "057", "COMLOC", "Commission locale de désignation",
        "Examen de la demande par la commission locale de désignation de l'intercommunalité",
        "Votre demande a été examinée par la commission locale de désignation", published=True,
        usable_in_case_search=True,
        features=[Feature("DATECOM", "Date de la commission", ValueType.DATE, required=True),
                  Feature("AVIS", "Avis", ValueType.CHOICE, required=True,
                          choices=(("FAV", "Favorable"), ("DEF", "Défavorable"), ("AJ", "Ajourné")))]),
    territorial_type(
        "057", "ACCOMP", "Accompagnement social", "Mesure d'accompagnement social proposée au ménage",
        "Un accompagnement social vous a été proposé",
        features=[Feature("MESURE", "Mesure", ValueType.TEXT, required=True)]),
)


def _event_types(unit_of_work: Callable[[], UnitOfWork], now: datetime) -> list[str]:
    """The manager and the territory's own event types, also for a demo register seeded before them."""
    added = []
    with unit_of_work() as uow:
        has_manager = uow.counters.get(MANAGER.code) is not None
        known = {event_type.code for event_type in uow.shared_events.types(TERRITORY.code)}
    if not has_manager:
        services.add_counter(unit_of_work(), MANAGER)
        added.append(f"counter {MANAGER.code}")
    for event_type in EVENT_TYPES:
        if event_type.code not in known:
            shared_management.define_territorial_type(unit_of_work(), event_type, MANAGER.code, now)
            added.append(f"event type {event_type.code}")
    return added


def _subscriptions(unit_of_work: Callable[[], UnitOfWork], now: datetime) -> list[str]:
    """The demo's subscriptions, also for a demo register seeded before dispatching existed."""
    added = []
    for counter_code, channel in SUBSCRIPTIONS:
        with unit_of_work() as uow:
            counter = uow.counters.get(counter_code)
            subscribed = bool(uow.subscriptions.list(counter=counter_code))
        if subscribed:
            continue
        if channel is Channel.SOAP and not counter.endpoint:
            dispatching.set_endpoint(unit_of_work(), counter_code, RECEIVER_ENDPOINT)
        subscription = dispatching.subscribe(unit_of_work(), counter_code, channel, Filter(), now)
        added.append(f"subscription {subscription.id} ({counter_code} by {channel.value})")
    return added


DEMO_DOCUMENT = Metadata("LOGACT", "JUSTL", "PR")  # a rent receipt, the presentation's own example


def seed_documents(unit_of_work: Callable[[], UnitOfWork], store: DocumentStore, now: datetime) -> list[str]:
    """A rent receipt on the first demo household's application, unless it has documents already."""
    applicant = DEMO_HOUSEHOLDS[0][1].household.applicant
    criteria = SearchCriteria(surname=applicant.surname, first_name=applicant.first_name,
                              birth_date=applicant.birth_date)
    with unit_of_work() as uow:
        found = uow.applications.search(criteria, TERRITORY.code, None, 1)
        if not found or uow.documents.of_application(found[0][2], include_quarantined=True):
            return []
    number = RegistrationNumber.parse(found[0][2])
    receipt = document([[(14, "Quittance de loyer (démonstration)")], [(11, "Loyer de novembre 2026 : 512,40 EUR")]])
    added = documents.deposit(unit_of_work(), store, number, DEMO_DOCUMENT, "quittance-novembre.pdf", receipt,
                              COUNTERS[0].code, now)
    return [f"document {added.id} ({added.metadata.type}) on {number}"]
