"""The life of an application, rule by rule, on the aggregate alone (no I/O)."""

from datetime import date, datetime, timedelta

import pytest

from core.demo import household_form
from core.domain.application import (
    Allocation,
    AllocationAddress,
    Application,
    Cancellation,
    NoAnswer,
    check_filing_date,
    check_renewal_date,
)
from core.domain.calendar import PARIS
from core.domain.codes import ApplicationState, CounterType
from core.domain.errors import (
    ApplicationNotActive,
    CancellationDetailsMissing,
    CancellationRefused,
    DaloThroughDeclarationOnly,
    DeletionRefused,
    InvalidContent,
    InvalidDate,
    LeaseDateRefused,
    NotAllowed,
    OutsideTerritory,
    ReactivationRefused,
    ReactivationWindowClosed,
    RenewalNotOpen,
)
from core.domain.events import EventKind
from core.domain.form import ApplicationForm, DaloInformation, ProcessingInformation
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM, Counter

LANDLORD = Counter("BAIL1", "Bailleur", CounterType.LANDLORD, "057")
TOWN = Counter("COMM1", "Commune", CounterType.MUNICIPALITY, "057")
MANAGER = Counter("GEST1", "Gestionnaire", CounterType.TERRITORIAL_MANAGER, "057")
ELSEWHERE = Counter("AILL1", "Ailleurs", CounterType.LANDLORD, "054")
FILED = date(2025, 5, 26)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def registered(by: Counter = TOWN, filed: date = FILED, sequence: int = 1) -> Application:
    number = RegistrationNumber.issue("057", filed, sequence, by.code)
    application = Application.register(number, "057", household_form(), filed, by, at(filed))
    application.events.clear()
    return application


def allocation() -> Cancellation:
    return Cancellation(
        date=date(2025, 9, 1), motive="RADATT",
        allocation=Allocation(lease_signed_on=date(2025, 8, 28), already_housed_by_landlord="NON",
                              collective_agreement="AUCUN", reservation_quota="AUCUN",
                              address=AllocationAddress(street="rue Haute", postal_code="57000", commune="57463")),
    )


# -- registration ---------------------------------------------------------------------------


def test_registration_certifies_the_filing_date_and_sets_the_first_due_date():
    application = registered()
    assert application.state is ApplicationState.ACTIVE
    assert application.version == 1
    assert application.filing_date == FILED
    assert application.renewal.next_due == date(2026, 5, 26)


def test_registration_records_an_event_with_the_counter():
    number = RegistrationNumber.issue("057", FILED, 1, TOWN.code)
    application = Application.register(number, "057", household_form(), FILED, TOWN, at(FILED))
    [event] = application.events
    assert (event.kind, event.actor, event.number) == (EventKind.REGISTERED, "COMM1", str(number))


def test_a_territorial_manager_does_not_register():
    with pytest.raises(NotAllowed):
        Application.register(RegistrationNumber.issue("057", FILED, 1, "GEST1"), "057", household_form(), FILED,
                             MANAGER, at(FILED))


def test_a_counter_registers_only_in_its_territory():
    with pytest.raises(OutsideTerritory):
        Application.register(RegistrationNumber.issue("057", FILED, 1, "AILL1"), "057", household_form(), FILED,
                             ELSEWHERE, at(FILED))


def test_creation_after_separation_keeps_the_original_seniority_and_due_date():
    original = registered()
    original.renew(TOWN, at(date(2026, 5, 1)), date(2026, 5, 1))
    number = RegistrationNumber.issue("057", date(2026, 6, 1), 2, LANDLORD.code)
    separated = Application.register(number, "057", household_form("Nguyen", "Minh"), date(2026, 6, 1), LANDLORD,
                                     at(date(2026, 6, 1)), after_separation_from=original)
    assert separated.filing_date == FILED
    assert separated.renewal.next_due == original.renewal.next_due == date(2027, 5, 26)
    assert separated.associated_number == original.number
    assert separated.events[0].kind is EventKind.REGISTERED_AFTER_SEPARATION
    assert separated.events[0].details["associated_number"] == str(original.number)


