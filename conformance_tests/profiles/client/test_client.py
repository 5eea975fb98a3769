"""The client profile's checks: each reads what the conformance endpoint received during the run."""

import pytest

from . import verdicts

SHOWN = 5  # requests shown in the report per failed check: enough to see the defect


def problems(session, requirement: str, exchanges) -> list[str]:
    """Each problem of ``requirement`` in the requests received; the first requests that have one go to
    the report (the plugin's ``exchanges``, bodies masked)."""
    offending = [received for received in session.log.received if requirement in received.problems]
    for received in offending[:SHOWN]:
        exchanges.record({"method": received.method, "url": received.path, "request": received.body,
                          "request_headers": received.headers, "status": received.status,
                          "response": received.answer,
                          "response_headers": {"Content-Type": "application/soap+xml; charset=utf-8"}})
    found = [f"{received.what}: {problem}" for received in offending for problem in received.problems[requirement]]
    assert session.log.soap() or found, "the client sent no SOAP request to the conformance endpoint" + driver(session)
    return found


def driver(session) -> str:
    """The driver's exit status and the end of its output, when the kit ran one."""
    if session.driver is None:
        return ""
    output = (session.driver.stdout + session.driver.stderr)[-1500:]
    return f"\n(driver exited {session.driver.returncode}:\n{output})"


def settled(found: list[str] | None) -> None:
    if found is None:
        pytest.skip("the scenarios run do not include it")
    assert not found, "\n".join(found)


@pytest.mark.requirement("SNE-HUB-R200")
def test_every_request_is_a_post_with_one_body_delimiter(session, exchanges):
    settled(problems(session, "SNE-HUB-R200", exchanges))


@pytest.mark.requirement("SNE-HUB-R201")
def test_every_request_has_the_soap_content_type_and_its_action(session, exchanges):
    settled(problems(session, "SNE-HUB-R201", exchanges))


@pytest.mark.requirement("SNE-HUB-R202")
def test_every_mtom_request_is_well_formed(session, exchanges):
    if not any(r.headers.get("Content-Type", "").startswith("multipart/") for r in session.log.soap()):
        pytest.skip("the client sent no MTOM request")
    settled(problems(session, "SNE-HUB-R202", exchanges))


@pytest.mark.requirement("SNE-HUB-R203")
def test_every_request_comes_with_a_valid_client_certificate(session, exchanges):
    refused = [f"TLS handshake refused: {why}" for why in session.log.refused_handshakes]
    settled(refused + problems(session, "SNE-HUB-R203", exchanges))


@pytest.mark.requirement("SNE-HUB-R204")
def test_every_file_is_valid_against_the_xsd(session, exchanges):
    settled(problems(session, "SNE-HUB-R204", exchanges))


@pytest.mark.requirement("SNE-HUB-R205")
def test_every_scenario_was_sent(session):
    missing = verdicts.missing_scenarios(session.log, session.scenarios)
    assert not missing, "scenarios not received: " + "; ".join(
        f"{scenario.id} ({scenario.instruction})" for scenario in missing) + driver(session)


@pytest.mark.requirement("SNE-HUB-R206")
def test_a_lost_answer_is_searched_before_registering_again(session):
    settled(verdicts.after_lost_answer(session.log, session.scenarios))


@pytest.mark.requirement("SNE-HUB-R207")
def test_an_anomaly_is_corrected_not_ignored(session):
    settled(verdicts.after_anomaly(session.log, session.scenarios))


@pytest.mark.requirement("SNE-HUB-R208")
def test_a_probable_duplicate_is_confirmed_with_forcer_doublon(session):
    settled(verdicts.after_duplicates(session.log, session.scenarios))
