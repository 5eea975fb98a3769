"""Typed business errors, each with a stable code and the property it concerns.

Channels turn them into the SNE's ``listeAnomalie/anomalie`` (``code``, ``propriete``, ``message``):
codes are at most 10 characters, as the interface allows, and never change meaning once published
(docs/ANOMALIES.md lists them). Messages are French because they reach counter staff as they are.

Properties are wire paths (``personnePhysique.demandeur.dateNaissance``), computed from the model's
vocabulary (:func:`core.domain.vocabulary.wire_path`), so channels pass them on unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

from .vocabulary import RegistryNames


@dataclass(frozen=True)
class Anomaly:
    """One problem found in a request, as the register reports it."""

    code: str
    message: str
    property: str | None = None
    complements: tuple[tuple[str, str], ...] = ()


class RegisterError(Exception):
    """Base of every refusal by the register. ``code`` is stable and documented."""

    code: ClassVar[str] = "NUU000"
    title: ClassVar[str] = "Erreur du registre"

    def __init__(self, message: str | None = None, property: str | None = None):
        self.message = message or self.title
        self.property = property
        super().__init__(self.message)

    @property
    def anomalies(self) -> list[Anomaly]:
        return [Anomaly(self.code, self.message, self.property)]


class InvalidContent(RegisterError):
    """The file breaks one or more content rules; every anomaly found is reported at once."""

    code = "NUU100"
    title = "Contenu de la demande invalide"

    def __init__(self, anomalies: Sequence[Anomaly]):
        if not anomalies:
            raise ValueError("InvalidContent needs at least one anomaly")
        self._anomalies = list(anomalies)
        first = self._anomalies[0]
        super().__init__(first.message, first.property)

    @property
    def anomalies(self) -> list[Anomaly]:
        return list(self._anomalies)


# Content anomalies, collected by validation into InvalidContent.
UNKNOWN_CODE = "NUU101"
MISSING_VALUE = "NUU102"
INVALID_VALUE = "NUU103"
INCONSISTENT_VALUES = "NUU104"
TOO_MANY_VALUES = "NUU105"
# Not a refusal: the last anomaly of an answer that found more than MAX_REPORTED.
NOT_REPORTED = "NUU108"
MAX_REPORTED = 100  # anomalies in one answer (docs/REGISTER.md, "Content rules")


def reported(anomalies: Sequence[Anomaly]) -> list[Anomaly]:
    """The anomalies an answer carries: all of them up to MAX_REPORTED; beyond, the first
    MAX_REPORTED - 1 and a last one saying how many more were found. Neither answer format has a
    place to say that a list was cut (``listeAnomalie`` holds nothing but anomalies), hence one more
    anomaly, with the count also in a ``complement`` for software."""
    if len(anomalies) <= MAX_REPORTED:
        return list(anomalies)
    kept = list(anomalies[:MAX_REPORTED - 1])
    left = len(anomalies) - len(kept)
    return kept + [Anomaly(NOT_REPORTED, f"{left} autres anomalies non reportées : au plus {MAX_REPORTED} par "
                                         "réponse", None, (("nombre", str(left)),))]


class UnsupportedFile(RegisterError):
    """A file type or block the operation does not take (a DIS file sent to getNumUnique…)."""

    code = "NUU106"
    title = "Type de fichier ou bloc non accepté pour cette opération"


class InvalidSearch(RegisterError):
    code = "NUU107"
    title = "Critère de recherche invalide"


class InvalidNumber(RegisterError):
    code = "NUU110"
    title = "Numéro unique mal formé"


class ApplicationNotFound(RegisterError):
    code = "NUU111"
    title = "Aucune demande ne porte ce numéro unique"


class InvalidDate(RegisterError):
    code = "NUU112"
    title = "Date de dépôt ou de renouvellement invalide"


@dataclass(frozen=True)
class DuplicateCandidate:
    """An active application that seems to be the same household's."""

    number: str
    person_role: str  # "applicant" or "co_applicant"


