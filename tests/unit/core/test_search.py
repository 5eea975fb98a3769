"""Search criteria on the form, and paging by key."""

from datetime import date

from core.demo import household_form
from core.domain.form import Association, ProcessingInformation
from core.domain.search import Period, SearchCriteria, page


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


def test_document_categories_match_nothing_yet():
    assert not SearchCriteria(document_categories=("IDD",)).matches_form(household_form())


KEYS = [("57463", date(2026, 1, d), f"N{d:02d}") for d in range(1, 8)]


def test_first_page_and_the_next():
    first = page(KEYS, None, size=3)
    assert (first.numbers, first.skipped, first.total, first.has_more) == (["N01", "N02", "N03"], 0, 7, True)
    second = page(KEYS, KEYS[2], size=3)
    assert second.numbers == ["N04", "N05", "N06"] and second.skipped == 3
    last = page(KEYS, KEYS[5], size=3)
    assert last.numbers == ["N07"] and not last.has_more


def test_paging_resumes_after_a_key_that_no_longer_matches():
    """The last number received may have been cancelled since: the next page starts after its place."""
    gone = ("57463", date(2026, 1, 3), "N03b")
    assert page(KEYS, gone, size=2).numbers == ["N04", "N05"]
