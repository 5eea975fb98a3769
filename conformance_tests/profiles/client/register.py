"""The SNE the conformance endpoint plays: realistic RET files, and the anomalies the scenarios call for.

The kit's register is in memory and as small as the scenarios need: a CRE gets a number drawn by the
kit and an attestation; MOD, REN and RAD need a number the kit gave; a search finds the applications
by the applicant's surname. Three households of ``scenarios.SCENARIOS`` are answered otherwise, on
purpose, so that the client's error handling is tried: the first CRE of ``FAULTED`` gets a SOAP fault
(a lost answer), the first of ``REFUSED`` a RET with an anomaly on the e-mail, each CRE of
``DUPLICATED`` without ``forcerDoublon`` a RET listing a probable duplicate.
"""

from __future__ import annotations

import random
import threading
from copy import deepcopy
from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import etree

from ..server.wire import FILES_NS, parse
from .scenarios import DUPLICATED, FAULTED, REFUSED

N = f"{{{FILES_NS}}}"
TERRITORY = "057"
# Elements that follow listeAnomalie in a demandeLogement (InterfaceNuu_common.xsd, HousingApplication).
AFTER_ANOMALIES = ("listeDoublons", "dateDerniereModificationPiece", "incrementFichier")
ATTESTATION = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


class Fault(Exception):
    """What the kit answers with a SOAP 1.2 fault: ``code`` Sender or Receiver, and why."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def surname(file: etree._Element) -> str:
    return (file.findtext(f".//{N}demandeur/{N}nom") or "").strip()


def number_of(file: etree._Element) -> str:
    return (file.findtext(f".//{N}demandeLogement/{N}numUnique") or "").strip()


def file_type(file: etree._Element) -> str:
    return (file.findtext(f"{N}entete/{N}typeFichier") or "").strip()


def forced(file: etree._Element) -> bool:
    return (file.findtext(f".//{N}demandeLogement/{N}forcerDoublon") or "").strip() == "true"


class Register:
    """The applications the kit registered during the run, by number (thread-safe)."""

    def __init__(self) -> None:
        self.applications: dict[str, etree._Element] = {}
        self.tried: set[str] = set()  # households whose first CRE was answered otherwise on purpose
        self.lock = threading.Lock()

    def submit(self, data: bytes) -> tuple[bytes, bytes | None]:
        """getNumUnique: the RET file and, for a registration, the attestation."""
        file = parse(data)
        kind, name = file_type(file), surname(file)
        with self.lock:
            if kind == "CRE":
                return self._create(file, name)
            number = number_of(file)
            if number not in self.applications:
                return ret(file, anomaly=("NUMINCONNU", "numUnique", "Numéro unique inconnu du registre")), None
            self.applications[number] = file
            return ret(file, number), None

    def _create(self, file: etree._Element, name: str) -> tuple[bytes, bytes | None]:
        if name == FAULTED and name not in self.tried:
            self.tried.add(name)
            raise Fault("Receiver", "Le registre n'a pas répondu à temps (réponse perdue)")
        if name == REFUSED and name not in self.tried:
            self.tried.add(name)
            return ret(file, anomaly=("MEL", "mel", "L'adresse électronique est refusée")), None
        if name == DUPLICATED and not forced(file):
            twin = self.draw(file)
            return ret(file, anomaly=("DOUBLON", "demandeur", "Doublon probable"), duplicate_of=twin), None
        return ret(file, self.draw(file)), ATTESTATION

    def draw(self, file: etree._Element) -> str:
        """A new number in the register's format: territory, month, year, sequence, counter."""
        now = datetime.now(ZoneInfo("Europe/Paris"))
        counter = (file.findtext(f".//{N}numGuichet") or "KIT01").strip()[:5]
        number = f"{TERRITORY}{now:%m%y}{random.randrange(10**6):06d}{counter}"
        self.applications[number] = file
        return number

    def read(self, number: str) -> bytes:
        with self.lock:
            if number not in self.applications:
                raise Fault("Sender", "Numéro unique inconnu du registre")
            return ret(self.applications[number], number)

    def search(self, data: bytes) -> bytes:
        """rechercheDemandeMulticritere by ``personneRecherchee/nom``: the request with ``listeDemandes``."""
        request = parse(data)
        wanted = (request.findtext(f".//{N}personneRecherchee/{N}nom") or "").strip()
        with self.lock:
            found = [number for number, file in self.applications.items() if surname(file) == wanted]
        answer = deepcopy(request)
        answer.find(f"{N}entete/{N}typeFichier").text = "RET"
        if found:
            listed = etree.SubElement(answer, f"{N}listeDemandes")
            for number in found:
                etree.SubElement(listed, f"{N}numUnique").text = number
        return etree.tostring(answer, xml_declaration=True, encoding="UTF-8")


def ret(file: etree._Element, number: str | None = None, anomaly: tuple[str, str, str] | None = None,
        duplicate_of: str | None = None) -> bytes:
    """The file as received, typed RET, with its number, or an anomaly (and the probable duplicate)."""
    answer = deepcopy(file)
    answer.find(f"{N}entete/{N}typeFichier").text = "RET"
    application = answer.find(f".//{N}demandeLogement")
    if number and application.find(f"{N}numUnique") is None:
        application.find(f"{N}numGuichet").addnext(etree.Element(f"{N}numUnique"))
    if number:
        application.find(f"{N}numUnique").text = number
    if anomaly:
        code, property_, message = anomaly
        listed = etree.Element(f"{N}listeAnomalie")
        entry = etree.SubElement(listed, f"{N}anomalie", code=code, propriete=property_)
        etree.SubElement(entry, f"{N}message").text = message
        _insert_anomalies(application, listed)
        if duplicate_of:
            listed.addnext(_duplicates(application, duplicate_of))
    return etree.tostring(answer, xml_declaration=True, encoding="UTF-8")


def _insert_anomalies(application: etree._Element, listed: etree._Element) -> None:
    following = [child for child in application if etree.QName(child).localname in AFTER_ANOMALIES]
    if following:
        following[0].addprevious(listed)
    else:
        application.append(listed)


def _duplicates(application: etree._Element, number: str) -> etree._Element:
    """``listeDoublons`` naming one registered application of the same applicant (Doublon_V0200.xsd)."""
    applicant = application.find(f".//{N}demandeur")
    listed = etree.Element(f"{N}listeDoublons")
    twin = etree.SubElement(listed, f"{N}doublon")
    etree.SubElement(twin, f"{N}numUnique").text = number
    person = etree.SubElement(twin, f"{N}demandeur")
    for name in ("civilite", "nom", "prenom", "dateNaissance"):
        found = applicant.find(f"{N}{name}")
        if found is not None:
            person.append(deepcopy(found))
    address = etree.SubElement(person, f"{N}adressePostale")
    postal = applicant.find(f"{N}adressePostale")
    for name in ("codePostal", "commune"):
        found = postal.find(f"{N}{name}") if postal is not None else None
        if found is not None:
            address.append(deepcopy(found))
    etree.SubElement(twin, f"{N}listeLocalisationSouhaitee")
    return listed