class DuplicateSuspected(RegisterError):
    code = "NUU120"
    title = "Doublon probable : une demande active existe pour la même personne"

    def __init__(self, candidates: Sequence[DuplicateCandidate], property: str | None = None):
        self.candidates = list(candidates)
        super().__init__(f"{self.title} ({', '.join(self.numbers)}). Pour l'enregistrer malgré tout, forcer le "
                         "doublon.", property)

    @property
    def numbers(self) -> list[str]:
        """Each candidate application once, in order (two of its adults may match two of the file's)."""
        return list(dict.fromkeys(candidate.number for candidate in self.candidates))

    @property
    def anomalies(self) -> list[Anomaly]:
        complements = tuple((RegistryNames.NUMBER, number) for number in self.numbers)
        return [Anomaly(self.code, self.message, self.property, complements)]


class ApplicationNotActive(RegisterError):
    code = "NUU131"
    title = "La demande n'est pas active"


class RenewalNotOpen(RegisterError):
    code = "NUU140"
    title = "Le renouvellement n'est pas encore ouvert pour cette demande"


class CancellationRefused(RegisterError):
    """The motive, its details or the date do not allow this cancellation."""

    code = "NUU150"
    title = "Radiation impossible"


class CancellationDetailsMissing(RegisterError):
    code = "NUU151"
    title = "Informations de radiation manquantes"


class ReactivationRefused(RegisterError):
    code = "NUU160"
    title = "Cette demande ne peut pas être réactivée"


class ReactivationWindowClosed(RegisterError):
    code = "NUU161"
    title = "Le délai de réactivation de la demande est dépassé"


class DeletionRefused(RegisterError):
    code = "NUU170"
    title = "Suppression impossible"


class UnknownCounter(RegisterError):
    code = "NUU180"
    title = "Guichet inconnu ou inactif"


class OutsideTerritory(RegisterError):
    code = "NUU181"
    title = "Cette opération sort du territoire du guichet"


class NotAllowed(RegisterError):
    """The counter's type does not give it this right."""

    code = "NUU182"
    title = "Opération non autorisée pour ce type de guichet"


class DaloThroughDeclarationOnly(RegisterError):
    """A CRE, CRS, MOD or REN would change informationDalo, which only the DALO declaration changes."""

    code = "NUU188"
    title = "Le statut DALO ne change que par la déclaration DALO"


class ForeignCounterFile(RegisterError):
    """The file names a counter other than the one the channel authenticated."""

    code = "NUU184"
    title = "Le fichier est au nom d'un autre guichet"


class UnknownCertificate(RegisterError):
    """No active counter holds this certificate, or it is expired, not yet valid or revoked."""

    code = "NUU185"
    title = "Certificat inconnu, expiré ou révoqué"


class ForeignCertificate(RegisterError):
    """The certificate attached to a message belongs to another counter than the sender."""

    code = "NUU186"
    title = "Le certificat joint appartient à un autre guichet"


class UnreadableCertificate(RegisterError):
    """The certificate attached to a message is neither a PEM nor a DER X.509 certificate."""

    code = "NUU187"
    title = "Certificat joint illisible : ni PEM ni DER"


class UnknownTerritory(RegisterError):
    code = "NUU183"
    title = "Territoire inconnu"


class SequenceExhausted(RegisterError):
    code = "NUU190"
    title = "Plus aucun numéro disponible pour ce territoire"


class InvalidAssociation(RegisterError):
    """CRS: the original application cannot be the source of a creation after separation."""

    code = "NUU191"
    title = "Demande d'origine invalide pour une création suite à séparation"


class ReferenceDataConflict(RegisterError):
    """Territories and counters: a code or area is already taken."""

    code = "NUU192"
    title = "Donnée de référence déjà existante"


class UnknownSubscription(RegisterError):
    """Dispatching: no such subscription for this counter (or several, and none named)."""

    code = "NUU193"
    title = "Abonnement au dispatching inconnu"


class SubscriptionRefused(RegisterError):
    """Dispatching: the channel cannot reach the counter (no endpoint, no mailbox) or the filter
    names places outside its territory."""

    code = "NUU194"
    title = "Abonnement au dispatching impossible"


