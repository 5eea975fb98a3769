"""The mail channel's settings, from the environment; every one has a working default for make run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from certificates.mail import relay_address

from .store import LEASE

DEMO = Path("var/demo")
# A mail holds its files' personal data: no copy outlives the one year the register keeps them after
# a cancellation (docs/REGISTER.md, "Retention").
MAX_RETENTION_DAYS = 365


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 2525
    addresses: tuple[str, ...] = ("hub@sne-hub.example.org",)  # the hub's exchange address(es)
    certificate: Path = DEMO / "hub-cert.pem"  # the hub's S/MIME identity (signs replies, decrypts mail)
    key: Path = DEMO / "hub-key.pem"
    trusted: Path = DEMO / "ca.pem"  # the authorities whose counter certificates are accepted (PEM bundle)
    crl: Path = DEMO / "crl.pem"  # their revocation lists (PEM, several may be concatenated); optional
    tls_certificate: Path = DEMO / "server-cert.pem"  # for STARTTLS
    tls_key: Path = DEMO / "server-key.pem"
    require_starttls: bool = False
    require_encryption: bool = False  # production: on, so that no personal data ever travels in clear
    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 50
    signing_window_hours: float = 24  # how far a signingTime may be from the moment the mail arrives
    relay: str | None = None  # host:port of the outbound relay; none: replies dropped as .eml files
    drop_directory: Path = DEMO  # replies go to <drop>/<counter>/inbox/ when there is no relay
    dead_after_hours: float = 48  # undelivered replies become dead letters after this long
    workers: int = 2  # pipeline threads
    lease: timedelta = LEASE  # a mail process's hold on a mail: what another waits for if it dies
    retention_days: float = 90  # settled mails and replies are erased this long after they were received or queued

    def __post_init__(self) -> None:
        if self.lease < timedelta(seconds=3):
            raise ValueError("SNE_HUB_MAIL_LEASE_SECONDS: at least 3 (leases are renewed every third of it)")
        if not 2 * self.signing_window_hours < 24 * self.retention_days <= 24 * MAX_RETENTION_DAYS:
            raise ValueError(
                f"SNE_HUB_MAIL_RETENTION_DAYS: more than twice SNE_HUB_MAIL_SIGNING_WINDOW_HOURS "
                f"({2 * self.signing_window_hours:g} h), so that a replay is recognised for as long as its "
                f"signature is accepted, and at most {MAX_RETENTION_DAYS} days (data are kept one year)")
        if self.relay is not None:
            self.relay_address  # noqa: B018 - refuse a malformed relay at start, not at the first reply

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def relay_address(self) -> tuple[str, int]:
        return relay_address(self.relay or "")

    @classmethod
    def from_environment(cls) -> "MailSettings":
        env = os.environ

        def path(name: str, default: Path) -> Path:
            return Path(env[name]) if env.get(name) else default

        def flag(name: str, default: bool) -> bool:
            return env.get(name, "on" if default else "off").lower() in ("on", "1", "true", "yes")

        addresses = tuple(a.strip().lower() for a in env.get("SNE_HUB_MAIL_ADDRESSES", "").split(",") if a.strip())
        return cls(
            host=env.get("SNE_HUB_SMTP_HOST", cls.host),
            port=int(env.get("SNE_HUB_SMTP_PORT", cls.port)),
            addresses=addresses or cls.addresses,
            certificate=path("SNE_HUB_MAIL_CERT", cls.certificate),
            key=path("SNE_HUB_MAIL_KEY", cls.key),
            trusted=path("SNE_HUB_MAIL_TRUSTED_CA", cls.trusted),
            crl=path("SNE_HUB_MAIL_CRL", cls.crl),
            tls_certificate=path("SNE_HUB_TLS_CERT", cls.tls_certificate),
            tls_key=path("SNE_HUB_TLS_KEY", cls.tls_key),
            require_starttls=flag("SNE_HUB_SMTP_REQUIRE_STARTTLS", cls.require_starttls),
            require_encryption=flag("SNE_HUB_MAIL_REQUIRE_ENCRYPTION", cls.require_encryption),
            max_bytes=int(env.get("SNE_HUB_MAIL_MAX_BYTES", cls.max_bytes)),
            signing_window_hours=float(env.get("SNE_HUB_MAIL_SIGNING_WINDOW_HOURS", cls.signing_window_hours)),
            relay=env.get("SNE_HUB_SMTP_RELAY") or None,
            drop_directory=path("SNE_HUB_MAIL_DROP_DIR", cls.drop_directory),
            dead_after_hours=float(env.get("SNE_HUB_MAIL_DEAD_AFTER_HOURS", cls.dead_after_hours)),
            workers=int(env.get("SNE_HUB_MAIL_WORKERS", cls.workers)),
            lease=timedelta(seconds=float(env.get("SNE_HUB_MAIL_LEASE_SECONDS", cls.lease.total_seconds()))),
            retention_days=float(env.get("SNE_HUB_MAIL_RETENTION_DAYS", cls.retention_days)),
        )
