"""The deployment's certificate authority and the certificates it issues.

One small CA signs three kinds of certificates, each described by a :class:`Profile`:

- the hub's TLS server certificate (SOAP channel over HTTPS);
- one certificate per counter, used both as TLS client certificate (SOAP) and as S/MIME identity
  (signed mail channel), so it carries the counter code in its subject and its exchange mailbox as
  rfc822Name;
- the hub's own S/MIME certificate for its exchange address.

Every key is RSA 2048: S/MIME encryption to a certificate (``openssl cms -encrypt``, mail clients)
needs key transport, which only RSA offers everywhere; one key type keeps the library simple.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.domain.numbers import COUNTER_CODE
from core.domain.referential import MAILBOX

from .reading import CertificateError, PrivateKey, fingerprint, key_matches, load_certificate, load_private_key

ORGANIZATION = "sne-hub"
# 825 days: Apple platforms refuse TLS server certificates valid for longer.
CA_DAYS, SERVER_DAYS, COUNTER_DAYS, MAIL_DAYS = 3650, 825, 730, 730
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
_CLOCK_SKEW = timedelta(minutes=5)  # peers whose clock is a little behind still accept a new certificate
_KEY_USAGE_FLAGS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                    "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
_SIGN_AND_ENCRYPT = frozenset({"digital_signature", "key_encipherment"})


def generate_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 key (see the module docstring for why RSA)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- profiles: what a certificate says about its holder ------------------------------------------


@dataclass(frozen=True)
class Profile:
    """Subject, alternative names and usages of an end-entity certificate.

    Kept apart from issuance so that a caller can tell whether an existing certificate still says
    what it should (:meth:`describes`) without issuing a new one.
    """

    subject: x509.Name
    names: tuple[x509.GeneralName, ...]
    usages: frozenset[str]
    purposes: tuple[x509.ObjectIdentifier, ...]

    def key_usage(self) -> x509.KeyUsage:
        return _key_usage(self.usages)

    def describes(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` has exactly this subject, these names and these usages."""
        return (certificate.subject == self.subject
                and set(_extension(certificate, x509.SubjectAlternativeName) or ()) == set(self.names)
                and _extension(certificate, x509.KeyUsage) == self.key_usage()
                and set(_extension(certificate, x509.ExtendedKeyUsage) or ()) == set(self.purposes))


def server_profile(hostnames: Iterable[str], ip_addresses: Iterable[str]) -> Profile:
    """The hub's TLS server: clients check the host they dialled against the DNS and IP names."""
    names = [x509.DNSName(host) for host in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if not names:
        raise ValueError("a server certificate needs at least one hostname or IP address")
    first = names[0].value
    return Profile(_subject(str(first)), tuple(names), _SIGN_AND_ENCRYPT, (ExtendedKeyUsageOID.SERVER_AUTH,))


def counter_profile(counter_code: str, counter_name: str, mailbox: str | None) -> Profile:
    """A counter: TLS client and S/MIME identity; the subject serialNumber carries its code."""
    if not isinstance(counter_code, str) or not COUNTER_CODE.fullmatch(counter_code):
        raise ValueError(f"counter code: 5 uppercase letters or digits, not {counter_code!r}")
    names = (_mailbox_name(mailbox),) if mailbox is not None else ()
    purposes = (ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION)
    return Profile(_subject(counter_name, counter_code), names, _SIGN_AND_ENCRYPT, purposes)


def hub_mail_profile(address: str, name: str = ORGANIZATION) -> Profile:
    """The hub's own exchange address: it signs its replies and counters encrypt to it."""
    return Profile(_subject(name), (_mailbox_name(address),), _SIGN_AND_ENCRYPT,
                   (ExtendedKeyUsageOID.EMAIL_PROTECTION,))


def hub_client_profile(name: str = f"{ORGANIZATION} dispatcher") -> Profile:
    """The hub as a TLS client: what it presents to counters' systems when it pushes dispatching."""
    return Profile(_subject(name), (), _SIGN_AND_ENCRYPT, (ExtendedKeyUsageOID.CLIENT_AUTH,))


def _subject(common_name: str, serial_number: str | None = None) -> x509.Name:
    if not common_name:
        raise ValueError("a certificate's common name cannot be empty")
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)]
    if serial_number is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    # X.509 caps the common name at 64 characters; names are display only, identity is elsewhere.
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    return x509.Name(attributes)


def _mailbox_name(mailbox: str) -> x509.RFC822Name:
    if not MAILBOX.fullmatch(mailbox) or not mailbox.isascii():
        raise ValueError(f"mailbox: an ASCII address such as guichet@example.fr, not {mailbox!r}")
    return x509.RFC822Name(mailbox)