class UnknownNotice(RegisterError):
    code = "NUU195"
    title = "Préavis inconnu"


class LeaseDateRefused(RegisterError):
    """RADATT: the lease is signed on or before the cancellation it ends the application with, and
    never in the future (docs/REGISTER.md, "Cancellation")."""

    code = "NUU196"
    title = "Date de signature du bail incohérente"


class InvalidPrefectDelay(RegisterError):
    """The delay a prefect set for a département: a département a territory covers, a number of months."""

    code = "NUU197"
    title = "Délai préfectoral invalide"


# -- shared management (events of an application) -------------------------------------------------

INVALID_FEATURE = "NUU202"  # content anomaly: a specific characteristic of an event


class UnknownEventType(RegisterError):
    code = "NUU200"
    title = "Type d'événement inconnu ou hors de sa période de validité"


class EventNotFound(RegisterError):
    code = "NUU201"
    title = "Aucun événement de cette demande ne porte cet identifiant"


class EventChangeRefused(RegisterError):
    """The rights table of shared management refuses this counter this event (core.domain.shared_management)."""

    code = "NUU203"
    title = "Ce guichet n'inscrit, ne modifie ou ne supprime pas cet événement"


class InvalidEvent(InvalidContent):
    """An event's content breaks the rules of its type; every anomaly found is reported at once."""

    code = "NUU204"
    title = "Événement invalide"


class EventTypeConflict(InvalidContent):
    """A territorial event type the register cannot take (invalid, or its code already taken)."""

    code = "NUU205"
    title = "Type d'événement territorial refusé"


# -- supporting documents (NUU220-NUU239) ------------------------------------------------------


class DocumentNotFound(RegisterError):
    code = "NUU220"
    title = "Aucune pièce justificative ne porte cet identifiant pour cette demande"


class DocumentRefused(RegisterError):
    """The bytes are not what a supporting document may be: its type told by its content (PDF, JPEG,
    PNG), well formed, without active content, appended archive or hidden second format."""

    code = "NUU221"
    title = "Contenu de la pièce refusé"


class DocumentTooLarge(RegisterError):
    code = "NUU222"
    title = "Pièce trop volumineuse (2 Mo au plus)"


class DocumentLimitReached(RegisterError):
    code = "NUU223"
    title = "Nombre maximal de pièces de ce type atteint pour la demande"


class DocumentNotVisible(RegisterError):
    """The profile of the counter (or the one its request names) does not give this access."""

    code = "NUU224"
    title = "Le profil ne donne pas accès à cette pièce"


class InvalidDocumentMetadata(RegisterError):
    """Category, type, relevance or end of validity outside the classification plan."""

    code = "NUU225"
    title = "Description de la pièce invalide"


class DocumentStateConflict(RegisterError):
    code = "NUU226"
    title = "Opération impossible dans l'état de la pièce"


class DocumentUnreadable(RegisterError):
    """The stored bytes fail their authentication or their hash: they were altered or the key is gone."""

    code = "NUU227"
    title = "Pièce illisible dans le stockage : contenu altéré ou clé absente"


def catalogue() -> list[tuple[str, str]]:
    """(code, French title) for every error class and content anomaly, sorted by code."""
    rows = {cls.code: cls.title for cls in _all_subclasses(RegisterError)}
    rows[RegisterError.code] = RegisterError.title
    rows.update(
        {
            UNKNOWN_CODE: "Code absent de la liste de codes",
            MISSING_VALUE: "Valeur obligatoire manquante",
            INVALID_VALUE: "Valeur invalide",
            INCONSISTENT_VALUES: "Valeurs incohérentes entre elles",
            TOO_MANY_VALUES: "Trop de valeurs",
            INVALID_FEATURE: "Caractéristique spécifique d'événement invalide",
            NOT_REPORTED: f"Anomalies suivantes non reportées (au plus {MAX_REPORTED} par réponse)",
        }
    )
    return sorted(rows.items())


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found
