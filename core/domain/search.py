"""Multi-criteria search of applications, as counters run it (rechercheDemandeMulticritere).

Results are confined to the counter's territory, never include deleted applications, and come in
the SNE's order: first wished commune, then filing date, then number. Paging is by key: a search
that names the last number of the previous page resumes right after it, so pages stay consistent
while applications are being registered.

Names are compared like duplicates are (:mod:`core.domain.identity`): accents, case, hyphens and
spaces do not count; a surname matches the usual or the birth name. An association's name matches
when it contains the searched words, compared the same way.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from .codes import ApplicationState
from .form import ApplicationForm
from .identity import name_key

PAGE_SIZE = 500


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

    def matches_form(self, form: ApplicationForm) -> bool:
        """The criteria that look into the household's form (the register indexes the others)."""
        if self.request_motive and (form.motives is None or self.request_motive not in form.motives.motives):
            return False
        processing = form.processing
        for wanted, attribute in ((self.abnormally_long_wait, "abnormally_long_wait"),
                                  (self.multiple_conditional_allocations, "multiple_conditional_allocations")):
            if wanted is not None and bool(processing and getattr(processing, attribute)) != wanted:
                return False
        if self.association_name:
            if form.association is None or name_key(self.association_name) not in name_key(form.association.name):
                return False
        if self.document_categories:
            return False  # supporting documents are not held by the register yet: none has any
        return True

    @property
    def needs_form(self) -> bool:
        return bool(self.request_motive or self.association_name or self.document_categories
                    or self.abnormally_long_wait is not None or self.multiple_conditional_allocations is not None)


@dataclass(frozen=True)
class SearchResult:
    """One page: ``numbers`` in the SNE's order, ``skipped`` matches before it, ``total`` in all."""

    numbers: list[str]
    skipped: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.skipped + len(self.numbers) < self.total


SortKey = tuple[str, date, str]  # first wished commune, filing date, number


def page(ordered: list[SortKey], after: SortKey | None, size: int = PAGE_SIZE) -> SearchResult:
    """The page of ``ordered`` (every match's key, in order) that follows the key ``after``."""
    start = bisect_right(ordered, after) if after is not None else 0
    return SearchResult([key[2] for key in ordered[start:start + size]], start, len(ordered))
