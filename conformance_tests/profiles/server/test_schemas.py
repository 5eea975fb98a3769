"""Every file the server sent during the run is valid against the interface's XSD."""

import pytest

from .conftest import VALIDITY_CHECK


@pytest.mark.requirement("SNE-HUB-R105")
def test_every_file_is_valid_against_its_schema(ledger):
    if ledger.seen == 0:
        pytest.skip("no file was received (run with the other checks)")
    if ledger.invalid:
        pytest.fail(ledger.report(), pytrace=False)  # each file, each error's path and reason


assert test_every_file_is_valid_against_its_schema.__name__ == VALIDITY_CHECK
