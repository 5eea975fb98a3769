"""Code lists of the SNE interface (InterfaceNuu v02.00/v02.01), in one place.

The wire carries these codes in ``code`` attributes (``<civilite code="2"/>``). The XSD only
constrains their shape (1 to 6 alphanumerics), so the register itself must reject codes that are
not in the list: every enumeration below is the list the ministry publishes, and each member's
``label`` is the French wording shown to users.

Member names are English; values are the wire codes, never to be changed.
"""

from __future__ import annotations

from enum import StrEnum


class CodeList(StrEnum):
    """A published code list: the value is the wire code, ``label`` the French wording."""

    def __new__(cls, code: str, label: str) -> "CodeList":
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member

    @classmethod
    def has(cls, code: str | None) -> bool:
        return code is not None and code in cls._value2member_map_


class FileType(CodeList):
    """``entete/typeFichier``: what a file asks the register to do (or what it answers)."""

    CREATION = "CRE", "Création"
    CREATION_AFTER_SEPARATION = "CRS", "Création suite à séparation du couple"
    MODIFICATION = "MOD", "Modification"
    CANCELLATION = "RAD", "Radiation"
    RENEWAL = "REN", "Renouvellement"
    DELETION = "SUP", "Suppression"
    DISPATCHING = "DIS", "Dispatching"
    ANSWER = "RET", "Retour"
    DIGITAL_COPY = "COP", "Copie numérique"


class Civility(CodeList):
    MR = "1", "Monsieur"
    MRS = "2", "Madame"
    MISS = "3", "Mademoiselle"


class Nationality(CodeList):
    FRENCH = "1", "Française"
    EUROPEAN_UNION = "2", "Union Européenne"
    OUTSIDE_EUROPEAN_UNION = "3", "Hors union Européenne"


class FamilySituation(CodeList):
    SINGLE = "C", "Célibataire"
    MARRIED = "M", "Marié(e)"
    DIVORCED = "D", "Divorcé(e)"
    SEPARATED = "S", "Séparé(e)"
    CIVIL_UNION = "P", "Pacsé(e)"
    COHABITING = "U", "Concubin(e)"
    WIDOWED = "V", "Veuf(ve)"


class CoApplicantRelationship(CodeList):
    SPOUSE = "M", "Conjoint"
    CIVIL_PARTNER = "P", "Pacsé(e)"
    COHABITANT = "C", "Concubin(e)"
    CO_TENANT = "L", "Co-locataire"


class SoughtHousingCategory(CodeList):
    FLAT = "A", "Appartement"
    HOUSE = "M", "Maison"
    EITHER = "I", "Indifférent"


class HousingCategory(CodeList):
    FLAT = "A", "Appartement"
    HOUSE = "M", "Maison"


class HousingType(CodeList):
    ROOM = "C", "Chambre"
    T1 = "T1", "T1"
    T2 = "T2", "T2"
    T3 = "T3", "T3"
    T4 = "T4", "T4"
    T5 = "T5", "T5"
    T6_AND_MORE = "T6P", "T6 et plus"


class Sex(CodeList):
    MALE = "M", "Masculin"
    FEMALE = "F", "Féminin"


class Kinship(CodeList):
    PARENT = "P", "Parent"
    CHILD = "E", "Enfant"
    OTHER = "A", "Autre"


class Coparenting(CodeList):
    SHARED_CUSTODY = "G", "Garde alternée"
    VISITING_RIGHTS = "D", "Droit de visite"


class EmploymentContract(CodeList):
    PERMANENT = "CDI", "CDI (ou fonctionnaire)"
    FIXED_TERM = "CDD", "CDD, Stage, intérim"
    SELF_EMPLOYED = "ART", "Artisan, commerçant, profession libérale"
    UNEMPLOYED = "CHO", "Chômage"
    APPRENTICE = "APP", "Apprenti"
    STUDENT = "ETU", "Etudiant"
    RETIRED = "RET", "Retraité"
    OTHER = "AUT", "Autre"


