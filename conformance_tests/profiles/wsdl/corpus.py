"""A corpus of SNE files to compare two XSD sets on: the set under test against the ministry's reference.

Every document goes through the set's schema and the reference schema of the same file name, and
both must give the same verdict. Each document also carries the verdict expected of the reference,
so the corpus cannot silently degrade into documents that say nothing (all valid, or all broken for
the same reason).

The corpus is deterministic, built from a few hand-written documents (a maximal one with every
optional element, variants for each choice branch, minimal ones) by systematic mutations:

- removing each element (invalid exactly when the element is required),
- out-of-domain values for each field, by the field's kind (too long, bad pattern, out of range,
  not a boolean, bad date...), plus valid boundary values,
- swapping siblings, adding an unknown child, the change-tracking attribute where it is not
  declared,

plus hand-written cases for choices, namespaces, versions, root elements and attributes.
(test_compatibility.py judges with xmlschema; sne-hub's own tests also judge it with lxml, the
hub's validator: tests/integration/wire/test_xsd_compatibility.py.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from lxml import etree

NS = "http://nuu.application.i2/"
OTHER_NS = "urn:example:autre"
NSMAP = {None: NS, "tns": NS}
MODIFIE = f"{{{NS}}}modifie"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XS = "http://www.w3.org/2001/XMLSchema"


def hardened_parser() -> etree.XMLParser:
    """No network, no entity expansion, no DTD: how the hub parses anything it did not write."""
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)


# ------------------------------------------------------------------------------------------------
# Families: which schema a document is checked against (the same file name on both sides)
# ------------------------------------------------------------------------------------------------

LOCALITY = {"codePostal", "commune", "codePostalEtranger", "communeEtranger", "pays"}
ADULT = {"civilite", "nom", "prenom", "dateNaissance", "nationalite", "situationFamiliale"}

# Required children by parent element name; a choice's branches count as required (removing the
# branch present leaves none), and so do the members of an optional locality once it is present.
NUU_REQUIRED = {
    "interfaceNuu": {"entete", "demande"},
    "entete": {"typeFichier", "dateFichier"},
    "demande": {"demandeLogement"},
    "demandeLogement": {"numGuichet", "dateCreationDemande", "precision", "association", "personnePhysique"},
    "logementRecherche": {"demandeElargie", "listeTypeLogement", "listeLocalisationSouhaite"},
    "listeTypeLogement": {"typeLogement"},
    "listeLocalisationSouhaite": {"localisationSouhaite"},
    "localisationSouhaite": {"commune"},
    "principauxMotifDemande": {"motifDemande"},
    "association": {"nom"},
    "adressePostale": {"etranger", "voie"} | LOCALITY,
    "adresseLogement": {"etranger", "voie"} | LOCALITY,
    "personnePhysique": {"demandeur", "logementActuel"},
    "demandeur": ADULT | {
        "adressePostale", "situationProfessionnelle", "revenuFiscal", "listeRessourceRecue",
        "listeRessourceVersee", "listeRessourceRecuePersACharge", "listeRessourceVerseePersACharge",
    },
    "cotitulaire": ADULT | {"lienDemandeur", "situationProfessionnelle", "listeRessourceRecue", "listeRessourceVersee"},
    "situationProfessionnelle": {"typeContratTravail"} | LOCALITY,
    "logementActuel": {"listeModeleLogement", "proprietaire"} | LOCALITY,
    "listeModeleLogement": {"modeleLogement"},
    "renouvellement": {"dateRenouvellement"},
    "radiation": {"dateRadiation", "motifRadiation"},
    "attributionLogement": {"dateSignatureBail", "dejaLogeParcBailleur", "accordCollectif", "typeReservataire"},
    "anomalie": {"message"},
}
DOUBLON_REQUIRED = {
    "listeDoublons": {"doublon"},
    "doublon": {"numUnique", "demandeur", "listeLocalisationSouhaitee"},
    "demandeur": {"civilite", "nom", "prenom", "dateNaissance", "adressePostale"},
    "adressePostale": {"etranger"},
    "adresseLogement": {"etranger"},
    "listeCotitulaire": {"cotitulaire"},
    "cotitulaire": {"civilite", "nom", "prenom", "dateNaissance"},
    "listeLocalisationSouhaitee": {"localisationSouhaitee"},
    "localisationSouhaitee": {"commune"},
}
SERVICE_ANOMALIES_REQUIRED = {"listeAnomalies": {"anomalie"}, "anomalie": {"message"}}
HEADER_REQUIRED = {"entete": {"typeFichier", "dateFichier", "codeGuichet"}}
RECHERCHE_REQUIRED = {
    "interfaceNuu": {"entete", "operation"},
    "operation": {"demandeMulticritere"},
    "listeDemandes": {"numUnique"},
    "association": {"nom"},
    "piecesJustificatives": {"codeCategorie"},
    **HEADER_REQUIRED,
    **SERVICE_ANOMALIES_REQUIRED,
}
GPEVT_REQUIRED = {
    "interfaceNuu": {"entete", "operation"},
    "operation": {"numUnique"},
    "listeEvenements": {"evenement"},
    "listeCaracteristiquesSpecifiques": {"caracteristiqueSpecifique"},
    "caracteristiqueSpecifique": {"code"},
    **HEADER_REQUIRED,
    **SERVICE_ANOMALIES_REQUIRED,
}
GPTYPE_REQUIRED = {
    "interfaceNuu": {"entete"},
    "operation": {"codeTerritoire"},
    "listeTypesEvenements": {"typeEvenement"},
    "typeEvenement": {
        "codeTypeEvenement", "texteDescriptifPGP", "texteDescriptifSNE", "aPublierSurPGP",
        "utilisableMultiplesAttributionsSousConditions", "utilisableRechercheInstruction", "reglementaire",
    },
    "libelleTypeEvenement": {"libelle"},
    "listeCaracteristiquesSpecifiques": {"caracteristiqueSpecifique"},
    "caracteristiqueSpecifique": {
        "code", "libelle", "typeCaracteristiqueSpecifique", "obligatoire", "texteDescriptif", "aideALaSaisie",
    },
    **HEADER_REQUIRED,
    **SERVICE_ANOMALIES_REQUIRED,
}

# Kinds of leaf values. ("code", n) is an empty element with a code attribute of n characters.
BOOL, DATE, DATETIME, TEL, MEL, CP, STRING, ANY, LONG, FILETYPE = (
    ("bool",), ("date",), ("datetime",), ("tel",), ("mel",), ("cp",), ("string",), ("any",), ("long",), ("filetype",)
)
CODE6, CODE5 = ("code", 6), ("code", 5)


def text(n: int) -> tuple:
    return ("text", n)


def alnum(n: int) -> tuple:
    return ("alnum", n)


def integer(low: int, high: int) -> tuple:
    return ("int", low, high)


AMOUNT, SIGNED, YEAR = integer(0, 9999), integer(-999999, 999999), integer(1900, 2100)

# Keys are "parent/name" (checked first) or "name".
NUU_KINDS = {
    "typeFichier": FILETYPE, "dateFichier": DATETIME,
    "statutDalo": CODE6, "dateDecisionDalo": DATE, "diagnosticSocialDalo": BOOL,
    "accompagnementSocialDalo": BOOL, "typologieLogementDalo": CODE6,
    "numGuichet": text(5), "numUnique": text(18), "numUniqueAssocie": text(18), "refInterne": text(18),
    "dateCreationDemande": DATE, "forcerDoublon": BOOL, "renouvellementElec": BOOL, "precision": text(255),
    "estDelaiAnormalementLong": BOOL, "estMultiplesAttributionsSousConditions": BOOL,
    "dateCalculIndicateur": DATETIME,
    "categorieLogementRecherche": CODE6, "avecParking": BOOL, "rezDeChaussee": BOOL, "sansAscenseur": BOOL,
    "montantLoyer": AMOUNT, "demandeElargie": BOOL, "typeLogement": CODE6, "commune": CODE5, "quartier": text(19),
    "compDateJugement": DATE, "compAutreMotif": text(36), "motifDemande": CODE6,
    "nom": text(36), "telDomicile": TEL, "telPortable": TEL, "telTravail": TEL, "mel": MEL,
    "etranger": BOOL, "appartement": text(4), "etage": text(2), "escalier": text(4), "batiment": text(4),
    "compAdresse": text(33), "numero": text(5), "voie": text(32), "lieuDit": text(38), "codePostal": CP,
    "codePostalEtranger": text(10), "communeEtranger": text(38), "pays": text(38), "nomHebergeant": text(38),
    "civilite": CODE6, "nomPatronymique": text(36), "prenom": text(36), "dateNaissance": DATE,
    "nationalite": CODE6, "situationFamiliale": CODE6, "notifSms": BOOL, "notifEvt": BOOL,
    "profession": text(39), "typeContratTravail": CODE6, "multiEmployeur": BOOL,
    "nomEmployeurPrincipal": text(25), "nomOrganismeCollecteur": text(44),
    "anneeMoins1": YEAR, "montantMoins1": SIGNED, "anneeMoins2": YEAR, "montantMoins2": SIGNED,
    "ressource": CODE6, "montant": SIGNED,
    "personneACharge/nom": text(24), "personneACharge/prenom": text(24), "sexe": CODE6, "lienParente": CODE6,
    "nombre": integer(0, 9), "dateNaissancePrevue": DATE, "coParentalite": CODE6, "lienDemandeur": CODE6,
    "modeleLogement": CODE6, "compNomOrgBailleur": text(34), "compResSocDepuis": DATE,
    "compResHotDepuis": DATE, "compSousLocDepuis": DATE, "compStructDepuis": DATE,
    "compNomStructure": text(14), "compCentreDepuis": DATE, "compNomCentre": text(14),
    "montantMensuelLoyer": AMOUNT, "montantMensuelAPL": AMOUNT, "nombreHabitant": integer(0, 99),
    "categorieLogement": CODE6, "typeLogementActuel": CODE6, "surface": AMOUNT, "proprietaire": BOOL,
    "typeLogementPossede": CODE6,
    "compAutreNature": text(21), "etatHandicap": CODE6, "capaciteMarcheHandicap": CODE6, "accompagne": BOOL,
    "handicapMoteur": BOOL, "handicapSensoriel": BOOL, "handicapAutre": BOOL,
    "natureHandicapSensoriel": CODE6, "natureHandicapMoteur": CODE6, "aideTechniqueHandicap": CODE6,
    "equipementHandicap": CODE6, "besoinParticulier": text(132), "besoinAutre": text(36),
    "handicapReconnu": BOOL, "procheDomicile": BOOL, "referent/nom": text(40), "referent/adresse": text(40),
    "tel": TEL,
    "dateRenouvellement": DATE, "dateRadiation": DATE, "motifRadiation": CODE6,
    "sousMotifIrrecevabilite": CODE6, "dateCourrier": DATE,
    "dateSignatureBail": DATE, "dejaLogeParcBailleur": CODE6, "numeroRpls": text(10),
    "attribueEnComDALO": BOOL, "accordCollectif": CODE6, "typeReservataire": CODE6,
    "codeSirenBailleur": text(9), "zus": CODE6,
    "message": text(512), "complement": ANY, "dateDerniereModificationPiece": DATE, "incrementFichier": STRING,
}
# Inside a list of duplicates every other leaf is a plain, unbounded string.
DOUBLON_KINDS = {"civilite": CODE6, "commune": CODE5, "dateNaissance": DATE, "etranger": BOOL, "*": STRING}
RECHERCHE_KINDS = {
    "typeFichier": alnum(4), "dateFichier": DATETIME, "codeGuichet": text(5), "numUnique": text(18),
    "etatDemande": alnum(1), "dateDepotDebut": DATE, "dateDepotFin": DATE, "dateRenouvellementDebut": DATE,
    "dateRenouvellementFin": DATE, "dateRadiationDebut": DATE, "dateRadiationFin": DATE,
    "motifDemande": text(6), "motifRadiation": text(6), "communeSouhaitee": alnum(5),
    "communeAttribution": alnum(5), "estDelaiAnormalementLong": BOOL,
    "estMultiplesAttributionsSousConditions": BOOL, "nom": text(36), "prenom": text(36),
    "dateNaissance": DATE, "codeCategorie": alnum(10), "message": text(512),
}
GPEVT_KINDS = {
    "typeFichier": alnum(3), "dateFichier": DATETIME, "codeGuichet": text(5), "numUnique": text(18),
    "idEvenement": LONG, "codeTypeEvenement": alnum(10), "libelleTypeEvenement": text(100),
    "auteurCreation": text(255), "dateCreation": DATETIME, "auteurModification": text(255),
    "dateModification": DATETIME, "natureModification": text(6), "dateSurvenance": DATE,
    "commentaire": text(500), "reglementaire": BOOL, "code": alnum(10), "libelle": text(100),
    "texteDescriptif": text(500), "valeurCaracteristiqueSpecifique": text(100), "message": text(512),
}
GPTYPE_KINDS = {
    "typeFichier": alnum(4), "dateFichier": DATETIME, "codeGuichet": text(5), "codeTerritoire": alnum(3),
    "codeTypeEvenement": alnum(10), "texteDescriptifPGP": text(500), "texteDescriptifSNE": text(500),
    "aPublierSurPGP": BOOL, "utilisableMultiplesAttributionsSousConditions": BOOL,
    "utilisableRechercheInstruction": BOOL, "reglementaire": BOOL, "dateDebutValidite": DATE,
    "dateFinValidite": DATE, "libelle": text(100), "code": alnum(10), "typeCaracteristiqueSpecifique": alnum(3),
    "obligatoire": BOOL, "texteDescriptif": text(500), "aideALaSaisie": text(500), "message": text(512),
}

# Elements of an InterfaceNuu file that do not take tns:modifie (nor does anything in a Doublon
# list, nor anything in the service schemas).
UNTRACKED = {
    "interfaceNuu", "entete", "typeFichier", "dateFichier", "demande", "listeAnomalie", "anomalie",
    "complement", "message", "listeDoublons", "incrementFichier",
}


@dataclass(frozen=True)
class Family:
    short: str
    schema: str
    required: dict
    kinds: dict
    tracked: bool  # whether tns:modifie exists at all
    strip_prefix: str = ""  # dropped from paths in test ids


FAMILIES = {
    family.short: family
    for family in (
        Family("v0201", "InterfaceNuu_v0201.xsd", NUU_REQUIRED, NUU_KINDS, True, "demande.demandeLogement."),
        Family("v0200", "InterfaceNuu_v0200.xsd", NUU_REQUIRED, NUU_KINDS, True, "demande.demandeLogement."),
        Family("doublon", "Doublon_V0200.xsd", DOUBLON_REQUIRED, DOUBLON_KINDS, False),
        Family("recherche", "InterfaceNuuRecherche_v0200.xsd", RECHERCHE_REQUIRED, RECHERCHE_KINDS, False),
        Family("gpevt", "InterfaceNuuGPEvenement_v0200.xsd", GPEVT_REQUIRED, GPEVT_KINDS, False),
        Family("gptype", "InterfaceNuuGPTypeEvenement_v0200.xsd", GPTYPE_REQUIRED, GPTYPE_KINDS, False),
    )
}


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    xml: bytes
    expected: bool  # the verdict we expect from the reference schema


# ------------------------------------------------------------------------------------------------
# Building documents
# ------------------------------------------------------------------------------------------------


def E(name: str, *content, **attributes) -> etree._Element:
    """An element of the SNE namespace. Content: text, elements, lists of them, None (skipped)."""
    element = etree.Element(f"{{{NS}}}{name}", nsmap=NSMAP)
    for item in flatten(content):
        if isinstance(item, str):
            element.text = item
        else:
            element.append(item)
    for key, value in attributes.items():
        element.set(MODIFIE if key == "modifie" else key, value)
    return element


def flatten(content: Iterable) -> Iterator:
    for item in content:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            yield from flatten(item)
        else:
            yield item


def C(name: str, value: str) -> etree._Element:
    """An empty element carrying a code list value."""
    return E(name, code=value)


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def child(element: etree._Element, dotted: str) -> etree._Element:
    """The first descendant reached by the dotted path of local names."""
    for name in dotted.split("."):
        element = next(item for item in element if isinstance(item.tag, str) and local(item) == name)
    return element


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def changed(root: etree._Element, change: Callable[[etree._Element], object]) -> etree._Element:
    """A copy of the document, changed in place by ``change``."""
    document = copy.deepcopy(root)
    change(document)
    return document


NUM1, NUM2 = "0571126000001DEMOB", "0571126000002DEMOC"


def locality(foreign: bool) -> list:
    if foreign:
        return [E("codePostalEtranger", "D-10115"), E("communeEtranger", "Berlin"), E("pays", "Allemagne")]
    return [E("codePostal", "57000"), C("commune", "57463")]


def address_lines() -> list:
    return [
        E("appartement", "12"), E("etage", "3"), E("escalier", "B"), E("batiment", "C2"),
        E("compAdresse", "Residence Les Tilleuls"), E("numero", "14"),
    ]


def postal_address(name: str, *, foreign: bool = False, full: bool = True) -> etree._Element:
    return E(
        name,
        E("etranger", "true" if foreign else "false"),
        address_lines() if full else None,
        E("voie", "rue Serpenoise"),
        E("lieuDit", "Le Sablon") if full else None,
        locality(foreign),
        E("nomHebergeant", "Famille Martin") if full else None,
    )


def employment(*, foreign: bool = False, full: bool = True) -> etree._Element:
    return E(
        "situationProfessionnelle",
        E("profession", "Technicien de maintenance") if full else None,
        C("typeContratTravail", "CDI"),
        [E("multiEmployeur", "false"), E("nomEmployeurPrincipal", "Ateliers de Moselle"),
         E("etranger", "true" if foreign else "false"), locality(foreign),
         E("nomOrganismeCollecteur", "Action Logement Services")] if full else None,
    )


def tax_income(full: bool = True) -> etree._Element:
    if not full:
        return E("revenuFiscal")
    return E(
        "revenuFiscal",
        E("anneeMoins1", "2025"), E("montantMoins1", "23450"), E("anneeMoins2", "2024"), E("montantMoins2", "-1200"),
    )


def resources(name: str, full: bool = True) -> etree._Element:
    return E(name, E("detailRessource", C("ressource", "SAL"), E("montant", "1850")) if full else None)


def identity(full: bool, *, first_name: str = "Jean", name: str = "DUPONT") -> list:
    return [
        C("civilite", "M"), E("nom", name), E("nomPatronymique", "DURAND") if full else None,
        E("prenom", first_name), E("dateNaissance", "1980-04-15"), C("nationalite", "FR"),
        C("situationFamiliale", "MAR"),
        [E("telDomicile", "0387000000"), E("telPortable", "0612345678"), E("telTravail", "0387111111")]
        if full else None,
    ]


def applicant(*, v0201: bool, foreign: bool = False, full: bool = True) -> etree._Element:
    return E(
        "demandeur",
        identity(full),
        E("mel", "jean.dupont@example.fr") if full else None,
        [E("notifSms", "true"), E("notifEvt", "false")] if v0201 and full else None,
        postal_address("adressePostale", foreign=foreign, full=full),
        employment(foreign=foreign, full=full),
        tax_income(full),
        resources("listeRessourceRecue", full), resources("listeRessourceVersee", full),
        resources("listeRessourceRecuePersACharge", full), resources("listeRessourceVerseePersACharge", full),
    )


def co_applicant(*, foreign: bool = False, full: bool = True) -> etree._Element:
    return E(
        "cotitulaire",
        identity(full, first_name="Marie", name="DUPONT"),
        C("lienDemandeur", "CJ"),
        employment(foreign=foreign, full=full),
        tax_income() if full else None,
        resources("listeRessourceRecue", full), resources("listeRessourceVersee", full),
    )


def current_housing(*, foreign: bool = False, full: bool = True) -> etree._Element:
    details = [
        E("compNomOrgBailleur", "Moselis"), E("compResSocDepuis", "2015-09-01"),
        E("compResHotDepuis", "2014-01-10"), E("compSousLocDepuis", "2013-05-02"),
        E("compStructDepuis", "2012-03-04"), E("compNomStructure", "CHRS Metz"),
        E("compCentreDepuis", "2011-07-08"), E("compNomCentre", "CADA Metz"),
        E("montantMensuelLoyer", "540"), E("montantMensuelAPL", "120"), E("nombreHabitant", "4"),
        C("categorieLogement", "HLM"), C("typeLogementActuel", "T3"), E("surface", "68"),
    ]
    return E(
        "logementActuel",
        E("listeModeleLogement", C("modeleLogement", "LOC")),
        details if full else None,
        E("proprietaire", "false"),
        [E("etranger", "true" if foreign else "false"), locality(foreign), C("typeLogementPossede", "T2")]
        if full else None,
    )


def natural_person(*, v0201: bool, foreign: bool = False, full: bool = True) -> etree._Element:
    household = [
        postal_address("adresseLogement", foreign=foreign),
        E("listePersonneACharge", E(
            "personneACharge", E("nom", "DUPONT"), E("prenom", "Lucas"), E("dateNaissance", "2012-06-01"),
            C("sexe", "M"), C("lienParente", "FIL"),
        )),
        E("personneANaitre", E("nombre", "1"), E("dateNaissancePrevue", "2027-02-01")),
        E("listePersonneEnGarde", E(
            "personneEnGarde", E("dateNaissance", "2015-02-03"), C("sexe", "F"), C("coParentalite", "ALT"),
        )),
        E("listeCotitulaire", co_applicant(foreign=foreign)),
    ]
    return E(
        "personnePhysique",
        applicant(v0201=v0201, foreign=foreign, full=full),
        household if full else None,
        current_housing(foreign=foreign, full=full),
    )


def association(*, foreign: bool = False, full: bool = True) -> etree._Element:
    return E(
        "association",
        E("nom", "Association Toit pour Tous"),
        [E("telDomicile", "0387222222"), E("telPortable", "0687222222"), E("telTravail", "0387333333"),
         E("mel", "contact@toit-pour-tous.org"), postal_address("adressePostale", foreign=foreign)] if full else None,
    )


def dalo() -> etree._Element:
    return E(
        "informationDalo",
        C("statutDalo", "PRIO"), E("dateDecisionDalo", "2026-05-12"), E("diagnosticSocialDalo", "true"),
        E("accompagnementSocialDalo", "false"), C("typologieLogementDalo", "T3"),
    )


def processing_indicators() -> etree._Element:
    return E(
        "informationTraitement",
        E("estDelaiAnormalementLong", "false"), E("estMultiplesAttributionsSousConditions", "true"),
        E("dateCalculIndicateur", "2026-11-29T02:00:00+01:00"),
    )


def sought_housing() -> etree._Element:
    return E(
        "logementRecherche",
        C("categorieLogementRecherche", "COLL"), E("avecParking", "true"), E("rezDeChaussee", "false"),
        E("sansAscenseur", "false"), E("montantLoyer", "650"), E("demandeElargie", "true"),
        E("listeTypeLogement", C("typeLogement", "T3")),
        E("listeLocalisationSouhaite", E("localisationSouhaite", C("commune", "57463"), E("quartier", "Borny"))),
    )


def main_reasons() -> etree._Element:
    return E(
        "principauxMotifDemande",
        E("compDateJugement", "2026-03-01"), E("compAutreMotif", "Rapprochement familial"), C("motifDemande", "12"),
    )


def disabilities() -> etree._Element:
    return E("listeHandicap", E(
        "handicap",
        E("dateNaissance", "1975-01-20"),
        E("referent",
          E("handicapReconnu", "true"), E("procheDomicile", "true"), E("nom", "Mme Leroy, assistante sociale"),
          E("adresse", "12 rue des Allies, Metz"), E("tel", "0387444444"), E("mel", "m.leroy@ccas-metz.fr")),
        E("compAutreNature", "Insuffisance renale"),
        C("etatHandicap", "DEF"), C("capaciteMarcheHandicap", "FAU"),
        E("accompagne", "true"), E("handicapMoteur", "true"), E("handicapSensoriel", "false"),
        E("handicapAutre", "true"),
        E("listeNatureHandicapSensoriel", C("natureHandicapSensoriel", "AUD")),
        E("listeNatureHandicapMoteur", C("natureHandicapMoteur", "MARC")),
        E("listeAideTechniqueHandicap", C("aideTechniqueHandicap", "CANNE")),
        E("listeEquipementHandicap", C("equipementHandicap", "DOUCHE")),
        E("besoinParticulier", "Logement accessible en fauteuil"), E("besoinAutre", "Place de stationnement"),
    ))


def allocated_address() -> etree._Element:
    return E(
        "adresse", address_lines(), E("voie", "avenue de Strasbourg"), E("lieuDit", "Borny"),
        E("codePostal", "57070"), C("commune", "57463"),
    )


def allocation(full: bool = True) -> etree._Element:
    if not full:
        return E(
            "attributionLogement", E("dateSignatureBail", "2026-10-01"), C("dejaLogeParcBailleur", "N"),
            C("accordCollectif", "NON"), C("typeReservataire", "PREF"),
        )
    return E(
        "attributionLogement",
        E("dateSignatureBail", "2026-10-01"), C("dejaLogeParcBailleur", "N"), E("numeroRpls", "0057123456"),
        E("attribueEnComDALO", "false"), C("accordCollectif", "NON"), C("typeReservataire", "PREF"),
        E("codeSirenBailleur", "357200054"), C("zus", "QPV"), C("typeLogement", "T3"), E("surface", "70"),
        E("montantLoyer", "480"), allocated_address(),
    )


def cancellation() -> etree._Element:
    return E(
        "radiation",
        E("dateRadiation", "2026-10-15"), C("motifRadiation", "ATT"), C("sousMotifIrrecevabilite", "IRR1"),
        E("absenceReponse", E("dateCourrier", "2026-09-01")),
        allocation(),
    )


def anomalies() -> etree._Element:
    return E("listeAnomalie", E(
        "anomalie",
        E("complement", "numUnique", nom="champ"), E("complement", "18", nom="longueur"),
        E("message", "La longueur du champ est incorrecte"),
        code="ANO0042", propriete="demandeLogement.numUnique",
    ))


def duplicate_address(name: str, *, foreign: bool) -> etree._Element:
    where = (
        [E("codePostalEtranger", "1000"), E("communeEtranger", "Bruxelles"), E("pays", "Belgique")]
        if foreign else [E("codePostal", "57000"), C("commune", "57463")]
    )
    return E(
        name, E("etranger", "true" if foreign else "false"),
        E("appartement", "12"), E("etage", "3"), E("escalier", "B"), E("batiment", "C2"),
        E("compAdresse", "Residence Les Tilleuls"), E("numero", "14"), E("voie", "rue Serpenoise"),
        E("lieuDit", "Le Sablon"), where, E("nomHebergeant", "Famille Martin"),
    )


def duplicate(*, full: bool = True, foreign: bool = False) -> etree._Element:
    person = [C("civilite", "M"), E("nom", "DUPONT"), E("nomPatronymique", "DURAND") if full else None,
              E("prenom", "Jean"), E("dateNaissance", "1980-04-15")]
    if not full:
        return E(
            "doublon", E("numUnique", NUM2),
            E("demandeur", person, E("adressePostale", E("etranger", "false"))),
            E("listeLocalisationSouhaitee", E("localisationSouhaitee", C("commune", "57463"))),
        )
    return E(
        "doublon",
        E("numUnique", NUM2),
        E("demandeur", person, duplicate_address("adressePostale", foreign=foreign),
          duplicate_address("adresseLogement", foreign=not foreign)),
        E("listeCotitulaire", E(
            "cotitulaire", C("civilite", "MME"), E("nom", "DUPONT"), E("nomPatronymique", "MULLER"),
            E("prenom", "Marie"), E("dateNaissance", "1982-09-30"),
        )),
        E("listeLocalisationSouhaitee", E("localisationSouhaitee", C("commune", "57463"), E("quartier", "Borny"))),
    )


def track(root: etree._Element) -> etree._Element:
    """Sets tns:modifie on every element of an InterfaceNuu file that takes it."""
    values = ("true", "false", "1", "0")
    for index, element in enumerate(element for element in root.iter() if isinstance(element.tag, str)):
        if takes_modifie(element):
            element.set(MODIFIE, values[index % len(values)])
    return root


def in_duplicates(element: etree._Element) -> bool:
    return any(local(item) == "listeDoublons" for item in element.iterancestors()) or local(element) == "listeDoublons"


def takes_modifie(element: etree._Element) -> bool:
    return local(element) not in UNTRACKED and not in_duplicates(element)


def header(file_type: str = "CRE") -> etree._Element:
    return E("entete", E("typeFichier", file_type), E("dateFichier", "2026-11-30T10:00:00"))


def maximal_file(
    family: str, *, foreign: bool = False, association_branch: bool = False, tracked: bool = True
) -> etree._Element:
    """Every optional element of InterfaceNuu, with tns:modifie wherever it is allowed."""
    v0201 = family == "v0201"
    household = (
        association(foreign=foreign) if association_branch else natural_person(v0201=v0201, foreign=foreign)
    )
    root = E(
        "interfaceNuu",
        header(),
        E("demande", dalo(), E(
            "demandeLogement",
            E("numGuichet", "10691"), E("numUnique", NUM1), E("numUniqueAssocie", NUM2),
            E("refInterne", "DOS-2026-0042"), E("dateCreationDemande", "2026-11-26"),
            E("forcerDoublon", "false"), E("renouvellementElec", "true"),
            E("precision", "Mutation pour raisons familiales"),
            processing_indicators() if v0201 else None,
            sought_housing(), main_reasons(), household, disabilities(),
            E("renouvellement", E("dateRenouvellement", "2027-11-26")),
            cancellation(), anomalies(), E("listeDoublons", duplicate()),
            E("dateDerniereModificationPiece", "2026-11-28"), E("incrementFichier", "7"),
        )),
        versionInterface="02.01" if v0201 else "02.00",
    )
    return track(root) if tracked else root


def minimal_file(family: str, *, association_branch: bool = False, file_type: str = "CRE", extra=()) -> etree._Element:
    """Only what InterfaceNuu requires; ``extra`` elements go at the end of demandeLogement."""
    household = (
        association(full=False) if association_branch
        else natural_person(v0201=family == "v0201", full=False)
    )
    application = E(
        "demandeLogement", E("numGuichet", "10691"), E("dateCreationDemande", "2026-11-26"),
        E("precision", "Premiere demande"), household,
    )
    for element in extra:
        insert_in_order(application, element)
    return E(
        "interfaceNuu", header(file_type), E("demande", application),
        versionInterface="02.01" if family == "v0201" else "02.00",
    )


# The order of demandeLogement's children, to insert optional blocks at their place.
APPLICATION_ORDER = [
    "numGuichet", "numUnique", "numUniqueAssocie", "refInterne", "dateCreationDemande", "forcerDoublon",
    "renouvellementElec", "precision", "informationTraitement", "logementRecherche", "principauxMotifDemande",
    "association", "personnePhysique", "listeHandicap", "renouvellement", "radiation", "listeAnomalie",
    "listeDoublons", "dateDerniereModificationPiece", "incrementFichier",
]


def insert_in_order(application: etree._Element, element: etree._Element) -> None:
    rank = APPLICATION_ORDER.index(local(element))
    for position, existing in enumerate(application):
        if APPLICATION_ORDER.index(local(existing)) > rank:
            application.insert(position, element)
            return
    application.append(element)


def duplicates_file(*, full: bool = True) -> etree._Element:
    if not full:
        return E("listeDoublons", duplicate(full=False))
    return E("listeDoublons", duplicate(), duplicate(foreign=True))


def service_header(file_type: str) -> etree._Element:
    return E("entete", E("typeFichier", file_type), E("dateFichier", "2026-11-30T10:00:00"), E("codeGuichet", "10691"))


def service_anomalies() -> etree._Element:
    return E("listeAnomalies", E("anomalie", E("message", "Aucune demande ne correspond"), code="RCH001"))


def search_file(*, full: bool = True) -> etree._Element:
    criteria = [
        E("numUnique", NUM1), E("etatDemande", "A"),
        E("dateDepotDebut", "2026-01-01"), E("dateDepotFin", "2026-06-30"),
        E("dateRenouvellementDebut", "2026-02-01"), E("dateRenouvellementFin", "2026-07-31"),
        E("dateRadiationDebut", "2026-03-01"), E("dateRadiationFin", "2026-08-31"),
        E("motifDemande", "12"), E("motifRadiation", "ATT"), E("communeSouhaitee", "57463"),
        E("communeAttribution", "2A004"), E("estDelaiAnormalementLong", "true"),
        E("estMultiplesAttributionsSousConditions", "false"),
        E("association", E("nom", "Association Toit pour Tous")),
        E("personneRecherchee", E("nom", "DUPONT"), E("prenom", "Jean"), E("dateNaissance", "1980-04-15")),
        E("piecesJustificatives", E("codeCategorie", "PJ01")),
    ]
    return E(
        "interfaceNuu", service_header("RECH"),
        E("operation", E("demandeMulticritere", criteria if full else None)),
        [E("listeDemandes", E("numUnique", NUM1)), service_anomalies()] if full else None,
        versionInterface="02.00",
    )


def events_file(*, full: bool = True) -> etree._Element:
    event = E(
        "evenement",
        E("idEvenement", "123456789"), E("codeTypeEvenement", "VISITE"),
        E("libelleTypeEvenement", "Visite du logement"),
        E("auteurCreation", "Guichet 10691"), E("dateCreation", "2026-11-02T09:15:00"),
        E("auteurModification", "Guichet 10691"), E("dateModification", "2026-11-03T17:40:00+01:00"),
        E("natureModification", "MAJ"), E("dateSurvenance", "2026-11-02"),
        E("commentaire", "Visite effectuee avec le demandeur"), E("reglementaire", "false"),
        E("listeCaracteristiquesSpecifiques", E(
            "caracteristiqueSpecifique", E("code", "ADRESSE"), E("libelle", "Adresse du logement visite"),
            E("texteDescriptif", "Adresse complete"), E("valeurCaracteristiqueSpecifique", "12 rue Serpenoise"),
        )),
    )
    return E(
        "interfaceNuu", service_header("EVT"), E("operation", E("numUnique", NUM1)),
        [E("listeEvenements", event), service_anomalies()] if full else None,
        versionInterface="02.00",
    )


def event_types_file(*, full: bool = True) -> etree._Element:
    event_type = E(
        "typeEvenement",
        E("codeTypeEvenement", "VISITE"), E("texteDescriptifPGP", "Visite d'un logement propose"),
        E("texteDescriptifSNE", "Visite d'un logement propose au demandeur"), E("aPublierSurPGP", "true"),
        E("utilisableMultiplesAttributionsSousConditions", "false"), E("utilisableRechercheInstruction", "true"),
        E("reglementaire", "false"), E("dateDebutValidite", "2020-01-01"), E("dateFinValidite", "2030-12-31"),
        E("codeTerritoire", "057"), E("libelleTypeEvenement", E("libelle", "Visite du logement")),
        E("listeCaracteristiquesSpecifiques", E(
            "caracteristiqueSpecifique", E("code", "ADRESSE"), E("libelle", "Adresse du logement"),
            E("typeCaracteristiqueSpecifique", "TXT"), E("obligatoire", "true"),
            E("texteDescriptif", "Adresse du logement visite"), E("aideALaSaisie", "Numero, voie, commune"),
            E("dateDebutValidite", "2020-01-01"), E("dateFinValidite", "2030-12-31"),
        )),
    )
    return E(
        "interfaceNuu", service_header("TEVT"),
        [E("operation", E("codeTerritoire", "057")), E("listeTypesEvenements", event_type), service_anomalies()]
        if full else None,
        versionInterface="02.00",
    )


# ------------------------------------------------------------------------------------------------
# Systematic mutations
# ------------------------------------------------------------------------------------------------


def elements(root: etree._Element) -> list:
    return [element for element in root.iter() if isinstance(element.tag, str)]


def path_of(element: etree._Element, family: Family) -> str:
    names = [local(item) for item in reversed(list(element.iterancestors()))][1:] + [local(element)]
    dotted = ".".join(names)
    if family.strip_prefix and dotted.startswith(family.strip_prefix):
        dotted = dotted[len(family.strip_prefix):]
    return dotted or local(element)


def required_table(family: Family, element: etree._Element) -> dict:
    if family.short in ("v0201", "v0200") and in_duplicates(element):
        return DOUBLON_REQUIRED
    return family.required


def kind_of(family: Family, element: etree._Element):
    parent = element.getparent()
    table = family.kinds
    if family.short in ("v0201", "v0200") and in_duplicates(element):
        table = DOUBLON_KINDS
    name = local(element)
    for key in (f"{local(parent)}/{name}" if parent is not None else name, name, "*"):
        if key in table:
            return table[key]
    return None


def mutate(root: etree._Element, index: int, change: Callable[[etree._Element], object]) -> etree._Element:
    """A copy of the document where the ``index``-th element is changed by ``change``."""
    document = copy.deepcopy(root)
    change(elements(document)[index])
    return document


def remove(element: etree._Element) -> None:
    element.getparent().remove(element)


def set_value(kind, value):
    def change(element: etree._Element) -> None:
        if kind[0] == "code":
            if value is None:
                element.attrib.pop("code", None)
            else:
                element.set("code", value)
        else:
            element.text = value

    return change


def email(length: int) -> str:
    domain = "@example.fr"
    return "a" * (length - len(domain)) + domain


def probes(kind, detailed: bool) -> list:
    """(label, value, valid) triples for a leaf of the given kind; more of them when ``detailed``."""
    name = kind[0]
    if name == "text":
        n = kind[1]
        out = [("too-long", "x" * (n + 1), False)]
        extra = [("empty", "", True), ("accented-at-max-length", "é" * n, True)]
    elif name in ("string", "any"):
        out = [("unbounded-text", "x" * 1000, True)]
        extra = [("empty", "", True)]
    elif name == "code":
        n = kind[1]
        out = [("code-too-long", "A" * (n + 1), False), ("code-absent", None, True)]
        extra = [("code-bad-character", "A-1", False), ("code-empty", "", False),
                 ("code-padded", " A1", False), ("code-at-max-length", "Z9" * (n // 2) + "Z" * (n % 2), True)]
    elif name == "bool":
        out = [("not-boolean", "oui", False)]
        extra = [("boolean-as-digit", "1", True), ("boolean-padded", " false ", True),
                 ("boolean-capitalised", "True", False), ("boolean-empty", "", False)]
    elif name == "date":
        out = [("impossible-date", "2026-02-30", False)]
        extra = [("datetime-in-date", "2026-11-30T10:00:00", False), ("date-with-timezone", "2026-11-30+01:00", True),
                 ("french-date", "30/11/2026", False), ("date-empty", "", False)]
    elif name == "datetime":
        out = [("date-in-datetime", "2026-11-30", False)]
        extra = [("datetime-utc", "2026-11-30T10:00:00Z", True),
                 ("datetime-fraction", "2026-11-30T10:00:00.125+01:00", True),
                 ("impossible-hour", "2026-11-30T25:00:00", False),
                 ("datetime-with-space", "2026-11-30 10:00:00", False)]
    elif name == "int":
        low, high = kind[1], kind[2]
        out = [("below-minimum", str(low - 1), False), ("above-maximum", str(high + 1), False)]
        extra = [("at-minimum", str(low), True), ("at-maximum", str(high), True), ("decimal", "1.5", False),
                 ("padded-number", f" {high} ", True), ("explicit-plus", f"+{high}", True),
                 ("leading-zeros", f"000{high}", True), ("not-a-number", "douze", False)]
    elif name == "long":
        out = [("negative", "-1", False), ("beyond-long", "9223372036854775808", False),
               ("largest-long", "9223372036854775807", True)]
        extra = [("zero", "0", True), ("decimal", "1.0", False)]
    elif name == "tel":
        out = [("eleven-digits", "0" * 11, False), ("with-spaces", "03 87 00", False)]
        extra = [("empty", "", True), ("ten-digits", "9" * 10, True), ("international", "+33387000000", False)]
    elif name == "mel":
        out = [("not-an-address", "jean.dupont", False)]
        extra = [("empty", "", True), ("four-letter-tld", "jean@example.info", False),
                 ("too-long", email(256), False), ("at-max-length", email(255), True),
                 ("plus-in-local-part", "jean+sne@example.fr", False), ("uppercase", "JEAN.DUPONT@EXAMPLE.FR", True)]
    elif name == "cp":
        out = [("letters", "5700A", False), ("six-digits", "570001", False)]
        extra = [("empty", "", False), ("one-digit", "5", True), ("corsica-letters", "2A004", False)]
    elif name == "alnum":
        n = kind[1]
        out = [("too-long", "A" * (n + 1), False), ("empty", "", False)]
        extra = [("bad-character", "-", False), ("at-max-length", "Z" * n, True), ("padded", " A", False)]
    elif name == "filetype":
        out = [("two-characters", "CR", False), ("four-characters", "CREA", False), ("bad-character", "C-E", False)]
        extra = [("lowercase", "cre", True), ("digits", "123", True), ("empty", "", False), ("padded", " CRE", False)]
    else:
        raise AssertionError(kind)
    return out + (extra if detailed else [])


def bound_value(kind, upper: bool):
    """The largest (or smallest) value of a kind, to fill a whole document at its bounds."""
    name = kind[0]
    table = {
        "text": lambda: "é" * kind[1] if upper else "",
        "string": lambda: "x" * 300 if upper else "",
        "any": lambda: "x" * 300 if upper else "",
        "code": lambda: "Z" * kind[1] if upper else "0",
        "alnum": lambda: "Z" * kind[1] if upper else "0",
        "bool": lambda: "true" if upper else "0",
        "int": lambda: str(kind[2] if upper else kind[1]),
        "long": lambda: "9223372036854775807" if upper else "0",
        "tel": lambda: "9" * 10 if upper else "",
        "mel": lambda: email(255) if upper else "",
        "cp": lambda: "99999" if upper else "0",
    }
    return table[name]() if name in table else None


def at_bounds(root: etree._Element, family: Family, upper: bool) -> etree._Element:
    document = copy.deepcopy(root)
    for element in elements(document):
        if len(element):
            continue
        kind = kind_of(family, element)
        if kind is None:
            continue
        value = bound_value(kind, upper)
        if value is not None:
            set_value(kind, value)(element)
    return document


class Corpus:
    """Collects cases; systematic generators skip a path (or kind) they already covered."""

    def __init__(self) -> None:
        self.cases: list[Case] = []
        self.seen: set = set()

    def add(self, family: str, label: str, root: etree._Element, expected: bool) -> None:
        self.add_xml(family, label, serialize(root), expected)

    def add_xml(self, family: str, label: str, xml: bytes, expected: bool) -> None:
        self.cases.append(Case(f"{family}/{label}", family, xml, expected))

    def first(self, *key) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def systematic(self, family_name: str, base: str, root: etree._Element) -> None:
        family = FAMILIES[family_name]
        for index, element in enumerate(elements(root)):
            path = path_of(element, family)
            parent = element.getparent()
            # 1. Removal: invalid exactly when required and the only one of its name.
            if parent is not None and self.first(family_name, "missing", path):
                siblings = [item for item in parent if isinstance(item.tag, str) and item.tag == element.tag]
                required = local(element) in required_table(family, parent).get(local(parent), set())
                self.add(family_name, f"{base}/missing/{path}", mutate(root, index, remove),
                         not (required and len(siblings) == 1))
            # 2. Values of leaves, by kind.
            kind = kind_of(family, element) if not len(element) else None
            if kind is not None and self.first(family_name, "value", path):
                detailed = self.first(family_name, "kind", kind)
                for label, value, valid in probes(kind, detailed):
                    self.add(family_name, f"{base}/{label}/{path}", mutate(root, index, set_value(kind, value)), valid)
            # 3. Structure: swapped siblings, an unknown child.
            children = [item for item in element if isinstance(item.tag, str)]
            if children and self.first(family_name, "structure", path):
                # The first and the last pair of differently named neighbours, swapped.
                pairs = [position for position in range(len(children) - 1)
                         if children[position].tag != children[position + 1].tag]
                for position in sorted({pairs[0], pairs[-1]}) if pairs else []:
                    def swap(target: etree._Element, first: int = position) -> None:
                        items = [item for item in target if isinstance(item.tag, str)]
                        items[first].addprevious(items[first + 1])

                    a, b = local(children[position]), local(children[position + 1])
                    self.add(family_name, f"{base}/swapped/{path}.{a}-{b}", mutate(root, index, swap), False)
                self.add(family_name, f"{base}/unknown-child/{path}",
                         mutate(root, index, lambda target: target.append(E("inconnu"))), False)
            # 4. tns:modifie where it is not declared.
            tracked_here = family.tracked and takes_modifie(element)
            if not tracked_here and self.first(family_name, "modifie", in_duplicates(element), local(element)):
                self.add(family_name, f"{base}/modifie-not-allowed/{path}",
                         mutate(root, index, lambda target: target.set(MODIFIE, "true")), False)


# ------------------------------------------------------------------------------------------------
# The corpus
# ------------------------------------------------------------------------------------------------

FILE_TYPES = ["CRE", "CRS", "MOD", "REN", "RAD", "SUP", "DIS", "RET", "COP"]
PERSON = "personnePhysique"
APPLICANT = "personnePhysique.demandeur"
RESOURCE_LISTS = (
    "listeRessourceRecue", "listeRessourceVersee", "listeRessourceRecuePersACharge", "listeRessourceVerseePersACharge",
)


def app(document: etree._Element, dotted: str = "") -> etree._Element:
    """An element of an InterfaceNuu file, by its dotted path under demandeLogement."""
    return child(document, "demande.demandeLogement" + (f".{dotted}" if dotted else ""))


def verdicts(corpus: Corpus, family: str) -> tuple[Callable, Callable]:
    """Shorthands adding a document the reference must accept, or reject."""

    def valid(label: str, root: etree._Element) -> None:
        corpus.add(family, label, root, True)

    def invalid(label: str, root: etree._Element) -> None:
        corpus.add(family, label, root, False)

    return valid, invalid


def cancelled(family: str, *content) -> etree._Element:
    return minimal_file(family, file_type="RAD", extra=[
        E("radiation", E("dateRadiation", "2026-10-15"), content),
    ])


def with_anomaly(family: str, *content, **attributes) -> etree._Element:
    return minimal_file(family, file_type="RET", extra=[E("listeAnomalie", E("anomalie", content, **attributes))])


def interface_nuu_cases(corpus: Corpus, family: str) -> None:
    bases = {
        "maximal": maximal_file(family),
        "foreign": maximal_file(family, foreign=True),
        "association": maximal_file(family, association_branch=True),
        "association-foreign": maximal_file(family, association_branch=True, foreign=True),
        "minimal": minimal_file(family),
    }
    interface_nuu_valid_cases(corpus, family, bases)
    interface_nuu_invalid_cases(corpus, family, bases)
    version_cases(corpus, family, bases["maximal"])
    for base in ("maximal", "foreign", "association", "minimal"):
        corpus.systematic(family, base, bases[base])


def interface_nuu_valid_cases(corpus: Corpus, family: str, bases: dict) -> None:
    valid, _ = verdicts(corpus, family)
    maximal, minimal = bases["maximal"], bases["minimal"]
    valid("maximal", maximal)
    valid("maximal-foreign-localities", bases["foreign"])
    valid("maximal-association", bases["association"])
    valid("maximal-association-foreign-address", bases["association-foreign"])
    valid("maximal-without-modifie", maximal_file(family, tracked=False))
    valid("minimal-natural-person", minimal)
    valid("minimal-association", minimal_file(family, association_branch=True))
    for file_type in FILE_TYPES:
        valid(f"file-type-{file_type}", minimal_file(family, file_type=file_type))
    valid("upper-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=True))
    valid("lower-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=False))
    valid("upper-bounds-foreign", at_bounds(bases["foreign"], FAMILIES[family], upper=True))
    valid("lower-bounds-association", at_bounds(bases["association"], FAMILIES[family], upper=False))
    for version in ("02.00", "02.01", "99.99"):  # only the form is checked
        valid(f"version-{version}", changed(minimal, lambda d, v=version: d.set("versionInterface", v)))

    # What the register returns: anomalies and duplicates.
    valid("ret-anomalies-and-duplicates", minimal_file(family, file_type="RET", extra=[
        E("listeAnomalie",
          E("anomalie", E("complement", "numGuichet", nom="champ"), E("message", "Guichet inconnu"),
            code="G001", propriete="demandeLogement.numGuichet"),
          E("anomalie", E("message", "Date de creation dans le futur"), code="D002"),
          E("anomalie", E("complement", "sans nom"), E("message", ""), code="")),
        E("listeDoublons", duplicate(), duplicate(full=False), duplicate(foreign=True)),
    ]))
    valid("empty-anomaly-list", minimal_file(family, file_type="RET", extra=[E("listeAnomalie")]))
    valid("anomaly-code-at-max-length", with_anomaly(family, E("message", "x"), code="A" * 10))
    valid("anomaly-property-at-max-length", with_anomaly(family, E("message", "x"), code="A", propriete="p" * 255))
    valid("anomaly-complement-name-at-max-length",
          with_anomaly(family, E("complement", "v", nom="n" * 100), E("message", "x"), code="A"))

    # Life cycle: cancellation, renewal.
    valid("cancellation-minimal", cancelled(family, C("motifRadiation", "ATT")))
    valid("cancellation-inadmissible",
          cancelled(family, C("motifRadiation", "IRR"), C("sousMotifIrrecevabilite", "IRR2")))
    valid("cancellation-no-answer-empty", cancelled(family, C("motifRadiation", "NRP"), E("absenceReponse")))
    valid("cancellation-no-answer-dated", cancelled(
        family, C("motifRadiation", "NRP"), E("absenceReponse", E("dateCourrier", "2026-09-01"))))
    valid("cancellation-allocation-minimal", cancelled(family, C("motifRadiation", "ATT"), allocation(full=False)))
    valid("cancellation-allocation-empty-address", cancelled(
        family, C("motifRadiation", "ATT"), E("attributionLogement", *allocation(full=False), E("adresse"))))
    valid("renewal", minimal_file(family, file_type="REN", extra=[
        E("renouvellement", E("dateRenouvellement", "2027-11-26"))]))

    # DALO, disabilities, the housing sought, reasons.
    valid("dalo-empty", changed(minimal, lambda d: child(d, "demande").insert(0, E("informationDalo"))))
    valid("dalo-full", changed(minimal, lambda d: child(d, "demande").insert(0, dalo())))
    valid("disability-list-empty", minimal_file(family, extra=[E("listeHandicap")]))
    valid("disability-entries-empty", minimal_file(family, extra=[E("listeHandicap", E("handicap"), E("handicap"))]))
    valid("disability-empty-sub-lists", minimal_file(family, extra=[E("listeHandicap", E(
        "handicap", E("referent"), E("listeNatureHandicapSensoriel"), E("listeNatureHandicapMoteur"),
        E("listeAideTechniqueHandicap"), E("listeEquipementHandicap")))]))
    valid("disability-repeated-codes", minimal_file(family, extra=[E("listeHandicap", E(
        "handicap",
        E("listeNatureHandicapSensoriel", C("natureHandicapSensoriel", "AUD"), C("natureHandicapSensoriel", "VIS")),
        E("listeNatureHandicapMoteur", C("natureHandicapMoteur", "MARC"), C("natureHandicapMoteur", "BRAS")),
        E("listeAideTechniqueHandicap", C("aideTechniqueHandicap", "CANNE"), C("aideTechniqueHandicap", "FAUT")),
        E("listeEquipementHandicap", C("equipementHandicap", "DOUCHE"), C("equipementHandicap", "RAMPE")),
    ))]))
    valid("sought-housing-minimal", minimal_file(family, extra=[E(
        "logementRecherche", E("demandeElargie", "false"), E("listeTypeLogement", C("typeLogement", "T2")),
        E("listeLocalisationSouhaite", E("localisationSouhaite", E("commune"))))]))
    valid("sought-housing-repeated", minimal_file(family, extra=[E(
        "logementRecherche", E("demandeElargie", "false"),
        E("listeTypeLogement", [C("typeLogement", code) for code in ("T2", "T3", "T4")]),
        E("listeLocalisationSouhaite",
          [E("localisationSouhaite", C("commune", code)) for code in ("57463", "57672", "2A004")]),
    )]))
    valid("reasons-repeated", minimal_file(family, extra=[
        E("principauxMotifDemande", [C("motifDemande", code) for code in ("1", "2", "3")])]))

    # The household.
    def repeat_household(document: etree._Element) -> None:
        for name in ("listePersonneACharge", "listePersonneEnGarde", "listeCotitulaire"):
            items = app(document, f"{PERSON}.{name}")
            items.extend([copy.deepcopy(items[0]), copy.deepcopy(items[0])])
        for name in RESOURCE_LISTS:
            items = app(document, f"{APPLICANT}.{name}")
            items.append(copy.deepcopy(items[0]))
        app(document, f"{PERSON}.logementActuel.listeModeleLogement").append(C("modeleLogement", "HEB"))

    def empty_household_lists(document: etree._Element) -> None:
        for name in ("listePersonneACharge", "listePersonneEnGarde", "listeCotitulaire", "personneANaitre"):
            app(document, f"{PERSON}.{name}").clear()
        for name in (*RESOURCE_LISTS, "revenuFiscal"):
            app(document, f"{APPLICANT}.{name}").clear()

    def drop_localities(document: etree._Element) -> None:
        for dotted in (f"{APPLICANT}.situationProfessionnelle", f"{PERSON}.logementActuel"):
            parent = app(document, dotted)
            for item in [item for item in parent if local(item) in LOCALITY | {"etranger"}]:
                parent.remove(item)

    valid("household-repeated-entries", changed(maximal, repeat_household))
    valid("household-empty-lists", changed(maximal, empty_household_lists))
    valid("employment-and-housing-without-locality", changed(maximal, drop_localities))

    # Roots, attributes, lexical forms.
    valid("listeDoublons-root", duplicates_file())
    valid("listeDoublons-root-minimal", duplicates_file(full=False))
    valid("codes-without-attribute", changed(maximal, lambda d: [
        element.attrib.pop("code") for element in elements(d)
        if "code" in element.attrib and local(element) != "anomalie"]))
    valid("whitespace-around-numbers-and-booleans", changed(minimal, lambda d: [
        setattr(app(d, f"{PERSON}.logementActuel.proprietaire"), "text", "\n  true\n"),
        app(d, f"{APPLICANT}.revenuFiscal").append(E("anneeMoins1", " 2025 ")),
    ]))
    valid("comments-and-processing-instructions", changed(maximal, lambda d: [
        app(d).insert(0, etree.Comment(" dossier 42 ")),
        app(d, "numGuichet").append(etree.ProcessingInstruction("trace", "on")),
    ]))
    valid("modifie-as-digit-and-word", changed(minimal, lambda d: [
        app(d).set(MODIFIE, "1"), app(d, "numGuichet").set(MODIFIE, "false")]))


def interface_nuu_invalid_cases(corpus: Corpus, family: str, bases: dict) -> None:
    _, invalid = verdicts(corpus, family)
    maximal, minimal = bases["maximal"], bases["minimal"]

    # Choices.
    invalid("both-association-and-natural-person",
            changed(maximal, lambda d: app(d, PERSON).addprevious(association())))
    invalid("natural-person-before-association", changed(maximal, lambda d: app(d, PERSON).addnext(association())))
    for where in (f"{APPLICANT}.adressePostale", f"{PERSON}.adresseLogement", f"{APPLICANT}.situationProfessionnelle",
                  f"{PERSON}.logementActuel", f"{PERSON}.listeCotitulaire.cotitulaire.situationProfessionnelle"):
        invalid(f"both-localities/{where}", changed(
            maximal, lambda d, w=where: app(d, f"{w}.commune").addnext(E("codePostalEtranger", "1000"))))
        invalid(f"foreign-then-french-locality/{where}", changed(
            bases["foreign"], lambda d, w=where: app(d, f"{w}.pays").addnext(E("codePostal", "57000"))))
    invalid("both-localities/association.adressePostale", changed(
        bases["association"], lambda d: app(d, "association.adressePostale.commune").addnext(E("pays", "France"))))
    invalid("half-french-half-foreign-locality", changed(maximal, lambda d: app(
        d, f"{APPLICANT}.adressePostale").replace(app(d, f"{APPLICANT}.adressePostale.commune"),
                                                  E("communeEtranger", "Metz"))))
    invalid("allocated-address-with-foreign-locality", changed(
        maximal, lambda d: app(d, "radiation.attributionLogement.adresse").append(E("pays", "Belgique"))))

    # Roots and namespaces. Some as text: lxml would not undeclare the default namespace.
    minimal_xml = serialize(minimal)
    invalid("root-unknown", changed(minimal, lambda d: setattr(d, "tag", f"{{{NS}}}interfaceNUU")))
    invalid("root-other-namespace", changed(minimal, lambda d: setattr(d, "tag", f"{{{OTHER_NS}}}interfaceNuu")))
    corpus.add_xml(family, "document-without-namespace",
                   minimal_xml.replace(b' xmlns="http://nuu.application.i2/"', b""), False)
    corpus.add_xml(family, "child-without-namespace",
                   minimal_xml.replace(b"<numGuichet>", b'<numGuichet xmlns="">'), False)
    invalid("child-other-namespace", changed(
        minimal, lambda d: setattr(app(d, "precision"), "tag", f"{{{OTHER_NS}}}precision")))
    invalid("code-attribute-qualified",
            changed(minimal, lambda d: app(d, f"{APPLICANT}.civilite").set(f"{{{NS}}}code", "M")))

    # Attributes.
    invalid("modifie-unqualified", changed(minimal, lambda d: app(d, "numGuichet").set("modifie", "true")))
    invalid("modifie-other-namespace",
            changed(minimal, lambda d: app(d, "numGuichet").set(f"{{{OTHER_NS}}}modifie", "1")))
    invalid("modifie-not-boolean", changed(minimal, lambda d: app(d, "numGuichet").set(MODIFIE, "oui")))
    invalid("modifie-empty", changed(minimal, lambda d: app(d).set(MODIFIE, "")))
    invalid("unknown-attribute", changed(minimal, lambda d: app(d, "numGuichet").set("source", "guichet")))
    invalid("code-attribute-on-text-element", changed(minimal, lambda d: app(d, "numGuichet").set("code", "A")))
    invalid("xsi-nil-on-required-element", changed(minimal, lambda d: [
        app(d, "dateCreationDemande").set(XSI_NIL, "true"), setattr(app(d, "dateCreationDemande"), "text", None)]))
    invalid("version-missing", changed(minimal, lambda d: d.attrib.pop("versionInterface")))
    for label, version in (("one-digit-major", "2.01"), ("one-digit-minor", "02.1"), ("trailing-space", "02.01 "),
                           ("letters", "v2.01"), ("empty", ""), ("comma", "02,01")):
        invalid(f"version-{label}", changed(minimal, lambda d, v=version: d.set("versionInterface", v)))
    invalid("version-qualified", changed(
        minimal, lambda d: d.set(f"{{{NS}}}versionInterface", d.attrib.pop("versionInterface"))))
    invalid("anomaly-without-code", with_anomaly(family, E("message", "x")))
    invalid("anomaly-code-too-long", with_anomaly(family, E("message", "x"), code="A" * 11))
    invalid("anomaly-property-too-long", with_anomaly(family, E("message", "x"), code="A", propriete="p" * 256))
    invalid("anomaly-complement-name-too-long",
            with_anomaly(family, E("complement", "v", nom="n" * 101), E("message", "x"), code="A"))
    invalid("anomaly-complement-with-child",
            with_anomaly(family, E("complement", E("valeur", "v")), E("message", "x"), code="A"))
    invalid("anomaly-unknown-attribute", with_anomaly(family, E("message", "x"), code="A", niveau="bloquant"))

    # Cardinalities and content models.
    invalid("header-repeated", changed(minimal, lambda d: d.insert(0, header())))
    invalid("application-repeated", changed(minimal, lambda d: d.append(copy.deepcopy(child(d, "demande")))))
    invalid("application-wrapped-twice", changed(minimal, lambda d: child(d, "demande").append(copy.deepcopy(app(d)))))
    invalid("counter-repeated", changed(minimal, lambda d: app(d, "numGuichet").addnext(E("numGuichet", "10692"))))
    invalid("text-in-element-only-content", changed(minimal, lambda d: setattr(app(d), "text", "texte libre")))
    invalid("child-in-text-element", changed(minimal, lambda d: app(d, "precision").append(E("b"))))
    invalid("text-in-code-element", changed(minimal, lambda d: setattr(app(d, f"{APPLICANT}.civilite"), "text", "M")))


def version_cases(corpus: Corpus, family: str, maximal: etree._Element) -> None:
    """The three v02.01 additions: where v02.01 takes them, and that v02.00 rejects them."""
    valid, invalid = verdicts(corpus, family)
    if family == "v0200":
        additions = {
            "informationTraitement": lambda d: app(d, "precision").addnext(processing_indicators()),
            "notifSms": lambda d: app(d, f"{APPLICANT}.mel").addnext(E("notifSms", "true")),
            "notifEvt": lambda d: app(d, f"{APPLICANT}.mel").addnext(E("notifEvt", "false")),
        }
        for name, change in additions.items():
            invalid(f"v0201-element-{name}", changed(maximal, change))
        invalid("v0201-maximal-document", maximal_file("v0201"))
        valid("v0201-minimal-document", minimal_file("v0201"))
        return
    minimal = minimal_file(family)
    valid("v0200-maximal-document", maximal_file("v0200"))
    valid("processing-indicators-empty", minimal_file(family, extra=[E("informationTraitement")]))
    valid("notifications-sms-only", changed(minimal, lambda d: app(d, f"{APPLICANT}.situationFamiliale").addnext(
        E("notifSms", "true"))))
    valid("notifications-event-only", changed(minimal, lambda d: app(d, f"{APPLICANT}.situationFamiliale").addnext(
        E("notifEvt", "true"))))
    invalid("processing-indicators-first",
            changed(maximal, lambda d: app(d).insert(0, app(d, "informationTraitement"))))
    invalid("notifications-swapped", changed(maximal, lambda d: app(d, f"{APPLICANT}.notifSms").addprevious(
        app(d, f"{APPLICANT}.notifEvt"))))
    invalid("notifications-on-co-applicant", changed(maximal, lambda d: app(
        d, f"{PERSON}.listeCotitulaire.cotitulaire.telTravail").addnext(E("notifSms", "true"))))
    invalid("notifications-after-address", changed(maximal, lambda d: app(d, f"{APPLICANT}.adressePostale").addnext(
        app(d, f"{APPLICANT}.notifEvt"))))


def doublon_cases(corpus: Corpus) -> None:
    family = "doublon"
    valid, invalid = verdicts(corpus, family)
    maximal, minimal = duplicates_file(), duplicates_file(full=False)
    valid("maximal", maximal)
    valid("minimal", minimal)
    valid("upper-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=True))
    valid("lower-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=False))
    valid("many-duplicates", E("listeDoublons", [duplicate(foreign=bool(i % 2)) for i in range(5)]))

    def address(*content) -> etree._Element:
        """The minimal list, its applicant's postal address holding ``content`` after etranger."""
        def change(document: etree._Element) -> None:
            child(document, "doublon.demandeur.adressePostale")[:] = [E("etranger", "false"), *content]
        return changed(minimal, change)

    # Every line of a duplicate's address is optional, the locality included.
    valid("address-without-street", address(E("codePostal", "57000"), C("commune", "57463")))
    valid("address-only-postal-code", address(E("codePostal", "57000")))
    valid("address-only-commune", address(C("commune", "57463")))
    valid("address-only-country", address(E("pays", "Belgique")))
    valid("address-only-foreign-city", address(E("communeEtranger", "Liege"), E("pays", "Belgique")))
    valid("address-only-host", address(E("nomHebergeant", "Martin")))
    valid("address-postal-code-free-text", address(E("codePostal", "CP-57 000 !")))
    valid("address-commune-without-code", address(E("commune")))
    invalid("address-french-and-foreign", address(E("codePostal", "57000"), E("pays", "Belgique")))
    invalid("address-commune-then-foreign-city", address(C("commune", "57463"), E("communeEtranger", "Liege")))
    invalid("address-foreign-then-french", address(E("pays", "Belgique"), E("codePostal", "57000")))
    invalid("address-commune-with-text", address(E("commune", "Metz")))
    invalid("empty-list", E("listeDoublons"))
    invalid("empty-co-applicant-list", changed(maximal, lambda d: child(d, "doublon.listeCotitulaire").clear()))
    invalid("empty-location-list", changed(maximal, lambda d: child(d, "doublon.listeLocalisationSouhaitee").clear()))
    invalid("interfaceNuu-root", minimal_file("v0201"))
    invalid("tracked-attribute", changed(minimal, lambda d: child(d, "doublon.numUnique").set(MODIFIE, "true")))
    invalid("location-list-misspelt", changed(minimal, lambda d: setattr(
        child(d, "doublon.listeLocalisationSouhaitee"), "tag", f"{{{NS}}}listeLocalisationSouhaite")))
    invalid("root-other-namespace", changed(minimal, lambda d: setattr(d, "tag", f"{{{OTHER_NS}}}listeDoublons")))
    invalid("civility-with-text",
            changed(minimal, lambda d: setattr(child(d, "doublon.demandeur.civilite"), "text", "M")))
    corpus.systematic(family, "maximal", maximal)
    corpus.systematic(family, "foreign", E("listeDoublons", duplicate(foreign=True)))


