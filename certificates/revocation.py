"""Certificate revocation lists: what the authority publishes about the certificates it revoked.

The hub itself never reads a CRL: it authenticates a peer by looking its certificate up in the
register, where a revocation takes effect at once. The CRL is for everybody else who relies on our
certificates (counters checking the hub's server or mail certificate, partners checking a counter's
signature), in the standard form: ``openssl verify -crl_check -CRLfile crl.pem -CAfile ca.pem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .reading import CertificateError

CRL_DAYS = 7
_CLOCK_SKEW = timedelta(minutes=5)  # a relying party whose clock is a little behind still accepts a new CRL

# The reasons an operator may give (RFC 5280, 5.3.1), by their RFC names. ``certificateHold`` is
# left out: a revocation here is final, nothing ever takes a certificate off the list again.
REASONS: dict[str, x509.ReasonFlags] = {
    flag.value: flag for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.ca_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
        x509.ReasonFlags.aa_compromise,
    )
}


@dataclass(frozen=True)
class Revoked:
    """One entry of a CRL: which certificate (serial number), since when, and why."""

    serial: int
    revoked_at: datetime
    reason: str = "unspecified"

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"revocation reason: one of {', '.join(REASONS)}, not {self.reason!r}")
        if self.revoked_at.tzinfo is None:
            raise ValueError("a revocation date must carry its time zone")


def build_crl(authority, revoked: list[Revoked], number: int, days: int = CRL_DAYS,
              now: datetime | None = None) -> x509.CertificateRevocationList:
    """The CRL of ``authority`` (an :class:`~certificates.authority.Authority`) listing ``revoked``.

    ``number`` is the CRL number (RFC 5280, 5.2.3), which must grow with every CRL the authority
    publishes; the next update is ``days`` days after ``now``. The reason code is left out for
    ``unspecified``, as RFC 5280 recommends.
    """
    if days < 1:
        raise ValueError(f"a CRL must be valid for at least 1 day, not {days}")
    if number < 0:
        raise ValueError(f"the CRL number cannot be negative: {number}")
    now = now or datetime.now(timezone.utc)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(authority.certificate.subject)
               .last_update(now - _CLOCK_SKEW)
               .next_update(now + timedelta(days=days))
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(authority.authority_key_identifier(), critical=False))
    for entry in sorted(revoked, key=lambda entry: entry.serial):
        revoked_certificate = (x509.RevokedCertificateBuilder()
                               .serial_number(entry.serial)
                               .revocation_date(entry.revoked_at.astimezone(timezone.utc)))
        if entry.reason != "unspecified":
            revoked_certificate = revoked_certificate.add_extension(x509.CRLReason(REASONS[entry.reason]),
                                                                    critical=False)
        builder = builder.add_revoked_certificate(revoked_certificate.build())
    return builder.sign(authority.private_key, hashes.SHA256())


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def load_crl(source: Path | bytes) -> x509.CertificateRevocationList:
    """Parse a CRL, PEM or DER, from a file or from bytes."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as error:
        raise CertificateError(f"not a certificate revocation list (PEM or DER): {error}") from None


def crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def reason_of(entry: x509.RevokedCertificate) -> str:
    """The RFC name of an entry's reason; ``unspecified`` when the entry carries none."""
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
    except x509.ExtensionNotFound:
        return "unspecified"