class ReceivedResourceKind(CodeList):
    SALARY = "SAL", "Salaire ou revenu d'activité"
    PENSION = "RET", "Retraite"
    UNEMPLOYMENT_BENEFIT = "CHO", "Allocation chômage / indemnités"
    ALIMONY_RECEIVED = "PAR", "Pension alimentaire reçue"
    DISABILITY_PENSION = "PINV", "Pension invalidité"
    FAMILY_ALLOWANCE = "AF", "Allocations familiales"
    DISABLED_ADULT_ALLOWANCE = "AAH", "Allocation d'adulte handicapé (AAH)"
    DISABLED_CHILD_ALLOWANCE = "AEEH", "Allocation d'éducation d'enfant handicapé (AEEH)"
    PARENTAL_PRESENCE_ALLOWANCE = "AJPP", "Allocation journalière de présence parentale (AJPP)"
    ACTIVE_SOLIDARITY_INCOME = "RSA", "Revenu de solidarité active (RSA)"
    OLD_AGE_MINIMUM = "AMV", "Allocation de minimum vieillesse"
    YOUNG_CHILD_ALLOWANCE = "PAJE", "Allocation Jeune enfant (PAJE)"
    STUDENT_GRANT = "BE", "Bourse étudiant"
    OTHER = "AUT", "Autres (hors APL ou AL)"


class PaidResourceKind(CodeList):
    ALIMONY_PAID = "PAV", "Pension alimentaire versée"


class CurrentHousingKind(CodeList):
    SOCIAL_HOUSING_TENANT = "HLM", "Logement HLM"
    PRIVATE_TENANT = "LP", "Locataire parc privé"
    SOCIAL_RESIDENCE = "RS", "Résidence sociale ou foyer ou pension de famille"
    SOCIAL_HOTEL_RESIDENCE = "RHVS", "Résidence hôtellerie à vocation sociale"
    STUDENT_RESIDENCE = "RE", "Résidence étudiant"
    TEMPORARY_SUBTENANT = "SLHT", "Sous-locataire ou hébergé dans un logement à titre temporaire"
    SHELTER = "SH", "Structure d'hébergement"
    FAMILY_CENTRE = "CDEFCM", "Centre départemental de l'enfance et de la famille ou centre maternel"
    WITH_PARENTS_OR_CHILDREN = "CPE", "Chez vos parents ou vos enfants"
    WITH_PRIVATE_PERSON = "CP", "Chez un particulier"
    HOUSED_FREE = "LTG", "Logé à titre gratuit"
    TIED_ACCOMMODATION = "FONC", "Logement de fonction"
    OWNER_OCCUPIER = "POCC", "Propriétaire occupant"
    CAMPING = "CAMCAR", "Camping, Caravaning"
    HOTEL = "HOT", "Logé dans un hôtel"
    HOMELESS = "SD", "Sans abri ou abri de fortune"
    SQUAT = "SQUAT", "Dans un squat"


class RequestMotive(CodeList):
    WITHOUT_HOUSING = "01", "Sans logement ou hébergé ou en logement temporaire"
    DEMOLITION = "02", "Démolition"
    UNFIT_HOUSING = "03", "Logement non décent, insalubre ou dangereux ou local impropre à l'habitation"
    REPOSSESSED = "04", "Logement repris ou mis en vente par son propriétaire"
    EVICTION = "05", "En procédure d'expulsion"
    DOMESTIC_VIOLENCE = "06", "Violences familiales"
    DISABILITY = "07", "Handicap"
    HEALTH = "08", "Raisons de santé"
    TOO_EXPENSIVE = "09", "Logement trop cher"
    TOO_LARGE = "10", "Logement trop grand"
    DIVORCE = "11", "Divorce, séparation"
    DECOHABITATION = "12", "Décohabitation"
    TOO_SMALL = "13", "Logement trop petit"
    FUTURE_UNION = "14", "Futur mariage, concubinage, PACS"
    FAMILY_REUNION = "15", "Regroupement familial"
    CHILDMINDER = "16", "Assistant(e) maternel(le) ou familiale"
    NEIGHBOURHOOD = "17", "Problèmes d'environnement ou de voisinage"
    JOB_TRANSFER = "18", "Mutation professionnelle"
    CLOSER_TO_WORK = "19", "Rapprochement du lieu de travail"
    CLOSER_TO_SERVICES = "20", "Rapprochement des équipements et services"
    CLOSER_TO_FAMILY = "21", "Rapprochement de la famille"
    STRUGGLING_HOMEOWNER = "22", "Accédant à la propriété en difficulté"
    OTHER = "23", "Autre motif particulier (précisez)"