def service_cases(corpus: Corpus, family: str, build: Callable[..., etree._Element]) -> None:
    """What the three service schemas share: version, header, anomalies, roots."""
    valid, invalid = verdicts(corpus, family)
    maximal, minimal = build(), build(full=False)
    valid("maximal", maximal)
    valid("minimal", minimal)
    valid("upper-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=True))
    valid("lower-bounds-everywhere", at_bounds(maximal, FAMILIES[family], upper=False))
    valid("fixed-version", changed(minimal, lambda d: d.set("versionInterface", "02.00")))
    for label, version in (("other-version", "02.01"), ("malformed-version", "2.00"), ("padded-version", " 02.00"),
                           ("empty-version", "")):
        invalid(label, changed(minimal, lambda d, v=version: d.set("versionInterface", v)))
    invalid("version-missing", changed(minimal, lambda d: d.attrib.pop("versionInterface")))
    invalid("tracked-attribute", changed(minimal, lambda d: child(d, "entete").set(MODIFIE, "true")))

    def anomaly(change: Callable[[etree._Element], object]) -> etree._Element:
        return changed(maximal, lambda d: change(child(d, "listeAnomalies.anomalie")))

    invalid("anomaly-without-code", anomaly(lambda a: a.attrib.pop("code")))
    invalid("anomaly-code-too-long", anomaly(lambda a: a.set("code", "A" * 11)))
    valid("anomaly-code-at-max-length", anomaly(lambda a: a.set("code", "A" * 10)))
    valid("anomaly-code-empty", anomaly(lambda a: a.set("code", "")))
    invalid("anomaly-with-property", anomaly(lambda a: a.set("propriete", "x")))
    invalid("anomaly-with-complement", anomaly(lambda a: a.insert(0, E("complement", "x"))))
    valid("anomalies-repeated", changed(maximal, lambda d: child(d, "listeAnomalies").append(
        E("anomalie", E("message", "Deuxieme"), code="X2"))))
    invalid("interfaceNuu-application-root", minimal_file("v0201"))
    invalid("listeDoublons-root", duplicates_file())
    invalid("root-other-namespace", changed(minimal, lambda d: setattr(d, "tag", f"{{{OTHER_NS}}}interfaceNuu")))
    corpus.systematic(family, "maximal", maximal)
    corpus.systematic(family, "minimal", minimal)


def recherche_cases(corpus: Corpus) -> None:
    valid, invalid = verdicts(corpus, "recherche")
    maximal, minimal = search_file(), search_file(full=False)
    criteria = "operation.demandeMulticritere"
    valid("criteria-association-only", changed(minimal, lambda d: child(d, criteria).append(
        E("association", E("nom", "Toit pour Tous")))))
    valid("person-sought-empty", changed(minimal, lambda d: child(d, criteria).append(E("personneRecherchee"))))
    valid("many-results", changed(maximal, lambda d: child(d, "listeDemandes").extend(
        [E("numUnique", NUM2), E("numUnique", "x" * 18)])))
    valid("many-document-categories", changed(maximal, lambda d: child(d, f"{criteria}.piecesJustificatives").extend(
        [E("codeCategorie", "PJ02"), E("codeCategorie", "Z" * 10)])))
    invalid("empty-results", changed(maximal, lambda d: child(d, "listeDemandes").clear()))
    invalid("empty-anomalies", changed(maximal, lambda d: child(d, "listeAnomalies").clear()))
    invalid("empty-document-categories",
            changed(maximal, lambda d: child(d, f"{criteria}.piecesJustificatives").clear()))
    invalid("association-empty", changed(maximal, lambda d: child(d, f"{criteria}.association").clear()))
    invalid("results-after-anomalies", changed(maximal, lambda d: child(d, "listeAnomalies").addnext(
        child(d, "listeDemandes"))))
    invalid("two-operations", changed(maximal, lambda d: child(d, "operation").addnext(
        copy.deepcopy(child(d, "operation")))))


def gpevt_cases(corpus: Corpus) -> None:
    valid, invalid = verdicts(corpus, "gpevt")
    maximal = events_file()
    features = "listeEvenements.evenement.listeCaracteristiquesSpecifiques"
    valid("event-empty", changed(maximal, lambda d: child(d, "listeEvenements").append(E("evenement"))))
    valid("events-repeated", changed(maximal, lambda d: child(d, "listeEvenements").append(
        copy.deepcopy(child(d, "listeEvenements.evenement")))))
    valid("feature-code-only", changed(maximal, lambda d: child(d, features).append(
        E("caracteristiqueSpecifique", E("code", "NB")))))
    invalid("four-letter-file-type",
            changed(maximal, lambda d: setattr(child(d, "entete.typeFichier"), "text", "EVTS")))
    invalid("empty-events", changed(maximal, lambda d: child(d, "listeEvenements").clear()))
    invalid("empty-features", changed(maximal, lambda d: child(d, features).clear()))
    invalid("operation-without-number", changed(maximal, lambda d: child(d, "operation").clear()))
    invalid("operation-territory-instead", changed(maximal, lambda d: child(d, "operation").replace(
        child(d, "operation.numUnique"), E("codeTerritoire", "057"))))


def gptype_cases(corpus: Corpus) -> None:
    valid, invalid = verdicts(corpus, "gptype")
    maximal, minimal = event_types_file(), event_types_file(full=False)
    event_type = "listeTypesEvenements.typeEvenement"

    def required_only(document: etree._Element) -> None:
        entry = child(document, event_type)
        entry[:] = list(entry)[:7]

    valid("header-only", minimal)
    valid("operation-only", changed(minimal, lambda d: d.append(E("operation", E("codeTerritoire", "2A")))))
    valid("event-type-required-only", changed(maximal, required_only))
    valid("event-types-repeated", changed(maximal, lambda d: child(d, "listeTypesEvenements").append(
        copy.deepcopy(child(d, event_type)))))
    valid("three-letter-file-type", changed(maximal, lambda d: setattr(child(d, "entete.typeFichier"), "text", "TEV")))
    invalid("empty-event-types", changed(maximal, lambda d: child(d, "listeTypesEvenements").clear()))
    invalid("empty-label", changed(maximal, lambda d: child(d, f"{event_type}.libelleTypeEvenement").clear()))
    invalid("label-as-text", changed(maximal, lambda d: [
        child(d, f"{event_type}.libelleTypeEvenement").clear(),
        setattr(child(d, f"{event_type}.libelleTypeEvenement"), "text", "Visite")]))
    invalid("empty-operation", changed(maximal, lambda d: child(d, "operation").clear()))


def build_corpus() -> list[Case]:
    corpus = Corpus()
    interface_nuu_cases(corpus, "v0201")
    interface_nuu_cases(corpus, "v0200")
    doublon_cases(corpus)
    service_cases(corpus, "recherche", search_file)
    recherche_cases(corpus)
    service_cases(corpus, "gpevt", events_file)
    gpevt_cases(corpus)
    service_cases(corpus, "gptype", event_types_file)
    gptype_cases(corpus)
    return corpus.cases


CORPUS = build_corpus()
