"""Content rules the XSD cannot express, each reported with its wire property."""

import unicodedata
from datetime import date

import pytest

from core.demo import TERRITORY, household_form
from core.domain.errors import InvalidContent
from core.domain.form import Association, WishedLocation
from core.domain.validation import MAX_REPEATED, normalized, validate_form

TODAY = date(2026, 11, 30)


def anomalies_of(form) -> dict[str, str]:
    with pytest.raises(InvalidContent) as refused:
        validate_form(form, TERRITORY, TODAY)
    return {anomaly.property: anomaly.code for anomaly in refused.value.anomalies}


def test_the_demo_household_is_valid():
    validate_form(household_form(co_applicant=("Nguyen", "Minh", date(1977, 6, 30))), TERRITORY, TODAY)


def test_unknown_codes_are_named_by_their_wire_path():
    form = household_form()
    form.household.applicant.civility = "9"
    form.housing_sought.housing_types.append("T9")
    form.household.applicant.resources_received[1].kind = "XYZ"
    assert anomalies_of(form) == {
        "personnePhysique.demandeur.civilite": "NUU101",
        "logementRecherche.listeTypeLogement.typeLogement[2]": "NUU101",
        "personnePhysique.demandeur.listeRessourceRecue.detailRessource[1].ressource": "NUU101",
    }


def test_a_paid_resource_code_is_not_a_received_one():
    form = household_form()
    form.household.applicant.resources_paid[0].kind = "SAL"
    assert anomalies_of(form) == {"personnePhysique.demandeur.listeRessourceVersee.detailRessource[0].ressource": "NUU101"}


def test_wished_communes_are_insee_codes():
    form = household_form(communes=("57463", "5746"))
    assert anomalies_of(form) == {
        "logementRecherche.listeLocalisationSouhaite.localisationSouhaite[1].commune": "NUU101"}


def test_corsican_insee_codes_are_accepted_as_later_choices():
    validate_form(household_form(communes=("57463", "2A004")), TERRITORY, TODAY)


def test_first_wished_commune_must_be_in_the_counter_territory():
    assert anomalies_of(household_form(communes=("54395", "57463"))) == {
        "logementRecherche.listeLocalisationSouhaite.localisationSouhaite[0].commune": "NUU181"}


def test_a_commune_wished_twice_is_inconsistent():
    assert anomalies_of(household_form(communes=("57463", "57463"))) == {
        "logementRecherche.listeLocalisationSouhaite.localisationSouhaite[1].commune": "NUU104"}


def test_at_least_one_wished_commune_and_housing_type():
    form = household_form()
    form.housing_sought.wished_locations.clear()
    form.housing_sought.housing_types.clear()
    assert anomalies_of(form) == {"logementRecherche.listeTypeLogement": "NUU102",
                                  "logementRecherche.listeLocalisationSouhaite": "NUU102"}


def test_repeated_groups_are_bounded():
    form = household_form()
    form.housing_sought.wished_locations = [WishedLocation(f"57{i:03d}") for i in range(MAX_REPEATED + 1)]
    form.housing_sought.wished_locations[0] = WishedLocation("57463")
    assert anomalies_of(form)["logementRecherche.listeLocalisationSouhaite"] == "NUU105"


def test_a_list_too_long_inside_a_list_item_is_named_with_the_item():
    form = household_form(co_applicant=("Martin", "Paul", date(1983, 2, 1)))
    resources = form.household.applicant.resources_received
    form.household.co_applicants[0].resources_received = (resources * (MAX_REPEATED + 1))[:MAX_REPEATED + 1]
    assert anomalies_of(form) == {"personnePhysique.listeCotitulaire.cotitulaire[0].listeRessourceRecue": "NUU105"}


def test_sms_notification_needs_a_mobile_phone():
    form = household_form()
    form.household.applicant.mobile_phone = None
    assert anomalies_of(form) == {"personnePhysique.demandeur.notifSms": "NUU104"}


def test_other_motive_needs_its_wording():
    form = household_form()
    form.motives.motives.append("23")
    assert anomalies_of(form) == {"principauxMotifDemande.compAutreMotif": "NUU102"}


def test_birth_dates_are_plausible():
    form = household_form(birth_date=date(2027, 1, 1))
    form.household.dependants[0].birth_date = date(1850, 1, 1)
    assert anomalies_of(form) == {
        "personnePhysique.demandeur.dateNaissance": "NUU103",
        "personnePhysique.listePersonneACharge.personneACharge[0].dateNaissance": "NUU103",
    }


def test_address_cannot_be_french_and_foreign():
    form = household_form()
    form.household.applicant.postal_address.country = "Belgique"
    assert anomalies_of(form) == {"personnePhysique.demandeur.adressePostale": "NUU104"}


def test_abroad_flag_must_match_the_locality():
    form = household_form()
    form.household.applicant.postal_address.abroad = True
    assert anomalies_of(form) == {"personnePhysique.demandeur.adressePostale.etranger": "NUU104"}


def test_association_or_person_not_both():
    form = household_form()
    form.association = Association(name="Les Amis")
    assert anomalies_of(form) == {"personnePhysique": "NUU104"}


def test_an_association_can_apply():
    form = household_form()
    form.household = None
    form.association = Association(name="Les Amis du Quartier", email="contact@amis.org")
    validate_form(form, TERRITORY, TODAY)


def test_every_anomaly_is_reported_at_once():
    form = household_form()
    form.household.applicant.nationality = "0"
    form.motives.motives.clear()
    form.household.current_housing = None
    assert len(anomalies_of(form)) == 3


def test_normalized_puts_every_text_in_nfc_and_leaves_normal_forms_alone():
    form = household_form()
    assert normalized(form) is form  # nothing to change: not copied
    form.household.applicant.surname = "Le\u0301vy"
    form.details = "Pre\u0301cision"
    changed = normalized(form)
    assert (changed.household.applicant.surname, changed.details) == ("L\u00e9vy", "Pr\u00e9cision")
    assert changed.household.co_applicants is form.household.co_applicants  # untouched parts are shared


def test_normalized_reaches_the_texts_of_list_items():
    form = household_form()
    form.household.dependants[1].first_name = "Ine\u0300s"
    form.housing_sought.housing_types.append("T\u0301")  # a code is text too
    changed = normalized(form)
    assert changed.household.dependants[1].first_name == "In\u00e8s"
    assert changed.household.dependants[0] is form.household.dependants[0]
    assert changed.housing_sought.housing_types[-1] == unicodedata.normalize("NFC", "T\u0301")
    assert form.household.dependants[1].first_name == "Ine\u0300s"  # the form read is left as it was
    assert changed.household.applicant is form.household.applicant


def test_codes_are_checked_at_every_depth_and_list_position():
    form = household_form(co_applicant=("Nguyen", "Minh", date(1977, 6, 30)))
    form.household.dependants[1].kinship = "ZZ"
    form.household.co_applicants[0].resources_received[0].kind = "XYZ"
    form.household.co_applicants[0].professional_situation.contract = "99"
    assert list(anomalies_of(form)) == [  # in the XSD's order
        "personnePhysique.listePersonneACharge.personneACharge[1].lienParente",
        "personnePhysique.listeCotitulaire.cotitulaire[0].situationProfessionnelle.typeContratTravail",
        "personnePhysique.listeCotitulaire.cotitulaire[0].listeRessourceRecue.detailRessource[0].ressource"]
