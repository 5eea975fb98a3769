"""The signed summary: S/MIME (detached, PKCS #7) that ``openssl cms -verify`` accepts.

The signer is ``--signing-cert``/``--signing-key`` when given (an organisation's certificate, which a
territorial manager already trusts); otherwise the kit's own self-signed certificate, made on first use
and kept in ``$SNE_HUB_CONFORMANCE_HOME`` (default ``~/.config/sne-hub-conformance``) so that every
report of one installation is signed by the same key. The report directory gets a copy of the signer's
certificate: ``openssl cms -verify -in summary.eml -CAfile signer.pem`` then checks the summary.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3 * 365)


def kit_home() -> Path:
    return Path(os.environ.get("SNE_HUB_CONFORMANCE_HOME") or Path.home() / ".config" / "sne-hub-conformance")


def own_signer() -> tuple[Path, Path]:
    """The kit's self-signed certificate and key, made the first time a report is signed."""
    home = kit_home()
    cert_path, key_path = home / "kit-cert.pem", home / "kit-key.pem"
    if not cert_path.exists():
        home.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sne-hub-conformance"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"conformance kit on {socket.gethostname()}")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False),
                                      critical=True)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                       .sign(key, hashes.SHA256()))
        key_path.touch(mode=0o600)
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def sign(summary: bytes, cert_path: Path, key_path: Path) -> bytes:
    """``summary`` as a detached S/MIME signed message (multipart/signed, SHA-256, the signer's
    certificate inside)."""
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    return (pkcs7.PKCS7SignatureBuilder().set_data(summary).add_signer(certificate, key, hashes.SHA256())
            .sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature]))