def _key_usage(usages: frozenset[str]) -> x509.KeyUsage:
    return x509.KeyUsage(**{flag: flag in usages for flag in _KEY_USAGE_FLAGS})


def _extension(certificate: x509.Certificate, kind: type):
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


# -- issued certificates and the authority -------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key, as handed to its holder."""

    certificate: x509.Certificate
    private_key: PrivateKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """Unencrypted PKCS#8: servers and ``openssl`` read it without a passphrase prompt."""
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write both files, the key first and readable by its owner only."""
        write_file(Path(key_path), self.key_pem(), private=True)
        write_file(Path(cert_path), self.cert_pem())


@dataclass(frozen=True)
class Authority(Issued):
    """A self-signed CA that issues end-entity certificates only (path length 0)."""

    def issue(self, profile: Profile, valid_days: int) -> Issued:
        """Issue a new key and certificate for ``profile``."""
        key = generate_key()
        builder = (_builder(profile.subject, self.certificate.subject, key, valid_days)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(profile.key_usage(), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(list(profile.purposes)), critical=False)
                   .add_extension(self.authority_key_identifier(), critical=False))
        if profile.names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(profile.names)), critical=False)
        return Issued(builder.sign(self.private_key, hashes.SHA256()), key)

    def issue_server(self, hostnames: list[str], ip_addresses: list[str], valid_days: int = SERVER_DAYS) -> Issued:
        return self.issue(server_profile(hostnames, ip_addresses), valid_days)

    def issue_counter(self, counter_code: str, counter_name: str, mailbox: str | None,
                      valid_days: int = COUNTER_DAYS) -> Issued:
        return self.issue(counter_profile(counter_code, counter_name, mailbox), valid_days)

    def issue_hub_mail(self, address: str, name: str = ORGANIZATION, valid_days: int = MAIL_DAYS) -> Issued:
        return self.issue(hub_mail_profile(address, name), valid_days)

    def has_issued(self, certificate: x509.Certificate) -> bool:
        """Whether this CA's key signed ``certificate`` (signature and issuer name; not validity)."""
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def save(self, directory: Path) -> None:
        """Write ``ca.pem`` and ``ca-key.pem`` (0600) into ``directory``, creating it if needed."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.write(directory / CA_CERT, directory / CA_KEY)

    @classmethod
    def load(cls, directory: Path) -> Authority:
        """Read back what :meth:`save` wrote, checking the pair belongs together and is a CA."""
        directory = Path(directory)
        try:
            certificate = load_certificate((directory / CA_CERT).read_bytes())
            key = load_private_key((directory / CA_KEY).read_bytes())
        except FileNotFoundError as error:
            raise CertificateError(f"incomplete authority in {directory}: {error.filename} is missing") from None
        constraints = _extension(certificate, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise CertificateError(f"{directory / CA_CERT} is not a CA certificate")
        if not key_matches(key, certificate):
            raise CertificateError(f"{directory / CA_KEY} is not the key of {directory / CA_CERT}")
        return cls(certificate, key)

    def crl(self, revoked: list, number: int, days: int = 7) -> x509.CertificateRevocationList:
        """This CA's CRL listing ``revoked`` (:class:`certificates.revocation.Revoked` entries),
        numbered ``number``, next update in ``days`` days: see :func:`certificates.revocation.build_crl`."""
        from .revocation import build_crl  # revocation builds on this module

        return build_crl(self, revoked, number, days)

    def authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        """Point at the CA's own key identifier, so chain building never has to guess."""
        identifier = _extension(self.certificate, x509.SubjectKeyIdentifier)
        if identifier is None:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.certificate.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier)


def create_authority(name: str, valid_days: int = CA_DAYS) -> Authority:
    """A new self-signed CA named ``name``, allowed to sign certificates and CRLs, nothing else."""
    key = generate_key()
    subject = _subject(name)
    identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (_builder(subject, subject, key, valid_days)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(_key_usage(frozenset({"key_cert_sign", "crl_sign"})), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    return Authority(certificate, key)


def _builder(subject: x509.Name, issuer: x509.Name, key: PrivateKey, valid_days: int) -> x509.CertificateBuilder:
    """What every certificate shares: random serial, validity from now, subject key identifier."""
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, not {valid_days}")
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(now + timedelta(days=valid_days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))


def write_file(path: Path, data: bytes, private: bool = False) -> None:
    """Replace ``path`` atomically, so a reader never sees half a key; private files are 0600 from birth."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # a leftover could carry wider permissions than we ask for
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as file:
        if private:
            os.fchmod(file.fileno(), 0o600)  # exactly 0600, whatever the umask
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
