"""Renewal notices to applicants: from the clock's request to a channel that actually took them.

The renewal clock requests a notice (an outbox message with the applicant's contact details); this
module turns it into one send per channel (email, SMS, letter, registered letter) and records what
the channel adapters report. The rules (docs/REGISTER.md, "Renewal notices"):

- a notice counts as sent when its first channel took it: the relay accepted the mail, the SMS
  provider accepted the message, or the letter went into a closed daily batch; only then does the
  application's ``notice_sent_on`` move, and with it the date non-renewal cancellation waits for;
- a channel that fails is retried on a schedule; a permanent refusal (an address the relay
  rejects, a number the provider refuses) is not;
- when every channel of a notice has failed, the notice falls back to a letter (registered for a
  second notice) if a postal address is known, even for online applicants: a letter is better than
  a cancellation without warning; otherwise the notice fails, the journal says so, operators see
  it (``sne-hub notices list --status failed``) and the clock holds the cancellation;
- the applicant's contact details are erased from the notice once it has left and none of its
  sends is waiting; a failed notice keeps them, for the operator's retry.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Callable

from core.domain.calendar import PARIS
from core.domain.dispatch import RetrySchedule
from core.domain.errors import InvalidDate, UnknownNotice
from core.domain.events import EventKind
from core.domain.numbers import RegistrationNumber
from core.domain.referential import SYSTEM

from .unit_of_work import NoticeRecord, NoticeSend, UnitOfWork

log = logging.getLogger(__name__)

EMAIL, SMS, LETTER, REGISTERED_LETTER = "email", "sms", "letter", "registered_letter"
CHANNELS = (EMAIL, SMS, LETTER, REGISTERED_LETTER)
LETTERS = (LETTER, REGISTERED_LETTER)
QUEUED, SENT, FAILED, CANCELLED = "queued", "sent", "failed", "cancelled"
PENDING = "pending"

LetterRenderer = Callable[[str, str, date, list[NoticeSend]], bytes]  # territory, channel, day, letters -> PDF


def take_requests(uow: UnitOfWork, now: datetime, limit: int = 200) -> int:
    """Turn the clock's requests waiting in the outbox into notices with their sends."""
    with uow:
        messages = uow.events.claim([EventKind.RENEWAL_NOTICE.value], limit)
        for message in messages:
            delivery = message.payload["delivery"]
            uow.notices.add(message.id, message.number, RegistrationNumber.parse(message.number).territory,
                            bool(delivery["second"]), date.fromisoformat(delivery["due"]), message.created_at,
                            _recipient(delivery), delivery["channels"], now)
        if messages:
            uow.events.done([message.id for message in messages], now)
        uow.commit()
    return len(messages)


def claim(uow: UnitOfWork, channel: str, now: datetime, lease: timedelta, limit: int = 50) -> list[NoticeSend]:
    with uow:
        sends = uow.notices.claim(channel, now, now + lease, limit)
        uow.commit()
    return sends


def sent(uow: UnitOfWork, send_id: int, now: datetime, reference: str | None = None) -> None:
    """A channel took the send (relay, provider): the notice has left."""
    with uow:
        send = _send(uow, send_id)
        _mark_sent(uow, send, now, reference)
        uow.commit()


def failed(uow: UnitOfWork, send_id: int, now: datetime, error: str, schedule: RetrySchedule,
           permanent: bool = False) -> str:
    """A channel could not take the send; returns retry, failed (this send) or fallback/alert (the notice)."""
    with uow:
        send = _send(uow, send_id)
        outcome = _mark_failed(uow, send, now, error, None if permanent else schedule)
        uow.commit()
    return outcome


def close_letter_batches(unit_of_work: Callable[..., UnitOfWork], now: datetime, render: LetterRenderer) -> list[int]:
    """Close today's batch of every territory with letters waiting: one PDF per territory and kind
    of letter, kept in the register; every letter in it has left. Returns the batch ids."""
    day = now.astimezone(PARIS).date()
    with unit_of_work() as uow:
        waiting = uow.notices.letter_territories(now)
    closed = []
    for territory, channel in waiting:
        with unit_of_work() as uow:
            letters = uow.notices.queued_letters(territory, channel, now)
            printable = [letter for letter in letters if letter.recipient.get("address")]
            for letter in letters:
                if letter not in printable:
                    _mark_failed(uow, letter, now, "adresse postale absente : courrier impossible", None)
            if printable:
                batch = uow.notices.add_batch(territory, channel, day, now, len(printable),
                                              render(territory, channel, day, printable))
                for letter in printable:
                    _mark_sent(uow, letter, now, f"lot {batch}")
                closed.append(batch)
            uow.commit()
    return closed