class DisabilityState(CodeList):
    STABLE = "STA", "Stabilisé"
    EVOLVING = "EVO", "Evolutif"


class WalkingCapacity(CodeList):
    NONE = "1", "Impossible"
    ONE_TO_THREE_STEPS = "2", "1 à 3 marches"
    FIRST_FLOOR = "3", "1er étage"
    MORE_THAN_ONE_FLOOR = "4", "Plus d'un étage"


class MotorDisability(CodeList):
    UPPER_LIMBS = "MS", "Membre(s) supérieur(s)"
    LOWER_LIMBS = "MI", "Membre(s) inférieur(s)"


class SensoryDisability(CodeList):
    HEARING = "DA", "Déficience auditive"
    SIGHT = "DV", "Déficience visuelle"


class TechnicalAid(CodeList):
    NONE = "1", "Aucune"
    CANE = "2", "Canne, Béquille"
    WALKER = "3", "Déambulateur"
    MANUAL_WHEELCHAIR = "4", "Fauteuil roulant manuel"
    ELECTRIC_WHEELCHAIR = "5", "Fauteuil roulant électrique"
    PATIENT_LIFT = "6", "Lève personne"
    MEDICAL_BED = "7", "Lit médicalisé"


class AdaptedEquipment(CodeList):
    ADAPTED_BATH = "1", "Baignoire adaptée"
    TRANSFER_TOILET = "2", "WC avec espace de transfert"
    STEP_FREE_SHOWER = "3", "Douche sans seuil"
    LIFT = "4", "Ascenseur"
    CARER_ROOM = "5", "Chambre avec une tierce personne"
    ACCESSIBLE_PARKING = "6", "Place de stationnement accessible et de largeur adaptée (3m30)"


class CancellationMotive(CodeList):
    ABANDONMENT = "RADABA", "Radiation pour abandon de la demande"
    ALLOCATION = "RADATT", "Radiation suite à attribution d'un logement"
    INADMISSIBILITY = "RADIRR", "Radiation suite à irrecevabilité de la demande"
    UNREACHABLE = "RADCON", "Radiation suite à impossibilité de contacter le demandeur"
    NOT_RENEWED = "RADREN", "Radiation pour cause de non renouvellement"


class InadmissibilityReason(CodeList):
    IRREGULAR_RESIDENCE = "IRRSEJ", "Irrégularité de séjour"
    INCOME_OVER_CEILING = "IRRRES", "Ressources supérieures au plafond"


class ReservationQuota(CodeList):
    LOCAL_AUTHORITIES = "COLTER", "Contingent des collectivités territoriales, de leurs établissements publics et des EPCI"
    ACTION_LOGEMENT = "COLACT", "Contingent employeurs et organismes collecteurs d'Action Logement"
    PREFECT_PRIORITY = "PPRIOR", "Contingent préfet prioritaires"
    PREFECT_CIVIL_SERVANTS = "PFONCT", "Contingent préfet fonctionnaires et agents publics de l'Etat"
    OTHER_HOLDERS = "AUTRES", "Contingent autres réservataires"
    NONE = "AUCUN", "Hors contingent"


