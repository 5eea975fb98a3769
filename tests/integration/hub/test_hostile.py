"""Hostile input over real HTTPS: the hub refuses with its documented codes, stays up, writes nothing.

Every case is a request (or a hostile connection) sent to a real hub (cheroot, TLS, client
certificates) and checked three ways:

1. the documented outcome (docs/INTERFACES.md): the SOAP 1.2 fault (HTTP status, ``Code/Value``,
   our stable code in ``Subcode/Value`` and repeated as "CODE : …" in the detail message), the
   anomaly codes inside the RET answer file for business refusals, a 404 from the router, or a
   refused TLS handshake;
2. the hub still serves: ``GET ?wsdl`` after every case, and a getDemandeLogement of a registered
   application after every group;
3. nothing was written: the row counts of applications (and their people and communes), journal and
   outbox are the same before and after each case; and no response ever carries /etc/passwd.

The families that need nothing but the wire (content types, envelopes, operations, MTOM framing,
HTTP methods and framing, DTDs and entities, nesting depth, no or untrusted client certificates,
oversized bodies) are the conformance kit's ``hostile`` profile (conformance_tests/profiles/hostile/,
run against the hub by tests/conformance/test_hostile_profile.py, which checks that they write
nothing); this module runs the rest with the kit's exchange machinery, and keeps what needs the
hub's insides: row counts case by case, its test PKI's other counters, PostgreSQL.

Cases come in groups, one test per group on SQLite; a sample of every group also runs on
PostgreSQL. ``DEFECTS`` holds the cases this suite (or a probe from outside) found wrong and that
were then fixed, each with what used to happen. Silent and slow clients are test_stalls.py's. Every
request sent is counted; the last test checks that this module sent at least 300 (the kit's profile
sends over 260 more).
"""

from __future__ import annotations

import base64
import gzip
import ssl
import zlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from conformance_tests.profiles.hostile.cases import carriers
from conformance_tests.profiles.hostile.exchange import (  # noqa: F401 - test_topology imports some from here
    BOUNDARY,
    DEMANDE_PATH,
    FOREIGN,
    MUST_UNDERSTAND,
    OWN,
    RECHERCHE_PATH,
    ROOT_HEADERS,
    SENDER,
    SENT,
    SOAP,
    SOAP_CT,
    STATE,
    XOP,
    Anomalies,
    Case,
    Context,
    Fault,
    N,
    NotUnderstood,
    Outcome,
    Plain,
    Served,
    TlsRefused,
    call,
    dalo,
    demande,
    doublons,
    envelope,
    framed,
    header_includes,
    https,
    in_chunks,
    include,
    message_body,
    multipart,
    nested,
    num_unique,
    part,
    post,
    post_multipart,
    problems_of,
    raw_exchange,
    read_payload,
    recherche,
    since,
)
from core.adapters.repository import count_rows
from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.errors import catalogue
from core.service_layer import services
from core.wire import mtom, processing
from core.wire import xml as wire_xml
from core.wire.codec import NS as FILE_NS
from hub import gate, transport
from hub.config import MAX_REQUEST_BYTES
from support.files import interface_file, long_list_file, person, today

HUB_THREADS = 4  # tests/integration/hub/conftest.py starts the hub with threads=4
TABLES = ("applications", "application_people", "application_communes", "journal", "outbox")
DOCUMENTED_CODES = (
    {gate.TOO_LARGE, gate.MEDIA_TYPE, gate.METHOD, gate.CERTIFICATE, gate.SOAP_VERSION, gate.ENVELOPE,
     gate.OPERATION, gate.MESSAGE, mtom.INVALID, mtom.MISSING_PART, mtom.BAD_ENCODING, wire_xml.NOT_WELL_FORMED,
     wire_xml.DTD_FORBIDDEN, wire_xml.TOO_LARGE, wire_xml.TOO_DEEP, processing.FILE_INVALID, gate.REQUEST,
     transport.TIMEOUT, transport.ENCODING,
     processing.FILE_UNKNOWN, processing.FILE_VERSION, gate.HEADER}
    | {code for code, _ in catalogue()}
)
ROLES = {OWN: "DEMOB", STATE: "ETAT1", FOREIGN: "NANCY"}  # the kit's counter roles, as this hub's counters
RAN: set[str] = set()


@dataclass(frozen=True)
class ClientFault:
    """No exact code is documented for this input: a Sender fault with one of the documented codes."""

    status: int = 400

    def problems(self, outcome: Outcome) -> list[str]:
        if outcome.status == self.status and outcome.value == SENDER and outcome.code in DOCUMENTED_CODES:
            return []
        return [f"expected a {self.status} Sender fault with a documented code, got {outcome}"]




# -- running a group --------------------------------------------------------------------------------


@dataclass
class Roles:
    """This suite's hub (or topology) as the kit's cases address it: counter roles are its counters."""

    hub: object
    host: str = "localhost"
    address: str = "127.0.0.1"
    max_request_bytes: int = MAX_REQUEST_BYTES

    @property
    def port(self) -> int:
        return self.hub.port

    def client(self, counter: str | None = OWN, stranger: bool = False):
        return self.hub.client(ROLES.get(counter, counter), stranger=stranger)

    def certificate(self, counter: str = OWN) -> bytes:
        return self.hub.certificate(ROLES.get(counter, counter))

    def application_file(self, index: int = 100, role: str = OWN, number: str | None = None) -> bytes:
        return application_file(ROLES[role], index=index, **({"number": number} if number else {}))

    def __getattr__(self, name: str):
        return getattr(self.hub, name)


def rows(hub) -> dict[str, int]:
    with hub.unit_of_work(readonly=True) as uow:
        return {table: count_rows(uow.connection, table) for table in TABLES}


def register(hub, index: int = 900) -> str:
    return str(services.register(hub.unit_of_work(), person(index), today(), "DEMOB", now_in_paris()).number)


def run(hub, cases: list[Case], name: str) -> None:
    """Send every case (the kit's hostile-profile loop), the register's row counts watched around each;
    fail once with every problem."""
    problems = problems_of(Context(Roles(hub), register(hub)), cases, watch=lambda: rows(hub))
    RAN.add(name)
    assert not problems, f"{len(problems)} of {len(cases)} cases misbehave:\n" + "\n".join(problems)


# -- interface files --------------------------------------------------------------------------------


def application_file(counter: str = "DEMOB", file_type: str = "CRE", index: int = 100,
                     edit: Callable[[etree._Element], None] | None = None, **fields) -> bytes:
    data = interface_file(counter, file_type, person(index), **fields)
    if edit is None:
        return data
    root = etree.fromstring(data)
    edit(root)
    return etree.tostring(root)


def find(root: etree._Element, name: str) -> etree._Element:
    found = root.find(f".//{N}{name}")
    assert found is not None, name
    return found


def remove(name: str):
    def edit(root):
        element = find(root, name)
        element.getparent().remove(element)
    return edit


def set_text(name: str, text: str):
    def edit(root):
        find(root, name).text = text
    return edit


def set_code(name: str, code: str):
    def edit(root):
        find(root, name).set("code", code)
    return edit


def set_root(attribute: str, value: str | None):
    def edit(root):
        if value is None:
            del root.attrib[attribute]
        else:
            root.set(attribute, value)
    return edit


def add_after(name: str, xml: str):
    def edit(root):
        element = find(root, name)
        element.addnext(etree.fromstring(f'<wrap xmlns:ns2="{FILE_NS}">{xml}</wrap>')[0])
    return edit


def swap(first: str, second: str):
    def edit(root):
        a, b = find(root, first), find(root, second)
        a.addprevious(b)
    return edit


def in_precision(reference: str, prolog: str = "", **options) -> bytes:
    """An interface file carrying ``reference`` in its free text, with ``prolog`` before its root."""
    data = application_file(**options).replace(b"<ns2:precision>", b"<ns2:precision>" + reference.encode())
    return prolog.encode() + data


