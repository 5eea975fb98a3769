"""What a household declares: the content of an application (the CERFA form's tabs).

These classes cover the whole ``demande`` of the SNE interface file (InterfaceNuu v02.01) except
the blocks the register itself manages (number, dates, renewal, cancellation, anomalies, which live
on :class:`core.domain.application.Application`). Each field names its wire element with
:func:`~core.domain.vocabulary.wire`; field order follows the XSD sequence.

The classes are plain data. Rules about them live in :mod:`core.domain.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from . import codes
from .vocabulary import InseeCommune, wire


@dataclass
class DaloInformation:
    """``informationDalo``: the household's standing under the enforceable right to housing."""

    status: str | None = wire("statutDalo", codes=codes.DaloStatus)
    decision_date: date | None = wire("dateDecisionDalo")
    social_diagnosis: bool | None = wire("diagnosticSocialDalo")
    social_support: bool | None = wire("accompagnementSocialDalo")
    housing_typology: str | None = wire("typologieLogementDalo", codes=codes.DaloHousingTypology)


@dataclass
class ProcessingInformation:
    """``informationTraitement`` (v02.01): indicators the register computes about the wait."""

    abnormally_long_wait: bool | None = wire("estDelaiAnormalementLong")
    multiple_conditional_allocations: bool | None = wire("estMultiplesAttributionsSousConditions")
    computed_at: datetime | None = wire("dateCalculIndicateur")


@dataclass
class WishedLocation:
    """``localisationSouhaite``: one wished commune, in the household's order of preference."""

    commune: str | None = wire("commune", codes=InseeCommune)
    district: str | None = wire("quartier")


@dataclass
class HousingSought:
    """``logementRecherche``."""

    category: str | None = wire("categorieLogementRecherche", codes=codes.SoughtHousingCategory)
    with_parking: bool | None = wire("avecParking")
    ground_floor: bool | None = wire("rezDeChaussee")
    without_lift: bool | None = wire("sansAscenseur")
    max_rent: int | None = wire("montantLoyer")
    widened: bool | None = wire("demandeElargie")
    housing_types: list[str] = wire("listeTypeLogement", required=True, item="typeLogement", codes=codes.HousingType)
    wished_locations: list[WishedLocation] = wire("listeLocalisationSouhaite", required=True, item="localisationSouhaite")


@dataclass
class Motives:
    """``principauxMotifDemande``: why the household asks."""

    judgement_date: date | None = wire("compDateJugement")
    other_motive: str | None = wire("compAutreMotif")
    motives: list[str] = wire("motifDemande", codes=codes.RequestMotive, repeated=True)


@dataclass
class Address:
    """``adressePostale`` / ``adresseLogement``: a French locality, or a foreign one."""

    abroad: bool | None = wire("etranger")
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
    foreign_postal_code: str | None = wire("codePostalEtranger")
    foreign_commune: str | None = wire("communeEtranger")
    country: str | None = wire("pays")
    host_name: str | None = wire("nomHebergeant")


@dataclass
class Association:
    """``association``: an association applying instead of a person."""

    name: str | None = wire("nom")
    home_phone: str | None = wire("telDomicile")
    mobile_phone: str | None = wire("telPortable")
    work_phone: str | None = wire("telTravail")
    email: str | None = wire("mel")
    postal_address: Address | None = wire("adressePostale")


@dataclass
class ProfessionalSituation:
    """``situationProfessionnelle``: job and workplace."""

    profession: str | None = wire("profession")
    contract: str | None = wire("typeContratTravail", codes=codes.EmploymentContract)
    multiple_employers: bool | None = wire("multiEmployeur")
    main_employer: str | None = wire("nomEmployeurPrincipal")
    abroad: bool | None = wire("etranger")
    postal_code: str | None = wire("codePostal")
    commune: str | None = wire("commune", codes=InseeCommune)
    foreign_postal_code: str | None = wire("codePostalEtranger")
    foreign_commune: str | None = wire("communeEtranger")
    country: str | None = wire("pays")
    collecting_body: str | None = wire("nomOrganismeCollecteur")


@dataclass
class TaxIncome:
    """``revenuFiscal``: reference tax income of the last two years."""

    year_minus_1: int | None = wire("anneeMoins1")
    amount_minus_1: int | None = wire("montantMoins1")
    year_minus_2: int | None = wire("anneeMoins2")
    amount_minus_2: int | None = wire("montantMoins2")


