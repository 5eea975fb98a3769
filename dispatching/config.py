"""Outbound delivery's settings, from the environment; every one has a working default for make run."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

from certificates.mail import relay_address
from core.domain.dispatch import RetrySchedule
from core.domain.dispatch import parse_duration as duration

DEMO = Path("var/demo")
MAX_BATCH = 500  # files per delivery: receivers are told to accept this many (docs/DISPATCHING.md)
RECEIVER_WSDL = Path(__file__).resolve().parent.parent / "wsdl" / "ReceptionDispatchImplService.wsdl"
SERVICES_NS = "http://ws.metier.nuu.application.i2/"  # the receiver WSDL's, as the SNE's services


def clock_time(text: str) -> time:
    """``06:00``: a time of day, Paris time."""
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", text or "")
    if not match:
        raise ValueError(f"heure invalide : {text!r} (ex. 06:00)")
    return time(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class DispatchSettings:
    workers: int = 4  # delivery threads per process
    batch: int = 100  # files per delivery (SOAP call or mail) at most
    retry: RetrySchedule = RetrySchedule.parse(RetrySchedule.DEFAULT)
    disable_after: timedelta = timedelta(hours=24)
    timeout: float = 30.0  # seconds a receiver has to acknowledge
    lease: timedelta = timedelta(seconds=90)  # longer than any attempt: a killed worker's stream waits this long
    poll: float = 0.2  # seconds between looks when there is nothing to do
    max_answer_bytes: int = 1024 * 1024
    client_certificate: Path = DEMO / "hub-client-cert.pem"  # presented to receivers (TLS client)
    client_key: Path = DEMO / "hub-client-key.pem"
    trusted: Path = DEMO / "ca.pem"  # authorities of receivers' server certificates
    daily_at: time = time(6, 0)  # daily mail streams go from this time of day (Paris)
    # mail: the hub's S/MIME identity and exchange address, the relay (none: .eml files in drop/<counter>/inbox/)
    mail_certificate: Path = DEMO / "hub-cert.pem"
    mail_key: Path = DEMO / "hub-key.pem"
    mail_address: str = "hub@sne-hub.example.org"
    relay: str | None = None
    drop_directory: Path = DEMO
    # renewal notices to applicants
    notice_from: str = "ne-pas-repondre@sne-hub.example.org"
    notice_retry: RetrySchedule = RetrySchedule.parse("0s,1m,10m,1h,6h,24h")
    sms_provider: str = "demo"
    notices_directory: Path = DEMO / "notices"  # the demo's email and SMS drop, without a relay or provider
    letters_directory: Path = Path("var/letters")  # daily PDF batches for printing, per territory
    letters_at: time = time(16, 0)  # the day's letter batches close at this time (Paris)

    def __post_init__(self) -> None:
        if self.relay is not None:
            self.relay_address  # noqa: B018 - refuse a malformed relay at start, not at the first mail
        if not 1 <= self.batch <= MAX_BATCH:
            raise ValueError(f"SNE_HUB_DISPATCH_BATCH : de 1 à {MAX_BATCH} fichiers par livraison")
        if self.lease.total_seconds() <= self.timeout:
            raise ValueError("SNE_HUB_DISPATCH_LEASE doit dépasser SNE_HUB_DISPATCH_TIMEOUT")

    @property
    def relay_address(self) -> tuple[str, int]:
        return relay_address(self.relay or "")

    @classmethod
    def from_environment(cls) -> "DispatchSettings":
        env = os.environ

        def path(name: str, default: Path) -> Path:
            return Path(env[name]) if env.get(name) else default

        addresses = [a.strip().lower() for a in env.get("SNE_HUB_MAIL_ADDRESSES", "").split(",") if a.strip()]
        timeout = float(env.get("SNE_HUB_DISPATCH_TIMEOUT", cls.timeout))
        return cls(
            workers=int(env.get("SNE_HUB_DISPATCH_WORKERS", cls.workers)),
            batch=int(env.get("SNE_HUB_DISPATCH_BATCH", cls.batch)),
            retry=RetrySchedule.parse(env.get("SNE_HUB_DISPATCH_RETRY", RetrySchedule.DEFAULT)),
            disable_after=duration(env.get("SNE_HUB_DISPATCH_DISABLE_AFTER", "24h")),
            timeout=timeout,
            lease=duration(env["SNE_HUB_DISPATCH_LEASE"]) if env.get("SNE_HUB_DISPATCH_LEASE")
            else timedelta(seconds=3 * timeout),
            poll=float(env.get("SNE_HUB_DISPATCH_POLL", cls.poll)),
            max_answer_bytes=int(env.get("SNE_HUB_DISPATCH_MAX_ANSWER_BYTES", cls.max_answer_bytes)),
            client_certificate=path("SNE_HUB_DISPATCH_CERT", cls.client_certificate),
            client_key=path("SNE_HUB_DISPATCH_KEY", cls.client_key),
            trusted=path("SNE_HUB_DISPATCH_CA", cls.trusted),
            daily_at=clock_time(env.get("SNE_HUB_DISPATCH_DAILY_AT", "06:00")),
            mail_certificate=path("SNE_HUB_MAIL_CERT", cls.mail_certificate),
            mail_key=path("SNE_HUB_MAIL_KEY", cls.mail_key),
            mail_address=addresses[0] if addresses else cls.mail_address,
            relay=env.get("SNE_HUB_SMTP_RELAY") or None,
            drop_directory=path("SNE_HUB_MAIL_DROP_DIR", cls.drop_directory),
            notice_from=env.get("SNE_HUB_NOTICE_FROM", cls.notice_from),
            notice_retry=RetrySchedule.parse(env.get("SNE_HUB_NOTICE_RETRY", "0s,1m,10m,1h,6h,24h")),
            sms_provider=env.get("SNE_HUB_SMS_PROVIDER", cls.sms_provider),
            notices_directory=path("SNE_HUB_NOTICES_DIR", cls.notices_directory),
            letters_directory=path("SNE_HUB_LETTERS_DIR", cls.letters_directory),
            letters_at=clock_time(env.get("SNE_HUB_LETTERS_AT", "16:00")),
        )
