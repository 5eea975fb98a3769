"""Reading certificates and keys back: parsing, fingerprints, and who a certificate names.

Channels identify a counter by the certificate it presents (TLS client certificate, S/MIME
signer), so these readers are what turns a peer's bytes into a counter code or a mailbox.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from core.domain.referential import CounterCertificate

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_PEM_MARK = b"-----BEGIN"


class CertificateError(ValueError):
    """Bytes that are not the certificate or key they should be; the message says which."""


def load_certificate(pem_or_der: bytes) -> x509.Certificate:
    """Parse one certificate, PEM or DER: peers and files give either, callers should not care."""
    if not isinstance(pem_or_der, bytes):
        raise CertificateError(f"a certificate is bytes (PEM or DER), not {type(pem_or_der).__name__}")
    try:
        if _PEM_MARK in pem_or_der:
            return x509.load_pem_x509_certificate(pem_or_der)
        return x509.load_der_x509_certificate(pem_or_der)
    except ValueError as error:
        raise CertificateError(f"not an X.509 certificate (PEM or DER): {error}") from None


def load_private_key(pem: bytes) -> PrivateKey:
    """Parse an unencrypted PEM private key, refusing kinds this library never issues."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:  # TypeError: the key is encrypted
        raise CertificateError(f"not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, PrivateKey):
        raise CertificateError(f"unsupported private key type: {type(key).__name__}")
    return key


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex: what the registry stores per counter.

    It equals ``openssl x509 -noout -fingerprint -sha256`` without colons, so operators can
    compare it with what a counter sends them.
    """
    return certificate.fingerprint(hashes.SHA256()).hex()


def counter_code_of(certificate: x509.Certificate) -> str | None:
    """The counter code a counter certificate carries in its subject serialNumber, if exactly one."""
    values = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(values) != 1 or not isinstance(values[0].value, str):
        return None
    return values[0].value


def mailbox_of(certificate: x509.Certificate) -> str | None:
    """The first rfc822Name of the subject alternative names: the mailbox S/MIME binds to the key."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    mailboxes = names.get_values_for_type(x509.RFC822Name)
    return mailboxes[0] if mailboxes else None


def key_matches(key: PrivateKey, certificate: x509.Certificate) -> bool:
    """Whether ``key`` is the private half of the certificate's public key."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == certificate.public_key().public_bytes(*spki)


def registration(counter: str, pem_or_der: bytes) -> CounterCertificate:
    """What the register keeps of a certificate it is asked to trust for ``counter``."""
    certificate = load_certificate(pem_or_der)
    return CounterCertificate(fingerprint(certificate), counter, certificate.subject.rfc4514_string()[:500],
                              certificate.not_valid_before_utc, certificate.not_valid_after_utc,
                              der=certificate.public_bytes(serialization.Encoding.DER))