@dataclass
class ReceivedResource:
    """``detailRessource`` in a list of resources received, monthly, in euros."""

    kind: str | None = wire("ressource", codes=codes.ReceivedResourceKind)
    amount: int | None = wire("montant")


@dataclass
class PaidResource:
    """``detailRessource`` in a list of resources paid out, monthly, in euros."""

    kind: str | None = wire("ressource", codes=codes.PaidResourceKind)
    amount: int | None = wire("montant")


@dataclass
class Adult:
    """What ``demandeur`` and ``cotitulaire`` share, at the head of both sequences."""

    civility: str | None = wire("civilite", codes=codes.Civility)
    surname: str | None = wire("nom")
    birth_name: str | None = wire("nomPatronymique")
    first_name: str | None = wire("prenom")
    birth_date: date | None = wire("dateNaissance")
    nationality: str | None = wire("nationalite", codes=codes.Nationality)
    family_situation: str | None = wire("situationFamiliale", codes=codes.FamilySituation)
    home_phone: str | None = wire("telDomicile")
    mobile_phone: str | None = wire("telPortable")
    work_phone: str | None = wire("telTravail")


@dataclass
class Applicant(Adult):
    """``demandeur``: the person who applies."""

    email: str | None = wire("mel")
    sms_notifications: bool | None = wire("notifSms")
    event_notifications: bool | None = wire("notifEvt")
    postal_address: Address | None = wire("adressePostale")
    professional_situation: ProfessionalSituation | None = wire("situationProfessionnelle")
    tax_income: TaxIncome | None = wire("revenuFiscal")
    resources_received: list[ReceivedResource] = wire("listeRessourceRecue", item="detailRessource", required=True)
    resources_paid: list[PaidResource] = wire("listeRessourceVersee", item="detailRessource", required=True)
    dependants_resources_received: list[ReceivedResource] = wire(
        "listeRessourceRecuePersACharge", item="detailRessource", required=True
    )
    dependants_resources_paid: list[PaidResource] = wire(
        "listeRessourceVerseePersACharge", item="detailRessource", required=True
    )


@dataclass
class Dependant:
    """``personneACharge``."""

    surname: str | None = wire("nom")
    first_name: str | None = wire("prenom")
    birth_date: date | None = wire("dateNaissance")
    sex: str | None = wire("sexe", codes=codes.Sex)
    kinship: str | None = wire("lienParente", codes=codes.Kinship)


@dataclass
class ExpectedBirths:
    """``personneANaitre``."""

    count: int | None = wire("nombre")
    expected_date: date | None = wire("dateNaissancePrevue")


@dataclass
class SharedCustodyChild:
    """``personneEnGarde``: a child living in the household part of the time."""

    birth_date: date | None = wire("dateNaissance")
    sex: str | None = wire("sexe", codes=codes.Sex)
    coparenting: str | None = wire("coParentalite", codes=codes.Coparenting)


@dataclass
class CoApplicant(Adult):
    """``cotitulaire``: spouse, partner or co-tenant applying together with the applicant."""

    relationship: str | None = wire("lienDemandeur", codes=codes.CoApplicantRelationship)
    professional_situation: ProfessionalSituation | None = wire("situationProfessionnelle")
    tax_income: TaxIncome | None = wire("revenuFiscal")
    resources_received: list[ReceivedResource] = wire("listeRessourceRecue", item="detailRessource", required=True)
    resources_paid: list[PaidResource] = wire("listeRessourceVersee", item="detailRessource", required=True)


@dataclass
class CurrentHousing:
    """``logementActuel``: where the household lives now."""

    kinds: list[str] = wire("listeModeleLogement", required=True, item="modeleLogement", codes=codes.CurrentHousingKind)
    landlord_name: str | None = wire("compNomOrgBailleur")
    social_residence_since: date | None = wire("compResSocDepuis")
    hotel_since: date | None = wire("compResHotDepuis")
    subletting_since: date | None = wire("compSousLocDepuis")
    shelter_since: date | None = wire("compStructDepuis")
    shelter_name: str | None = wire("compNomStructure")
    centre_since: date | None = wire("compCentreDepuis")
    centre_name: str | None = wire("compNomCentre")
    monthly_rent: int | None = wire("montantMensuelLoyer")
    monthly_housing_benefit: int | None = wire("montantMensuelAPL")
    occupants: int | None = wire("nombreHabitant")
    category: str | None = wire("categorieLogement", codes=codes.HousingCategory)
    housing_type: str | None = wire("typeLogementActuel", codes=codes.HousingType)
    surface: int | None = wire("surface")
    owner: bool | None = wire("proprietaire")
    abroad: bool | None = wire("etranger")
    postal_code: str | None = wire("codePostal")
    commune: str | None = wire("commune", codes=InseeCommune)
    foreign_postal_code: str | None = wire("codePostalEtranger")
    foreign_commune: str | None = wire("communeEtranger")
    country: str | None = wire("pays")
    owned_housing_type: str | None = wire("typeLogementPossede", codes=codes.HousingType)


