"""The interface's operations as a counter calls them, and how the kit reads their answers.

Each reader fails the check with what the server said (status, fault code) when the answer is not
the one expected, and hands every file it finds to the run's ``FileLedger`` for schema validation.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from .schemas import DUPLICATES_FILE, SEARCH_FILE, FileLedger
from .wire import DEMANDE, FILES_NS, GESTION, RECHERCHE, Client, Reply

N = f"{{{FILES_NS}}}"


def get_num_unique(client: Client, file: bytes, mtom: bool = True) -> Reply:
    return client.call(DEMANDE, "getNumUnique", "numUniqueParametres", [
        ("nomFichierDemande", f"DEMKIT-{datetime.now():%Y%m%d%H%M}-000001.xml"), ("fichierDemande", file),
        ("nomCertificat", "KIT.pem"), ("certificat", b"")], mtom=mtom)


def get_demande(client: Client, number: str, mtom: bool = True) -> Reply:
    return client.call(DEMANDE, "getDemandeLogement", "demandeLogementParametres", [
        ("numUnique", number), ("nomCertificat", "KIT.pem"), ("certificat", b"")], mtom=mtom)


def get_doublons(client: Client, file: bytes, mtom: bool = True) -> Reply:
    return client.call(DEMANDE, "getDoublons", "rechercheDoublonsParametres",
                       [("nomFichierDemande", "DEMKIT.xml"), ("fichierDemande", file)], mtom=mtom)


def declare_dalo(client: Client, file: bytes) -> Reply:
    return client.call(DEMANDE, "getDeclarationNouveauDalo", "declarationNouveauDaloParametres", [
        ("nomFichierDalo", "DALOKIT.xml"), ("fichierDalo", file), ("nomCertificat", "KIT.pem"), ("certificat", b"")])


def cancelled_since(client: Client, since: datetime) -> Reply:
    return client.call(DEMANDE, "getDemandesRadieesDepuisLe", "demandesRadieesDepuisLeParametres", [
        ("dateRadiationDepuisLe", since.isoformat()), ("nomCertificat", "KIT.pem"), ("certificat", b"")])


def new_dalo_since(client: Client, since: datetime) -> Reply:
    return client.call(DEMANDE, "getNouveauxDaloDepuisLe", "nouveauxDaloDepuisLeParametres", [
        ("dateNouveauDaloDepuisLe", since.isoformat()), ("nomCertificat", "KIT.pem"), ("certificat", b"")])


def search(client: Client, file: bytes) -> Reply:
    return client.call(RECHERCHE, "rechercheDemandeMulticritere", "fichierXmlParametres", [
        ("nomFichier", "RECHKIT.xml"), ("fichierXml", file), ("nomCertificat", "KIT.pem")])


def shared_management(client: Client, operation: str, file: bytes) -> Reply:
    """One of GestionPartageeEVTImplService's six operations: same message, the SOAP action names it."""
    return client.call(GESTION, operation, "fichierXmlParametres", [
        ("nomFichier", "GPKIT.xml"), ("fichierXml", file), ("nomCertificat", "KIT.pem")])


# -- reading answers -------------------------------------------------------------------------------


def answered(reply: Reply, what: str) -> Reply:
    """``reply`` if it is an HTTP 200 SOAP answer; else the check fails saying what came instead."""
    assert reply.envelope is not None, f"{what}: HTTP {reply.status}, not a SOAP envelope: {reply.body[:300]!r}"
    assert reply.status == 200 and not reply.is_fault, f"{what}: expected an answer, got {reply.describe()}"
    return reply


def answer_file(reply: Reply, ledger: FileLedger, what: str, name: str = "fichierDemande") -> etree._Element:
    """The application file in field ``name`` of an answer, validated by the ledger."""
    data = answered(reply, what).field(name)
    assert data, f"{what}: the answer carries no {name}"
    return ledger.application(f"{what}, {name}", data)


def search_answer(reply: Reply, ledger: FileLedger, what: str, name: str = "fichierXmlRetour") -> etree._Element:
    data = answered(reply, what).field(name)
    assert data, f"{what}: the answer carries no {name}"
    return ledger.check(f"{what}, {name}", SEARCH_FILE, data)


def duplicates_list(reply: Reply, ledger: FileLedger, what: str) -> etree._Element | None:
    data = answered(reply, what).field("listeDoublons")
    return ledger.check(f"{what}, listeDoublons", DUPLICATES_FILE, data) if data else None


def anomalies(answer: etree._Element) -> list[tuple[str | None, str | None]]:
    return [(anomaly.get("code"), anomaly.get("propriete")) for anomaly in answer.iter(f"{N}anomalie")]


def codes(answer: etree._Element) -> list[str | None]:
    return [code for code, _ in anomalies(answer)]


def numbers(answer: etree._Element) -> list[str]:
    """The ``listeDemandes`` of a search-style answer, in order."""
    return [element.text for element in answer.findall(f"{N}listeDemandes/{N}numUnique")]


def number_of(answer: etree._Element) -> str | None:
    return answer.findtext(f".//{N}demandeLogement/{N}numUnique")