@pytest.mark.parametrize(
    "filed, accepted",
    [(date(2026, 11, 30), True), (date(2026, 10, 30), True), (date(2026, 10, 29), False), (date(2026, 12, 1), False)],
)
def test_registration_happens_within_a_month_of_filing(filed, accepted):
    today = date(2026, 11, 30)
    if accepted:
        assert check_filing_date(filed, today) == filed
    else:
        with pytest.raises(InvalidDate) as refused:
            check_filing_date(filed, today)
        assert refused.value.property == "dateCreationDemande"


def test_missing_filing_date_is_refused():
    with pytest.raises(InvalidDate):
        check_filing_date(None, date(2026, 11, 30))


# -- update ---------------------------------------------------------------------------------


def test_update_bumps_the_version_and_records_who_and_when():
    application = registered()
    application.update(household_form(email="new@example.org"), LANDLORD, at(date(2025, 7, 1)))
    assert application.version == 2
    assert application.last_changed_by == "BAIL1"
    assert application.last_changed_at == at(date(2025, 7, 1))
    assert application.form.household.applicant.email == "new@example.org"
    assert application.events[-1].kind is EventKind.UPDATED


def test_an_update_replaces_the_household_part_as_a_whole():
    """MOD is a whole replacement (docs/REGISTER.md, "Update (MOD)"): what the file leaves out is gone."""
    application = registered()
    application.update(household_form(email="new@example.org"), LANDLORD, at(date(2025, 7, 1)))
    application.update(household_form(), TOWN, at(date(2025, 7, 2)))
    assert application.form.household.applicant.email != "new@example.org"
    assert application.form == household_form()
    assert application.version == 3


def test_a_cancelled_application_cannot_be_updated():
    application = registered(LANDLORD)
    application.cancel(allocation(), LANDLORD, at(date(2025, 9, 2)))
    with pytest.raises(ApplicationNotActive):
        application.update(household_form(), LANDLORD, at(date(2025, 9, 3)))


def test_online_flag_is_sticky():
    application = registered()
    application.update(household_form(online=True), TOWN, at(date(2025, 7, 1)))
    application.update(household_form(online=False), TOWN, at(date(2025, 7, 2)))
    assert application.online


# -- renewal --------------------------------------------------------------------------------


def test_renewal_moves_the_due_date_to_the_next_anniversary_of_filing():
    """The source's example: filed 26/05/2014, renewed 18/05/2015, next renewal 26/05/2016."""
    number = RegistrationNumber.issue("023", date(2014, 5, 26), 4558, "DGALN")
    dgaln = Counter("DGALN", "Guichet Test DGALN", CounterType.STATE, "023")
    application = Application.register(number, "023", household_form(), date(2014, 5, 26), dgaln,
                                       at(date(2014, 5, 26)))
    application.renew(dgaln, at(date(2015, 5, 18)), date(2015, 5, 18))
    assert application.renewal.last_renewed_on == date(2015, 5, 18)
    assert application.renewal.next_due == date(2016, 5, 26)


def test_renewal_resets_notices():
    application = registered()
    application.request_notice(False, date(2026, 3, 26), SYSTEM, at(date(2026, 3, 26)), {"channels": ["email"]})
    application.notice_left(False, date(2026, 5, 26), date(2026, 3, 26), "email", SYSTEM, at(date(2026, 3, 26)))
    assert application.renewal.notice_sent_on == date(2026, 3, 26)
    application.renew(TOWN, at(date(2026, 4, 2)), date(2026, 4, 2))
    assert application.renewal.notice_sent_on is None and application.renewal.notice_requested_on is None