@dataclass
class Household:
    """``personnePhysique``: a person applying, with the people who would live with them."""

    applicant: Applicant | None = wire("demandeur")
    dwelling_address: Address | None = wire("adresseLogement")
    dependants: list[Dependant] = wire("listePersonneACharge", item="personneACharge")
    expected_births: ExpectedBirths | None = wire("personneANaitre")
    shared_custody_children: list[SharedCustodyChild] = wire("listePersonneEnGarde", item="personneEnGarde")
    co_applicants: list[CoApplicant] = wire("listeCotitulaire", item="cotitulaire")
    current_housing: CurrentHousing | None = wire("logementActuel")


@dataclass
class Referent:
    """``referent``: who follows a disabled person."""

    disability_recognised: bool | None = wire("handicapReconnu")
    near_home: bool | None = wire("procheDomicile")
    name: str | None = wire("nom")
    address: str | None = wire("adresse")
    phone: str | None = wire("tel")
    email: str | None = wire("mel")


@dataclass
class Disability:
    """``handicap``: the disability complement for one person of the household."""

    birth_date: date | None = wire("dateNaissance")
    referent: Referent | None = wire("referent")
    other_nature: str | None = wire("compAutreNature")
    state: str | None = wire("etatHandicap", codes=codes.DisabilityState)
    walking_capacity: str | None = wire("capaciteMarcheHandicap", codes=codes.WalkingCapacity)
    accompanied: bool | None = wire("accompagne")
    motor: bool | None = wire("handicapMoteur")
    sensory: bool | None = wire("handicapSensoriel")
    other: bool | None = wire("handicapAutre")
    sensory_natures: list[str] = wire(
        "listeNatureHandicapSensoriel", item="natureHandicapSensoriel", codes=codes.SensoryDisability
    )
    motor_natures: list[str] = wire(
        "listeNatureHandicapMoteur", item="natureHandicapMoteur", codes=codes.MotorDisability
    )
    technical_aids: list[str] = wire(
        "listeAideTechniqueHandicap", item="aideTechniqueHandicap", codes=codes.TechnicalAid
    )
    equipment: list[str] = wire(
        "listeEquipementHandicap", item="equipementHandicap", codes=codes.AdaptedEquipment
    )
    particular_needs: str | None = wire("besoinParticulier")
    other_needs: str | None = wire("besoinAutre")


@dataclass
class ApplicationForm:
    """Everything the household declares, as the counter transmits it.

    On the wire ``dalo`` sits in ``demande/informationDalo``, before ``demandeLogement`` which holds
    the rest, interleaved with the register's own blocks. Exactly one of ``association`` and
    ``household`` is set.
    """

    internal_reference: str | None = wire("refInterne")
    online_renewal: bool | None = wire("renouvellementElec")
    details: str | None = wire("precision")
    processing: ProcessingInformation | None = wire("informationTraitement")
    housing_sought: HousingSought | None = wire("logementRecherche")
    motives: Motives | None = wire("principauxMotifDemande")
    association: Association | None = wire("association")
    household: Household | None = wire("personnePhysique")
    disabilities: list[Disability] = wire("listeHandicap", item="handicap")
    dalo: DaloInformation | None = wire("informationDalo")

    @property
    def wished_communes(self) -> list[str]:
        """INSEE codes of the wished communes, first choice first."""
        if self.housing_sought is None:
            return []
        return [location.commune for location in self.housing_sought.wished_locations if location.commune]

    @property
    def people(self) -> list[Adult]:
        """The adults who hold the application: the applicant, then co-applicants."""
        if self.household is None:
            return []
        applicant = [self.household.applicant] if self.household.applicant else []
        return applicant + list(self.household.co_applicants)
