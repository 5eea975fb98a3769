"""Renewal notices' channels: email through the relay, SMS through a provider, letters in PDF batches.

Each channel reports to :mod:`core.service_layer.notices` what became of each send, and only a
channel that *took* the notice makes it count as sent: the relay accepted the mail (2xx), the
provider accepted the message, the letter is in a closed batch. Without a relay (the demo), emails
are written as ``.eml`` files under ``<notices dir>/email/``; the day's letter batches are written
as PDF files under ``SNE_HUB_LETTERS_DIR/<territory>/`` for printing.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Callable

from core.service_layer import notices
from core.service_layer.unit_of_work import NoticeSend, UnitOfWork
from core.wire import notices as words

from .config import DispatchSettings
from .sms import SmsRefused, provider

log = logging.getLogger(__name__)

RELAY_TIMEOUT = 60
BATCH = 50


class Refused(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class EmailChannel:
    def __init__(self, settings: DispatchSettings):
        self.settings = settings

    def send(self, send: NoticeSend) -> str:
        address = send.recipient.get("email")
        if not address:
            raise Refused("pas d'adresse électronique", permanent=True)
        subject, text = words.email(send.recipient, send.due, send.second)
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = self.settings.notice_from
        try:
            message["To"] = address
        except ValueError:  # a line break in it, say: no mail can carry it, no retry will help
            raise Refused("adresse électronique invalide", permanent=True) from None
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now().astimezone())
        message["Message-ID"] = make_msgid(domain=self.settings.notice_from.partition("@")[2] or "sne-hub")
        message.set_content(text, charset="utf-8")
        if self.settings.relay:
            self._relay(address, message)
        else:
            _drop(self.settings.notices_directory / "email", f"{send.id}.eml", message.as_bytes())
        return message["Message-ID"]

    def _relay(self, address: str, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(*self.settings.relay_address, timeout=RELAY_TIMEOUT) as relay:
                relay.send_message(message, from_addr=self.settings.notice_from, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as error:  # the address itself: 5xx is for good
            code = next(iter(error.recipients.values()))[0]
            raise Refused(f"adresse refusée par le relais ({code})", permanent=500 <= code < 600) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError, socket.timeout) as error:
            raise Refused(f"relais : {type(error).__name__}") from None


class SmsChannel:
    def __init__(self, settings: DispatchSettings):
        self.provider = provider(settings)

    def send(self, send: NoticeSend) -> str:
        number, text = send.recipient.get("mobile"), send.recipient.get("sms_text")
        if not number or not text:
            raise Refused("pas de numéro de téléphone mobile", permanent=True)
        try:
            return self.provider.send(number, text)
        except SmsRefused as error:
            raise Refused(f"fournisseur SMS : {error}", permanent=error.permanent) from None


class NoticeSender:
    """Takes the clock's requests, sends what is due on each electronic channel, closes and writes
    the letter batches; ``run_once`` does one round of each (the dispatcher calls it in a loop)."""

    def __init__(self, unit_of_work: Callable[..., UnitOfWork], settings: DispatchSettings):
        self.unit_of_work = unit_of_work
        self.settings = settings
        self.channels = {notices.EMAIL: EmailChannel(settings), notices.SMS: SmsChannel(settings)}

    def run_once(self, now: datetime) -> int:
        done = notices.take_requests(self.unit_of_work(), now)
        for name, channel in self.channels.items():
            for send in notices.claim(self.unit_of_work(), name, now, self.settings.lease, BATCH):
                done += 1
                try:
                    reference = channel.send(send)
                except Exception as error:  # noqa: BLE001 - a refusal, or a bug: recorded, never lost
                    refusal = error if isinstance(error, Refused) else Refused(
                        f"erreur du hub : {type(error).__name__}")
                    outcome = notices.failed(self.unit_of_work(), send.id, now, str(refusal),
                                             self.settings.notice_retry, permanent=refusal.permanent)
                    log.warning("notice send %d by %s failed (%s)", send.id, name, outcome)
                else:
                    notices.sent(self.unit_of_work(), send.id, now, reference)
        return done

    def close_letters(self, now: datetime) -> list[int]:
        """Close the letter batches now, and write every batch not written yet."""
        closed = notices.close_letter_batches(self.unit_of_work, now, _render)
        self.export_batches(now)
        return closed

    def export_batches(self, now: datetime) -> list[Path]:
        written = []
        with self.unit_of_work(readonly=True) as uow:
            waiting = [batch.id for batch in uow.notices.batches(exported=False)]
        for batch_id in waiting:
            with self.unit_of_work() as uow:
                batch = uow.notices.batch(batch_id)
                path = (self.settings.letters_directory / batch.territory /
                        f"{batch.day:%Y%m%d}-{batch.channel}-{batch.id}.pdf")
                _drop(path.parent, path.name, batch.pdf)
                uow.notices.exported(batch.id, str(path), now)
                uow.commit()
            written.append(path)
            log.info("letter batch %d (%s, territory %s, %d letters) written to %s", batch.id, batch.channel,
                     batch.territory, batch.letters, path)
        return written


def _render(territory: str, channel: str, day, letters: list[NoticeSend]) -> bytes:
    return words.letters_pdf([(letter.recipient, letter.due, letter.second) for letter in letters], day,
                             registered=channel == notices.REGISTERED_LETTER)


def _drop(directory: Path, name: str, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    temporary = target.with_suffix(target.suffix + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, target)
