"""What a search answer says about the matches after its page (the anomaly RECH-SUITE)."""

from datetime import datetime

import pytest
from lxml import etree

from core.domain.calendar import PARIS
from core.domain.search import SearchResult
from core.wire.codec import NS
from core.wire.search import answer

NUMBERS = [f"0571226{index:06d}DEMOB" for index in range(1, 501)]
NEXT = " : pour la suite, renvoyer la recherche avec le dernier numéro reçu dans listeDemandes"


@pytest.mark.parametrize("result, message", [
    (SearchResult(NUMBERS, 734), "500 résultats ici, 734 autres suivent" + NEXT),
    (SearchResult(NUMBERS, 1), "500 résultats ici, 1 autre suit" + NEXT),
    (SearchResult(NUMBERS, 2000, following_exceeds=True), "500 résultats ici, plus de 2000 autres suivent" + NEXT),
    (SearchResult(NUMBERS[:3]), None),
])
def test_the_answer_says_how_many_follow_or_that_more_than_the_limit_do(result, message):
    root = etree.fromstring(answer("DEMOB", datetime(2026, 12, 3, 10, tzinfo=PARIS), None, result))
    assert len(root.findall(f"{{{NS}}}listeDemandes/{{{NS}}}numUnique")) == len(result.numbers)
    found = root.findtext(f"{{{NS}}}listeAnomalies/{{{NS}}}anomalie/{{{NS}}}message")
    assert found == message
    if message:
        assert root.find(f"{{{NS}}}listeAnomalies/{{{NS}}}anomalie").get("code") == "RECH-SUITE"
