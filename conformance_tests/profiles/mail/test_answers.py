"""Mails the hub processes or refuses with a signed answer (docs/MAIL.md "The answer", "Replays")."""

from __future__ import annotations

import pytest
from lxml import etree

from ..server.operations import number_of
from . import smime
from .counter import entity


@pytest.fixture(scope="module")
def registration(counter, exchange):
    """A registration file sent once for the module: (its DEM name, the mail, the raw answers)."""
    name, data = exchange.registration()
    mail = counter.mail(entity([(name, data)]))
    answers = exchange.answers(mail.message_id, exchange.send(mail))
    return name, mail, answers


def answer_file(name: str, opened: bytes) -> etree._Element:
    files = smime.attachments(opened)
    answer_name = "RET" + name[3:]
    assert answer_name in files, f"no {answer_name} in the answer, only {sorted(files)}"
    return etree.fromstring(files[answer_name], etree.XMLParser(resolve_entities=False, no_network=True))


@pytest.mark.requirement("SNE-HUB-R400")
def test_a_signed_encrypted_file_gets_one_signed_encrypted_answer(registration, counter):
    _, mail, answers = registration
    assert len(answers) == 1, f"{len(answers)} answers to one mail"
    answer = answers[0]
    assert answer.header("From").lower().endswith(counter.hub_address.lower()), answer.header("From")
    assert counter.identity.mailbox.lower() in [recipient.strip("<>").lower() for recipient in answer.recipients]
    assert smime.is_encrypted(answer.raw), "the answer is not encrypted to the counter's certificate"
    counter.open(answer.raw)  # decrypts with the counter's key, verifies the hub's signature


@pytest.mark.requirement("SNE-HUB-R401")
def test_the_answer_holds_the_ret_file_with_a_number(registration, counter):
    name, _, answers = registration
    number = number_of(answer_file(name, counter.open(answers[0].raw)))
    assert number and number.endswith(counter.identity.code), f"numUnique {number!r}"


@pytest.mark.requirement("SNE-HUB-R402")
def test_a_replay_gets_the_original_answer_and_is_not_processed_again(registration, counter, exchange):
    name, mail, answers = registration
    replay = counter.sealed(mail.signed)  # the same signed content, a new Message-ID
    after = exchange.send(replay)
    again = exchange.mailbox.wait_for(mail.message_id, replay.message_id, after=after, timeout=exchange.wait)
    assert again, f"no answer to the replay within {exchange.wait:g} s"
    first = number_of(answer_file(name, counter.open(answers[0].raw)))
    assert number_of(answer_file(name, counter.open(again[0].raw))) == first, "the replay was processed again"


@pytest.mark.requirement("SNE-HUB-R403")
def test_a_message_id_used_again_with_other_content_is_refused(registration, counter, exchange):
    _, mail, _ = registration
    name, data = exchange.registration()
    opened = exchange.answer(counter.mail(entity([(name, data)]), message_id=mail.message_id))
    assert "MAIL-ID-REUTILISE" in smime.text_of(opened)
    assert not smime.attachments(opened), "files answered although the mail was refused"


@pytest.mark.requirement("SNE-HUB-R404")
def test_a_null_flow_is_refused_with_mail_fichiers(exchange):
    opened = exchange.answer(exchange.null_flow())
    assert "MAIL-FICHIERS" in smime.text_of(opened)
    assert not smime.attachments(opened)


@pytest.mark.requirement("SNE-HUB-R405")
def test_a_file_without_a_name_is_refused_with_mail_nom_absent(counter, exchange):
    _, data = exchange.registration()
    opened = exchange.answer(counter.mail(entity([(None, data)])))
    assert "MAIL-NOM-ABSENT" in smime.text_of(opened)
    assert not smime.attachments(opened), "files answered although the mail was refused"
