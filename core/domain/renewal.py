"""The renewal clock's decisions: which notice is due, and when an application lapses.

Pure functions of an application and a day, so that the daily job is idempotent (a notice already
requested is never requested twice) and catches up after downtime (every threshold is "on or
after", never "on"). The clock never cancels an application whose holder was not warned: a notice
counts once a channel actually took it (``notice_sent_on``), not when it was requested;
cancellation waits at least one month after the first notice left, and while any requested notice
has not left (a channel down, a failed notice an operator must see to) the clock waits.

Channels: the first notice goes by email and SMS where the applicant gave them, by letter otherwise.
The second notice is a registered letter, except for applications created or renewed online at
least once, which are only ever notified electronically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .application import Application
from .calendar import add_months
from .form import Address, ApplicationForm

FIRST_NOTICE_MONTHS_BEFORE = 2
SECOND_NOTICE_MONTHS_BEFORE = 1
MIN_WARNING_MONTHS = 1
SMS_TEXT = (
    "Votre demande de logement social No: {number} doit être renouvelée. "
    "Allez sur www.demande-logement-social.gouv.fr ou à votre guichet habituel."
)


@dataclass(frozen=True)
class SendNotice:
    second: bool
    delivery: dict[str, Any]


@dataclass(frozen=True)
class CancelNotRenewed:
    on: date


Step = SendNotice | CancelNotRenewed


def next_step(application: Application, today: date) -> Step | None:
    """The one thing the clock must do next for this application on ``today``, if anything."""
    if not application.is_active:
        return None
    renewal = application.renewal
    if renewal.notice_requested_on is None:
        if today >= add_months(renewal.next_due, -FIRST_NOTICE_MONTHS_BEFORE):
            return SendNotice(False, notice_delivery(application, second=False))
        return None
    if renewal.notice_sent_on is None:
        return None  # requested, not left yet: nobody is warned
    if renewal.second_notice_requested_on is None:
        if today >= add_months(renewal.next_due, -SECOND_NOTICE_MONTHS_BEFORE):
            return SendNotice(True, notice_delivery(application, second=True))
        return None
    if renewal.second_notice_sent_on is None:
        return None
    cancel_on = max(renewal.cancellation_date, add_months(renewal.notice_sent_on, MIN_WARNING_MONTHS))
    if today >= cancel_on:
        return CancelNotRenewed(cancel_on)
    return None


def held_for_notice(application: Application, today: date) -> bool:
    """Whether the application would be cancelled today, but a requested notice has not left."""
    renewal = application.renewal
    waiting = ((renewal.notice_requested_on is not None and renewal.notice_sent_on is None)
               or (renewal.second_notice_requested_on is not None and renewal.second_notice_sent_on is None))
    return application.is_active and waiting and today >= renewal.cancellation_date


def notice_delivery(application: Application, second: bool) -> dict[str, Any]:
    """What the notification channels need to reach the applicant (personal data: outbox only)."""
    recipient = _recipient(application.form)
    electronic = [channel for channel, present in (("email", recipient["email"]), ("sms", recipient["mobile"]))
                  if present]
    if second and not application.online:
        channels = ["registered_letter"]
    elif electronic:
        channels = electronic
    else:
        channels = ["registered_letter" if second else "letter"]
    return {
        "channels": channels,
        "number": str(application.number),
        "display_number": application.number.display(),
        "due": application.renewal.next_due.isoformat(),
        "second": second,
        "recipient": recipient,
        "sms_text": SMS_TEXT.format(number=application.number.display()),
    }


def _recipient(form: ApplicationForm) -> dict[str, Any]:
    if form.association is not None:
        holder = form.association
        name, mobile, address = holder.name, holder.mobile_phone, holder.postal_address
        email = holder.email
    else:
        holder = form.household.applicant
        name = " ".join(part for part in (holder.first_name, holder.surname) if part)
        wants_sms = holder.sms_notifications is not False
        mobile = holder.mobile_phone if wants_sms else None
        email, address = holder.email, holder.postal_address
    return {"name": name, "email": email or None, "mobile": mobile or None, "address": _address_lines(address)}


def _address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    lines = [
        " ".join(p for p in (address.flat, address.floor, address.staircase, address.building) if p),
        address.complement,
        " ".join(p for p in (address.street_number, address.street) if p),
        address.place_name,
        " ".join(p for p in (address.postal_code or address.foreign_postal_code, address.foreign_commune) if p),
        address.country,
    ]
    return [line for line in lines if line]