def test_renewal_opens_three_months_before_the_due_date():
    application = registered()
    with pytest.raises(RenewalNotOpen):
        application.renew(TOWN, at(date(2026, 2, 25)), date(2026, 2, 25))
    application.renew(TOWN, at(date(2026, 2, 26)), date(2026, 2, 26))
    assert application.renewal.next_due == date(2027, 5, 26)


def test_late_renewal_before_cancellation_keeps_the_anniversary():
    application = registered()
    application.renew(TOWN, at(date(2026, 6, 10)), date(2026, 6, 10))
    assert application.renewal.next_due == date(2027, 5, 26)


def test_renewal_date_follows_the_declared_date_rule():
    assert check_renewal_date(None, date(2026, 5, 1)) == date(2026, 5, 1)
    with pytest.raises(InvalidDate) as refused:
        check_renewal_date(date(2026, 5, 2), date(2026, 5, 1))
    assert refused.value.property == "renouvellement.dateRenouvellement"


# -- cancellation ---------------------------------------------------------------------------


def test_allocation_cancels_with_its_details_and_the_commune():
    application = registered(LANDLORD)
    application.cancel(allocation(), LANDLORD, at(date(2025, 9, 2)))
    assert application.state is ApplicationState.CANCELLED
    assert application.cancellation.allocation_commune == "57463"
    assert application.events[-1].details["motive"] == "RADATT"


@pytest.mark.parametrize("signed_on, cancelled_on, today", [
    (date(2025, 9, 3), date(2025, 9, 2), date(2025, 9, 4)),  # after the cancellation
    (date(2025, 9, 5), date(2025, 9, 4), date(2025, 9, 4)),  # in the future (and after the cancellation)
], ids=["after-cancellation", "future"])
def test_allocation_refuses_a_lease_signed_after_the_cancellation_or_in_the_future(signed_on, cancelled_on, today):
    cancellation = allocation()
    cancellation.date = cancelled_on
    cancellation.allocation.lease_signed_on = signed_on
    application = registered(LANDLORD)
    with pytest.raises(LeaseDateRefused) as refused:
        application.cancel(cancellation, LANDLORD, at(today))
    assert refused.value.code == "NUU196"
    assert refused.value.property == "radiation.attributionLogement.dateSignatureBail"
    assert application.state is ApplicationState.ACTIVE and not application.events


def test_a_lease_signed_in_the_future_is_named_as_such():
    cancellation = allocation()
    cancellation.allocation.lease_signed_on = date(2025, 9, 3)
    with pytest.raises(LeaseDateRefused) as refused:
        registered(LANDLORD).cancel(cancellation, LANDLORD, at(date(2025, 9, 2)))
    assert "futur" in refused.value.message


@pytest.mark.parametrize("signed_on", [date(2025, 9, 1), date(2025, 6, 2)], ids=["same-day", "earlier"])
def test_allocation_accepts_a_lease_signed_on_or_before_the_cancellation(signed_on):
    cancellation = allocation()
    cancellation.allocation.lease_signed_on = signed_on
    application = registered(LANDLORD)
    application.cancel(cancellation, LANDLORD, at(date(2025, 9, 2)))
    assert application.state is ApplicationState.CANCELLED


def test_only_a_landlord_cancels_for_allocation():
    application = registered()
    with pytest.raises(NotAllowed) as refused:
        application.cancel(allocation(), TOWN, at(date(2025, 9, 2)))
    assert refused.value.property == "radiation.motifRadiation"
    assert application.state is ApplicationState.ACTIVE


def test_allocation_requires_the_allocation_block():
    application = registered(LANDLORD)
    with pytest.raises(CancellationDetailsMissing) as refused:
        application.cancel(Cancellation(date=date(2025, 9, 1), motive="RADATT"), LANDLORD, at(date(2025, 9, 2)))
    assert refused.value.property == "radiation.attributionLogement"


