"""The kit's own certificates: it plays the hub, so it presents a TLS client certificate the
integrator's receiver trusts, and some it must not trust.

``KitPki(directory).ensure()`` makes, once, in ``directory`` (kept between runs, so that the
receiver is configured once):

- ``ca.pem``: the kit's authority, which the receiver trusts for its clients (as it trusts the
  hub's deployment authority in production);
- ``client-cert.pem`` / ``client-key.pem``: the kit's client certificate, from that authority;
- ``expired-cert.pem`` / ``expired-key.pem``: a client certificate from that authority, expired;
- ``stranger-cert.pem`` / ``stranger-key.pem``: a client certificate of the same name from an
  authority nobody trusts (thrown away once it signed);
- ``server-cert.pem`` / ``server-key.pem``: a server certificate for ``localhost`` and 127.0.0.1,
  for the reference simulator (``simulate receiver``), which the kit then verifies with ``ca.pem``.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_NAME = "sne-hub conformance kit (hub)"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sne-hub conformance kit"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, certificate: x509.Certificate, key=None) -> None:
    (directory / f"{stem}-cert.pem" if key else directory / f"{stem}.pem").write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path = directory / f"{stem}-key.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)


def _issue(subject: x509.Name, public_key, issuer: x509.Name, issuer_key, not_before: datetime, days: int,
           *extensions: tuple[x509.ExtensionType, bool]) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(not_before)
               .not_valid_after(not_before + timedelta(days=days)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _authority(common_name: str, now: datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _issue(_name(common_name), key.public_key(), _name(common_name), key, now, 3650,
                         (x509.BasicConstraints(ca=True, path_length=0), True))
    return certificate, key


def _leaf(authority, common_name: str, not_before: datetime, days: int, usage, names=()):
    certificate, authority_key = authority
    key = ec.generate_private_key(ec.SECP256R1())
    extensions = [(x509.BasicConstraints(ca=False, path_length=None), True),
                  (x509.ExtendedKeyUsage([usage]), False)]
    if names:
        extensions.append((x509.SubjectAlternativeName(list(names)), False))
    return _issue(_name(common_name), key.public_key(), certificate.subject, authority_key, not_before, days,
                  *extensions), key


class KitPki:
    def __init__(self, directory: Path | str):
        self.directory = Path(directory)

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    def pair(self, stem: str) -> tuple[str, str]:
        return str(self.directory / f"{stem}-cert.pem"), str(self.directory / f"{stem}-key.pem")

    def ensure(self) -> "KitPki":
        """Make every certificate, unless the authority is there already (a receiver trusts it now)."""
        if self.ca.exists() and (self.directory / "ca-key.pem").exists():
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc) - timedelta(minutes=5)
        authority = _authority("sne-hub conformance kit CA", now)
        _write(self.directory, "ca", authority[0])
        (self.directory / "ca-key.pem").write_bytes(authority[1].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (self.directory / "ca-key.pem").chmod(0o600)
        client = ExtendedKeyUsageOID.CLIENT_AUTH
        _write(self.directory, "client", *_leaf(authority, CLIENT_NAME, now, 825, client))
        _write(self.directory, "expired", *_leaf(authority, CLIENT_NAME, now - timedelta(days=30), 1, client))
        stranger = _authority("sne-hub conformance kit CA", now)  # same name, another key: not trusted
        _write(self.directory, "stranger", *_leaf(stranger, CLIENT_NAME, now, 825, client))
        names = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        _write(self.directory, "server", *_leaf(authority, "localhost", now, 825, ExtendedKeyUsageOID.SERVER_AUTH,
                                                names))
        return self
