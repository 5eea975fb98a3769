"""Multi-criteria search of applications, as counters run it (rechercheDemandeMulticritere).

Results are confined to the counter's territory, never include deleted applications, and come in
the SNE's order: first wished commune, then filing date, then number. Paging is by key: a search
that names the last number of the previous page resumes right after that number's place in the
order, so pages stay consistent while applications are being registered, and a page deep in a
large result costs what the first one does (the register reads no match before the key).

Names are compared like duplicates are (:mod:`core.domain.identity`): accents, case, hyphens and
spaces do not count; a surname matches the usual or the birth name. An association's name matches
when it contains the searched words, compared the same way.

The criteria that look into the household's form (request motive, the register's indicators, the
association's name) are answered from *terms* the register indexes with each application
(:func:`index_terms`), never by reading the forms at search time: :class:`TermFilter` states such
criteria over those terms, and :meth:`SearchCriteria.matches_form` is that same filter applied to
one form. Supporting documents add one term per category the application holds an active document
of (:func:`document_terms`), kept by the documents' use cases; a search by categories asks for
every category listed (docs/REGISTER.md, "Search").

How many matches follow a page is counted up to :data:`COUNT_LIMIT` only: an exact count of a
large result would cost a scan of the whole result on every page (docs/REGISTER.md, "Search").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .codes import ApplicationState
from .form import ApplicationForm
from .identity import name_key

PAGE_SIZE = 500
COUNT_LIMIT = 2_000  # matches after a page counted at most: four pages (docs/REGISTER.md, "Search")

SEARCHED_STATES = (ApplicationState.ACTIVE, ApplicationState.CANCELLED)  # without etatDemande: never deleted

# The terms of a form (index_terms): a kind and a value.
Term = tuple[str, str]
MOTIVE, INDICATOR, ASSOCIATION, DOCUMENT = "motive", "indicator", "association", "document"
INDICATORS = ("abnormally_long_wait", "multiple_conditional_allocations")  # informationTraitement's flags


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None

    def contains(self, day: date | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if day is None:
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None


def index_terms(form: ApplicationForm) -> list[Term]:
    """What the register indexes of ``form`` for the criteria that look into it, sorted.

    ``("motive", "13")`` for each request motive, ``("indicator", "abnormally_long_wait")`` for each
    indicator of ``informationTraitement`` that is true, and ``("association", key)`` with the name
    key of an association's name (empty when it has none: an association name criterion whose key
    is empty matches it, as it always did).
    """
    terms = {(MOTIVE, motive) for motive in (form.motives.motives if form.motives else ()) if motive}
    processing = form.processing
    terms |= {(INDICATOR, name) for name in INDICATORS if processing and getattr(processing, name)}
    if form.association is not None:
        terms.add((ASSOCIATION, name_key(form.association.name)))
    return sorted(terms)


def document_terms(categories: Iterable[str]) -> list[Term]:
    """The terms of an application's supporting documents: one per category it holds an active one of."""
    return sorted({(DOCUMENT, category) for category in categories})


@dataclass(frozen=True)
class TermFilter:
    """The criteria on the form and the documents, stated over :func:`index_terms` and :func:`document_terms`.

    An application matches when it has every ``required`` term and no ``excluded`` one, and when (if
    ``association_key`` is set) its association term contains that key.
    """

    required: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    association_key: str | None = None

    def matches(self, terms: list[Term]) -> bool:
        present = set(terms)
        if not present.issuperset(self.required) or not present.isdisjoint(self.excluded):
            return False
        if self.association_key is not None:
            return any(kind == ASSOCIATION and self.association_key in value for kind, value in terms)
        return True


@dataclass(frozen=True)
class SearchCriteria:
    number: str | None = None
    state: ApplicationState | None = None
    filed: Period = Period()
    renewed: Period = Period()
    cancelled: Period = Period()
    request_motive: str | None = None
    cancellation_motive: str | None = None
    wished_commune: str | None = None
    allocation_commune: str | None = None
    abnormally_long_wait: bool | None = None
    multiple_conditional_allocations: bool | None = None
    association_name: str | None = None
    surname: str | None = None
    first_name: str | None = None
    birth_date: date | None = None
    document_categories: tuple[str, ...] = ()
    after: str | None = None  # the last number of the previous page

    @property
    def states(self) -> tuple[ApplicationState, ...]:
        """The states searched: the one asked for, or every state but deleted."""
        return (self.state,) if self.state is not None else SEARCHED_STATES

    @property
    def terms(self) -> TermFilter:
        """The criteria that look into the household's form, over the terms the register indexes."""
        required = [(MOTIVE, self.request_motive)] if self.request_motive else []
        required += document_terms(self.document_categories)
        excluded = []
        for name in INDICATORS:
            wanted = getattr(self, name)
            if wanted is not None:
                (required if wanted else excluded).append((INDICATOR, name))
        return TermFilter(tuple(required), tuple(excluded),
                          name_key(self.association_name) if self.association_name else None)

    def matches_form(self, form: ApplicationForm, document_categories: Iterable[str] = ()) -> bool:
        """The criteria that look into the household's form and documents (the register indexes the others)."""
        return self.terms.matches(index_terms(form) + document_terms(document_categories))


SortKey = tuple[str, date, str]  # first wished commune, filing date, number


@dataclass(frozen=True)
class SearchResult:
    """One page: ``numbers`` in the SNE's order, and how many matches follow it.

    ``following`` is exact up to :data:`COUNT_LIMIT`; past it, ``following`` is the limit and
    ``following_exceeds`` says that more than that many follow.
    """

    numbers: list[str]
    following: int = 0
    following_exceeds: bool = False

    @property
    def has_more(self) -> bool:
        return self.following > 0


def page(found: list[SortKey], counted: int = 0, size: int = PAGE_SIZE, limit: int = COUNT_LIMIT) -> SearchResult:
    """The page made of ``found``, the first ``size + 1`` matches after the key searched from (or
    fewer: the one past the page only says that more follow), given ``counted``, the matches counted
    after the page's last key up to ``limit + 1``."""
    numbers = [key[2] for key in found[:size]]
    if len(found) <= size:
        return SearchResult(numbers)
    counted = max(counted, 1)  # the match past the page follows, whatever happened since
    return SearchResult(numbers, min(counted, limit), counted > limit)
