"""Interface files for the SOAP tests, built with the codec from demo households."""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from core import demo
from core.domain.application import Cancellation
from core.domain.calendar import now_in_paris
from core.domain.form import ApplicationForm
from core.wire.codec import InterfaceFile, write_file

DEMANDE = "DemandeLogementImplService"
RECHERCHE = "RechercheDemandeImplService"
GESTION = "GestionPartageeEVTImplService"


def today() -> date:
    return now_in_paris().date()


def interface_file(counter: str, file_type: str = "CRE", form: ApplicationForm | None = None, *,
                   number: str | None = None, version: str = "02.01", **fields) -> bytes:
    """An interfaceNuu file as libsne sends it: ASCII with character references, no declaration."""
    file = InterfaceFile(version=version, file_type=file_type, counter=counter,
                         form=form or demo.household_form(), file_date=now_in_paris(), number=number,
                         filing_date=fields.pop("filing_date", today()), **fields)
    return etree.tostring(etree.fromstring(write_file(file)))


def person(index: int, **options) -> ApplicationForm:
    """A distinct household per index, so that duplicates are not an issue unless wanted."""
    letters = "".join(chr(ord("A") + int(digit)) for digit in f"{index:04d}")
    return demo.household_form(f"Famille{letters}", "Alex", date(1980, 1, 1 + index % 28), **options)


def get_num_unique(client, file: bytes, certificate: bytes = b"", mtom: bool = True):
    return client.call(DEMANDE, "getNumUnique", "numUniqueParametres", [
        ("nomFichierDemande", f"DEMTEST-{datetime.now():%Y%m%d%H%M}-000001.xml"),
        ("fichierDemande", file),
        ("nomCertificat", "CERTEST.pem"),
        ("certificat", certificate),
    ], mtom=mtom)


def get_demande(client, number: str, certificate: bytes = b"", mtom: bool = True):
    return client.call(DEMANDE, "getDemandeLogement", "demandeLogementParametres", [
        ("numUnique", number), ("nomCertificat", "CERTEST.pem"), ("certificat", certificate)], mtom=mtom)


def cancellation_file(counter: str, number: str, cancellation: Cancellation, form=None) -> bytes:
    return interface_file(counter, "RAD", form, number=number, cancellation=cancellation)


def long_list_file(counter: str, count: int, index: int = 0, file_type: str = "CRE", **fields) -> bytes:
    """A file of ``counter`` whose listeLocalisationSouhaite holds ``count`` more wished communes:
    9.6 MB for 120,000, a hostile request well inside the 10 MB bound (the register reads 30)."""
    data = interface_file(counter, file_type, person(index), **fields)
    closing = b"</ns2:listeLocalisationSouhaite>"
    wished = b'<ns2:localisationSouhaite><ns2:commune code="57463"/></ns2:localisationSouhaite>'
    return data.replace(closing, wished * count + closing, 1)


def events_file(counter: str, number: str, *events: str, file_type: str = "EVT") -> bytes:
    """An InterfaceNuuGPEvenement file naming application ``number``, with ``events`` (each the
    inside of one ``evenement``) in ``listeEvenements`` when there are any."""
    listed = "".join(f"<evenement>{event}</evenement>" for event in events)
    text = (f'<interfaceNuu xmlns="http://nuu.application.i2/" versionInterface="02.00"><entete>'
            f"<typeFichier>{file_type}</typeFichier><dateFichier>{now_in_paris().isoformat()}</dateFichier>"
            f"<codeGuichet>{counter}</codeGuichet></entete><operation><numUnique>{number}</numUnique></operation>"
            + (f"<listeEvenements>{listed}</listeEvenements>" if events else "") + "</interfaceNuu>")
    return etree.tostring(etree.fromstring(text))  # ASCII, character references, as libsne writes


def event(type_code: str | None = None, occurred: date | None = None, comment: str | None = None,
          event_id: int | None = None, **values: str) -> str:
    """The inside of an ``evenement``, in the schema's order; ``values``: its characteristics."""
    parts = [f"<idEvenement>{event_id}</idEvenement>" if event_id is not None else "",
             f"<codeTypeEvenement>{type_code}</codeTypeEvenement>" if type_code else "",
             f"<dateSurvenance>{occurred.isoformat()}</dateSurvenance>" if occurred else "",
             f"<commentaire>{comment}</commentaire>" if comment else ""]
    if values:
        parts.append("<listeCaracteristiquesSpecifiques>" + "".join(
            f"<caracteristiqueSpecifique><code>{code}</code><valeurCaracteristiqueSpecifique>{value}"
            "</valeurCaracteristiqueSpecifique></caracteristiqueSpecifique>" for code, value in values.items())
            + "</listeCaracteristiquesSpecifiques>")
    return "".join(parts)


def types_file(counter: str, territory: str | None = None, file_type: str = "TEV") -> bytes:
    """An InterfaceNuuGPTypeEvenement request, for ``territory``'s types when given."""
    operation = f"<operation><codeTerritoire>{territory}</codeTerritoire></operation>" if territory else ""
    return (f'<interfaceNuu xmlns="http://nuu.application.i2/" versionInterface="02.00"><entete>'
            f"<typeFichier>{file_type}</typeFichier><dateFichier>{now_in_paris().isoformat()}</dateFichier>"
            f"<codeGuichet>{counter}</codeGuichet></entete>{operation}</interfaceNuu>").encode()
