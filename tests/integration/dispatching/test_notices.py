"""Renewal notices through real channels: an SMTP relay (aiosmtpd), the demo SMS provider's files,
PDF letter batches on disk; and the whole renewal cycle, from registration to cancellation.

Households are registered through the register's use cases on a fixed date, the renewal clock
requests their notices on the days it owes them, and the product's NoticeSender (the dispatcher's)
takes the requests and sends them, every step at a moment the test names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core import demo
from core.adapters import orm
from core.domain.calendar import PARIS
from core.domain.numbers import RegistrationNumber
from core.domain.renewal import SMS_TEXT
from core.service_layer import notices, renewal_clock, services
from dispatching.notices import NoticeSender
from dispatching.worker import Dispatcher

from ..async_mail.conftest import Mailbox, free_port
from .conftest import with_settings

FILED = date(2026, 11, 30)  # due 2027-11-30: first notice 2027-09-30, second 2027-10-30, cancellation 2027-12-30
FIRST, SECOND, CANCELLATION = date(2027, 9, 30), date(2027, 10, 30), date(2027, 12, 30)
REFUSED_FOR_GOOD = "550 5.1.1 <{}>: Recipient address rejected: User unknown"
BUSY = "450 4.2.1 <{}>: Mailbox busy, try again later"


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


# -- the relay ----------------------------------------------------------------------------------------


class Relay(Mailbox):
    """The SMTP relay: keeps every mail it accepts, answers RCPT with ``refuse[address]`` when set."""

    def __init__(self):
        super().__init__()
        self.refuse: dict[str, str] = {}
        self.asked: list[str] = []  # every RCPT TO, accepted or not
        self.address = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.asked.append(address)
        if address in self.refuse:
            return self.refuse[address].format(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def relay():
    relay = Relay()
    server = Controller(relay, hostname="127.0.0.1", port=free_port())
    server.start()
    relay.address = f"127.0.0.1:{server.port}"
    yield relay
    server.stop()


@pytest.fixture
def sender(register, settings, relay) -> NoticeSender:
    """The dispatcher's notice sender, its mail going through the relay."""
    return Dispatcher(register, with_settings(settings, relay=relay.address)).notices


# -- households and what became of them ----------------------------------------------------------------


@dataclass(frozen=True)
class Household:
    number: RegistrationNumber
    name: str  # as letters print it


def household(uow, surname: str, first_name: str = "Anaïs", *, counter: str = "DEMOC", filed: date = FILED,
              email: str | None = None, mobile: str | None = None, address: bool = True,
              communes: tuple[str, ...] = (demo.METZ,)) -> Household:
    """Register a household on ``filed``; contact details only those given (no address if told)."""
    form = demo.household_form(surname, first_name, date(1984, 5, 17), communes=communes, email=email,
                               mobile=mobile)
    if not address:
        form.household.applicant.postal_address = None
    now = at(filed, 10)
    application = services.register(uow(), form, filed, counter, now)
    return Household(application.number, f"{first_name} {surname}")


def clock(uow, day: date) -> renewal_clock.ClockReport:
    return renewal_clock.run(uow, day, at(day, 2))


def application(uow, who: Household):
    with uow(readonly=True) as work:
        return work.applications.get(who.number)


def renewal(uow, who: Household):
    return application(uow, who).renewal


def notice_of(uow, who: Household, second: bool = False):
    [found] = [n for n in notices.listing(uow(), number=str(who.number)) if n.second == second]
    return found


def sends_of(uow, who: Household, second: bool = False) -> list[dict]:
    """The notice's sends as stored: channel, status, attempts, next attempt, error, reference."""
    query = (select(orm.notice_sends).join(orm.notices, orm.notices.c.id == orm.notice_sends.c.notice_id)
             .where(orm.notices.c.number == str(who.number), orm.notices.c.second.is_(second))
             .order_by(orm.notice_sends.c.id))
    with uow(readonly=True) as work:
        return [dict(row) for row in work.connection.execute(query).mappings()]