class PriorityArea(CodeList):
    """ZUS: whether the allocated dwelling lies in a sensitive urban area."""

    YES = "ZUSOUI", "Oui"
    NO = "ZUSNON", "Non"
    UNKNOWN = "ZUSNSP", "Ne sait pas"


class DaloStatus(CodeList):
    NO = "NON", "Non"
    ACTIVE = "ACTIF", "Actif"
    LAPSED = "CADUC", "Caduc"
    ACTIVE_REHOUSED = "ACTREL", "Actif relogé"


class DaloHousingTypology(CodeList):
    T1 = "01", "T1"
    T2 = "02", "T2"
    T3 = "03", "T3"
    T4 = "04", "T4"
    T5 = "05", "T5"
    T6_AND_MORE = "06", "T6 et plus"
    INDIVIDUAL = "08", "Habitat individuel"
    TO_BE_DEFINED = "09", "A définir"
    T1_ADAPTED = "21", "T1 adapté"
    T2_ADAPTED = "22", "T2 adapté"
    T3_ADAPTED = "23", "T3 adapté"
    T4_ADAPTED = "24", "T4 adapté"
    T5_ADAPTED = "25", "T5 adapté"
    T6_AND_MORE_ADAPTED = "26", "T6 et plus adapté"
    INDIVIDUAL_ADAPTED = "28", "Habitat individuel adapté"
    SHELTER_REDIRECTION = "30", "Réorientation hébergement"
    TO_BE_DEFINED_ADAPTED = "31", "A définir adapté"
    T1_T2 = "40", "T1-T2"
    T2_T3 = "41", "T2-T3"
    T3_T4 = "42", "T3-T4"
    T4_T5 = "43", "T4-T5"
    T5_T6 = "44", "T5-T6"
    T1_T2_ADAPTED = "45", "T1-T2 adapté"
    T2_T3_ADAPTED = "46", "T2-T3 adapté"
    T3_T4_ADAPTED = "47", "T3-T4 adapté"
    T4_T5_ADAPTED = "48", "T4-T5 adapté"
    T5_T6_ADAPTED = "49", "T5-T6 adapté"
    SUBLETTING = "50", "Sous-location"
    OTHER = "99", "Autre"


class RplsHousingType(CodeList):
    """Size of an allocated dwelling, as the landlords' directory (RPLS) records it."""

    T1 = "T1", "1 pièce principale"
    T2 = "T2", "2 pièces principales"
    T3 = "T3", "3 pièces principales"
    T4 = "T4", "4 pièces principales"
    T5 = "T5", "5 pièces principales"
    T6 = "T6", "6 pièces principales"
    T7 = "T7", "7 pièces principales"
    T8 = "T8", "8 pièces principales"
    T9_AND_MORE = "T9P", "9 pièces principales et plus"


class YesNoUnknown(CodeList):
    YES = "OUI", "Oui"
    NO = "NON", "Non"
    NOT_GIVEN = "NONDOC", "Non renseigné"


class CollectiveAgreement(CodeList):
    DEPARTMENTAL = "ACD", "Accord collectif départemental"
    INTERMUNICIPAL = "ACI", "Accord collectif intercommunal"
    NONE = "AUCUN", "Aucun"
    NOT_GIVEN = "NONDOC", "Non renseigné"


class CounterType(CodeList):
    """Kinds of counters (guichets). Not a wire list: the register's own reference data."""

    LANDLORD = "bailleur", "Bailleur social"
    MUNICIPALITY = "commune", "Commune"
    INTERMUNICIPAL_BODY = "EPCI", "Établissement public de coopération intercommunale"
    STATE = "Etat", "Services de l'État"
    OTHER_RESERVATION_HOLDER = "autre", "Autre réservataire"
    TERRITORIAL_MANAGER = "gestionnaire", "Gestionnaire territorial"


class ApplicationState(CodeList):
    """States of an application in the register."""

    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Radiée"
    DELETED = "deleted", "Supprimée"
