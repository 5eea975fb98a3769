"""What the checks assert about answers, said once, with messages an integrator can act on."""

from __future__ import annotations

from .deliveries import Delivery
from .wire import Acknowledgement, Answer, Fault, acknowledgement, describe, fault


def acknowledged(answer: Answer, delivery: Delivery, refused: frozenset[int] | None = frozenset()) -> Acknowledgement:
    """The answer acknowledges ``delivery`` as the hub reads it, refusing exactly ``refused`` (any
    files, when None)."""
    ack = acknowledgement(answer)
    assert ack is not None, f"delivery {delivery.id}: no recevoirDispatchReponse in the answer ({describe(answer)})"
    assert answer.content_type.split(";")[0].strip() == "application/soap+xml", \
        f"the acknowledgement's Content-Type is {answer.content_type!r}: SOAP 1.2 (application/soap+xml) expected"
    assert ack.delivery_id == delivery.id, \
        f"acknowledgement of {ack.delivery_id!r} for delivery {delivery.id!r}: the hub would retry it"
    assert refused is None or set(ack.refusals) == refused, \
        f"refus for sequences {sorted(ack.refusals)} ({ack.refusals}), expected {sorted(refused or ())}"
    return ack


def not_retried_fault(answer: Answer, what: str) -> Fault:
    """The answer is a SOAP 1.2 fault the hub does not retry."""
    found = fault(answer)
    assert found is not None, f"{what}: no SOAP 1.2 fault in the answer (the hub retries that): {describe(answer)}"
    assert not found.retry, f"{what}: the fault ({found.code}) tells the hub to retry; the message itself is wrong"
    return found


def not_acknowledged(attempt, what: str) -> str:
    """``attempt()`` fails in TLS or gets an answer that is no acknowledgement: how it was refused."""
    try:
        answer = attempt()
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    assert acknowledgement(answer) is None, f"{what}: acknowledged ({describe(answer)})"
    return f"HTTP {answer.status}"