def search_file(counter: str = "DEMOB", criteria: str = "", *, prolog: str = "", root: str = "interfaceNuu",
                version: str = "02.00", header: str | None = None) -> bytes:
    header = header if header is not None else (
        f"<entete><typeFichier>RECH</typeFichier><dateFichier>{now_in_paris().isoformat()}</dateFichier>"
        f"<codeGuichet>{counter}</codeGuichet></entete>")
    return (f'{prolog}<{root} xmlns="{FILE_NS}" versionInterface="{version}">{header}'
            f"<operation><demandeMulticritere>{criteria}</demandeMulticritere></operation></{root}>").encode()


def other_number(context: Context, **changes) -> str:
    """The registered number with some of its parts changed (to build malformed ones)."""
    n = context.number
    parts = {"territory": n[:3], "month": n[3:5], "year": n[5:7], "sequence": n[7:13], "counter": n[13:]}
    parts.update(changes)
    return "".join(parts.values())


def certificate_of(counter: str):
    return lambda context: context.hub.certificate(counter)


# -- the groups -------------------------------------------------------------------------------------

def xinclude_cases() -> list[Case]:
    """No DTD, other ways to point at files: XInclude, stylesheet PIs, schema locations. Never followed."""
    xi = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
    pi = '<?xml-stylesheet type="text/xsl" href="file:///etc/passwd"?>'
    located = ('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:schemaLocation="http://ws.metier.nuu.application.i2/ file:///etc/passwd"')
    return [
        Case("xinclude/soap", post(envelope(read_payload(xi))), Fault(400, gate.MESSAGE)),
        Case("xinclude/header", post(lambda c: envelope(read_payload(c.number),
                                                        header=f"<soap:Header>{xi}</soap:Header>")),
             Served(field="fichierDemande")),
        Case("xinclude/file", num_unique(lambda c: in_precision(xi)), Fault(400, processing.FILE_INVALID)),
        Case("xinclude/search", recherche(search_file(criteria=f"<personneRecherchee>{xi}</personneRecherchee>")),
             Fault(400, processing.FILE_INVALID)),
        Case("stylesheet-pi/soap", post(lambda c: pi.encode() + envelope(read_payload(c.number))),
             Served(field="fichierDemande")),
        Case("stylesheet-pi/file", num_unique(lambda c: in_precision("", pi, counter="DEMOC")),
             Anomalies(("NUU184",))),
        Case("schema-location/soap", post(lambda c: envelope(read_payload(c.number).replace(
            "<ws:demandeLogementParametres>", f"<ws:demandeLogementParametres {located}>"))),
            Served(field="fichierDemande")),
    ]


def message_cases() -> list[Case]:
    def read(children: str, element: str = "demandeLogementParametres") -> bytes:
        return envelope(f"<ws:{element}>{children}</ws:{element}>")

    number, name, cert = ("<numUnique>0571126000001DEMOB</numUnique>", "<nomCertificat>c</nomCertificat>",
                          "<certificat/>")
    file_fields = "<nomFichierDemande>f.xml</nomFichierDemande><fichierDemande>PGEvPg==</fichierDemande>"
    since_fields = "<dateRadiationDepuisLe>2026-01-01T00:00:00</dateRadiationDepuisLe>"
    invalid = Fault(400, gate.MESSAGE)
    return [
        Case("missing-numUnique", post(read(name + cert)), invalid),
        Case("missing-nomCertificat", post(read(number + cert)), invalid),
        Case("missing-certificat", post(read(number + name)), invalid),
        Case("empty-message", post(read("")), invalid),
        Case("extra-element-at-end", post(read(number + name + cert + "<complet>O</complet><extra/>")), invalid),
        Case("extra-element-in-middle", post(read(number + "<extra>1</extra>" + name + cert)), invalid),
        Case("wrong-order", post(read(name + number + cert)), invalid),
        Case("numUnique-twice", post(read(number + number + name + cert)), invalid),
        Case("complet-twice", post(read(number + name + cert + "<complet>O</complet><complet>N</complet>")), invalid),
        Case("certificat-not-base64", post(read(number + name + "<certificat>!!! pas du base64 !!!</certificat>")),
             invalid),
        Case("certificat-bad-length", post(read(number + name + "<certificat>abc</certificat>")), invalid),
        Case("certificat-only-padding", post(read(number + name + "<certificat>====</certificat>")), invalid),
        Case("qualified-children", post(read("<ws:numUnique>0571126000001DEMOB</ws:numUnique>"
                                             "<ws:nomCertificat>c</ws:nomCertificat><ws:certificat/>")), invalid),
        Case("element-inside-string", post(read("<numUnique><b>057</b></numUnique>" + name + cert)), invalid),
        Case("unknown-attribute", post(envelope(f'<ws:demandeLogementParametres foo="bar">{number}{name}{cert}'
                                                "</ws:demandeLogementParametres>")), invalid),
        Case("bad-contentType-attribute", post(read(number + name +
                                                    '<certificat ws:contentType="x">AAAA</certificat>')),
             invalid),
        Case("file-not-base64", post(read("<nomFichierDemande>f</nomFichierDemande><fichierDemande>&lt;a/&gt;"
                                          "</fichierDemande>" + name + cert, "numUniqueParametres")), invalid),
        Case("file-missing", post(read("<nomFichierDemande>f</nomFichierDemande>" + name + cert,
                                       "numUniqueParametres")), invalid),
        Case("file-fields-swapped", post(read("<fichierDemande>PGEvPg==</fichierDemande>"
                                              "<nomFichierDemande>f</nomFichierDemande>" + name + cert,
                                              "numUniqueParametres")), invalid),
        Case("doublons-extra-certificate", post(read(file_fields + name + cert, "rechercheDoublonsParametres")),
             invalid),
        Case("since-not-a-date", post(read("<dateRadiationDepuisLe>hier</dateRadiationDepuisLe>" + name + cert,
                                           "demandesRadieesDepuisLeParametres")), invalid),
        Case("since-date-without-time", post(read("<dateRadiationDepuisLe>2026-01-01</dateRadiationDepuisLe>" + name
                                                  + cert, "demandesRadieesDepuisLeParametres")), invalid),
        Case("since-missing", post(read(name + cert, "demandesRadieesDepuisLeParametres")), invalid),
        Case("code-too-long", post(read(since_fields + '<motifRadiation code="RADIATI"/>' + name + cert,
                                        "demandesRadieesDepuisLeParametres")), invalid),
        Case("code-with-space", post(read(since_fields + '<motifRadiation code="RA DA"/>' + name + cert,
                                          "demandesRadieesDepuisLeParametres")), invalid),
        Case("code-filters-out-of-order", post(read(since_fields + '<typeReservataire code="A"/>'
                                                    '<motifRadiation code="RADABA"/>' + name + cert,
                                                    "demandesRadieesDepuisLeParametres")), invalid),
        Case("search-file-not-base64", post(read("<nomFichier>r</nomFichier><fichierXml>&lt;a/&gt;</fichierXml>" + name,
                                                 "fichierXmlParametres"), path=RECHERCHE_PATH), invalid),
        Case("search-missing-name", post(read("<fichierXml>PGEvPg==</fichierXml>" + name, "fichierXmlParametres"),
                                         path=RECHERCHE_PATH), invalid),
    ]