def journal(uow, kind: str, who: Household | None = None) -> list[dict]:
    query = select(orm.journal).where(orm.journal.c.kind == kind).order_by(orm.journal.c.id)
    if who is not None:
        query = query.where(orm.journal.c.number == str(who.number))
    with uow(readonly=True) as work:
        return [dict(row) for row in work.connection.execute(query).mappings()]


def sms_files(settings) -> list[Path]:
    return sorted((settings.notices_directory / "sms").glob("*.json"))


def pages(pdf: bytes) -> list[str]:
    """The text of each page of a PDF the register wrote (uncompressed content, WinAnsi)."""
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    count = int(re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", pdf)[1])
    assert count == len(streams)
    texts = []
    for stream in streams:
        lines = re.findall(r"^\((.*)\) Tj$", stream.decode("cp1252"), re.M)
        texts.append("\n".join(line.replace("\\(", "(").replace("\\)", ")").replace("\\\\", "\\")
                               for line in lines))
    return texts


# -- email -------------------------------------------------------------------------------------------


def test_a_mail_the_relay_accepted_is_the_notice_sent_that_day(register, sender, relay, settings):
    who = household(register, "Zorglub", email="demandeur.4711@example.org", mobile="0612345678")
    assert clock(register, FIRST).first_notices == 1
    assert renewal(register, who).notice_sent_on is None  # requested is not sent

    assert sender.run_once(at(FIRST)) == 3  # the request taken, the mail and the SMS sent

    [(mail_from, recipients, raw)] = relay.received
    assert (mail_from, recipients) == (settings.notice_from, ["demandeur.4711@example.org"])
    mail = message_from_bytes(raw, policy=policy.default)
    assert (mail["From"], mail["To"]) == (settings.notice_from, "demandeur.4711@example.org")
    assert mail["Subject"] == "Renouvellement de votre demande de logement social"
    text = mail.get_body(("plain",)).get_content()
    assert who.number.display() in text and "30/11/2027" in text
    # nothing personal beyond the addressee: no other header, and no name, phone or address in the words
    assert sorted(mail.keys()) == ["Content-Transfer-Encoding", "Content-Type", "Date", "From", "MIME-Version",
                                   "Message-ID", "Subject", "To"]
    for personal in ("Zorglub", "Anaïs", "0612345678", "06 12", "Jardins", "57000", "Metz", "17/05/1984"):
        assert personal not in text and personal not in mail["Subject"]

    assert renewal(register, who).notice_sent_on == FIRST
    notice = notice_of(register, who)
    assert (notice.status, notice.sent_channel) == ("sent", "email")  # the first channel that took it
    assert notice.sends == (("email", "sent", 1, None), ("sms", "sent", 1, None))
    send = sends_of(register, who)[0]
    assert send["reference"] == mail["Message-ID"]  # the mail can be traced at the relay
    [line] = journal(register, "notice.sent", who)
    assert line["details"] == {"notice": "first", "due": "2027-11-30", "channel": "email"}
    assert sender.run_once(at(FIRST, 10)) == 0 and len(relay.received) == 1  # sent once


@pytest.mark.parametrize("mobile, taken_by", [("0611223344", "sms"), (None, "letter")],
                         ids=["falls-back-to-sms", "falls-back-to-a-letter"])
def test_an_address_the_relay_refuses_for_good_is_not_retried_and_another_channel_takes_the_notice(
        register, sender, relay, settings, mobile, taken_by):
    who = household(register, "Refus", email="inconnu@example.org", mobile=mobile)
    relay.refuse["inconnu@example.org"] = REFUSED_FOR_GOOD
    clock(register, FIRST)

    sender.run_once(at(FIRST))
    sender.close_letters(at(FIRST, 16))

    assert relay.asked == ["inconnu@example.org"] and relay.received == []
    email, other = sends_of(register, who)
    assert (email["channel"], email["status"], email["attempts"]) == ("email", "failed", 1)
    assert "550" in email["last_error"]
    assert (other["channel"], other["status"]) == (taken_by, "sent")
    notice = notice_of(register, who)
    assert (notice.status, notice.sent_channel) == ("sent", taken_by)
    assert renewal(register, who).notice_sent_on == FIRST
    for later in (at(FIRST, 10), at(FIRST + timedelta(days=2))):  # long after any retry delay
        sender.run_once(later)
    assert relay.asked == ["inconnu@example.org"]  # never asked again


def test_an_address_no_mail_can_carry_is_refused_for_good_and_the_round_goes_on(register, sender, relay, settings):
    broken = household(register, "Cassé", email="x@example.org\r\nBcc: autre@example.org")  # the register took it
    texted = household(register, "Texto", mobile="0655443322")
    clock(register, FIRST)

    sender.run_once(at(FIRST))
    sender.close_letters(at(FIRST, 16))

    assert relay.asked == []
    email, letter = sends_of(register, broken)
    assert (email["status"], email["attempts"], letter["channel"], letter["status"]) == ("failed", 1, "letter", "sent")
    assert renewal(register, broken).notice_sent_on == FIRST
    assert renewal(register, texted).notice_sent_on == FIRST  # the SMS of the same round left


@pytest.mark.parametrize("failure", ["4xx", "relay down"])
def test_a_temporary_failure_is_retried_later_not_failed(register, settings, relay, failure):
    who = household(register, "Patience", email="patience@example.org")
    if failure == "4xx":
        relay.refuse["patience@example.org"] = BUSY
        sender = Dispatcher(register, with_settings(settings, relay=relay.address)).notices
    else:
        sender = Dispatcher(register, with_settings(settings, relay=f"127.0.0.1:{free_port()}")).notices
    clock(register, FIRST)
    now = at(FIRST)

    sender.run_once(now)

    [send] = sends_of(register, who)
    assert (send["status"], send["attempts"]) == ("queued", 1)
    assert send["next_attempt_at"] == now + settings.notice_retry.after_failure(1) > now
    assert ("450" if failure == "4xx" else "ConnectionRefusedError") in send["last_error"]
    assert notice_of(register, who).status == "pending" and not journal(register, "notice.failed")
    assert renewal(register, who).notice_sent_on is None
    sender.run_once(now + timedelta(seconds=30))  # not due yet: nothing tried
    assert sends_of(register, who)[0]["attempts"] == 1

    relay.refuse.clear()  # the relay is back (or accepts the address now)
    sender = Dispatcher(register, with_settings(settings, relay=relay.address)).notices
    later = send["next_attempt_at"]
    sender.run_once(later)

    assert [to for _, to, _ in relay.received] == [["patience@example.org"]]
    [send] = sends_of(register, who)
    assert (send["status"], send["attempts"], send["last_error"]) == ("sent", 2, None)
    assert renewal(register, who).notice_sent_on == later.date()


# -- SMS ---------------------------------------------------------------------------------------------


def test_the_demo_provider_writes_the_regulations_text_for_the_applicants_mobile(register, sender, settings):
    who = household(register, "Texto", mobile="06 98 76 54 32")
    clock(register, FIRST)

    sender.run_once(at(FIRST))

    [written] = sms_files(settings)
    sms = json.loads(written.read_text(encoding="utf-8"))
    assert sms == {"to": "06 98 76 54 32", "text": SMS_TEXT.format(number=who.number.display())}
    # the regulation's words, with the number as displayed (DOMAIN.md, "Renew")
    assert sms["text"].startswith(f"Votre demande de logement social No: {who.number.display()} doit être renouvelée.")
    assert sms["text"].endswith("ou à votre guichet habituel.")
    [send] = sends_of(register, who)
    assert (send["channel"], send["status"], send["reference"]) == ("sms", "sent", written.stem)
    assert renewal(register, who).notice_sent_on == FIRST


def test_an_invalid_mobile_number_is_a_permanent_failure(register, sender, settings):
    who = household(register, "Faux", mobile="06 12 AB CD", address=False)
    clock(register, FIRST)

    sender.run_once(at(FIRST))
    sender.run_once(at(FIRST + timedelta(days=1)))  # long after any retry delay

    assert sms_files(settings) == []
    [send] = sends_of(register, who)
    assert (send["channel"], send["status"], send["attempts"]) == ("sms", "failed", 1)
    assert "invalide" in send["last_error"]
    assert notice_of(register, who).status == "failed"  # no address to fall back to: operators see it
    assert [line["details"]["notice"] for line in journal(register, "notice.failed", who)] == ["first"]


# -- letters -----------------------------------------------------------------------------------------


def test_letters_close_into_one_pdf_per_territory_and_kind_written_for_printing(register, sender, settings):
    later = date(2026, 12, 30)  # due 2027-12-30: first notice on 2027-10-30, the day of the others' second
    reminded = household(register, "Lefèvre", "Hélène", counter="DEMOB")  # first notice by letter on FIRST
    first_a = household(register, "Moreau", "Éric", filed=later)
    first_b = household(register, "Dubois", "Zoé", counter="DEMOE", filed=later)
    nancy = household(register, "Lorrain", "Jean", counter="NANCY", filed=later, communes=("54395",))
    homeless = household(register, "Sansadresse", "Léa", filed=later, address=False)

    clock(register, FIRST)
    sender.run_once(at(FIRST))
    assert len(sender.close_letters(at(FIRST, 16))) == 1
    report = clock(register, SECOND)
    assert (report.first_notices, report.second_notices) == (4, 1)
    sender.run_once(at(SECOND))

    closed = sender.close_letters(at(SECOND, 16))

    with register(readonly=True) as work:
        batches = {(b.territory, b.channel): work.notices.batch(b.id) for b in work.notices.batches()
                   if b.id in closed}
    assert set(batches) == {("057", "letter"), ("057", "registered_letter"), ("054", "letter")}
    texts = {}
    for (territory, channel), batch in batches.items():
        path = Path(batch.export_path)
        assert path.parent == settings.letters_directory / territory and path.name.startswith("20271030-")
        assert path.read_bytes() == batch.pdf  # what is printed is what the register keeps
        texts[territory, channel] = pages(batch.pdf)
        assert batch.letters == len(texts[territory, channel])

    def page_of(who: Household, texts: list[str]) -> str:
        [page] = [page for page in texts if who.number.display() in page]
        assert who.name in page  # each letter is one page: the applicant's name and number together
        return page

    assert len(texts["057", "letter"]) == 2  # the household without an address is not printed
    for who in (first_a, first_b):
        page = page_of(who, texts["057", "letter"])
        assert "Le 30/10/2027" in page and "12 rue des Jardins" in page
        assert "Lettre recommandée" not in page
    page_of(nancy, texts["054", "letter"])
    registered = page_of(reminded, texts["057", "registered_letter"])
    assert "Lettre recommandée avec accusé de réception" in registered
    assert "Nous vous avons déjà écrit" in registered and "avant le 30/11/2027" in registered
    assert "Lettre recommandée avec accusé de réception".encode("cp1252") in batches["057", "registered_letter"].pdf

    for who in (first_a, first_b, nancy):
        assert renewal(register, who).notice_sent_on == SECOND
    assert renewal(register, reminded).second_notice_sent_on == SECOND
    # a letter without an address fails, for operators to see, instead of being printed
    assert all(homeless.name not in page for batch in texts.values() for page in batch)
    [send] = sends_of(register, homeless)
    assert (send["channel"], send["status"]) == ("letter", "failed") and "adresse" in send["last_error"]
    assert [n.number for n in notices.listing(register(), "failed")] == [str(homeless.number)]
    assert len(journal(register, "notice.failed", homeless)) == 1
    assert renewal(register, homeless).notice_sent_on is None
    assert sender.close_letters(at(SECOND, 17)) == []  # nothing left to close


# -- personal data -----------------------------------------------------------------------------------


def recipients(uow) -> dict[str, object]:
    query = select(orm.notices.c.number, orm.notices.c.recipient)
    with uow(readonly=True) as work:
        return {number: recipient for number, recipient in work.connection.execute(query)}


def test_contact_details_are_erased_once_the_notice_has_left_and_kept_while_a_send_waits(register, sender, relay):
    left = household(register, "Partie", email="partie@example.org", mobile="0611111111")
    waiting = household(register, "Attente", email="attente@example.org")
    relay.refuse["attente@example.org"] = BUSY
    clock(register, FIRST)

    sender.run_once(at(FIRST))

    kept = recipients(register)
    assert kept[str(left.number)] is None
    assert kept[str(waiting.number)]["email"] == "attente@example.org"  # the retry needs it


def test_an_erased_recipient_is_sql_null(register, sender):
    household(register, "Partie", mobile="0611111111")
    clock(register, FIRST)
    sender.run_once(at(FIRST))
    with register(readonly=True) as work:
        assert work.connection.execute(select(orm.notices.c.id).where(orm.notices.c.recipient.is_(None))).all()


# -- the whole cycle ---------------------------------------------------------------------------------


def states(uow, *households: Household) -> list[tuple]:
    found = []
    for who in households:
        current = application(uow, who)
        cancellation = current.cancellation
        found.append((current.state.value, cancellation.motive if cancellation else None,
                      cancellation.date if cancellation else None))
    return found


def test_notices_leave_and_only_then_is_an_application_cancelled(register, sender, relay, settings):
    """The issue's scenario: notices leave by real channels; the household no channel reaches is
    never cancelled until an operator says the notice left, and then only a month after."""
    warned = household(register, "Prévenu", email="prevenu@example.org", mobile="0622334455")
    unreachable = household(register, "Injoignable", email="injoignable@example.org", address=False)
    relay.refuse["injoignable@example.org"] = REFUSED_FOR_GOOD

    assert clock(register, FIRST - timedelta(days=1)).first_notices == 0
    assert clock(register, FIRST).first_notices == 2
    sender.run_once(at(FIRST))
    sender.close_letters(at(FIRST, 16))
    assert renewal(register, warned).notice_sent_on == FIRST
    assert [to for _, to, _ in relay.received] == [["prevenu@example.org"]]
    assert len(sms_files(settings)) == 1
    assert renewal(register, unreachable).notice_sent_on is None
    assert [n.number for n in notices.listing(register(), "failed")] == [str(unreachable.number)]

    report = clock(register, SECOND)
    assert report.second_notices == 1  # not for a household whose first notice never left
    sender.run_once(at(SECOND))
    sender.close_letters(at(SECOND, 16))  # a registered letter for the second notice
    assert renewal(register, warned).second_notice_sent_on == SECOND
    assert notice_of(register, warned, second=True).sent_channel == "registered_letter"

    assert clock(register, CANCELLATION - timedelta(days=1)).cancelled == 0
    report = clock(register, CANCELLATION)
    assert (report.cancelled, report.held) == (1, 1)
    assert states(register, warned, unreachable) == [("cancelled", "RADREN", CANCELLATION), ("active", None, None)]
    report = clock(register, date(2028, 3, 1))
    assert (report.cancelled, report.held) == (0, 1)

    # an operator posted a letter by hand on 2 March, and says so on the 5th
    posted, told = date(2028, 3, 2), date(2028, 3, 5)
    notices.mark_sent_by_hand(register(), notice_of(register, unreachable).id, notices.LETTER, posted, at(told))
    assert renewal(register, unreachable).notice_sent_on == posted
    assert notice_of(register, unreachable).status == "sent"
    assert clock(register, told).second_notices == 1  # a registered letter: no address, it fails again
    sender.run_once(at(told))
    sender.close_letters(at(told, 16))
    assert notice_of(register, unreachable, second=True).status == "failed"
    assert clock(register, told + timedelta(days=1)).held == 1
    notices.mark_sent_by_hand(register(), notice_of(register, unreachable, second=True).id,
                              notices.REGISTERED_LETTER, told + timedelta(days=1), at(told + timedelta(days=1)))

    assert clock(register, date(2028, 4, 1)).cancelled == 0
    assert clock(register, date(2028, 4, 2)).cancelled == 1  # a month after the notice left, not after told
    assert states(register, unreachable) == [("cancelled", "RADREN", date(2028, 4, 2))]
    assert [line["details"]["channel"] for line in journal(register, "notice.sent", unreachable)] == [
        "letter", "registered_letter"]
