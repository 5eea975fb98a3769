"""Interface files built from the templates the kit ships, for households invented for each run.

``templates/application.xml`` is a complete CERFA household as a counter's software sends it.
Every run draws a family name of its own (``Household`` below), and each household of the run a
first name and birth date of its own, so that the register's duplicate detection meets exactly the
duplicates a check sends on purpose, on a fresh register or one that already ran the kit.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .wire import FILES_NS

TEMPLATES = Path(__file__).parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
FIRST_NAMES = ("Camille", "Dominique", "Claude", "Sacha", "Alix", "Morgan", "Lou", "Noa", "Eden", "Charlie")


def now() -> datetime:
    """The register's clock is Paris time."""
    return datetime.now(PARIS)


def today() -> date:
    return now().date()


def run_token(length: int = 6) -> str:
    return "".join(random.choice(string.ascii_uppercase) for _ in range(length))


@dataclass(frozen=True)
class Household:
    """One applicant: distinct from every other household of every run (by name and birth date)."""

    surname: str
    first_name: str
    birth_date: date

    @classmethod
    def invent(cls, family: str, index: int) -> "Household":
        birth = date(1960, 1, 1) + timedelta(days=random.randrange(0, 14_000))
        return cls(f"Conformite {family}", FIRST_NAMES[index % len(FIRST_NAMES)] + "-" + run_token(4).title(),
                   birth)


def application_file(counter: str, household: Household, file_type: str = "CRE", *, commune: str,
                     number: str | None = None, force_duplicate: bool = False, dalo: str | None = None,
                     email: str = "menage@example.org", lifecycle: str = "") -> bytes:
    """An interfaceNuu 02.01 file of ``counter`` for ``household``; ``lifecycle``: the ``renouvellement``
    or ``radiation`` block of a REN or RAD; ``dalo``: the inside of ``informationDalo``."""
    values = {
        "TYPE": file_type, "NOW": now().isoformat(timespec="seconds"), "TODAY": today().isoformat(),
        "COUNTER": counter, "REF": run_token(), "COMMUNE": commune,
        "NUMBER": f"\n      <ns2:numUnique>{number}</ns2:numUnique>" if number else "",
        "FORCE": "\n      <ns2:forcerDoublon>true</ns2:forcerDoublon>" if force_duplicate else "",
        "DALO": dalo or '<ns2:statutDalo code="NON"/>',
        "SURNAME": household.surname, "FIRSTNAME": household.first_name,
        "BIRTH": household.birth_date.isoformat(), "EMAIL": email, "LIFECYCLE": lifecycle,
    }
    text = (TEMPLATES / "application.xml").read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text.encode("utf-8")


def renewal(day: date) -> str:
    return f"<ns2:renouvellement><ns2:dateRenouvellement>{day.isoformat()}</ns2:dateRenouvellement></ns2:renouvellement>"


# What each cancellation motive of the interface requires beside the date (cahier des charges, RAD files).
MOTIVE_DETAILS = {
    "RADABA": "",
    "RADIRR": '<ns2:sousMotifIrrecevabilite code="IRRRES"/>',
    "RADCON": "<ns2:absenceReponse><ns2:dateCourrier>{letter}</ns2:dateCourrier></ns2:absenceReponse>",
    "RADATT": ('<ns2:attributionLogement><ns2:dateSignatureBail>{day}</ns2:dateSignatureBail>'
               '<ns2:dejaLogeParcBailleur code="NON"/><ns2:accordCollectif code="AUCUN"/>'
               '<ns2:typeReservataire code="AUCUN"/><ns2:adresse><ns2:numero>3</ns2:numero>'
               '<ns2:voie>rue de la Conformite</ns2:voie><ns2:codePostal>{postal}</ns2:codePostal>'
               '<ns2:commune code="{commune}"/></ns2:adresse></ns2:attributionLogement>'),
}


def cancellation(motive: str | None, day: date, commune: str = "", postal: str = "") -> str:
    """A ``radiation`` block: ``motive`` with its details, or none (a reactivation, "déradiation")."""
    code = f'<ns2:motifRadiation code="{motive}"/>' if motive else "<ns2:motifRadiation/>"
    details = MOTIVE_DETAILS.get(motive or "", "").format(day=day.isoformat(), letter=(day - timedelta(days=70))
                                                          .isoformat(), commune=commune, postal=postal)
    return f"<ns2:radiation><ns2:dateRadiation>{day.isoformat()}</ns2:dateRadiation>{code}{details}</ns2:radiation>"


def dalo_active(day: date) -> str:
    return (f'<ns2:statutDalo code="ACTIF"/><ns2:dateDecisionDalo>{day.isoformat()}</ns2:dateDecisionDalo>'
            '<ns2:typologieLogementDalo code="03"/>')


def search_file(counter: str, criteria: str = "", after: str | None = None) -> bytes:
    """An InterfaceNuuRecherche request; ``after``: the last number of the previous page."""
    listed = f"<listeDemandes><numUnique>{after}</numUnique></listeDemandes>" if after else ""
    return (f'<interfaceNuu xmlns="{FILES_NS}" versionInterface="02.00"><entete><typeFichier>RECH</typeFichier>'
            f"<dateFichier>{now().isoformat(timespec='seconds')}</dateFichier><codeGuichet>{counter}</codeGuichet>"
            f"</entete><operation><demandeMulticritere>{criteria}</demandeMulticritere></operation>{listed}"
            "</interfaceNuu>").encode()


def events_file(counter: str, number: str, *events: str) -> bytes:
    """An InterfaceNuuGPEvenement request naming application ``number``; ``events``: the inside of each
    ``evenement`` (``event`` below)."""
    listed = "".join(f"<evenement>{event}</evenement>" for event in events)
    return (f'<interfaceNuu xmlns="{FILES_NS}" versionInterface="02.00"><entete><typeFichier>EVT</typeFichier>'
            f"<dateFichier>{now().isoformat(timespec='seconds')}</dateFichier><codeGuichet>{counter}</codeGuichet>"
            f"</entete><operation><numUnique>{number}</numUnique></operation>"
            + (f"<listeEvenements>{listed}</listeEvenements>" if events else "") + "</interfaceNuu>").encode()


def event(type_code: str | None = None, occurred: date | None = None, event_id: str | None = None,
          **values: str) -> str:
    """The inside of an ``evenement``, in the schema's order; ``values``: its characteristics by code."""
    parts = [f"<idEvenement>{event_id}</idEvenement>" if event_id else "",
             f"<codeTypeEvenement>{type_code}</codeTypeEvenement>" if type_code else "",
             f"<dateSurvenance>{occurred.isoformat()}</dateSurvenance>" if occurred else ""]
    if values:
        parts.append("<listeCaracteristiquesSpecifiques>" + "".join(
            f"<caracteristiqueSpecifique><code>{code}</code><valeurCaracteristiqueSpecifique>{value}"
            "</valeurCaracteristiqueSpecifique></caracteristiqueSpecifique>" for code, value in values.items())
            + "</listeCaracteristiquesSpecifiques>")
    return "".join(parts)


def types_file(counter: str) -> bytes:
    """An InterfaceNuuGPTypeEvenement request for the national types."""
    return (f'<interfaceNuu xmlns="{FILES_NS}" versionInterface="02.00"><entete><typeFichier>TEV</typeFichier>'
            f"<dateFichier>{now().isoformat(timespec='seconds')}</dateFichier><codeGuichet>{counter}</codeGuichet>"
            "</entete></interfaceNuu>").encode()