def file_cases() -> list[Case]:
    xsd = Fault(400, processing.FILE_INVALID)
    unknown = Fault(400, processing.FILE_UNKNOWN)
    version = Fault(400, processing.FILE_VERSION)
    malformed = Fault(400, wire_xml.NOT_WELL_FORMED)
    broken = {  # rule broken: edit
        "missing-typeFichier": remove("typeFichier"),
        "missing-dateFichier": remove("dateFichier"),
        "missing-entete": remove("entete"),
        "missing-demande": remove("demande"),
        "missing-demandeLogement": remove("demandeLogement"),
        "missing-numGuichet": remove("numGuichet"),
        "missing-dateCreationDemande": remove("dateCreationDemande"),
        "missing-precision": remove("precision"),
        "missing-personnePhysique": remove("personnePhysique"),
        "missing-demandeur-nom": remove("nom"),
        "missing-adresse-codePostal": remove("codePostal"),
        "precision-256-characters": set_text("precision", "p" * 256),
        "nom-37-characters": set_text("nom", "N" * 37),
        "refInterne-19-characters": set_text("refInterne", "R" * 19),
        "numGuichet-6-characters": set_text("numGuichet", "DEMOBX"),
        "numUnique-19-characters": add_after("numGuichet", "<ns2:numUnique>0571126000001DEMOB1</ns2:numUnique>"),
        "codePostal-letters": set_text("codePostal", "ABCDE"),
        "telPortable-separators": set_text("telPortable", "06-12-34-56"),
        "mel-not-an-address": set_text("mel", "pas-une-adresse"),
        "typeFichier-two-letters": set_text("typeFichier", "CR"),
        "typeFichier-punctuation": set_text("typeFichier", "C-E"),
        "civilite-code-7-characters": set_code("civilite", "MADAMES"),
        "commune-code-with-space": set_code("commune", "57 46"),
        "dateNaissance-impossible": set_text("dateNaissance", "1980-13-45"),
        "dateNaissance-february-29": set_text("dateNaissance", "1981-02-29"),
        "dateFichier-not-a-date": set_text("dateFichier", "hier"),
        "montantLoyer-letters": set_text("montantLoyer", "abc"),
        "montantLoyer-negative": set_text("montantLoyer", "-5"),
        "montantLoyer-above-9999": set_text("montantLoyer", "10000"),
        "montantLoyer-decimal": set_text("montantLoyer", "650.50"),
        "renouvellementElec-maybe": set_text("renouvellementElec", "peut-etre"),
        "anneeMoins1-before-1900": set_text("anneeMoins1", "1800"),
        "unknown-element": add_after("precision", "<ns2:inconnu>1</ns2:inconnu>"),
        "foreign-namespace-element": add_after("precision", '<x:y xmlns:x="urn:autre">1</x:y>'),
        "nom-prenom-swapped": swap("nom", "prenom"),
        "entete-twice": add_after("entete", "<ns2:entete><ns2:typeFichier>CRE</ns2:typeFichier>"
                                            "<ns2:dateFichier>2026-01-01T00:00:00</ns2:dateFichier></ns2:entete>"),
        "unknown-root-attribute": set_root("inconnu", "1"),
        "modifie-not-boolean": lambda root: find(root, "nom").set(f"{N}modifie", "peut-etre"),
        "text-in-entete": lambda root: setattr(find(root, "entete"), "text", "texte"),
    }
    roots = {
        "root-other-element": b'<ns2:autre xmlns:ns2="http://nuu.application.i2/" versionInterface="02.01"/>',
        "root-without-namespace": b'<interfaceNuu versionInterface="02.01"><entete/></interfaceNuu>',
        "root-other-namespace": b'<x:interfaceNuu xmlns:x="http://nuu.application.i2" versionInterface="02.01"/>',
        "root-listeDoublons": b'<ns2:listeDoublons xmlns:ns2="http://nuu.application.i2/"/>',
        "root-soap-envelope": envelope(read_payload("0571126000001DEMOB")),
    }
    versions = {"03.00": "03.00", "02.02": "02.02", "01.00": "01.00", "empty": "", "2.1": "2.1",
                "trailing-space": "02.01 ", "missing": None}
    malformed_files = {
        "truncated": lambda: application_file()[:-30],
        "unclosed-tag": lambda: application_file().replace(b"</ns2:nom>", b"", 1),
        "binary": lambda: bytes(range(256)) * 8,
        "empty": lambda: b"",
        "declaration-only": lambda: b'<?xml version="1.0"?>',
        "utf16-declared": lambda: b'<?xml version="1.0" encoding="UTF-16"?>' + application_file(),
        "invalid-utf8": lambda: application_file().replace(b"Alex", b"Al\xff\xfex"),
        "two-roots": lambda: application_file() * 2,
        "nul-byte": lambda: application_file().replace(b"Alex", b"Al\x00ex"),
        "json": lambda: b'{"interfaceNuu": {}}',
        "pdf": lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    }
    cases = [Case(f"xsd/{rule}", num_unique(lambda c, e=edit: application_file(edit=e)), xsd)
             for rule, edit in broken.items()]
    cases += [Case(f"xsd-inline/{rule}", num_unique(lambda c, e=broken[rule]: application_file(edit=e), mtom=False),
                   xsd) for rule in ("missing-typeFichier", "precision-256-characters", "codePostal-letters",
                                     "nom-prenom-swapped")]
    cases += [Case(f"xsd-doublons/{rule}", doublons(lambda c, e=broken[rule]: application_file(edit=e)), xsd)
              for rule in ("missing-numGuichet", "dateNaissance-impossible", "unknown-element")]
    cases += [Case(f"xsd-dalo/{rule}", dalo(lambda c, e=broken[rule]: application_file(
        "ETAT1", edit=e, number=c.number)), xsd) for rule in ("missing-demandeLogement", "mel-not-an-address")]
    cases += [Case(f"root/{name}", num_unique(data), unknown) for name, data in roots.items()]
    cases += [Case("root/doublons-other-element", doublons(roots["root-other-element"]), unknown)]
    cases += [Case(f"version/{name}", num_unique(lambda c, v=value: application_file(
        edit=set_root("versionInterface", v))), version) for name, value in versions.items()]
    cases += [Case("version/doublons-03.00", doublons(lambda c: application_file(
        edit=set_root("versionInterface", "03.00"))), version)]
    cases += [Case(f"malformed/{name}", num_unique(lambda c, b=build: b()), malformed)
              for name, build in malformed_files.items()]
    cases += [Case(f"malformed-inline/{name}", num_unique(lambda c, b=malformed_files[name]: b(), mtom=False),
                   malformed) for name in ("truncated", "binary", "empty")]
    cases += [Case(f"malformed-doublons/{name}", doublons(lambda c, b=malformed_files[name]: b()), malformed)
              for name in ("unclosed-tag", "invalid-utf8")]
    cases += [Case(f"malformed-dalo/{name}", dalo(lambda c, b=malformed_files[name]: b()), malformed)
              for name in ("truncated", "empty")]
    # A search file against the InterfaceNuuRecherche schema.
    cases += [
        Case("search/missing-operation", recherche(search_file().replace(
            b"<operation><demandeMulticritere></demandeMulticritere></operation>", b"")), xsd),
        Case("search/unknown-criterion", recherche(search_file(criteria="<inconnu>1</inconnu>")), xsd),
        Case("search/etatDemande-two-letters", recherche(search_file(criteria="<etatDemande>AR</etatDemande>")), xsd),
        Case("search/date-not-a-date", recherche(search_file(criteria="<dateDepotDebut>hier</dateDepotDebut>")), xsd),
        Case("search/criteria-out-of-order", recherche(search_file(
            criteria="<dateDepotFin>2026-01-01</dateDepotFin><dateDepotDebut>2025-01-01</dateDepotDebut>")), xsd),
        Case("search/missing-codeGuichet", recherche(search_file(header=(
            f"<entete><typeFichier>RECH</typeFichier><dateFichier>{date.today()}T00:00:00</dateFichier></entete>"))),
            xsd),
        Case("search/application-file-sent", recherche(lambda c: application_file()), xsd),
        Case("search/root-other-element", recherche(search_file(root="recherche")), unknown),
        Case("search/malformed", recherche(search_file()[:-20]), malformed),
        Case("search/empty", recherche(b""), malformed),
    ]
    return cases


MALFORMED_NUMBERS = {  # getDemandeLogement numUnique -> NUU110
    "19-characters": lambda c: c.number + "1",
    "19-characters-letter": lambda c: c.number + "X",
    "17-characters": lambda c: c.number[:-1],
    "empty": lambda c: "",
    "blank": lambda c: "   ",
    "lower-case-counter": lambda c: other_number(c, counter="demob"),
    "month-13": lambda c: other_number(c, month="13"),
    "month-00": lambda c: other_number(c, month="00"),
    "sequence-000000": lambda c: other_number(c, sequence="000000"),
    "territory-letter": lambda c: other_number(c, territory="0C7"),
    "counter-punctuation": lambda c: other_number(c, counter="DEM-B"),
    "tab-inside": lambda c: c.number[:3] + "\t" + c.number[3:],
    "non-breaking-space": lambda c: c.number[:3] + "\u00a0" + c.number[3:],
    "full-width-digits": lambda c: "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in c.number),
    "arabic-indic-digits": lambda c: "".join(chr(ord(ch) - 48 + 0x660) if ch.isdigit() else ch for ch in c.number),
    "sql-injection": lambda c: "' OR '1'='1' --",
    "like-wildcards": lambda c: "057%",
    "10000-characters": lambda c: "0" * 10_000,
    "cdata-19": lambda c: f"<![CDATA[{c.number}9]]>",
    "display-form-with-extra": lambda c: f"{c.number[:3]} {c.number[3:7]} {c.number[7:13]} {c.number[13:]} X",
}


