"""Supporting documents (pièces justificatives, the "dossier unique"): what the register keeps and who sees it.

The classification plan (plan de classement) is the SNE's: ten categories, each with its types, as
the ministry's presentation lists them. The presentation gives the codes ``IDD``/``CID`` (identity
card of the applicant) and ``LOGACT``/``JUSTL`` (rent receipt) and the relevance codes ``PR``/``IV``;
the other codes are ours (docs/REGISTER.md, "Supporting documents"). A document's bytes are not
here: they live in a document store, sealed; the register keeps what describes them and their hash.

Profiles are the presentation's: a counter that registers (``guichet``) deposits, changes,
deletes, restores and reads every document; a *consultant simple* sees the lists of non-sensitive
documents, a *consultant demande* reads the non-sensitive documents, a *consultant sensible* reads
them all. :data:`ACCESS` is the one table, tested row by row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum

from .codes import CodeList
from .errors import DocumentLimitReached, DocumentNotVisible, DocumentStateConflict, InvalidDocumentMetadata

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # the presentation: "La taille maximale par pièce est de 2 Mo"
DEFAULT_TYPE_LIMIT = 5  # documents of one type per application: ours (front and back, a few years)
LABEL_LENGTH = 100  # characters of a document's label (the client's file name, shown, never used)
EARLIEST_VALIDITY = date(2000, 1, 1)
LATEST_VALIDITY = date(2100, 12, 31)


class Category(CodeList):
    """The plan's categories, in the order of the SNE's screens."""

    APPLICANT_IDENTITY = "IDD", "Identité du demandeur"
    TAX_INCOME = "RFR", "Revenu fiscal"
    CO_APPLICANT_IDENTITY = "IDC", "Identité du conjoint ou du co-titulaire"
    PROFESSIONAL_SITUATION = "SITPRO", "Situation professionnelle"
    MONTHLY_RESOURCES = "RESMEN", "Ressources mensuelles"
    CURRENT_HOUSING = "LOGACT", "Logement actuel"
    MOTIVES = "MOTIF", "Motifs"
    DEPENDANTS = "PACH", "Personnes à charge"
    DISABILITY = "HANDI", "Complément handicap"
    INTERNAL = "DOCINT", "Documents internes"


@dataclass(frozen=True)
class DocumentType:
    """One type of the plan: its category, whether it is sensitive, how many an application holds."""

    code: str
    category: Category
    label: str
    sensitive: bool = False
    limit: int = DEFAULT_TYPE_LIMIT


_C = Category
# Sensitive: what tells of health, disability, violence or a court's decision, and the counters'
# own notes. The presentation names the profiles but not the sensitive types (docs/REGISTER.md).
TYPES: dict[str, DocumentType] = {t.code: t for t in (
    DocumentType("CID", _C.APPLICANT_IDENTITY, "Carte d'identité ou passeport du demandeur"),
    DocumentType("TSD", _C.APPLICANT_IDENTITY, "Titre de séjour du demandeur"),
    DocumentType("AVIS", _C.TAX_INCOME, "Avis d'imposition ou de non imposition (année N-2 et le cas échéant N-1) "
                                        "du demandeur et le cas échéant de son conjoint"),
    DocumentType("CIDC", _C.CO_APPLICANT_IDENTITY, "Carte d'identité ou passeport du conjoint ou co-titulaire"),
    DocumentType("TSC", _C.CO_APPLICANT_IDENTITY, "Titre de séjour du conjoint ou co-titulaire"),
    DocumentType("ATTF", _C.PROFESSIONAL_SITUATION, "Attestation de formation ou autre justificatif de situation"),
    DocumentType("CETU", _C.PROFESSIONAL_SITUATION, "Carte d'étudiant"),
    DocumentType("CTRAV", _C.PROFESSIONAL_SITUATION, "Contrat de travail ou attestation de l'employeur"),
    # "la limite pour la catégorie « fiche de paie » augmentée : jusqu'à 15 documents" (2016)
    DocumentType("FPAIE", _C.MONTHLY_RESOURCES, "Bulletin de salaire (fiche de paie)", limit=15),
    DocumentType("PREST", _C.MONTHLY_RESOURCES, "Justificatif de prestations, pensions ou allocations"),
    DocumentType("JUSTL", _C.CURRENT_HOUSING, "Quittance ou tout autre justificatif de loyer à jour"),
    DocumentType("ATTH", _C.CURRENT_HOUSING, "Attestation d'hébergement"),
    DocumentType("JMOT", _C.MOTIVES, "Justificatif du motif de la demande", sensitive=True),
    DocumentType("LIVF", _C.DEPENDANTS, "Livret de famille ou acte de naissance des personnes à charge"),
    DocumentType("JUGE", _C.DEPENDANTS, "Jugement de divorce, de séparation ou de garde", sensitive=True),
    DocumentType("HANDI", _C.DISABILITY, "Justificatif de handicap ou de perte d'autonomie", sensitive=True),
    DocumentType("NOTE", _C.INTERNAL, "Document interne du guichet", sensitive=True),
)}


class Relevance(CodeList):
    """``indicePertinence``: what a counter found when checking the document."""

    REGULATORY = "PR", "Périmètre réglementaire"
    NOT_VERIFIED = "IV", "Non vérifié"
    OUT_OF_SCOPE = "HP", "Hors périmètre réglementaire"


class DeletionMotive(CodeList):
    """Why a document is deleted (the journal keeps a code, never a free text: no personal data)."""

    OBSOLETE = "OBS", "Pièce obsolète"
    WRONG = "ERR", "Pièce erronée ou mal classée"
    UNREADABLE = "ILL", "Pièce illisible"
    DUPLICATE = "DBL", "Pièce en double"
    NOT_VERIFIED = "NV", "Non vérifié"


class DocumentState(CodeList):
    ACTIVE = "active", "Active"
    QUARANTINED = "quarantine", "En quarantaine"


class JournalEvent(CodeList):
    """The SNE's event types of a document's journal."""

    CREATION = "CRE", "Création"
    MODIFICATION = "MOD", "Modification"
    DELETION = "SUP", "Suppression"
    QUARANTINE = "QUA", "Mise en quarantaine"
    RESTORATION = "RES", "Restauration"


class Profile(CodeList):
    """Who is looking, ordered from least to most rights (a request may narrow, never widen)."""

    SIMPLE = "consultant_simple", "Consultant simple"
    APPLICATION = "consultant_demande", "Consultant demande"
    SENSITIVE = "consultant_sensible", "Consultant sensible"
    COUNTER = "guichet", "Guichet enregistreur"

    @property
    def rank(self) -> int:
        return list(Profile).index(self)


class Action(Enum):
    LIST = "lister"
    READ = "lire"
    WRITE = "modifier"  # deposit, change metadata, delete, restore


@dataclass(frozen=True)
class Access:
    """What a profile may do with non-sensitive and with sensitive documents."""

    non_sensitive: frozenset[Action]
    sensitive: frozenset[Action]


_NONE: frozenset[Action] = frozenset()
ACCESS: dict[Profile, Access] = {
    Profile.SIMPLE: Access(frozenset({Action.LIST}), _NONE),
    Profile.APPLICATION: Access(frozenset({Action.LIST, Action.READ}), _NONE),
    Profile.SENSITIVE: Access(frozenset({Action.LIST, Action.READ}), frozenset({Action.LIST, Action.READ})),
    Profile.COUNTER: Access(frozenset(Action), frozenset(Action)),
}


def allows(profile: Profile, action: Action, sensitive: bool) -> bool:
    access = ACCESS[profile]
    return action in (access.sensitive if sensitive else access.non_sensitive)


def effective_profile(granted: Profile, requested: Profile | None) -> Profile:
    """The profile a request acts with: the one it names (its user's), if within the counter's grant."""
    if requested is None:
        return granted
    if requested.rank > granted.rank:
        raise DocumentNotVisible(f"Profil {requested.label} demandé, au-delà du profil {granted.label} du guichet",
                                 "profil")
    return requested


def document_type(category: str, type_code: str) -> DocumentType:
    """The plan's type, refused unless it exists and belongs to ``category``."""
    if not Category.has(category):
        raise InvalidDocumentMetadata(f"Catégorie de pièce inconnue : {category}",
                                               "codeCategorie")
    found = TYPES.get(type_code)
    if found is None or found.category != category:
        raise InvalidDocumentMetadata(f"Type de pièce inconnu dans la catégorie {category} : "
                                                             f"{type_code}", "codeType")
    return found


def check_validity(valid_until: date | None) -> None:
    if valid_until is not None and not EARLIEST_VALIDITY <= valid_until <= LATEST_VALIDITY:
        raise InvalidDocumentMetadata("Date de fin de validité hors limites (2000 à 2100)",
                                               "dateFinValidite")


_PATH_PARTS = re.compile(r"[\\/]")


def label_of(client_name: str | None) -> str:
    """What is shown of a client's file name: its last path part, visible characters only, bounded.

    Only ever displayed: storage keys are random (a name like ``../../etc/passwd`` names nothing)."""
    name = unicodedata.normalize("NFC", client_name or "")
    name = _PATH_PARTS.split(name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] not in "CZ" or c == " ").strip(" .")
    return name[:LABEL_LENGTH] or "piece"