def mark_sent_by_hand(uow: UnitOfWork, notice_id: int, channel: str, on: date, now: datetime) -> None:
    """An operator sent a failed notice by other means (a letter posted by hand…): it has left, on a
    day that cannot be in the future (the cancellation a month later counts from it)."""
    if on > now.astimezone(PARIS).date():
        raise InvalidDate("Un préavis ne peut pas être parti dans le futur", "notice")
    with uow:
        notice = uow.notices.get(notice_id)
        if notice is None:
            raise UnknownNotice(f"Aucun préavis n° {notice_id}", "notice")
        send_id = uow.notices.add_send(notice_id, channel, now)
        _mark_sent(uow, _send(uow, send_id), datetime.combine(on, now.timetz()), "envoyé hors du hub")
        uow.commit()


def retry(uow: UnitOfWork, notice_id: int, now: datetime) -> int:
    """Try every failed send of a notice again now; returns how many (none for a notice that left:
    its contact details are gone, and it needs nothing more)."""
    with uow:
        notice = uow.notices.get(notice_id)
        if notice is None:
            raise UnknownNotice(f"Aucun préavis n° {notice_id}", "notice")
        if notice.status == SENT:
            return 0
        again = [send_id for send_id, _, status in uow.notices.sends(notice_id) if status == FAILED]
        for send_id in again:
            uow.notices.update_send(send_id, status=QUEUED, attempts=0, next_attempt_at=now, leased_until=None)
        if again and notice.status == FAILED:
            uow.notices.update(notice_id, status=PENDING)
        uow.commit()
    return len(again)


def listing(uow: UnitOfWork, status: str | None = None, number: str | None = None) -> list[NoticeRecord]:
    with uow:
        return uow.notices.list(status, number)


# -- within a unit of work ----------------------------------------------------------------------


def _send(uow: UnitOfWork, send_id: int) -> NoticeSend:
    send = uow.notices.send_of(send_id)
    if send is None:
        raise UnknownNotice(f"Aucun envoi de préavis n° {send_id}", "notice")
    return send


def _mark_sent(uow: UnitOfWork, send: NoticeSend, at: datetime, reference: str | None) -> None:
    uow.notices.update_send(send.id, status=SENT, sent_at=at, reference=(reference or "")[:200] or None,
                            attempts=send.attempts + 1, leased_until=None, last_error=None)
    notice = uow.notices.get(send.notice_id)
    if notice.status != SENT:
        uow.notices.update(notice.id, status=SENT, sent_at=at, sent_channel=send.channel)
        application = uow.applications.get(RegistrationNumber.parse(send.number), for_update=True)
        if application is not None:
            version = application.version
            if application.notice_left(send.second, send.due, at.astimezone(PARIS).date(), send.channel, SYSTEM, at):
                uow.applications.save(application, version)
                uow.events.append(application.events)
    _forget_recipient_when_done(uow, notice.id)


def _mark_failed(uow: UnitOfWork, send: NoticeSend, now: datetime, error: str,
                 schedule: RetrySchedule | None) -> str:
    attempts = send.attempts + 1
    wait = schedule.after_failure(attempts) if schedule is not None else None
    if wait is not None:
        uow.notices.update_send(send.id, attempts=attempts, next_attempt_at=now + wait, leased_until=None,
                                last_error=error[:1000])
        return "retry"
    uow.notices.update_send(send.id, status=FAILED, attempts=attempts, leased_until=None, last_error=error[:1000])
    sends = uow.notices.sends(send.notice_id)
    if any(status == QUEUED for _, _, status in sends):
        return "failed"  # another channel may still take it
    notice = uow.notices.get(send.notice_id)
    if notice.status == SENT:
        _forget_recipient_when_done(uow, notice.id)
        return "failed"
    tried = {channel for _, channel, _ in sends}
    if send.recipient.get("address") and not tried.intersection(LETTERS):
        letter = REGISTERED_LETTER if send.second else LETTER
        uow.notices.add_send(notice.id, letter, now)
        log.warning("notice %d: every channel failed, falling back to a %s", notice.id, letter)
        return "fallback"
    uow.notices.update(notice.id, status=FAILED)
    application = uow.applications.get(RegistrationNumber.parse(send.number), for_update=True)
    if application is not None:
        application.notice_failed(send.second, send.due, error[:200], SYSTEM, now)
        uow.events.append(application.events)
    log.error("notice %d could not leave by any channel: an operator must act (sne-hub notices list --status "
              "failed); the application will not be cancelled meanwhile", notice.id)
    return "alert"


def _forget_recipient_when_done(uow: UnitOfWork, notice_id: int) -> None:
    if not any(status == QUEUED for _, _, status in uow.notices.sends(notice_id)):
        uow.notices.update(notice_id, recipient=None)


def _recipient(delivery: dict) -> dict:
    recipient = dict(delivery.get("recipient") or {})
    recipient["display_number"] = delivery.get("display_number")
    recipient["sms_text"] = delivery.get("sms_text")
    return recipient