def number_cases() -> list[Case]:
    invalid = Fault(400, "NUU110")
    cases = [Case(f"demande-{'mtom' if mtom else 'inline'}/{name}", demande(build, mtom=mtom), invalid)
             for name, build in MALFORMED_NUMBERS.items() for mtom in (True, False)]
    cases.append(Case("demande/well-formed-but-unknown", demande(lambda c: other_number(c, sequence="999999")),
                      Fault(400, "NUU111")))

    def with_number(file_type: str, text: str | None, counter: str = "DEMOB", **fields):
        def build(context: Context) -> bytes:
            number = text(context) if callable(text) else text
            return application_file(counter, file_type, 900, number=number, **fields)
        return build

    rad = {"cancellation": Cancellation(today(), "RADABA")}
    anomaly = Anomalies(("NUU110",))
    xsd = Fault(400, processing.FILE_INVALID)
    month_13 = lambda c: other_number(c, month="13")  # noqa: E731
    cases += [
        Case("file/MOD-month-13", num_unique(with_number("MOD", month_13)), anomaly),
        Case("file/MOD-lower-case", num_unique(with_number("MOD", lambda c: other_number(c, counter="demob"))),
             anomaly),
        Case("file/MOD-without-number", num_unique(with_number("MOD", None)), anomaly),
        Case("file/MOD-19-characters", num_unique(with_number("MOD", lambda c: c.number + "1")), xsd),
        Case("file/RAD-month-13", num_unique(with_number("RAD", month_13, **rad)), anomaly),
        Case("file/RAD-sequence-0", num_unique(with_number("RAD", lambda c: other_number(c, sequence="000000"),
                                                           **rad)), anomaly),
        Case("file/RAD-19-characters", num_unique(with_number("RAD", lambda c: c.number + "X", **rad)), xsd),
        Case("file/SUP-month-00", num_unique(with_number("SUP", lambda c: other_number(c, month="00"))), anomaly),
        Case("file/SUP-without-number", num_unique(with_number("SUP", None)), anomaly),
        Case("file/SUP-19-characters", num_unique(with_number("SUP", lambda c: "0" * 19)), xsd),
        Case("file/REN-territory-letter", num_unique(with_number("REN", lambda c: other_number(c, territory="0C7"),
                                                                 has_renewal=True, renewal_date=today())), anomaly),
        Case("file/MOD-inline-month-13", num_unique(with_number("MOD", month_13), mtom=False), anomaly),
        Case("file/CRS-associated-malformed", num_unique(lambda c: application_file(
            "DEMOB", "CRS", 901, associated_number=other_number(c, month="13"))), anomaly),
        Case("file/CRS-associated-19-characters", num_unique(lambda c: application_file(
            "DEMOB", "CRS", 901, associated_number=c.number + "1")), xsd),
        Case("file/DALO-month-13", dalo(lambda c: application_file("ETAT1", number=other_number(c, month="13"))),
             Anomalies(("NUU110",), "fichierDalo")),
        Case("file/DALO-19-characters", dalo(lambda c: application_file("ETAT1", number=c.number + "1")), xsd),
        Case("search/month-13", recherche(lambda c: search_file(
            criteria=f"<numUnique>{other_number(c, month='13')}</numUnique>")),
            Anomalies(("NUU110",), "fichierXmlRetour")),
        Case("search/19-characters", recherche(lambda c: search_file(criteria=f"<numUnique>{c.number}1</numUnique>")),
             xsd),
        Case("search/after-malformed", recherche(lambda c: search_file(criteria="").replace(
            b"</operation>", f"</operation><listeDemandes><numUnique>{'9' * 18}</numUnique></listeDemandes>"
            .encode())), Served(field="fichierXmlRetour")),
    ]
    return cases


UNKNOWN_CODES = {  # element: a code of the right shape that no list holds
    "civilite": "9",
    "nationalite": "ZZ",
    "situationFamiliale": "Q",
    "typeLogement": "T99",
    "motifDemande": "99",
    "ressource": "XYZ",
    "sexe": "X",
    "lienParente": "Z9",
    "categorieLogementRecherche": "Z",
    "typeContratTravail": "ZZZ",
    "modeleLogement": "ZZ",
    "typeLogementActuel": "T0Z",
    "statutDalo": "ZZZ",
}


def code_cases() -> list[Case]:
    cases = [Case(f"CRE/{name}", num_unique(lambda c, n=name, v=value, i=index: application_file(
        index=200 + i, edit=set_code(n, v))), Anomalies(("NUU101",)))
        for index, (name, value) in enumerate(UNKNOWN_CODES.items())]
    cases += [
        Case("CRE-inline/civilite", num_unique(lambda c: application_file(index=230, edit=set_code("civilite", "9")),
                                               mtom=False), Anomalies(("NUU101",))),
        Case("MOD/civilite", num_unique(lambda c: application_file(
            "DEMOB", "MOD", 900, number=c.number, edit=set_code("civilite", "9"))), Anomalies(("NUU101",))),
        Case("MOD/nationalite", num_unique(lambda c: application_file(
            "DEMOB", "MOD", 900, number=c.number, edit=set_code("nationalite", "ZZ"))), Anomalies(("NUU101",))),
    ]
    return cases


def counter_cases() -> list[Case]:
    foreign = Anomalies(("NUU184",))
    return [
        Case("CRE-for-DEMOC", num_unique(lambda c: application_file("DEMOC", index=300)), foreign),
        Case("CRE-for-NANCY", num_unique(lambda c: application_file("NANCY", index=301)), foreign),
        Case("CRE-for-unknown-counter", num_unique(lambda c: application_file("ZZZZZ", index=302)), foreign),
        Case("CRE-for-DEMOB-sent-by-DEMOC", num_unique(lambda c: application_file("DEMOB", index=303),
                                                       counter="DEMOC"), foreign),
        Case("CRE-inline-for-DEMOC", num_unique(lambda c: application_file("DEMOC", index=304), mtom=False), foreign),
        Case("MOD-for-DEMOC", num_unique(lambda c: application_file("DEMOC", "MOD", 900, number=c.number)), foreign),
        Case("RAD-for-DEMOC", num_unique(lambda c: application_file(
            "DEMOC", "RAD", 900, number=c.number, cancellation=Cancellation(today(), "RADABA"))), foreign),
        Case("SUP-for-DEMOC", num_unique(lambda c: application_file("DEMOC", "SUP", 900, number=c.number)), foreign),
        Case("DALO-for-DEMOB-sent-by-ETAT1", dalo(lambda c: application_file("DEMOB", number=c.number)),
             Anomalies(("NUU184",), "fichierDalo")),
        Case("search-for-DEMOC", recherche(search_file("DEMOC")), Anomalies(("NUU184",), "fichierXmlRetour")),
    ]


def more_items(data: bytes, list_end: str, item: str, count: int) -> bytes:
    """The file with ``count`` more ``item`` (XML, ns2 prefix) at the end of the first ``list_end``."""
    closing = f"</ns2:{list_end}>".encode()
    assert closing in data, list_end
    return data.replace(closing, item.encode() * count + closing, 1)


def many_anomalies(index: int) -> bytes:
    """A CRE with 119 content anomalies: 30 dependants with two unknown codes each, 30 unknown
    motives, the same wished commune 30 times (29 repeats)."""
    form = person(index)
    form.household.dependants = [replace(form.household.dependants[0], sex="X", kinship="Z9")
                                 for _ in range(30)]
    form.motives.motives = ["99"] * 30
    form.housing_sought.wished_locations = form.housing_sought.wished_locations[:1] * 30
    return interface_file("DEMOB", "CRE", form)