def test_allocation_requires_the_commune_of_the_dwelling():
    cancellation = allocation()
    cancellation.allocation.address = None
    with pytest.raises(CancellationDetailsMissing) as refused:
        registered(LANDLORD).cancel(cancellation, LANDLORD, at(date(2025, 9, 2)))
    assert refused.value.property == "radiation.attributionLogement.adresse.commune"


@pytest.mark.parametrize("reason", ["IRRSEJ", "IRRRES"])
def test_inadmissibility_cancels_with_its_sub_motive(reason):
    application = registered()
    application.cancel(Cancellation(date(2025, 9, 1), "RADIRR", inadmissibility_reason=reason), TOWN,
                       at(date(2025, 9, 1)))
    assert application.cancellation.inadmissibility_reason == reason


def test_inadmissibility_without_sub_motive_is_refused():
    with pytest.raises(CancellationDetailsMissing) as refused:
        registered().cancel(Cancellation(date(2025, 9, 1), "RADIRR"), TOWN, at(date(2025, 9, 1)))
    assert refused.value.property == "radiation.sousMotifIrrecevabilite"


def test_sub_motive_with_another_motive_is_inconsistent():
    with pytest.raises(InvalidContent) as refused:
        registered().cancel(Cancellation(date(2025, 9, 1), "RADABA", inadmissibility_reason="IRRSEJ"), TOWN,
                            at(date(2025, 9, 1)))
    assert refused.value.anomalies[0].code == "NUU104"


def test_unreachable_applicant_is_cancelled_two_months_after_the_letter():
    letter = NoAnswer(letter_date=date(2025, 7, 1))
    with pytest.raises(CancellationRefused):
        registered().cancel(Cancellation(date(2025, 8, 31), "RADCON", no_answer=letter), TOWN, at(date(2025, 8, 31)))
    application = registered()
    application.cancel(Cancellation(date(2025, 9, 1), "RADCON", no_answer=letter), TOWN, at(date(2025, 9, 1)))
    assert application.state is ApplicationState.CANCELLED


def test_unreachable_requires_the_letter_date():
    with pytest.raises(CancellationDetailsMissing) as refused:
        registered().cancel(Cancellation(date(2025, 9, 1), "RADCON"), TOWN, at(date(2025, 9, 1)))
    assert refused.value.property == "radiation.absenceReponse.dateCourrier"


def test_abandonment_needs_only_date_and_motive():
    application = registered()
    application.cancel(Cancellation(date(2025, 9, 1), "RADABA"), MANAGER, at(date(2025, 9, 1)))
    assert application.cancellation.motive == "RADABA"


def test_non_renewal_is_the_register_own_motive():
    with pytest.raises(NotAllowed):
        registered().cancel(Cancellation(date(2025, 9, 1), "RADREN"), TOWN, at(date(2025, 9, 1)))


@pytest.mark.parametrize("day", [date(2025, 9, 3), date(2025, 5, 25)])
def test_cancellation_date_is_neither_future_nor_before_filing(day):
    with pytest.raises(CancellationRefused):
        registered().cancel(Cancellation(day, "RADABA"), TOWN, at(date(2025, 9, 2)))


def test_unknown_motive_is_refused():
    with pytest.raises(CancellationDetailsMissing):
        registered().cancel(Cancellation(date(2025, 9, 1), "RADXXX"), TOWN, at(date(2025, 9, 2)))


def test_a_cancelled_application_is_not_cancelled_twice():
    application = registered()
    application.cancel(Cancellation(date(2025, 9, 1), "RADABA"), TOWN, at(date(2025, 9, 1)))
    with pytest.raises(ApplicationNotActive):
        application.cancel(Cancellation(date(2025, 9, 2), "RADABA"), TOWN, at(date(2025, 9, 2)))


# -- reactivation ---------------------------------------------------------------------------


def not_renewed() -> Application:
    application = registered()
    application.cancel_not_renewed(date(2026, 6, 26), SYSTEM, at(date(2026, 6, 26)))
    return application


