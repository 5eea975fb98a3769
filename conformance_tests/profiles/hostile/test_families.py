"""One check per family of hostile cases: each case gets its documented outcome, and the hub still serves.

After every case: no content of /etc/passwd in the answer, and ``GET ?wsdl`` answers; after the
family: the application registered first is still read back. Every problem of a family is listed
at once, case by case.
"""

import pytest

from .cases import FAMILIES
from .exchange import problems_of

MARKED = [pytest.param(family, marks=pytest.mark.requirement(requirement), id=family)
          for family, (requirement, _) in FAMILIES.items()]


@pytest.mark.parametrize("family", MARKED)
def test_every_case_of_the_family_gets_its_documented_outcome(context, family):
    cases = FAMILIES[family][1]()
    problems = problems_of(context, cases)
    assert not problems, f"{len(problems)} problem(s) in {len(cases)} cases:\n" + "\n".join(problems)