def list_cases() -> list[Case]:
    """Lists over their bound (30 items; 500 numbers in a search's listeDemandes): one NUU105 anomaly
    naming the first, a small answer; any answer holds at most 100 anomalies."""
    wished = '<ns2:localisationSouhaite><ns2:commune code="57463"/></ns2:localisationSouhaite>'
    one_over = Anomalies(("NUU105",), count=1, answer_bytes=20_000)  # a RET file is about 5 KB
    return [
        Case("CRE-120000-wished-communes", num_unique(lambda c: long_list_file("DEMOB", 120_000, 620)), one_over),
        Case("CRE-31-wished-communes", num_unique(lambda c: more_items(
            application_file(index=621), "listeLocalisationSouhaite", wished, 29)), one_over),
        Case("CRE-inline-12000-wished-communes", num_unique(lambda c: more_items(
            application_file(index=622), "listeLocalisationSouhaite", wished, 12_000), mtom=False), one_over),
        Case("CRE-5000-motives", num_unique(lambda c: more_items(
            application_file(index=623), "principauxMotifDemande", '<ns2:motifDemande code="13"/>', 5000)),
            one_over),
        Case("CRE-1000-resources", num_unique(lambda c: more_items(
            application_file(index=624), "listeRessourceRecue",
            '<ns2:detailRessource><ns2:ressource code="SAL"/></ns2:detailRessource>', 1000)), one_over),
        Case("MOD-120000-wished-communes", num_unique(lambda c: long_list_file(
            "DEMOB", 120_000, 900, "MOD", number=c.number)), one_over),
        Case("doublons-120000-wished-communes", doublons(lambda c: long_list_file("DEMOB", 120_000, 626)), one_over),
        Case("dalo-120000-wished-communes", dalo(lambda c: long_list_file("ETAT1", 120_000, 627, number=c.number)),
             Anomalies(("NUU105",), "fichierDalo", count=1, answer_bytes=20_000)),
        Case("search-100000-categories", recherche(search_file(criteria="<piecesJustificatives>" + (
            "<codeCategorie>IDENT</codeCategorie>" * 100_000) + "</piecesJustificatives>")),
            Anomalies(("NUU105",), "fichierXmlRetour", count=1, answer_bytes=20_000)),
        Case("search-501-numbers-listed", recherche(search_file().replace(b"</operation>", (
            b"</operation><listeDemandes>" + b"<numUnique>0571126000001DEMOB</numUnique>" * 501
            + b"</listeDemandes>"))), Anomalies(("NUU105",), "fichierXmlRetour", count=1)),
        Case("CRE-119-anomalies", num_unique(lambda c: many_anomalies(625)),
             Anomalies(("NUU101", "NUU104", "NUU108"), count=100)),
    ]


def header_cases() -> list[Case]:
    """Header blocks with env:mustUnderstand and env:role: the hub understands none."""
    def read_with(*blocks: str, mtom: bool = False) -> Callable[[Context], Outcome]:
        def body(context: Context) -> bytes:
            return envelope(read_payload(context.number), header=f"<soap:Header>{''.join(blocks)}</soap:Header>")
        if mtom:
            return post_multipart(lambda c: multipart([(ROOT_HEADERS, body(c))]))
        return post(body)

    def block(name: str = "Extension", **attributes: str) -> str:
        written = "".join(f' soap:{key}="{value}"' for key, value in attributes.items())
        return f'<x:{name} xmlns:x="urn:hostile:ext"{written}>1</x:{name}>'

    extension = NotUnderstood(("{urn:hostile:ext}Extension",))
    role = "http://www.w3.org/2003/05/soap-envelope/role/"
    return [
        Case("mustUnderstand-true", read_with(block(mustUnderstand="true")), extension),
        Case("mustUnderstand-1", read_with(block(mustUnderstand="1")), extension),
        Case("mustUnderstand-true-spaced", read_with(block(mustUnderstand=" true ")), extension),
        Case("mustUnderstand-true-mtom", read_with(block(mustUnderstand="true"), mtom=True), extension),
        Case("mustUnderstand-role-next", read_with(block(mustUnderstand="true", role=role + "next")), extension),
        Case("mustUnderstand-role-ultimateReceiver", read_with(block(mustUnderstand="true",
                                                                    role=role + "ultimateReceiver")), extension),
        Case("mustUnderstand-two-blocks", read_with(block("A", mustUnderstand="1"), block("B"),
                                                    block("C", mustUnderstand="true")),
             NotUnderstood(("{urn:hostile:ext}A", "{urn:hostile:ext}C"))),
        Case("mustUnderstand-unqualified-block", read_with('<Extension soap:mustUnderstand="true">1</Extension>'),
             NotUnderstood(("{}Extension",))),
        Case("mustUnderstand-yes", read_with(block(mustUnderstand="yes")), Fault(400, gate.ENVELOPE)),
        # Not for the hub, or optional: ignored.
        Case("mustUnderstand-role-none", read_with(block(mustUnderstand="true", role=role + "none")),
             Served(field="fichierDemande")),
        Case("mustUnderstand-other-role", read_with(block(mustUnderstand="true", role="urn:hostile:gateway")),
             Served(field="fichierDemande")),
        Case("mustUnderstand-false", read_with(block(mustUnderstand="false"), block("B", mustUnderstand="0")),
             Served(field="fichierDemande")),
        Case("mustUnderstand-not-soap-attribute", read_with('<x:E xmlns:x="urn:hostile:ext" mustUnderstand="true"/>'),
             Served(field="fichierDemande")),
    ]


def ambiguous_mtom_cases() -> list[Case]:
    """A read whose certificat comes from MTOM parts in ways that leave its value to guessing."""
    def read_with(certificate: str, *extra: tuple[list[str], bytes]) -> Callable[[Context], Outcome]:
        return post_multipart(lambda c: multipart([(ROOT_HEADERS, envelope(read_payload(c.number, certificate)))]
                                                  + [(head, content(c) if callable(content) else content)
                                                     for head, content in extra]))

    own = lambda c: c.hub.certificate("DEMOB")  # noqa: E731
    other = lambda c: c.hub.certificate("DEMOC")  # noqa: E731
    ambiguous = Fault(400, mtom.INVALID)
    return [
        Case("two-parts-one-content-id", read_with(include("cert@hostile"), (part("cert@hostile"), own),
                                                   (part("cert@hostile"), other)), ambiguous),
        Case("two-roots-one-content-id", post_multipart(lambda c: multipart([
            (ROOT_HEADERS, envelope(read_payload(c.number))),
            (ROOT_HEADERS, envelope(read_payload(c.number, include("cert@hostile")))),
            (part("cert@hostile"), other(c))])), ambiguous),
        Case("two-includes-in-one-element", read_with(include("a@hostile") + include("b@hostile"),
                                                      (part("a@hostile"), own), (part("b@hostile"), other)),
             ambiguous),
        Case("base64-and-include", read_with(base64.b64encode(b"x" * 30).decode() + include("cert@hostile"),
                                             (part("cert@hostile"), own)), ambiguous),
        Case("include-then-base64", read_with(include("cert@hostile") + "QUFBQQ==", (part("cert@hostile"), own)),
             ambiguous),
        Case("include-and-an-element", read_with(include("cert@hostile") + "<autre/>", (part("cert@hostile"), own)),
             ambiguous),
        Case("part-nobody-references", read_with("", (part("cert@hostile"), own)), ambiguous),
        Case("part-without-content-id", read_with("", (["Content-Type: application/octet-stream"], b"x")), ambiguous),
        # Not ambiguous: one part referenced twice, a comment beside the include.
        Case("one-part-two-includes-in-two-elements", post_multipart(lambda c: multipart([
            (ROOT_HEADERS, envelope(read_payload(c.number, include("cert@hostile")),
                                    header=f'<soap:Header><h:a xmlns:h="urn:hostile">{include("cert@hostile")}'
                                           "</h:a></soap:Header>")),
            (part("cert@hostile"), own(c))])), Served(field="fichierDemande")),
        Case("include-and-a-comment", read_with(include("cert@hostile") + "<!-- le certificat -->",
                                                (part("cert@hostile"), own)), Served(field="fichierDemande")),
    ]


