"""The SNE's operations in spyne: message shapes of our WSDL, each handed to core.wire.

spyne reads the (already unpacked, already checked) SOAP 1.2 body into the classes below and
writes the answer; each operation only translates to a :mod:`core.wire.processing` call and back.
Behind the gate, getNumUnique is answered without spyne, in the same bytes (:mod:`hub.direct`);
its operation here still describes it, and answers when spyne is called on its own.
Children of the SNE's messages are unqualified (``elementFormDefault="unqualified"``), hence
``sub_ns=""`` on every member.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
from datetime import datetime
from typing import Callable

import spyne.const
from spyne import (
    Application,
    Boolean,
    ByteArray,
    ComplexModel,
    DateTime,
    Fault,
    Integer,
    Long,
    ServiceBase,
    Unicode,
    XmlAttribute,
    rpc,
)
from spyne.protocol.soap import Soap12

from core.domain.calendar import PARIS, now_in_paris
from core.domain.documents import JournalEvent, JournalQuery, Profile
from core.domain.errors import RegisterError
from core.domain.numbers import RegistrationNumber
from core.service_layer import dispatching, documents
from core.wire import documents as document_files
from core.wire import lists, processing, search, shared_management
from core.wire.codec import parse_datetime
from core.wire.dispatch import wire_item
from core.wire.processing import FileRefused

from .identity import Caller, attached_certificate, caller_of

log = logging.getLogger(__name__)

NS = "http://ws.metier.nuu.application.i2/"
Text = Unicode(sub_ns="")
Binary = ByteArray(sub_ns="")


class CodeElement(ComplexModel):
    __namespace__ = NS
    __type_name__ = "codeElement"
    _type_info = [("code", XmlAttribute(Unicode))]


Code = CodeElement.customize(sub_ns="")


class _Message(ComplexModel):
    __namespace__ = NS


def _shape(type_name: str, members: list[tuple[str, type]]) -> type:
    return type(type_name, (_Message,), {"__type_name__": type_name, "_type_info": members})


NumUniqueIn = _shape("NumUniqueIn", [("nomFichierDemande", Text), ("fichierDemande", Binary),
                                     ("nomCertificat", Text), ("certificat", Binary), ("complet", Text)])
NumUniqueOut = _shape("NumUniqueOut", [("nomFichierDemande", Text), ("fichierDemande", Binary),
                                       ("nomAttestation", Text), ("attestation", Binary)])
DemandeIn = _shape("DemandeIn", [("numUnique", Text), ("nomCertificat", Text), ("certificat", Binary),
                                 ("complet", Text)])
DemandeOut = _shape("DemandeOut", [("nomFichierDemande", Text), ("fichierDemande", Binary)])
DoublonsIn = _shape("DoublonsIn", [("nomFichierDemande", Text), ("fichierDemande", Binary)])
DoublonsOut = _shape("DoublonsOut", [("nomFichierDoublons", Text), ("listeDoublons", Binary),
                                     ("nomFichierDemande", Text), ("fichierDemande", Binary)])
DaloIn = _shape("DaloIn", [("nomFichierDalo", Text), ("fichierDalo", Binary), ("nomCertificat", Text),
                           ("certificat", Binary)])
DaloOut = _shape("DaloOut", [("nomFichierDalo", Text), ("fichierDalo", Binary)])
# Moments are read by the codec (24:00:00, any fraction digits), already checked by the gate.
RadieesIn = _shape("RadieesIn", [("dateRadiationDepuisLe", Text), ("motifRadiation", Code),
                                 ("statutDalo", Code), ("typeReservataire", Code), ("nomCertificat", Text),
                                 ("certificat", Binary)])
RadieesOut = _shape("RadieesOut", [("nomFichierDemandesRadiees", Text), ("fichierDemandesRadiees", Binary)])
NouveauxDaloIn = _shape("NouveauxDaloIn", [("dateNouveauDaloDepuisLe", Text),
                                           ("nomCertificat", Text), ("certificat", Binary)])
NouveauxDaloOut = _shape("NouveauxDaloOut", [("nomFichierNouveauxDalo", Text), ("fichierNouveauxDalo", Binary)])
RechercheIn = _shape("RechercheIn", [("nomFichier", Text), ("fichierXml", Binary), ("nomCertificat", Text)])
RechercheOut = _shape("RechercheOut", [("nomFichierXmlRetour", Text), ("fichierXmlRetour", Binary)])
Dispatch = _shape("dispatch", [("sequence", Long(sub_ns="")), ("typeChangement", Text), ("numUnique", Text),
                               ("version", Integer(sub_ns="")), ("dateChangement", DateTime(sub_ns="")),
                               ("guichetOrigine", Text), ("nomFichier", Text), ("fichierDis", Binary)])
DispatchDepuisIn = _shape("DispatchDepuisIn", [("curseur", Long(sub_ns="")), ("abonnement", Long(sub_ns="")),
                                               ("nombreMax", Integer(sub_ns=""))])
DispatchDepuisOut = _shape("DispatchDepuisOut", [
    ("guichet", Text), ("abonnement", Long(sub_ns="")), ("derniereSequence", Long(sub_ns="")),
    ("complet", Boolean(sub_ns="")), ("dispatch", Dispatch.customize(sub_ns="", max_occurs="unbounded"))])

# PiecesJustificativesImplService: sne-hub's own (wsdl/PiecesJustificativesImplService.wsdl).
_ReturnedFile = [("nomFichierXmlRetour", Text), ("fichierXmlRetour", Binary)]
DeposerPieceIn = _shape("DeposerPieceIn", [
    ("numUnique", Text), ("codeCategorie", Text), ("codeType", Text), ("indicePertinence", Text),
    ("dateFinValidite", Text), ("profil", Text), ("nomFichierPiece", Text), ("fichierPiece", Binary)])
DeposerPieceOut = _shape("DeposerPieceOut", _ReturnedFile)
ListerPiecesIn = _shape("ListerPiecesIn", [("numUnique", Text), ("profil", Text),
                                           ("quarantaine", Boolean(sub_ns=""))])
ListerPiecesOut = _shape("ListerPiecesOut", _ReturnedFile)
LirePieceIn = _shape("LirePieceIn", [("numUnique", Text), ("idPiece", Text), ("profil", Text)])
LirePieceOut = _shape("LirePieceOut", [("nomFichierPiece", Text), ("typeMime", Text), ("empreinteSha256", Text),
                                       ("fichierPiece", Binary)])
ModifierPieceIn = _shape("ModifierPieceIn", [
    ("numUnique", Text), ("idPiece", Text), ("codeCategorie", Text), ("codeType", Text), ("indicePertinence", Text),
    ("dateFinValidite", Text), ("profil", Text)])
ModifierPieceOut = _shape("ModifierPieceOut", _ReturnedFile)
SupprimerPieceIn = _shape("SupprimerPieceIn", [("numUnique", Text), ("idPiece", Text), ("motifSuppression", Text),
                                               ("profil", Text)])
SupprimerPieceOut = _shape("SupprimerPieceOut", _ReturnedFile)
RestaurerPieceIn = _shape("RestaurerPieceIn", [("numUnique", Text), ("idPiece", Text), ("profil", Text)])
RestaurerPieceOut = _shape("RestaurerPieceOut", _ReturnedFile)
JournalPiecesIn = _shape("JournalPiecesIn", [
    ("numUnique", Text), ("codeCategorie", Text), ("codeType", Text), ("typeEvenement", Text), ("dateDebut", Text),
    ("dateFin", Text), ("profil", Text)])
JournalPiecesOut = _shape("JournalPiecesOut", _ReturnedFile)

# The SNE's own wording, which existing clients recognise.
INTERNAL_ERROR = "Une erreur inattendue est survenue lors du traitement de la demande."

# Elements of answers that carry files: MTOM moves them out of the envelope when the request used it.
BINARY_ANSWERS = {"fichierDemande", "attestation", "listeDoublons", "fichierDalo", "fichierDemandesRadiees",
                  "fichierNouveauxDalo", "fichierXmlRetour", "fichierDis", "fichierPiece"}


def operation(in_type: type, out_type: type, in_name: str, out_name: str):
    """An SNE operation. Refusals without an answer file become Sender faults with their code; an
    unexpected error becomes a Receiver fault, logged without any data."""
    declare = rpc(in_type, _returns=out_type, _body_style="bare", _in_message_name=in_name,
                  _out_message_name=out_name)

    def decorate(function):
        @functools.wraps(function)
        def guarded(ctx, request):
            try:
                return function(ctx, request)
            except Fault:
                raise
            except FileRefused as refused:
                raise _refusal(refused.code, refused.message, refused.details) from None
            except RegisterError as refusal:
                raise _refusal(refusal.code, refusal.message) from None
            except Exception as error:  # its message may quote a file: only the type is logged
                log.error("internal error in %s: %s", function.__name__, type(error).__name__)
                raise Fault(faultcode="Server.HUB-INTERNE", faultstring=INTERNAL_ERROR, lang="fr") from None
        return declare(guarded)

    return decorate


def _bytes(value) -> bytes:
    """spyne hands ByteArray values as a sequence of chunks."""
    return b"".join(value) if value else b""


def _refusal(code: str, message: str, details: list[str] = ()) -> Fault:
    detail = {f"{{{NS}}}demandeLogementException": {"message": refusal_text(code, message, details)}}
    return Fault(faultcode=f"Client.{code}", faultstring=message, detail=detail, lang="fr")


def refusal_text(code: str, message: str, details: list[str] = ()) -> str:
    """A refusal's detail message. The code goes in the detail too ("CODE : message", as SNE clients
    print anomalies): some stacks (PHP's SoapClient) do not expose a SOAP 1.2 Subcode."""
    return " | ".join([f"{code} : {message}", *details])[:4000]


def answer_name(prefix: str, counter: str, now: datetime, extension: str = "xml") -> str:
    """The name of a file the hub answers with: prefix, counter, minute, then seconds and microseconds
    (one ``strftime``: each costs about 3 µs, and a registration names two files)."""
    return f"{prefix}{counter}-{now.strftime('%Y%m%d%H%M-%S%f')}.{extension}"


def _answer_name(prefix: str, caller: Caller, now: datetime, extension: str = "xml") -> str:
    return answer_name(prefix, caller.counter, now, extension)


class DemandeLogement(ServiceBase):
    """DemandeLogementImplService."""

    @operation(NumUniqueIn, NumUniqueOut, "numUniqueParametres", "numUniqueReponse")
    def getNumUnique(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        attached = attached_certificate(caller, _bytes(request.certificat), now)
        answer = processing.process(caller.unit_of_work, caller.counter, _bytes(request.fichierDemande), now,
                                    attached=attached)
        reply = NumUniqueOut(nomFichierDemande=_answer_name("RET", caller, now), fichierDemande=[answer.file])
        if answer.attestation is not None:
            reply.nomAttestation = _answer_name("ATT", caller, now, "pdf")
            reply.attestation = [answer.attestation]
        return reply

    @operation(DemandeIn, DemandeOut, "demandeLogementParametres", "demandeLogementReponse")
    def getDemandeLogement(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        processing.check_attached(caller.counter, attached_certificate(caller, _bytes(request.certificat), now))
        file = processing.application_answer(caller.unit_of_work, caller.counter, request.numUnique or "", now)
        return DemandeOut(nomFichierDemande=_answer_name("RET", caller, now), fichierDemande=[file])

    @operation(DoublonsIn, DoublonsOut, "rechercheDoublonsParametres", "rechercheDoublonsReponse")
    def getDoublons(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        duplicates, echoed = processing.duplicates_answer(caller.unit_of_work, caller.counter,
                                                          _bytes(request.fichierDemande), now)
        reply = DoublonsOut(nomFichierDemande=_answer_name("RET", caller, now), fichierDemande=[echoed])
        if duplicates is not None:
            reply.nomFichierDoublons = _answer_name("DBL", caller, now)
            reply.listeDoublons = [duplicates]
        return reply

    @operation(DaloIn, DaloOut, "declarationNouveauDaloParametres", "declarationNouveauDaloReponse")
    def getDeclarationNouveauDalo(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        processing.check_attached(caller.counter, attached_certificate(caller, _bytes(request.certificat), now))
        file = processing.dalo_answer(caller.unit_of_work, caller.counter, _bytes(request.fichierDalo), now)
        return DaloOut(nomFichierDalo=_answer_name("RET", caller, now), fichierDalo=[file])

    @operation(RadieesIn, RadieesOut, "demandesRadieesDepuisLeParametres", "demandesRadieesDepuisLeReponse")
    def getDemandesRadieesDepuisLe(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        processing.check_attached(caller.counter, attached_certificate(caller, _bytes(request.certificat), now))
        file = lists.cancelled_since_answer(
            caller.unit_of_work, caller.counter, _aware(request.dateRadiationDepuisLe), now,
            motive=_code(request.motifRadiation), dalo_status=_code(request.statutDalo),
            reservation_quota=_code(request.typeReservataire))
        return RadieesOut(nomFichierDemandesRadiees=_answer_name("RAD", caller, now), fichierDemandesRadiees=[file])

    @operation(NouveauxDaloIn, NouveauxDaloOut, "nouveauxDaloDepuisLeParametres", "nouveauxDaloDepuisLeReponse")
    def getNouveauxDaloDepuisLe(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        processing.check_attached(caller.counter, attached_certificate(caller, _bytes(request.certificat), now))
        file = lists.new_dalo_since_answer(caller.unit_of_work, caller.counter,
                                           _aware(request.dateNouveauDaloDepuisLe), now)
        return NouveauxDaloOut(nomFichierNouveauxDalo=_answer_name("DAL", caller, now), fichierNouveauxDalo=[file])


class RechercheDemande(ServiceBase):
    """RechercheDemandeImplService."""

    @operation(RechercheIn, RechercheOut, "fichierXmlParametres", "fichierXmlReponse")
    def rechercheDemandeMulticritere(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        file = search.search_answer(caller.unit_of_work, caller.counter, _bytes(request.fichierXml), now)
        return RechercheOut(nomFichierXmlRetour=_answer_name("RET", caller, now), fichierXmlRetour=[file])


# GestionPartageeEVTImplService: six operations on the same message (fichierXmlParametres), as in the
# ministry's WSDL; the gate resolved which one from the SOAP action (hub/gate.py, Gate._named).
SHARED_MANAGEMENT = {
    "ajouterEvenementDemande": ("EVT", shared_management.add_answer),
    "modifierEvenementDemande": ("EVT", shared_management.change_answer),
    "supprimerEvenementDemande": ("EVT", shared_management.delete_answer),
    "listerEvenementsDemande": ("EVT", shared_management.list_answer),
    "listerTypesEvenementsNationaux": ("TEV", shared_management.national_types_answer),
    "listerTypesEvenementsTerritoriaux": ("TEV", shared_management.territorial_types_answer),
}


class GestionPartageeEVT(ServiceBase):
    """GestionPartageeEVTImplService: the events of applications (shared management)."""

    @operation(RechercheIn, RechercheOut, "fichierXmlParametres", "fichierXmlReponse")
    def gestionPartageeEVT(ctx, request):
        caller = caller_of(ctx)
        now = now_in_paris()
        prefix, answer = SHARED_MANAGEMENT[ctx.transport.req_env[OPERATION_KEY]]
        file = answer(caller.unit_of_work, caller.counter, _bytes(request.fichierXml), now)
        return RechercheOut(nomFichierXmlRetour=_answer_name(prefix, caller, now), fichierXmlRetour=[file])


class DispatchDemande(ServiceBase):
    """DispatchDemandeImplService: sne-hub's own, to catch up with dispatching."""

    @operation(DispatchDepuisIn, DispatchDepuisOut, "dispatchDepuisParametres", "dispatchDepuisReponse")
    def getDispatchDepuis(ctx, request):
        caller = caller_of(ctx)
        pulled = dispatching.pull(caller.unit_of_work(readonly=True), caller.counter, request.curseur,
                                  request.abonnement, request.nombreMax or dispatching.DEFAULT_BATCH)
        items = []
        for item in pulled.items:
            element = wire_item(item, caller.counter)
            if "fichierDis" in element:
                element["fichierDis"] = [element["fichierDis"]]
            items.append(Dispatch(**element))
        return DispatchDepuisOut(guichet=caller.counter, abonnement=pulled.subscription.id,
                                 derniereSequence=pulled.last_sequence, complet=pulled.complete, dispatch=items)


class PiecesJustificatives(ServiceBase):
    """PiecesJustificativesImplService: sne-hub's own, for supporting documents (the "dossier unique")."""

    @operation(DeposerPieceIn, DeposerPieceOut, "deposerPieceParametres", "deposerPieceReponse")
    def deposerPiece(ctx, request):
        caller, store, now = caller_of(ctx), _store(ctx), now_in_paris()
        metadata = document_files.metadata_of(request.codeCategorie, request.codeType, request.indicePertinence,
                                              request.dateFinValidite)
        document = documents.deposit(caller.unit_of_work(), store, _number(request.numUnique), metadata,
                                     request.nomFichierPiece, _bytes(request.fichierPiece), caller.counter, now,
                                     document_files.profile_of(request.profil))
        return _pieces_reply(DeposerPieceOut, caller, now, document)

    @operation(ListerPiecesIn, ListerPiecesOut, "listerPiecesParametres", "listerPiecesReponse")
    def listerPieces(ctx, request):
        caller, now = caller_of(ctx), now_in_paris()
        listing = documents.list_documents(caller.unit_of_work(readonly=True), _number(request.numUnique),
                                           caller.counter, document_files.profile_of(request.profil),
                                           include_quarantined=bool(request.quarantaine))
        file = document_files.pieces_file(listing.number, listing.profile, now, listing.documents, listing.readable)
        return ListerPiecesOut(nomFichierXmlRetour=_answer_name("PJ", caller, now), fichierXmlRetour=[file])

    @operation(LirePieceIn, LirePieceOut, "lirePieceParametres", "lirePieceReponse")
    def lirePiece(ctx, request):
        caller = caller_of(ctx)
        document, content = documents.read(caller.unit_of_work(readonly=True), _store(ctx),
                                           _number(request.numUnique), request.idPiece or "", caller.counter,
                                           document_files.profile_of(request.profil))
        return LirePieceOut(nomFichierPiece=document.label, typeMime=document.media_type,
                            empreinteSha256=document.sha256, fichierPiece=[content])

    @operation(ModifierPieceIn, ModifierPieceOut, "modifierPieceParametres", "modifierPieceReponse")
    def modifierPiece(ctx, request):
        caller, now = caller_of(ctx), now_in_paris()
        metadata = document_files.metadata_of(request.codeCategorie, request.codeType, request.indicePertinence,
                                              request.dateFinValidite)
        document = documents.change(caller.unit_of_work(), _number(request.numUnique), request.idPiece or "",
                                    metadata, caller.counter, now, document_files.profile_of(request.profil))
        return _pieces_reply(ModifierPieceOut, caller, now, document)

    @operation(SupprimerPieceIn, SupprimerPieceOut, "supprimerPieceParametres", "supprimerPieceReponse")
    def supprimerPiece(ctx, request):
        caller, now = caller_of(ctx), now_in_paris()
        document = documents.delete(caller.unit_of_work(), _number(request.numUnique), request.idPiece or "",
                                    request.motifSuppression or "", caller.counter, now,
                                    document_files.profile_of(request.profil))
        return _pieces_reply(SupprimerPieceOut, caller, now, document)

    @operation(RestaurerPieceIn, RestaurerPieceOut, "restaurerPieceParametres", "restaurerPieceReponse")
    def restaurerPiece(ctx, request):
        caller, now = caller_of(ctx), now_in_paris()
        document = documents.restore(caller.unit_of_work(), _number(request.numUnique), request.idPiece or "",
                                     caller.counter, now, document_files.profile_of(request.profil))
        return _pieces_reply(RestaurerPieceOut, caller, now, document)

    @operation(JournalPiecesIn, JournalPiecesOut, "journalPiecesParametres", "journalPiecesReponse")
    def journalPieces(ctx, request):
        caller, now = caller_of(ctx), now_in_paris()
        number = _number(request.numUnique)
        query = JournalQuery(str(number), request.codeCategorie or None, request.codeType or None,
                             JournalEvent(request.typeEvenement) if request.typeEvenement else None,
                             _aware(request.dateDebut) if request.dateDebut else None,
                             _aware(request.dateFin) if request.dateFin else None)
        profile, lines = documents.counter_journal(caller.unit_of_work(readonly=True), query, caller.counter,
                                                   document_files.profile_of(request.profil))
        file = document_files.pieces_file(str(number), profile, now, events=lines)
        return JournalPiecesOut(nomFichierXmlRetour=_answer_name("PJ", caller, now), fichierXmlRetour=[file])


def _pieces_reply(out_type: type, caller: Caller, now: datetime, document):
    """A write's answer: the document as it stands, seen with the profile that wrote it (a counter's)."""
    file = document_files.pieces_file(document.number, Profile.COUNTER, now, [document], {document.id})
    return out_type(nomFichierXmlRetour=_answer_name("PJ", caller, now), fichierXmlRetour=[file])


def _store(ctx):
    return ctx.transport.req_env[DOCUMENT_STORE_KEY]


def _number(text: str | None) -> RegistrationNumber:
    return RegistrationNumber.parse(text or "")


def _code(element) -> str | None:
    return element.code if element is not None and element.code else None


def _aware(text: str) -> datetime:
    """The moment a "…DepuisLe" request names; without a time zone, Paris time, the register's."""
    moment = parse_datetime(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


# spyne runs a full garbage collection once a second per process, stalling every request in flight
# for tens of milliseconds (most of the p99 in bench/soap.py); Python's own collector suffices for
# ordinary messages, and MemoryReleased takes care of large ones.
spyne.const.MIN_GC_INTERVAL = float("inf")
LARGE_MESSAGE_BYTES = 1024 * 1024  # an SNE message is tens of kilobytes; a megabyte is already odd


class MemoryReleased:
    """A spyne WSGI application whose memory is given back after each large message.

    spyne's method contexts point at each other (reference cycles), and through them at the whole
    message: its text, its parsed document (files inlined in base64), the decoded files, the answer.
    Only a full collection frees a cycle, and Python runs one rarely in a process this size (after
    tens of requests), so large messages piled up: hundreds of megabytes after a few 10 MB requests.
    Then what was freed stays with the worker thread's malloc arena: 16 threads, each keeping the
    peak of the largest message it handled, held a gigabyte. After a message of more than
    ``large_bytes``: a full collection (tens of milliseconds, next to the second such a message takes),
    and ``malloc_trim`` (glibc; a few milliseconds), which returns the arenas' free pages to the
    system. Ordinary messages pay nothing. Figures: docs/BENCHMARKS.md, "Memory under large requests".
    """

    def __init__(self, application: Callable, large_bytes: int = LARGE_MESSAGE_BYTES):
        self.application, self.large_bytes = application, large_bytes

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        try:
            return [b"".join(self.application(environ, start_response))]  # spyne closes its contexts here
        finally:
            release_after(int(environ.get(MESSAGE_BYTES_KEY) or environ.get("CONTENT_LENGTH") or 0), self.large_bytes)


def release_after(message_bytes: int, large_bytes: int = LARGE_MESSAGE_BYTES) -> None:
    """After a message of more than ``large_bytes``: a full collection and the malloc arenas trimmed
    (why: :class:`MemoryReleased`); nothing after an ordinary one."""
    if message_bytes > large_bytes:
        gc.collect()
        _trim_malloc_arenas()


def _trim_malloc_arenas() -> None:
    """Give the C allocator's free pages back to the system, where the C library can (glibc)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # another C library: its own policy applies
        pass


# spyne logs every fault with its text, which may quote a counter's file: personal data stays out.
logging.getLogger("spyne.application.client").setLevel(logging.CRITICAL)
logging.getLogger("spyne.application.server").setLevel(logging.CRITICAL)


# What the gate hands spyne in the WSGI environ, and where spyne leaves its answer for the gate.
ENVELOPE_KEY = "sne_hub.envelope"
ANSWER_KEY = "sne_hub.answer"
MESSAGE_BYTES_KEY = "sne_hub.message_bytes"
OPERATION_KEY = "sne_hub.operation"  # the operation the gate resolved (several may share a message)
DOCUMENT_STORE_KEY = "sne_hub.document_store"
_WITH_ID = "descendant-or-self::*[@id]"  # what lxml's XMLID, which spyne parses with, collects


class GateSoap12(Soap12):
    """SOAP 1.2 as spyne speaks it, on the documents the gate already holds.

    In: the gate has parsed, bounded and checked the envelope (files inlined): spyne takes that
    element (``ENVELOPE_KEY``) instead of reading the bytes of a copy, with the same ``id``
    attributes its own parse would have collected (to resolve ``href`` references). Out: when the
    gate asks for the answer as an element (``ANSWER_KEY``, to package it as MTOM), spyne leaves its
    envelope there instead of writing it out for the gate to parse again. Without either key (spyne
    called on its own), spyne's ordinary behaviour.
    """

    def create_in_document(self, ctx, charset=None):
        envelope = ctx.transport.req_env.get(ENVELOPE_KEY)
        if envelope is None:
            return super().create_in_document(ctx, charset)
        ctx.in_document = (envelope, {element.get("id"): element for element in envelope.xpath(_WITH_ID)})

    def create_out_string(self, ctx, charset=None):
        answer = ctx.transport.req_env.get(ANSWER_KEY)
        if answer is None or ctx.out_document is None:
            return super().create_out_string(ctx, charset)
        answer["envelope"] = ctx.out_document
        ctx.out_string = [b""]


def application(service: type[ServiceBase]) -> Application:
    # Files inlined in base64 may make text nodes beyond libxml2's 10 MB default, hence huge_tree
    # (only when spyne parses on its own: behind the gate it takes the gate's document).
    return Application([service], tns=NS, name=service.__name__,
                       in_protocol=GateSoap12(validator=None, huge_tree=True),
                       out_protocol=GateSoap12(cleanup_namespaces=True))