@dataclass(frozen=True)
class Metadata:
    """What a counter says of a document (and may change)."""

    category: str
    type: str
    relevance: str = Relevance.NOT_VERIFIED.value
    valid_until: date | None = None

    def checked(self) -> "Metadata":
        document_type(self.category, self.type)
        if not Relevance.has(self.relevance):
            raise InvalidDocumentMetadata(f"Indice de pertinence inconnu : {self.relevance}",
                                                   "indicePertinence")
        check_validity(self.valid_until)
        return self

    @property
    def sensitive(self) -> bool:
        return TYPES[self.type].sensitive


@dataclass(frozen=True)
class Document:
    """A supporting document of an application, as the register describes it."""

    id: str
    number: str
    territory: str
    metadata: Metadata
    label: str
    media_type: str
    size: int
    sha256: str
    storage_key: str
    state: DocumentState
    created_at: datetime
    created_by: str
    changed_at: datetime
    changed_by: str
    last_event: JournalEvent
    quarantined_at: datetime | None = None

    @property
    def sensitive(self) -> bool:
        return self.metadata.sensitive

    def changed(self, metadata: Metadata, actor: str, at: datetime) -> tuple["Document", list[str]]:
        """The document with new metadata, and what changed, as the journal says it."""
        if self.state is not DocumentState.ACTIVE:
            raise DocumentStateConflict("Une pièce en quarantaine se restaure avant d'être modifiée", "idPiece")
        notes = [f"Le champ {name} est passé de la valeur {old or '-'} à la valeur {new or '-'}."
                 for name, old, new in _differences(self.metadata, metadata)]
        return replace(self, metadata=metadata, changed_at=at, changed_by=actor,
                       last_event=JournalEvent.MODIFICATION), notes

    def quarantined(self, actor: str, at: datetime) -> "Document":
        if self.state is not DocumentState.ACTIVE:
            raise DocumentStateConflict("La pièce est déjà en quarantaine", "idPiece")
        return replace(self, state=DocumentState.QUARANTINED, quarantined_at=at, changed_at=at, changed_by=actor,
                       last_event=JournalEvent.QUARANTINE)

    def restored(self, actor: str, at: datetime) -> "Document":
        if self.state is not DocumentState.QUARANTINED:
            raise DocumentStateConflict("Seule une pièce en quarantaine se restaure", "idPiece")
        return replace(self, state=DocumentState.ACTIVE, quarantined_at=None, changed_at=at, changed_by=actor,
                       last_event=JournalEvent.RESTORATION)


