"""Search criteria on the form and the terms the register answers them from, and what a page says."""

from datetime import date

import pytest

from core.demo import household_form
from core.domain.form import Association, ProcessingInformation
from core.domain.search import Period, SearchCriteria, index_terms, page


def test_periods_are_inclusive_and_open_ended():
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    assert period.contains(date(2026, 1, 1)) and period.contains(date(2026, 1, 31))
    assert not period.contains(date(2026, 2, 1)) and not period.contains(None)
    assert Period().contains(None) and Period(start=date(2026, 1, 1)).contains(date(2030, 1, 1))


def test_form_criteria():
    form = household_form()
    assert SearchCriteria(request_motive="13").matches_form(form)
    assert not SearchCriteria(request_motive="06").matches_form(form)
    assert not SearchCriteria(abnormally_long_wait=True).matches_form(form)
    assert SearchCriteria(abnormally_long_wait=False).matches_form(form)
    form.processing = ProcessingInformation(abnormally_long_wait=True)
    assert SearchCriteria(abnormally_long_wait=True).matches_form(form)


def test_association_name_matches_words_it_contains():
    form = household_form()
    form.household, form.association = None, Association(name="Les Amis du Quartier-Nord")
    assert SearchCriteria(association_name="amis du quartier").matches_form(form)
    assert not SearchCriteria(association_name="Sud").matches_form(form)


def test_document_categories_ask_for_every_category_listed():
    form = household_form()
    assert not SearchCriteria(document_categories=("IDD",)).matches_form(form)  # a form alone holds none
    assert SearchCriteria(document_categories=("IDD",)).matches_form(form, {"IDD", "RFR"})
    assert SearchCriteria(document_categories=("IDD", "RFR")).matches_form(form, {"IDD", "RFR", "LOGACT"})
    assert not SearchCriteria(document_categories=("IDD", "RFR")).matches_form(form, {"IDD"})
    assert SearchCriteria(document_categories=("IDD", "IDD")).terms.required == (("document", "IDD"),)


KEYS = [("57463", date(2026, 1, d), f"N{d:02d}") for d in range(1, 8)]


def test_a_page_says_how_many_follow_it():
    """The register reads one match past the page (so it knows more follow) and counts the rest up
    to the limit: an exact count of a large result would read all of it on every page."""
    first = page(KEYS[:4], counted=4, size=3, limit=10)
    assert (first.numbers, first.following, first.following_exceeds, first.has_more) == (["N01", "N02", "N03"], 4,
                                                                                         False, True)
    last = page(KEYS[6:], size=3)
    assert (last.numbers, last.following, last.has_more) == (["N07"], 0, False)


def test_past_the_limit_the_count_says_more_than():
    counted_past = page(KEYS[:4], counted=11, size=3, limit=10)
    assert (counted_past.following, counted_past.following_exceeds) == (10, True)
    exactly = page(KEYS[:4], counted=10, size=3, limit=10)
    assert (exactly.following, exactly.following_exceeds) == (10, False)


TERM_CASES = [  # (criteria, form change, matches)
    (SearchCriteria(request_motive="13"), None, True),
    (SearchCriteria(request_motive="06"), None, False),
    (SearchCriteria(abnormally_long_wait=False, multiple_conditional_allocations=False), None, True),
    (SearchCriteria(multiple_conditional_allocations=True), "indicators", True),
    (SearchCriteria(multiple_conditional_allocations=False), "indicators", False),
    (SearchCriteria(association_name="du quartier"), "association", True),
    (SearchCriteria(association_name="  "), "association", True),  # an empty key: every association
    (SearchCriteria(association_name="  "), None, False),
    (SearchCriteria(request_motive="13", association_name="amis"), "association", False),  # no motive then
]


@pytest.mark.parametrize("criteria, change, expected", TERM_CASES)
def test_form_criteria_are_answered_from_the_indexed_terms(criteria, change, expected):
    form = household_form()
    if change == "indicators":
        form.processing = ProcessingInformation(abnormally_long_wait=False, multiple_conditional_allocations=True)
    elif change == "association":
        form.household, form.motives = None, None
        form.association = Association(name="Les Amis du Quartier-Nord")
    assert criteria.terms.matches(index_terms(form)) is expected
    assert criteria.matches_form(form) is expected


def test_the_terms_of_a_form():
    form = household_form()
    form.processing = ProcessingInformation(abnormally_long_wait=True)
    assert index_terms(form) == [("indicator", "abnormally_long_wait"), ("motive", "13"), ("motive", "19")]
    form.household, form.association = None, Association(name="Entraide Sud")
    assert ("association", "ENTRAIDESUD") in index_terms(form)
