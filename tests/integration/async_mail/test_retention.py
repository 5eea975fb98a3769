"""The mail channel's retention: settled mails and replies erased whole once past the period, and
nothing else; a replay of an erased mail refused for its signing time, never processed again."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from async_mail import pipeline
from async_mail.store import MailStore, Purged
from core.adapters import orm
from core.cli import main
from core.domain.calendar import now_in_paris
from support.files import interface_file, person
from support.mails import entity, identity, ours

from .test_mail_channel import applications, file_name, send, stored_mail


def rows(mail, table) -> list[tuple[int, str]]:
    with mail.store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(table.c.id, table.c.status).order_by(table.c.id))]


def signed(mail, index: int, **options) -> bytes:
    demob = identity(mail.pki, "DEMOB")
    return ours(entity([(file_name("DEMOB", index), interface_file("DEMOB", form=person(index)))]), demob,
                mail.settings.certificate, **options)


def test_settled_mails_and_replies_past_the_period_are_erased_and_nothing_else(mail):
    """Processed, quarantined with an answer, quarantined without one: erased with their replies, as
    is a dead letter. A mail waiting to be processed, one being processed, one released from
    quarantine, a reply still to be sent: kept."""
    demob = identity(mail.pki, "DEMOB")
    send(mail, signed(mail, 1), demob.mailbox)  # processed, answered
    send(mail, signed(mail, 2, at=now_in_paris() - timedelta(days=2)), demob.mailbox)  # MAIL-HORODATAGE, answered
    send(mail, b"From: x@example.org\r\nSubject: not signed\r\n\r\nhello\r\n", demob.mailbox)  # no answer
    send(mail, b"From: y@example.org\r\nSubject: not signed either\r\n\r\nhello\r\n", demob.mailbox)
    mail.settle()
    [processed, answered, unanswered, released] = rows(mail, orm.mail_messages)
    assert [processed[1], answered[1], unanswered[1]] == ["processed", "quarantined", "quarantined"]
    assert mail.store.get(answered[0]).reason_code == pipeline.SIGNING_TIME
    assert mail.store.release(released[0])
    waiting, held = stored_mail(mail, 3), stored_mail(mail, 4)
    assert MailStore(mail.store.engine).claim(held, now_in_paris())
    queued = mail.store.enqueue(demob.mailbox, "<queued@hub>", b"not sent yet", now_in_paris())
    dead = mail.store.enqueue(demob.mailbox, "<dead@hub>", b"never delivered", now_in_paris())
    assert mail.store.failed(dead, "550 refused", now_in_paris(), dead_after=timedelta(0)) == "dead"
    sent = [reply for reply, status in rows(mail, orm.mail_outbox) if status == "sent"]
    assert len(sent) == 2 and len(mail.mailbox.received) == 2

    first_received = mail.store.get(processed[0]).received_at
    assert mail.store.due_for_purge(first_received) == Purged(0, 0)  # received at, not before: kept
    assert mail.store.purge(first_received) == Purged(0, 0)
    later = now_in_paris() + timedelta(seconds=1)
    assert mail.store.due_for_purge(later) == Purged(mails=3, replies=3)
    assert mail.store.purge(later, batch=2) == Purged(mails=3, replies=3)  # over several transactions
    assert rows(mail, orm.mail_messages) == [(released[0], "released"), (waiting, "received"),
                                             (held, "processing")]
    assert rows(mail, orm.mail_outbox) == [(queued, "queued")]
    assert mail.store.purge(later) == Purged(0, 0)
    assert applications(mail) == 1  # what the register made of the files is not the mail's


@pytest.mark.mail_settings(retention_days=3)
def test_a_replay_is_answered_while_its_original_is_kept_and_refused_for_its_signature_once_erased(mail):
    """The period (3 days) is more than twice the signing window (24 h): a mail's copy that comes
    after its original was erased has a signature too old to be accepted, so it is refused for that,
    never taken for a new mail."""
    demob = identity(mail.pki, "DEMOB")
    raw = signed(mail, 4, message_id="<kept-4@guichets.sne-hub.test>")
    send(mail, raw, demob.mailbox)
    mail.settle()
    later = now_in_paris() + mail.settings.retention  # when the mail processes' purge erases it

    kept = mail.store.receive(raw, demob.mailbox, "<kept-4@guichets.sne-hub.test>", later)
    assert mail.pipeline.run(kept, later) == "quarantined"
    assert mail.store.get(kept).reason_code == pipeline.REPLAY

    assert mail.store.purge(later - mail.settings.retention + timedelta(seconds=1)) == Purged(mails=1, replies=1)
    erased = mail.store.receive(raw, demob.mailbox, "<kept-4@guichets.sne-hub.test>", later)
    assert mail.pipeline.run(erased, later) == "quarantined"
    assert mail.store.get(erased).reason_code == pipeline.SIGNING_TIME
    assert applications(mail) == 1


def test_a_replay_whose_original_reply_went_meanwhile_is_quarantined_without_an_answer(mail):
    """A purge between the replay check and the resending: nothing to send again, nothing processed."""
    demob = identity(mail.pki, "DEMOB")
    raw = signed(mail, 5)
    send(mail, raw, demob.mailbox)
    mail.settle()
    [(reply, _)] = rows(mail, orm.mail_outbox)
    with mail.store.engine.begin() as connection:
        connection.execute(orm.mail_outbox.delete().where(orm.mail_outbox.c.id == reply))
    send(mail, raw, demob.mailbox)
    mail.settle()
    replay = mail.store.get(rows(mail, orm.mail_messages)[-1][0])
    assert (replay.status, replay.reason_code, replay.reply_id) == ("quarantined", pipeline.REPLAY, None)
    assert "effacée" in replay.reason
    assert rows(mail, orm.mail_outbox) == [] and len(mail.mailbox.received) == 1
    assert applications(mail) == 1


def test_operators_purge_at_once_and_count_first(mail, database_url):
    """``sne-hub mail purge``: what the mail processes do each hour, with the period of the settings."""
    store, now = mail.store, now_in_paris()
    old = store.receive(b"raw", "x@example.org", None, now - timedelta(days=91))
    store.quarantine(old, "MAIL-TEST", "old", now - timedelta(days=91))
    reply = store.enqueue("x@example.org", "<old@hub>", b"old reply", now - timedelta(days=91))
    store.sent(reply, now - timedelta(days=91))
    recent = store.receive(b"raw", "x@example.org", None, now - timedelta(days=89))
    store.quarantine(recent, "MAIL-TEST", "recent", now - timedelta(days=89))

    def purge(*options: str):
        return CliRunner().invoke(main, ["mail", "purge", *options], prog_name="sne-hub",
                                  env={"SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_MAIL_RETENTION_DAYS": "90"})

    counted = purge("--dry-run")
    assert counted.exit_code == 0, counted.output
    assert counted.output.startswith("1 mail(s) and 1 reply(ies) to erase, received or queued before ")
    assert [row for row, _ in rows(mail, orm.mail_messages)] == [old, recent]
    erased = purge()
    assert erased.exit_code == 0, erased.output
    assert erased.output.splitlines()[-1] == "1 mail(s) and 1 reply(ies) erased"
    assert rows(mail, orm.mail_messages) == [(recent, "quarantined")] and rows(mail, orm.mail_outbox) == []
    refused = CliRunner().invoke(main, ["mail", "purge"], prog_name="sne-hub", env={
        "SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_MAIL_RETENTION_DAYS": "1"})
    assert refused.exit_code == 1 and "SNE_HUB_MAIL_RETENTION_DAYS" in refused.output
    assert len(rows(mail, orm.mail_messages)) == 1


def test_several_processes_purging_at_once_erase_each_row_once(mail):
    store, now = mail.store, now_in_paris()
    for index in range(30):
        message = store.receive(b"raw", "x@example.org", None, now - timedelta(days=100, minutes=index))
        store.quarantine(message, "MAIL-TEST", "old", now)
    other = MailStore(store.engine)
    with ThreadPoolExecutor(2) as purging:
        results = list(purging.map(lambda s: s.purge(now - timedelta(days=90), batch=4), [store, other]))
    leftover = store.purge(now - timedelta(days=90))
    assert sum(result.mails for result in results) + leftover.mails == 30
    assert rows(mail, orm.mail_messages) == []


def test_a_purge_asked_to_stop_begins_no_batch(mail):
    """A mail process stopping (SIGTERM) does not wait for a long purge: the next one goes on."""
    store, now = mail.store, now_in_paris()
    message = store.receive(b"raw", "x@example.org", None, now - timedelta(days=100))
    store.quarantine(message, "MAIL-TEST", "old", now)
    stop = threading.Event()
    stop.set()
    assert store.purge(now, stop=stop) == Purged(0, 0)
    assert store.purge(now, stop=threading.Event()) == Purged(mails=1, replies=0)
