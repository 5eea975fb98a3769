"""The two "…DepuisLe" lists (cancelled since, new DALO since), as InterfaceNuuRecherche answers.

The real SNE's versions of these services are known to fail; ours answer with the numbers found,
oldest first, in the search answer format, their criteria written the way a search would state them.
"""

from __future__ import annotations

from datetime import datetime

from core.domain.search import SearchResult
from core.service_layer import services

from .processing import UnitOfWorkFactory
from .search import answer, criteria_element

MAX_LISTED = 10_000


def cancelled_since_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, since: datetime, now: datetime, *,
                           motive: str | None = None, dalo_status: str | None = None,
                           reservation_quota: str | None = None) -> bytes:
    numbers = services.cancelled_since(unit_of_work(readonly=True), counter_code, since, motive=motive,
                                       dalo_status=dalo_status, reservation_quota=reservation_quota)
    criteria = criteria_element(etatDemande="R", dateRadiationDebut=since.date().isoformat(), motifRadiation=motive)
    return answer(counter_code, now, criteria, _listed(numbers))


def new_dalo_since_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, since: datetime,
                          now: datetime) -> bytes:
    numbers = services.new_dalo_since(unit_of_work(readonly=True), counter_code, since)
    return answer(counter_code, now, criteria_element(etatDemande="A"), _listed(numbers))


def _listed(numbers: list[str]) -> SearchResult:
    """The first MAX_LISTED numbers, and how many more there are (counted exactly: the lists are read whole)."""
    return SearchResult(numbers[:MAX_LISTED], max(len(numbers) - MAX_LISTED, 0))