def test_non_renewal_is_reactivable_until_18_months_after_filing_keeping_number_and_seniority():
    application = not_renewed()
    number = application.number
    application.reactivate(TOWN, at(date(2026, 11, 26)))
    assert application.state is ApplicationState.ACTIVE
    assert application.number == number and application.filing_date == FILED
    assert application.renewal.next_due == date(2027, 5, 26)
    assert application.cancellation is None


def test_non_renewal_reactivation_closes_after_18_months():
    with pytest.raises(ReactivationWindowClosed) as refused:
        not_renewed().reactivate(TOWN, at(date(2026, 11, 27)))
    assert refused.value.code == "NUU161"


def test_late_renewal_of_a_lapsed_application_reactivates_it():
    application = not_renewed()
    application.renew(TOWN, at(date(2026, 8, 1)), date(2026, 8, 1))
    assert application.is_active and application.renewal.next_due == date(2027, 5, 26)
    assert application.events[-1].details["reactivated"] is True


def test_unreachable_is_reactivable_for_five_months():
    application = registered()
    application.cancel(Cancellation(date(2025, 9, 1), "RADCON", no_answer=NoAnswer(date(2025, 7, 1))), TOWN,
                       at(date(2025, 9, 1)))
    with pytest.raises(ReactivationWindowClosed):
        application.snapshot().reactivate(TOWN, at(date(2026, 2, 2)))
    application.reactivate(TOWN, at(date(2026, 2, 1)))
    assert application.is_active and application.renewal.next_due == date(2026, 5, 26)


@pytest.mark.parametrize("cancellation", [Cancellation(date(2025, 9, 1), "RADABA"),
                                          Cancellation(date(2025, 9, 1), "RADIRR", inadmissibility_reason="IRRRES")])
def test_other_cancellations_are_final(cancellation):
    application = registered()
    application.cancel(cancellation, TOWN, at(date(2025, 9, 1)))
    with pytest.raises(ReactivationRefused):
        application.reactivate(TOWN, at(date(2025, 9, 2)))


def test_an_active_application_is_not_reactivated():
    with pytest.raises(ReactivationRefused):
        registered().reactivate(TOWN, at(date(2025, 9, 2)))


# -- deletion -------------------------------------------------------------------------------


def test_the_registering_counter_deletes_its_error_the_same_day():
    application = registered()
    application.delete(TOWN, at(FILED, hour=18))
    assert application.state is ApplicationState.DELETED
    assert application.form.household is None  # personal data erased
    assert application.events[-1].kind is EventKind.DELETED


def test_deletion_the_next_day_is_refused():
    with pytest.raises(DeletionRefused):
        registered().delete(TOWN, at(FILED) + timedelta(days=1))


def test_deletion_by_another_counter_is_refused():
    with pytest.raises(DeletionRefused):
        registered().delete(LANDLORD, at(FILED, hour=18))


def test_deletion_after_a_change_is_refused():
    application = registered()
    application.update(household_form(), TOWN, at(FILED, hour=12))
    with pytest.raises(DeletionRefused):
        application.delete(TOWN, at(FILED, hour=18))


def test_a_territorial_manager_never_deletes():
    with pytest.raises(NotAllowed):
        registered().delete(MANAGER, at(FILED, hour=18))


# -- DALO -----------------------------------------------------------------------------------

STATE = Counter("ETAT1", "Préfecture", CounterType.STATE, "057")


def test_dalo_decision_by_the_state_records_when_it_became_active():
    application = registered()
    application.declare_dalo(DaloInformation(status="ACTIF"), STATE, at(date(2025, 6, 1)))
    assert application.dalo_active_since == at(date(2025, 6, 1))
    application.declare_dalo(DaloInformation(status="ACTIF", housing_typology="03"), STATE, at(date(2025, 6, 2)))
    assert application.dalo_active_since == at(date(2025, 6, 1))  # still the day it became active
    application.declare_dalo(DaloInformation(status="CADUC"), STATE, at(date(2025, 7, 1)))
    assert application.dalo_active_since is None
    assert application.events[-1].kind is EventKind.DALO_DECLARED