def _differences(before: Metadata, after: Metadata) -> list[tuple[str, str | None, str | None]]:
    pairs = (("CodeCategorie", before.category, after.category), ("CodeType", before.type, after.type),
             ("IndicePertinence", before.relevance, after.relevance),
             ("DateFinValidite", _day(before.valid_until), _day(after.valid_until)))
    return [(name, old, new) for name, old, new in pairs if old != new]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def check_limit(type_code: str, active_of_type: int) -> None:
    """Refuse one more document of a type an application already holds its limit of."""
    limit = TYPES[type_code].limit
    if active_of_type >= limit:
        raise DocumentLimitReached(f"La demande compte déjà {limit} pièces de type {type_code} (au plus {limit})",
                                   "codeType")


@dataclass(frozen=True)
class JournalLine:
    """One line of a document's journal: no personal data, as the application journal."""

    document_id: str
    number: str
    territory: str
    category: str
    type: str
    event: JournalEvent
    at: datetime
    actor: str
    description: str
    sha256: str | None = None
    id: int | None = None


def journal_line(document: Document, event: JournalEvent, at: datetime, actor: str, description: str,
                 with_hash: bool = False) -> JournalLine:
    return JournalLine(document.id, document.number, document.territory, document.metadata.category,
                       document.metadata.type, event, at, actor, description,
                       document.sha256 if with_hash else None)


def describe(event: JournalEvent, metadata: Metadata, extra: str = "") -> str:
    """The journal's sentence, in the SNE's own wording."""
    what = f"une pièce de catégorie {metadata.category} et de type {metadata.type}"
    sentence = {
        JournalEvent.CREATION: f"Ajout d'{what}",
        JournalEvent.MODIFICATION: f"Modification d'{what}.",
        JournalEvent.DELETION: f"Suppression d'{what}",
        JournalEvent.QUARANTINE: f"Mise en quarantaine suite à suppression d'{what}",
        JournalEvent.RESTORATION: f"Restauration d'{what}",
    }[event]
    return f"{sentence} {extra}".strip()


@dataclass(frozen=True)
class JournalQuery:
    """The SNE's journal search: category, type, event type, a date range (each optional)."""

    number: str
    category: str | None = None
    type: str | None = None
    event: JournalEvent | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 10_000