def misleading_refusal_cases() -> list[Case]:
    """Refusals whose code said something else: an attached certificate unreadable (NUU187) or known
    to no counter (NUU185), not "another counter's" (NUU186). (A bad incrementFichier was refused
    with NUU110, then NUU103; since the register ignores it in requests, docs/REGISTER.md "Update
    (MOD)", such a MOD is applied: test_get_num_unique.py sends those values.)"""
    stranger_pem = lambda c: Path(c.hub.pki["stranger"]["cert"]).read_bytes()  # noqa: E731
    ca_pem = lambda c: Path(c.hub.pki["ca"]["cert"]).read_bytes()  # noqa: E731
    garbage_pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    unreadable, unknown = Anomalies(("NUU187",)), Anomalies(("NUU185",))
    return [
        Case("CRE-with-stranger-certificate", num_unique(lambda c: application_file(index=404), stranger_pem),
             unknown),
        Case("CRE-with-CA-certificate", num_unique(lambda c: application_file(index=405), ca_pem), unknown),
        Case("CRE-with-garbage-certificate", num_unique(lambda c: application_file(index=406), garbage_pem),
             unreadable),
        Case("CRE-with-random-bytes", num_unique(lambda c: application_file(index=407), bytes(range(256))),
             unreadable),
        Case("CRE-inline-with-random-bytes", num_unique(lambda c: application_file(index=408), bytes(range(256)),
                                                        mtom=False), unreadable),
        Case("read-with-garbage-certificate", demande(lambda c: c.number, b"not a certificate"),
             Fault(400, "NUU187")),
        Case("read-with-stranger-certificate", demande(lambda c: c.number, stranger_pem), Fault(400, "NUU185")),
        Case("dalo-with-garbage-certificate", dalo(lambda c: application_file("ETAT1", number=c.number),
                                                   b"not a certificate"), Fault(400, "NUU187")),
        Case("radiees-with-CA-certificate", since("getDemandesRadieesDepuisLe", "2026-01-01T00:00:00", ca_pem),
             Fault(400, "NUU185")),
    ]


def certificate_cases() -> list[Case]:
    foreign = Fault(400, "NUU186")
    in_file = Anomalies(("NUU186",))
    der = lambda c: ssl.PEM_cert_to_DER_cert(c.hub.certificate("DEMOC").decode())  # noqa: E731
    cases = [
        Case("CRE-with-DEMOC-certificate", num_unique(lambda c: application_file(index=400), certificate_of("DEMOC")),
             in_file),
        Case("CRE-inline-with-DEMOC-certificate", num_unique(lambda c: application_file(index=401),
                                                             certificate_of("DEMOC"), mtom=False), in_file),
        Case("CRE-with-DER-of-DEMOC", num_unique(lambda c: application_file(index=402), der), in_file),
        Case("CRE-with-NANCY-certificate", num_unique(lambda c: application_file(index=403), certificate_of("NANCY")),
             in_file),
        Case("MOD-with-DEMOC-certificate", num_unique(lambda c: application_file(
            "DEMOB", "MOD", 900, number=c.number), certificate_of("DEMOC")), in_file),
        Case("read-with-DEMOC-certificate", demande(lambda c: c.number, certificate_of("DEMOC")), foreign),
        Case("read-inline-with-DEMOC-certificate", demande(lambda c: c.number, certificate_of("DEMOC"), mtom=False),
             foreign),
        Case("dalo-with-DEMOC-certificate", dalo(lambda c: application_file("ETAT1", number=c.number),
                                                 certificate_of("DEMOC")), foreign),
        Case("radiees-with-DEMOC-certificate", since("getDemandesRadieesDepuisLe", "2026-01-01T00:00:00",
                                                     certificate_of("DEMOC")), foreign),
        Case("nouveaux-dalo-with-DEMOC-certificate", since("getNouveauxDaloDepuisLe", "2026-01-01T00:00:00",
                                                           certificate_of("DEMOC")), foreign),
    ]
    return cases


