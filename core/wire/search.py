"""Search files (InterfaceNuuRecherche): criteria in, the matching numbers out.

The request's ``operation/demandeMulticritere`` carries the criteria; the answer echoes them and
lists the numbers found in ``listeDemandes``, in the SNE's order, at most 500 at a time. When more
match, the answer says so in ``listeAnomalies`` (code ``RECH-SUITE``), with how many follow, counted
up to ``core.domain.search.COUNT_LIMIT`` ("plus de 2000" past it); the next page is asked for by
sending the same criteria with the last number received in ``listeDemandes``.

The same answer format serves the lists of getDemandesRadieesDepuisLe and getNouveauxDaloDepuisLe:
their criteria are written in ``demandeMulticritere`` the way a search would express them.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import islice

from lxml import etree

from core.domain.codes import ApplicationState
from core.domain.errors import (
    TOO_MANY_VALUES,
    Anomaly,
    InvalidContent,
    InvalidSearch,
    RegisterError,
)
from core.domain.numbers import RegistrationNumber
from core.domain.search import PAGE_SIZE, Period, SearchCriteria, SearchResult
from core.service_layer import services

from . import schemas
from .answers import answer_root, append_anomalies, check_sender, read_request, serialised
from .codec import MAX_ITEMS, q
from .processing import UnitOfWorkFactory

NEXT_PAGE = "RECH-SUITE"
STATES = {"A": ApplicationState.ACTIVE, "R": ApplicationState.CANCELLED}


def search_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, data: bytes, now: datetime) -> bytes:
    """rechercheDemandeMulticritere: the answer file for a search file."""
    root = read_request(data, schemas.SEARCH_FILE)
    criteria_element = root.find(f"{q('operation')}/{q('demandeMulticritere')}")
    anomalies: list[Anomaly] = []
    result = None
    try:
        check_sender(root, counter_code)
        listed = _bounded(root.find(q("listeDemandes")), "numUnique", PAGE_SIZE)
        _bounded(criteria_element.find(q("piecesJustificatives")), "codeCategorie", MAX_ITEMS)
        criteria = read_criteria(criteria_element, listed)
        result = services.search(unit_of_work(readonly=True), criteria, counter_code)
    except RegisterError as refusal:
        anomalies = refusal.anomalies
    return answer(counter_code, now, criteria_element, result, anomalies)


def _bounded(element: etree._Element | None, item: str, bound: int) -> list[etree._Element]:
    """The items of one of the file's lists, refused (one anomaly, nothing searched) beyond ``bound``:
    a page of numbers for ``listeDemandes`` (a client may send back the page it received), as many
    as an application's lists for ``piecesJustificatives`` (docs/REGISTER.md, "Bounds on lists")."""
    if element is None:
        return []
    items = list(islice(element.iterchildren(q(item)), bound + 1))
    if len(items) > bound:
        raise InvalidContent([Anomaly(TOO_MANY_VALUES, f"Au plus {bound} éléments dans cette liste : le fichier en "
                                                       "porte davantage, il n'est pas lu au-delà",
                                      etree.QName(element).localname)])
    return items


def read_criteria(element: etree._Element, listed: list[etree._Element]) -> SearchCriteria:
    def text(name: str) -> str | None:
        found = element.findtext(q(name))
        return found.strip() or None if found is not None else None

    def day(name: str) -> date | None:
        return _day(text(name), name)

    def flag(name: str) -> bool | None:
        value = text(name)
        return None if value is None else value in ("true", "1")

    state_code = text("etatDemande")
    if state_code is not None and state_code not in STATES:
        raise InvalidSearch("etatDemande : A (active) ou R (radiée)", "etatDemande")
    number = text("numUnique")
    if number is not None:
        number = str(RegistrationNumber.parse(number))
    after = listed[-1].text.strip() if listed and listed[-1].text else None
    return SearchCriteria(
        number=number,
        state=STATES.get(state_code) if state_code else None,
        filed=Period(day("dateDepotDebut"), day("dateDepotFin")),
        renewed=Period(day("dateRenouvellementDebut"), day("dateRenouvellementFin")),
        cancelled=Period(day("dateRadiationDebut"), day("dateRadiationFin")),
        request_motive=text("motifDemande"),
        cancellation_motive=text("motifRadiation"),
        wished_commune=text("communeSouhaitee"),
        allocation_commune=text("communeAttribution"),
        abnormally_long_wait=flag("estDelaiAnormalementLong"),
        multiple_conditional_allocations=flag("estMultiplesAttributionsSousConditions"),
        association_name=element.findtext(f"{q('association')}/{q('nom')}"),
        surname=element.findtext(f"{q('personneRecherchee')}/{q('nom')}"),
        first_name=element.findtext(f"{q('personneRecherchee')}/{q('prenom')}"),
        birth_date=_day(element.findtext(f"{q('personneRecherchee')}/{q('dateNaissance')}"), "dateNaissance"),
        document_categories=tuple(c.text.strip() for c in element.iter(q("codeCategorie")) if c.text),
        after=after,
    )


def _day(text: str | None, name: str) -> date | None:
    """An xs:date criterion (its time zone says nothing about the day)."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidSearch(f"{name} : date hors des bornes prises en charge", name) from None


def answer(counter_code: str, now: datetime, criteria: etree._Element | None, result: SearchResult | None,
           anomalies: list[Anomaly] = ()) -> bytes:
    """An InterfaceNuuRecherche answer: the criteria echoed, the numbers, paging and anomalies."""
    root = answer_root(counter_code, now)
    operation = etree.SubElement(root, q("operation"))
    operation.append(_copy(criteria) if criteria is not None else etree.Element(q("demandeMulticritere")))
    anomalies = list(anomalies)
    if result is not None and result.numbers:
        listed = etree.SubElement(root, q("listeDemandes"))
        for number in result.numbers:
            etree.SubElement(listed, q("numUnique")).text = number
    if result is not None and result.has_more:
        anomalies.append(Anomaly(NEXT_PAGE, f"{_following(result)} : pour la suite, renvoyer la recherche avec "
                                            "le dernier numéro reçu dans listeDemandes"))
    append_anomalies(root, anomalies, name_property=False)
    return serialised(root)


def _following(result: SearchResult) -> str:
    """What follows the page: how many, or that more than COUNT_LIMIT do (the count stops there)."""
    listed = len(result.numbers)
    if result.following_exceeds:
        return f"{listed} résultats ici, plus de {result.following} autres suivent"
    if result.following == 1:
        return f"{listed} résultats ici, 1 autre suit"
    return f"{listed} résultats ici, {result.following} autres suivent"


def _copy(element: etree._Element) -> etree._Element:
    """The request's element, rebuilt under our prefix (comments and foreign prefixes dropped), with
    at most MAX_ITEMS children per element: a list over its bound comes back cut."""
    copy = etree.Element(q(etree.QName(element).localname))
    copy.text = element.text if len(element) == 0 else None
    for child in islice((child for child in element if isinstance(child.tag, str)), MAX_ITEMS):
        copy.append(_copy(child))
    return copy


def criteria_element(**values: str | None) -> etree._Element:
    """A ``demandeMulticritere`` stating the criteria of a "…DepuisLe" list, in schema order."""
    element = etree.Element(q("demandeMulticritere"))
    for name in ("etatDemande", "dateRadiationDebut", "motifRadiation"):
        if values.get(name):
            etree.SubElement(element, q(name)).text = values[name]
    return element