def test_only_the_state_and_managers_declare_dalo():
    with pytest.raises(NotAllowed):
        registered().declare_dalo(DaloInformation(status="ACTIF"), LANDLORD, at(date(2025, 6, 1)))
    registered().declare_dalo(DaloInformation(status="ACTIF"), MANAGER, at(date(2025, 6, 1)))


def with_dalo(status: str | None, **details) -> ApplicationForm:
    form = household_form()
    form.dalo = None if status is None else DaloInformation(status=status, **details)
    return form


ACTIVE_DALO = DaloInformation(status="ACTIF", decision_date=date(2025, 5, 30))


def declared(status: DaloInformation = ACTIVE_DALO) -> Application:
    application = registered()
    application.declare_dalo(status, STATE, at(date(2025, 6, 1)))
    application.events.clear()
    return application


@pytest.mark.parametrize("by, refusal", [(TOWN, NotAllowed), (LANDLORD, NotAllowed), (MANAGER, DaloThroughDeclarationOnly),
                                         (STATE, DaloThroughDeclarationOnly)])
@pytest.mark.parametrize("change", ["update", "renew"])
def test_a_counters_file_does_not_change_dalo(by, refusal, change):
    """Only getDeclarationNouveauDalo changes it, as its own journal event: the rights anomaly for a
    counter that may never declare, the declaration's own anomaly for one that may."""
    application = declared()
    form = with_dalo("CADUC")
    with pytest.raises(refusal) as refused:
        if change == "update":
            application.update(form, by, at(date(2025, 6, 2)))
        else:
            application.renew(by, at(date(2026, 3, 1)), date(2026, 3, 1), form)
    assert refused.value.property == "informationDalo"
    assert application.dalo_status == "ACTIF" and application.version == 2 and not application.events


@pytest.mark.parametrize("by", [TOWN, LANDLORD, STATE])
def test_a_registration_does_not_declare_dalo(by):
    number = RegistrationNumber.issue("057", FILED, 1, by.code)
    with pytest.raises(NotAllowed if by is not STATE else DaloThroughDeclarationOnly):
        Application.register(number, "057", with_dalo("ACTIF", decision_date=FILED), FILED, by, at(FILED))


@pytest.mark.parametrize("sent", [None, "NON"])
def test_a_registration_may_say_no_dalo(sent):
    number = RegistrationNumber.issue("057", FILED, 1, LANDLORD.code)
    application = Application.register(number, "057", with_dalo(sent), FILED, LANDLORD, at(FILED))
    assert application.dalo_status == sent and application.dalo_active_since is None


def test_a_change_without_the_dalo_block_keeps_the_declared_status():
    application = declared()
    application.update(with_dalo(None), TOWN, at(date(2025, 6, 2)))
    assert application.form.dalo == ACTIVE_DALO
    assert application.dalo_active_since == at(date(2025, 6, 1))
    assert [event.kind for event in application.events] == [EventKind.UPDATED]


def test_a_change_that_repeats_the_dalo_block_is_accepted():
    """A counter that read the application and sends it back whole changes nothing of the DALO."""
    application = declared()
    form = household_form()
    form.dalo = ACTIVE_DALO
    application.update(form, LANDLORD, at(date(2025, 6, 2)))
    assert application.form.dalo == ACTIVE_DALO


def test_the_register_keeps_its_own_indicators():
    """informationTraitement is computed by the register; what a counter sends there is not taken."""
    form = household_form()
    form.processing = ProcessingInformation(abnormally_long_wait=True)
    application = registered()
    application.update(form, TOWN, at(date(2025, 6, 2)))
    assert application.form.processing is None
    number = RegistrationNumber.issue("057", FILED, 2, TOWN.code)
    assert Application.register(number, "057", form, FILED, TOWN, at(FILED)).form.processing is None