GROUPS: dict[str, Callable[[], list[Case]]] = {
    "xinclude": xinclude_cases,
    "message": message_cases,
    "files": file_cases,
    "numbers": number_cases,
    "unknown-codes": code_cases,
    "other-counter": counter_cases,
    "certificates": certificate_cases,
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("group", list(GROUPS))
def test_hostile_group(hub, group):
    run(hub, GROUPS[group](), group)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_sample_of_every_group_on_postgresql(hub):
    sample = [Case(f"{name}/{case.id}", case.send, case.expect)
              for name, build in GROUPS.items() for case in build()[:4]]
    run(hub, sample, "postgresql-sample")


# -- known defects: the correct behaviour is asserted; today's behaviour is in the reason --------------


def framing_errors() -> dict[str, Callable[[Context], Outcome]]:
    """Requests whose body cannot be delimited."""
    def read(context: Context) -> bytes:
        return envelope(read_payload(context.number))

    def chunked(edit: Callable[[bytes], bytes] = lambda data: data) -> Callable[[Context], bytes]:
        return lambda context: edit(in_chunks(read(context), 100))

    te = "Transfer-Encoding: chunked\r\n"
    return {
        "content-length-abc": framed("Content-Length: abc\r\n", read),
        "content-length-20-digits": framed("Content-Length: 99999999999999999999\r\n", read),
        "content-length-plus-sign": framed("Content-Length: +{length}\r\n", read),
        "content-length-twice-different": framed("Content-Length: {length}\r\nContent-Length: 5\r\n", read),
        "content-length-twice-same": framed("Content-Length: {length}\r\nContent-Length: {length}\r\n", read),
        "content-length-list": framed("Content-Length: {length}, {length}\r\n", read),
        "content-length-folded": framed("Content-Length: 5\r\n {length}\r\n", read),
        "content-length-and-chunked": framed("Content-Length: {length}\r\n" + te, chunked()),
        "chunked-then-content-length": framed(te + "Content-Length: {length}\r\n", chunked()),
        "chunked-in-http-1.0": framed(te, chunked(), protocol="HTTP/1.0"),
        "chunk-size-20-hex-digits": framed(te, lambda c: b"ffffffffffffffffffff\r\n" + read(c)),
        "chunk-size-0x": framed(te, chunked(lambda data: b"0x" + data)),
        "chunk-size-not-hex": framed(te, lambda c: b"zz\r\n" + read(c)),
        "chunk-data-without-crlf": framed(te, chunked(lambda data: data.replace(b"\r\n64\r\n", b"XX64\r\n", 1))),
    }


ENCODED = {  # name: (Content-Encoding, body)
    "gzip": ("gzip", lambda c: gzip.compress(envelope(read_payload(c.number)))),
    "x-gzip": ("x-gzip", lambda c: gzip.compress(envelope(read_payload(c.number)))),
    "deflate": ("deflate", lambda c: zlib.compress(envelope(read_payload(c.number)))),
    "br": ("br", lambda c: bytes(range(256))),
    "compress": ("compress", lambda c: bytes(range(256))),
    "unknown": ("x-klingon", lambda c: envelope(read_payload(c.number))),
    "gzip-then-identity": ("gzip, identity", lambda c: gzip.compress(envelope(read_payload(c.number)))),
    "identity-then-gzip": ("identity, gzip", lambda c: gzip.compress(envelope(read_payload(c.number)))),
}


def negative_length(length: str):
    head = (f"POST {DEMANDE_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {SOAP_CT}\r\n"
            f"Content-Length: {length}\r\n\r\n")
    return lambda c: raw_exchange(c.hub, [head.encode() + envelope(read_payload(c.number))], timeout=3)


def above_cheroot(length: int, expect_continue: bool = False):
    head = (f"POST {DEMANDE_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {SOAP_CT}\r\n"
            f"Content-Length: {length}\r\n" + ("Expect: 100-continue\r\n" if expect_continue else "") + "\r\n")
    return lambda c: raw_exchange(c.hub, [head.encode()])


def padded(data: bytes, size: int) -> bytes:
    """The same file, made ``size`` bytes bigger with whitespace between elements (still valid)."""
    return data.replace(b"</ns2:entete>", b"</ns2:entete>" + b" " * size, 1)


def rfc2231(parameter: str) -> Callable[[Context], Outcome]:
    def send(context: Context) -> Outcome:
        body, _ = multipart([(ROOT_HEADERS, envelope(read_payload(context.number)))])
        params = {"type": '"application/xop+xml"', "boundary": f'"{BOUNDARY}"', "start": '"<root.message@hostile>"'}
        encoded = {"type": "application%2Fxop%2Bxml", "boundary": BOUNDARY.replace(":", "%3A"),
                   "start": "%3Croot.message%40hostile%3E"}[parameter]
        params.pop(parameter)
        header = "multipart/related; " + "; ".join(f"{k}={v}" for k, v in params.items())
        return https(context.hub, body, f"{header}; {parameter}*=utf-8''{encoded}")
    return send


def non_ascii_boundary(boundary: bytes) -> Callable[[Context], Outcome]:
    def send(context: Context) -> Outcome:
        body, _ = multipart([(ROOT_HEADERS, envelope(read_payload(context.number)))], boundary="@@B@@")
        return https(context.hub, body.replace(b"@@B@@", boundary),
                     f'multipart/related; type="application/xop+xml"; boundary="{boundary.decode("latin-1")}"')
    return send


def include_as_root(context: Context) -> Outcome:
    body, content_type = multipart([(ROOT_HEADERS, include("p2@hostile").encode()), (part("p2@hostile"), b"x")])
    return https(context.hub, body, content_type)


def file_date_edit(name: str, value: str, **options):
    return lambda c: application_file(index=500, edit=set_text(name, value), **options)


DEFECTS: dict[str, tuple[str, Callable[[], list[Case]]]] = {
    "non-ascii-boundary": (
        "core/wire/mtom.py split(): boundary.encode('ascii', errors='strict') raises UnicodeEncodeError, not MtomError: "
        "500 HUB-INTERNE instead of 400 MTOM-INVALIDE",
        lambda: [Case(f"boundary-{b!r}", non_ascii_boundary(b), Fault(400, mtom.INVALID))
                 for b in (b"\xc3\xa9", b"\xe6\x97\xa5\xe6\x9c\xac", b"\x80abc")]),
    "rfc2231-parameters": (
        "core/wire/mtom.py ContentType.parse(): email.message.get_params() returns a (charset, language, value) tuple "
        "for RFC 2231 parameters (type*=, boundary*=, start*=); gate.py/mtom.py then call str methods on it: "
        "AttributeError, 500 HUB-INTERNE instead of a 4xx refusal (HUB-CONTENT-TYPE / MTOM-INVALIDE)",
        # RFC 2231 is valid MIME: once decoded, these parameters are the usual ones and the read succeeds.
        lambda: [Case(f"{parameter}*", rfc2231(parameter), Served(field="fichierDemande"))
                 for parameter in ("type", "boundary", "start")]),
    "include-as-root-element": (
        "core/wire/mtom.py inline(): an xop:Include that is the root part's root element has no parent "
        "(parent.remove -> AttributeError): 500 HUB-INTERNE instead of 400 SOAP-ENVELOPPE",
        lambda: [Case("include-root", include_as_root, Fault(400, gate.ENVELOPE))]),
    "xsd-valid-dates-python-cannot-read": (
        "core/wire/codec.py _date()/_datetime(): values valid for xs:date/xs:dateTime (24:00:00, years above 9999 "
        "or below 1) raise ValueError outside any RegisterError/FileRefused handler: 500 HUB-INTERNE instead of a "
        "400 Sender fault with a documented code",
        # 24:00:00 is midnight of the next day: legitimate, read as such (tests/unit/wire/test_dates.py).
        lambda: [
            Case("dateFichier-year-12026", num_unique(file_date_edit("dateFichier", "12026-11-30T10:00:00")),
                 ClientFault()),
            Case("dateCreationDemande-year-12026", num_unique(file_date_edit("dateCreationDemande", "12026-11-30")),
                 ClientFault()),
            Case("dateNaissance-year-minus-1980", num_unique(file_date_edit("dateNaissance", "-1980-01-01")),
                 ClientFault()),
            Case("doublons-dateNaissance-year-12000", doublons(file_date_edit("dateNaissance", "12000-01-01")),
                 ClientFault()),
        ]),
    "search-dates-python-cannot-read": (
        "core/wire/search.py read_criteria() day()/_date_or_none(): xs:date values with 5-digit or negative years "
        "raise ValueError (only RegisterError is turned into anomalies): 500 HUB-INTERNE instead of a NUU107 anomaly",
        lambda: [Case(f"search-{name}", recherche(search_file(criteria=criteria)),
                      Anomalies(("NUU107",), "fichierXmlRetour")) for name, criteria in (
            ("dateDepotDebut-12024", "<dateDepotDebut>12024-01-01</dateDepotDebut>"),
            ("dateRadiationFin-minus-1", "<dateRadiationFin>-0001-01-01</dateRadiationFin>"),
            ("dateNaissance-12024", "<personneRecherchee><dateNaissance>12024-01-01</dateNaissance>"
                                    "</personneRecherchee>"))]),
    "since-edge-datetimes": (
        "getDemandesRadieesDepuisLe/getNouveauxDaloDepuisLe: '…T24:00:00' makes spyne's DateTime raise ValueError "
        "out of the spyne app (hub/gate.py catch-all), extreme offsets (9999-12-31T23:59:59-14:00, "
        "0001-01-01T00:00:00+14:00) overflow in the database bind (StatementError, hub/soap.py guarded): "
        "500 HUB-INTERNE; 5-digit/negative years get spyne's undocumented 'ValidationError' code. Expected a 400 "
        "Sender fault with a documented code (SOAP-MESSAGE)",
        # 24:00:00 is the next midnight: legitimate, answered. The others are out of the register's time.
        lambda: [Case(f"{operation}-{moment}", since(operation, moment),
                      Served() if "T24:00" in moment else Fault(400, gate.MESSAGE))
                 for operation in ("getDemandesRadieesDepuisLe", "getNouveauxDaloDepuisLe")
                 for moment in ("2026-11-30T24:00:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                "12026-01-01T00:00:00", "-0001-01-01T00:00:00")]),
    "spyne-2-mib-limit": (
        "hub/app.py builds spyne's WsgiApplication with its default max_content_length=2 MiB while the gate admits "
        "10 MiB: any message whose (MTOM-inlined, base64) envelope exceeds 2 MiB gets spyne's undocumented "
        "400 'RequestTooLong' fault instead of being processed",
        lambda: [
            Case("doublons-1.7MB-file", doublons(lambda c: padded(application_file(index=600), 1_700_000)),
                 Served(field="fichierDemande")),
            Case("CRE-2MB-file-for-DEMOC", num_unique(lambda c: padded(application_file("DEMOC", index=601),
                                                                       2_000_000)), Anomalies(("NUU184",))),
            Case("read-3M-numUnique", post(envelope(read_payload("7" * 3_000_000))), Fault(400, "NUU110")),
            Case("read-9M-numUnique", post(envelope(read_payload("7" * 9_000_000))), Fault(400, "NUU110")),
            Case("text-node-10.1M-in-file", num_unique(lambda c: in_precision("p" * 10_100_000)),
                 Fault(400, wire_xml.NOT_WELL_FORMED)),
        ]),
    "base64-lax-validation": (
        "hub/gate.py _operation() relies on libxml2's xs:base64Binary check, which skips characters outside the "
        "base64 alphabet ('****', '!!!!', 'ab cd' are valid to it), and spyne then decodes leniently: non-base64 "
        "binary fields are not refused with SOAP-MESSAGE but read as empty (XML-MALFORME, or no certificate at "
        "all) or, with '*' sprinkled in a real file, processed as if clean",
        lambda: [
            Case("fichierXml-stars", post(envelope("<ws:fichierXmlParametres><nomFichier>r</nomFichier>"
                                                   "<fichierXml>****</fichierXml><nomCertificat>c</nomCertificat>"
                                                   "</ws:fichierXmlParametres>"), path=RECHERCHE_PATH),
                 Fault(400, gate.MESSAGE)),
            Case("certificat-exclamations", post(lambda c: envelope(read_payload(c.number, "!!!!"))),
                 Fault(400, gate.MESSAGE)),
            Case("fichierDemande-tildes", post(envelope(
                "<ws:numUniqueParametres><nomFichierDemande>f</nomFichierDemande><fichierDemande>~~~~~~~~"
                "</fichierDemande><nomCertificat>c</nomCertificat><certificat/></ws:numUniqueParametres>")),
                Fault(400, gate.MESSAGE)),
            Case("fichierDemande-with-stars", post(lambda c: envelope(
                "<ws:numUniqueParametres><nomFichierDemande>f</nomFichierDemande><fichierDemande>"
                + "*".join(base64.b64encode(application_file("DEMOC", index=610)).decode())
                + "</fichierDemande><nomCertificat>c</nomCertificat><certificat/></ws:numUniqueParametres>")),
                Fault(400, gate.MESSAGE)),
        ]),
    "content-length-above-cheroot-limit": (
        "hub/server.py sets cheroot's max_request_body_size to 10 MiB + 64 KiB: above it cheroot answers "
        "'413 Request Entity Too Large' in text/plain before the gate runs, not the documented SOAP fault HUB-TAILLE",
        lambda: [Case(f"content-length-{length}", above_cheroot(length), Fault(413, gate.TOO_LARGE))
                 for length in (MAX_REQUEST_BYTES + 64 * 1024 + 1, 20_000_000, 10 ** 12)]
        + [Case("expect-100-continue-20MB", above_cheroot(20_000_000, True), Fault(413, gate.TOO_LARGE))]),
    "negative-content-length": (
        "cheroot accepts 'Content-Length: -1' and hub/gate.py _body() skips non-digit lengths, then reads until "
        "EOF: the request hangs a worker until the socket timeout (10 s) and ends in 500 HUB-INTERNE; expected an "
        "immediate 400",
        lambda: [Case(f"content-length-{length}", negative_length(length), ClientFault())
                 for length in ("-1", "-100")]),
    "depth-beyond-libxml2-limit": (
        "core/wire/xml.py parse(): beyond 255 levels libxml2 stops with 'Excessive depth in document' before "
        "the depth check runs, so 1000/10000 levels get XML-MALFORME instead of XML-PROFONDEUR",
        lambda: [
            Case(f"{where}-depth-{depth}", send, Fault(400, wire_xml.TOO_DEEP))
            for depth in (1000, 10000)
            for where, send in (
                ("envelope", post(envelope(read_payload(nested(depth))))),
                ("mtom-root", post_multipart(lambda c, d=depth: multipart([(ROOT_HEADERS,
                                                                             envelope(read_payload(nested(d))))]))),
                ("file", num_unique(lambda c, d=depth: in_precision(nested(d)))),
                ("search", recherche(search_file(criteria=f"<personneRecherchee>{nested(depth)}"
                                                          "</personneRecherchee>"))))]),
    "external-dtd-loaded": (
        "core/wire/xml.py parse(): despite load_dtd=False, libxml2 2.14 (lxml 6) opens local files named as an "
        "external subset or a referenced external parameter entity, and tries the network for http ones: "
        "/etc/passwd gives XML-MALFORME 'Content error in the external subset', /etc gives 'Is a directory', "
        "a missing file gives XML-DTD - a file-existence oracle on the hub host; expected XML-DTD for all",
        lambda: [Case(f"{name}/{where}", send, Fault(400, wire_xml.DTD_FORBIDDEN))
                 for name, prolog in (
                     ("subset-file", '<!DOCTYPE x SYSTEM "file:///etc/passwd">'),
                     ("subset-directory", '<!DOCTYPE x SYSTEM "file:///etc">'),
                     ("subset-http", '<!DOCTYPE x PUBLIC "-//A//B//EN" "http://127.0.0.1:1/x.dtd">'),
                     ("pe-file", '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'),
                     ("pe-http", '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>'))
                 for where, send in carriers(prolog, "").items() if where in ("soap", "mtom-root", "file-mtom")]),
    "entity-expansion-code": (
        "core/wire/xml.py parse(): libxml2 refuses billion laughs / quadratic blowup / recursive entities with a "
        "syntax error ('Maximum entity amplification factor exceeded', 'entity reference loop') before the DOCTYPE "
        "check: XML-MALFORME instead of the documented XML-DTD ('Les DTD et entités sont refusées')",
        lambda: [Case(f"{name}/{where}", send, Fault(400, wire_xml.DTD_FORBIDDEN))
                 for name, (prolog, reference) in (
                     ("billion-laughs", ("<!DOCTYPE x [<!ENTITY l0 \"lol\">" + "".join(
                         f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10)) + "]>", "&l9;")),
                     ("quadratic", (f'<!DOCTYPE x [<!ENTITY a "{"A" * 50_000}">]>', "&a;" * 200)),
                     ("recursive", ('<!DOCTYPE x [<!ENTITY a "&b;"><!ENTITY b "&a;">]>', "&a;")))
                 for where, send in carriers(prolog, reference).items() if where in ("soap", "mtom-root",
                                                                                    "file-mtom")]),
    "http-framing-read-by-cheroot": (
        "cheroot read the message framing before the gate: 'Content-Length: abc' or 'N, N' got its plain-text 400; "
        "20 digits raised OverflowError when cheroot drained the unread body (connection closed unanswered); '+N' "
        "got HUB-REQUETE from the gate, on a connection kept open; repeated or folded Content-Length were taken "
        "(the last value), and so were Content-Length with Transfer-Encoding (chunked used) and Transfer-Encoding "
        "in HTTP/1.0 (ignored: an empty body); chunk sizes went through "
        "int(x, 16) ('0x…' accepted, 20 hex digits: OverflowError, 'zz' or a chunk not ended by CRLF: ValueError, "
        "500 HUB-INTERNE). Expected 400 HUB-REQUETE (RFC 9112 §6), then the connection closed",
        lambda: [Case(name, send, Fault(400, gate.REQUEST, closes=True)) for name, send in framing_errors().items()]),
    "content-encoding-ignored": (
        "hub/gate.py read the body as it came whatever its Content-Encoding: a gzip body got XML-MALFORME. Expected "
        "415 HUB-ENCODAGE with Accept-Encoding: identity (RFC 9110 §12.5.3; docs/INTERFACES.md says why)",
        lambda: [Case(f"content-encoding-{name}", post(body, headers={"Content-Encoding": coding}),
                      Fault(415, transport.ENCODING, header=("Accept-Encoding", "identity")))
                 for name, (coding, body) in ENCODED.items()]),
    "unbounded-lists": (
        "core/wire/codec.py read_model() built every item of every list: a 9.6 MB CRE with 120,000 wished communes "
        "took 6-10 s, gave 119,001 anomalies and a 33 MB answer file that the gate could not parse "
        "back ('Text node too long'): 500 HUB-INTERNE; inline, a 1.6 MB request got a 7 MB answer; a DALO "
        "declaration or a search with such lists was processed (and its lists echoed whole)",
        list_cases),
    "ambiguous-mtom": (
        "core/wire/mtom.py: two parts with one Content-ID (the last registered, or for the root the first used), "
        "two xop:Include in one element (the last used), base64 text or another element beside an xop:Include "
        "(silently dropped), a part no xop:Include references (ignored): all accepted instead of MTOM-INVALIDE",
        ambiguous_mtom_cases),
    "must-understand-ignored": (
        "hub/gate.py: header blocks were never looked at: one with env:mustUnderstand=\"true\" (or \"1\") meant for "
        "the hub (no role, role next or ultimateReceiver) was ignored and the message processed, where SOAP 1.2 "
        "part 1 §5.4.8 requires a MustUnderstand fault naming it in a NotUnderstood header",
        header_cases),
    "misleading-refusals": (
        "hub/identity.py attached_owner() answered \"\" for an attached certificate it could not read, or that no "
        "counter holds: NUU186 'Le certificat joint appartient à un autre guichet'",
        misleading_refusal_cases),
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("defect", list(DEFECTS))
def test_known_defect(hub, defect):
    run(hub, DEFECTS[defect][1](), f"defect:{defect}")


def test_at_least_300_hostile_requests_were_sent():
    missing = set(GROUPS) - RAN
    if missing:
        pytest.skip(f"partial run (groups not run: {sorted(missing)}): the count needs the whole module")
    print(f"hostile requests sent: {SENT['requests']}")
    assert SENT["requests"] >= 300, SENT
