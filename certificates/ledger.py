"""The authority's directory: its certificate and key, the ledger of what it issued, its CRL.

Layout, like a small ``openssl ca`` directory::

    ca.pem        the CA certificate (what relying parties trust)
    ca-key.pem    its private key, 0600
    index.json    the issuance ledger: every certificate this CA issued, revoked or not
    crl.pem       the latest CRL, rewritten after every revocation

The ledger plays the part of openssl's ``index.txt``: one entry per certificate (serial number,
SHA-256 fingerprint, subject, counter code, validity, revocation date and reason) plus the number
of the last CRL published. It is rewritten atomically under an exclusive lock, so two operators
issuing at once never lose an entry. A directory without ``index.json`` (a demo PKI written before
the ledger existed) reads as an empty ledger.

The register (core's ``counter_certificates``) remains what authenticates counters; the ledger is
what the authority knows of its own certificates, including those no counter holds (the hub's).
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from cryptography import x509

from .authority import CA_CERT, CA_DAYS, CA_KEY, Authority, Issued, Profile, create_authority, write_file
from .reading import CertificateError, counter_code_of, fingerprint
from .revocation import CRL_DAYS, REASONS, Revoked, build_crl, crl_pem

INDEX, CRL, LOCK = "index.json", "crl.pem", ".index.lock"
LEDGER_FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """What the ledger keeps of one issued certificate."""

    serial: int
    fingerprint: str
    subject: str
    counter: str | None
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None
    reason: str | None = None

    @classmethod
    def of(cls, certificate: x509.Certificate, counter: str | None = None) -> Entry:
        """The entry of ``certificate``; ``counter`` defaults to the code its subject carries."""
        return cls(certificate.serial_number, fingerprint(certificate), certificate.subject.rfc4514_string(),
                   counter if counter is not None else counter_code_of(certificate),
                   certificate.not_valid_before_utc, certificate.not_valid_after_utc)

    @property
    def serial_hex(self) -> str:
        """The serial number as ``openssl`` prints it (uppercase hexadecimal, even length)."""
        digits = f"{self.serial:X}"
        return digits.rjust(len(digits) + len(digits) % 2, "0")

    def revoked(self) -> Revoked:
        if self.revoked_at is None:
            raise ValueError(f"certificate {self.serial_hex} is not revoked")
        return Revoked(self.serial, self.revoked_at, self.reason or "unspecified")

    def to_json(self) -> dict:
        document = asdict(self)
        document["serial"] = self.serial_hex
        for name in ("not_before", "not_after", "revoked_at"):
            document[name] = _instant(document[name])
        return document

    @classmethod
    def from_json(cls, document: dict) -> Entry:
        return cls(int(document["serial"], 16), document["fingerprint"], document["subject"], document["counter"],
                   _parse_instant(document["not_before"]), _parse_instant(document["not_after"]),
                   _parse_instant(document.get("revoked_at")), document.get("reason"))


@dataclass
class Ledger:
    """The issuance ledger in memory; :meth:`AuthorityDirectory.ledger` reads and writes it."""

    entries: list[Entry]
    crl_number: int = 0

    def find(self, fingerprint: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.fingerprint == fingerprint), None)

    def add(self, entry: Entry) -> bool:
        """Record ``entry`` unless its certificate is already there; whether it was added."""
        if self.find(entry.fingerprint) is not None:
            return False
        self.entries.append(entry)
        return True

    def of_counter(self, counter: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.counter == counter]

    def revoke(self, fingerprint: str, at: datetime, reason: str = "unspecified") -> Entry | None:
        """Mark a certificate revoked; the entry (unchanged when already revoked), None if unknown."""
        if reason not in REASONS:
            raise ValueError(f"revocation reason: one of {', '.join(REASONS)}, not {reason!r}")
        for position, entry in enumerate(self.entries):
            if entry.fingerprint == fingerprint:
                if entry.revoked_at is None:
                    entry = replace(entry, revoked_at=at.astimezone(timezone.utc).replace(microsecond=0),
                                    reason=reason)
                    self.entries[position] = entry
                return entry
        return None

    def revoked(self) -> list[Revoked]:
        return [entry.revoked() for entry in self.entries if entry.revoked_at is not None]

    def to_json(self) -> dict:
        return {"format": LEDGER_FORMAT, "crl_number": self.crl_number,
                "certificates": [entry.to_json() for entry in self.entries]}

    @classmethod
    def from_json(cls, document: dict) -> Ledger:
        if document.get("format") != LEDGER_FORMAT:
            raise CertificateError(f"unknown ledger format {document.get('format')!r}")
        return cls([Entry.from_json(entry) for entry in document["certificates"]], int(document["crl_number"]))


class AuthorityDirectory:
    """A certificate authority kept in a directory (see the module docstring for its layout)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.cert_path, self.key_path = self.path / CA_CERT, self.path / CA_KEY
        self.index_path, self.crl_path = self.path / INDEX, self.path / CRL

    def exists(self) -> bool:
        return self.cert_path.exists() or self.key_path.exists()

    def create(self, name: str, valid_days: int = CA_DAYS, crl_days: int = CRL_DAYS) -> Authority:
        """Create the CA, an empty ledger and a first (empty) CRL; never over an existing CA."""
        if self.exists() or self.index_path.exists():
            raise CertificateError(f"{self.path} already holds a certificate authority: refusing to overwrite it")
        authority = create_authority(name, valid_days)
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            if self.exists():  # somebody else was quicker
                raise CertificateError(f"{self.path} already holds a certificate authority: refusing to overwrite it")
            authority.save(self.path)
            ledger = Ledger([])
            self._publish(authority, ledger, self.crl_path, crl_days)
            self._save(ledger)
        return authority

    def authority(self) -> Authority:
        if not self.exists():
            raise CertificateError(f"no certificate authority in {self.path}: create it with "
                                   "`sne-hub certificates init` or point --ca-dir (SNE_HUB_CA_DIR) at it")
        return Authority.load(self.path)

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        """The ledger, locked against other writers; written back (atomically) if the block succeeds."""
        with self._locked():
            ledger = self._load()
            before = ledger.to_json()
            yield ledger
            if ledger.to_json() != before:
                self._save(ledger)

    def read_ledger(self) -> Ledger:
        """A snapshot of the ledger, for reading only."""
        return self._load()

    def issue(self, profile: Profile, valid_days: int, counter: str | None = None) -> Issued:
        """Issue a certificate for ``profile`` and record it in the ledger before handing it out."""
        authority = self.authority()
        issued = authority.issue(profile, valid_days)
        self.record(issued.certificate, counter)
        return issued

    def record(self, certificate: x509.Certificate, counter: str | None = None) -> bool:
        """Enter a certificate this CA issued into the ledger (once); whether it was new."""
        with self.ledger() as ledger:
            return ledger.add(Entry.of(certificate, counter))

    def revoke(self, fingerprint: str, at: datetime, reason: str = "unspecified") -> Entry | None:
        """Mark a certificate of the ledger revoked; None when this CA did not issue it."""
        if not self.index_path.exists():
            return None
        with self.ledger() as ledger:
            return ledger.revoke(fingerprint, at, reason)

    def publish_crl(self, out: Path | None = None, days: int = CRL_DAYS) -> tuple[Path, x509.CertificateRevocationList]:
        """Write a new CRL of every revoked ledger entry (to ``crl.pem`` by default), numbered one
        past the last; the number is kept in the ledger."""
        authority = self.authority()
        out = Path(out) if out is not None else self.crl_path
        with self.ledger() as ledger:
            crl = self._publish(authority, ledger, out, days)
        return out, crl

    # -- files ---------------------------------------------------------------------------------

    @staticmethod
    def _publish(authority: Authority, ledger: Ledger, out: Path, days: int) -> x509.CertificateRevocationList:
        crl = build_crl(authority, ledger.revoked(), ledger.crl_number + 1, days)
        write_file(out, crl_pem(crl))
        ledger.crl_number += 1
        return crl

    def _load(self) -> Ledger:
        try:
            text = self.index_path.read_text()
        except FileNotFoundError:
            return Ledger([])
        try:
            return Ledger.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise CertificateError(f"{self.index_path} is not a readable ledger: {error}") from None

    def _save(self, ledger: Ledger) -> None:
        write_file(self.index_path, (json.dumps(ledger.to_json(), indent=2, ensure_ascii=False) + "\n").encode())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.path.is_dir():
            raise CertificateError(f"no certificate authority in {self.path}: the directory does not exist")
        with open(self.path / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
