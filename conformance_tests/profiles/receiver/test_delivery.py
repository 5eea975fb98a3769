"""Deliveries as the hub pushes them: acknowledged as the contract says, inline and MTOM, files
checked against their schema one by one."""

from __future__ import annotations

import pytest

from .checks import acknowledged
from .deliveries import spoiled
from .wire import MAX_ANSWER_BYTES, message_of

LARGEST_DELIVERY = 100  # SNE_HUB_DISPATCH_BATCH's default: the most changes the hub puts in one delivery


@pytest.mark.requirement("SNE-HUB-R300")
def test_a_valid_delivery_is_acknowledged(push, stream, message_schema):
    delivery = stream.delivery(stream.change("CRE"), stream.change("CRE"))
    answer = push(delivery)
    acknowledged(answer, delivery)
    errors = [f"{error.path}: {error.reason}" for error in message_schema.iter_errors(message_of(answer))]
    assert not errors, f"the acknowledgement breaks the WSDL's schema (the hub's strict reading fails): {errors}"


@pytest.mark.requirement("SNE-HUB-R301")
def test_the_largest_delivery_is_acknowledged_in_time(push, stream, sender):
    delivery = stream.delivery(*(stream.change("CRE") for _ in range(LARGEST_DELIVERY)))
    try:
        answer = push(delivery)
    except TimeoutError:
        pytest.fail(f"no answer to a delivery of {LARGEST_DELIVERY} files within {sender.timeout} s: "
                    "the hub gives up and sends it again")
    assert len(answer.body) <= MAX_ANSWER_BYTES, "the answer is over 1 MB: the hub does not read it"
    acknowledged(answer, delivery)


@pytest.mark.requirement("SNE-HUB-R303")
def test_changes_without_a_file_are_acknowledged(push, stream):
    created = stream.change("CRE")
    delivery = stream.delivery(created, stream.change("EVT", created.number, 1), stream.change("SUP", created.number, 2))
    acknowledged(push(delivery), delivery)


@pytest.mark.requirement("SNE-HUB-R310")
def test_files_as_mtom_parts_are_read(push, stream):
    delivery = stream.delivery(stream.change("CRE"), stream.change("CRE"))
    acknowledged(push(delivery, mtom=True), delivery)


@pytest.mark.requirement("SNE-HUB-R320")
def test_a_file_that_breaks_its_schema_is_refused_alone(push, stream):
    broken = spoiled(stream.change("CRE"))
    delivery = stream.delivery(stream.change("CRE"), broken, stream.change("CRE"))
    acknowledged(push(delivery), delivery, refused=frozenset({broken.sequence}))
