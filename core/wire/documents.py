"""Supporting documents on the wire: the answer file of PiecesJustificativesImplService (InterfaceNuuPieces).

The service's requests are flat SOAP parameters (the WSDL's schema checks them before this code
runs); its answers carry an XML file, as the SNE's services do, listing documents (``piece``) or
journal events (``evenement``) in the namespace of the SNE's files.
"""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from core.domain.documents import TYPES, Category, Document, DocumentState, JournalLine, Metadata, Profile, Relevance
from core.domain.errors import InvalidDocumentMetadata

from .codec import NS

PIECES_FILE = "InterfaceNuuPieces_v0100.xsd"
VERSION = "01.00"
STATES = {DocumentState.ACTIVE: "active", DocumentState.QUARANTINED: "quarantaine"}


def metadata_of(category: str | None, type_code: str | None, relevance: str | None,
                valid_until: str | None) -> Metadata:
    """A request's description of a document (absent relevance: "non vérifié")."""
    try:
        day = date.fromisoformat(valid_until) if valid_until else None
    except ValueError:
        raise InvalidDocumentMetadata(f"Date de fin de validité invalide : {valid_until[:20]}",
                                      "dateFinValidite") from None
    return Metadata(category or "", type_code or "", relevance or Relevance.NOT_VERIFIED.value, day)


def profile_of(text: str | None) -> Profile | None:
    return Profile(text) if text else None


def pieces_file(number: str, profile: Profile, now: datetime, documents: list[Document] = (),
                readable: set[str] = frozenset(), events: list[JournalLine] = ()) -> bytes:
    """The answer file: the documents the profile sees (with whether it may read each), or events."""
    root = etree.Element(_q("piecesJustificatives"), nsmap={None: NS}, versionInterface=VERSION)
    _add(root, "numUnique", number)
    _add(root, "dateFichier", _moment(now))
    _add(root, "profil", profile.value)
    for document in documents:
        _piece(root, document, document.id in readable)
    for event in events:
        element = etree.SubElement(root, _q("evenement"))
        for name, value in (("idPiece", event.document_id), ("codeCategorie", event.category),
                            ("codeType", event.type), ("typeEvenement", event.event.value),
                            ("libelleEvenement", event.event.label), ("dateEvenement", _moment(event.at)),
                            ("guichet", event.actor), ("empreinteSha256", event.sha256),
                            ("description", event.description)):
            if value is not None:
                _add(element, name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _piece(root: etree._Element, document: Document, readable: bool) -> None:
    metadata = document.metadata
    element = etree.SubElement(root, _q("piece"))
    for name, value in (
        ("idPiece", document.id), ("codeCategorie", metadata.category),
        ("libelleCategorie", Category(metadata.category).label), ("codeType", metadata.type),
        ("libelleType", TYPES[metadata.type].label), ("indicePertinence", metadata.relevance),
        ("dateFinValidite", metadata.valid_until.isoformat() if metadata.valid_until else None),
        ("libelle", document.label), ("typeMime", document.media_type), ("taille", str(document.size)),
        ("empreinteSha256", document.sha256), ("sensible", _boolean(document.sensitive)),
        ("consultable", _boolean(readable)), ("etat", STATES[document.state]),
        ("dateCreation", _moment(document.created_at)), ("guichetCreation", document.created_by),
        ("dateDerniereModification", _moment(document.changed_at)),
        ("guichetDerniereModification", document.changed_by), ("derniereModification", document.last_event.value),
    ):
        if value is not None:
            _add(element, name, value)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, _q(name)).text = text


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def _boolean(value: bool) -> str:
    return "true" if value else "false"
