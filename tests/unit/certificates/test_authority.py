"""The PKI library: what each certificate says, that chains verify (ours, OpenSSL's, TLS's), the demo PKI."""

from __future__ import annotations

import shutil
import socket
import ssl
import stat
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store, VerificationError

from certificates import (
    Authority,
    CertificateError,
    counter_code_of,
    create_authority,
    fingerprint,
    load_certificate,
    mailbox_of,
    write_demo_pki,
)
from tests.conftest import in_ci

MAILBOX = "demob@guichets.sne-hub.test"
HUB = "hub@sne-hub.test"
DEMO_COUNTERS = [
    ("DEMOB", "Bailleur social de démonstration", MAILBOX),
    ("DEMOC", "Commune de démonstration", "democ@guichets.sne-hub.test"),
    ("DEMOE", "Intercommunalité sans messagerie", None),
]

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(),
                                   reason="the openssl command is not installed (required under CI=true)")


@pytest.fixture(scope="module")
def authority() -> Authority:
    return create_authority("sne-hub test CA")


@pytest.fixture(scope="module")
def other_authority() -> Authority:
    return create_authority("somebody else's CA")


@pytest.fixture(scope="module")
def counter(authority):
    return authority.issue_counter("DEMOB", "Bailleur social de démonstration", MAILBOX)


@pytest.fixture(scope="module")
def server(authority):
    return authority.issue_server(["localhost", "hub.sne-hub.test"], ["127.0.0.1", "::1"])


@pytest.fixture(scope="module")
def hub_mail(authority):
    return authority.issue_hub_mail(HUB)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[Path, dict]:
    directory = tmp_path_factory.mktemp("pki")
    return directory, write_demo_pki(directory, DEMO_COUNTERS, HUB)


def extension(certificate: x509.Certificate, kind: type):
    return certificate.extensions.get_extension_for_class(kind)


def key_usages(certificate: x509.Certificate) -> set[str]:
    usage = extension(certificate, x509.KeyUsage).value
    flags = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign")
    return {flag for flag in flags if getattr(usage, flag)}


def purposes(certificate: x509.Certificate) -> set:
    return set(extension(certificate, x509.ExtendedKeyUsage).value)


def openssl(*arguments: str | Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *map(str, arguments)], input=input, capture_output=True, timeout=30)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- what each certificate says ------------------------------------------------------------------


def test_the_authority_is_a_self_signed_ca_that_only_signs_certificates_and_crls(authority):
    certificate = authority.certificate
    constraints = extension(certificate, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert extension(certificate, x509.KeyUsage).critical
    assert key_usages(certificate) == {"key_cert_sign", "crl_sign"}
    assert extension(certificate, x509.SubjectKeyIdentifier).value.digest
    assert certificate.subject == certificate.issuer
    certificate.verify_directly_issued_by(certificate)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sne-hub test CA"


def test_validity_defaults(authority, counter, server, hub_mail):
    now = datetime.now(timezone.utc)
    for issued, days in ((authority, 3650), (counter, 730), (server, 825), (hub_mail, 730)):
        certificate = issued.certificate
        assert certificate.not_valid_before_utc <= now
        assert abs(certificate.not_valid_after_utc - (now + timedelta(days=days))) < timedelta(minutes=1)


def test_every_key_is_rsa_2048(authority, counter, server, hub_mail):
    for issued in (authority, counter, server, hub_mail):
        assert isinstance(issued.private_key, rsa.RSAPrivateKey)
        assert issued.private_key.key_size == 2048
        assert issued.certificate.public_key().public_numbers() == issued.private_key.public_key().public_numbers()


def test_a_counter_certificate_names_the_counter_and_its_mailbox(authority, counter):
    certificate = counter.certificate
    subject = {attribute.oid: attribute.value for attribute in certificate.subject}
    assert subject == {NameOID.COMMON_NAME: "Bailleur social de démonstration",
                       NameOID.ORGANIZATION_NAME: "sne-hub", NameOID.SERIAL_NUMBER: "DEMOB"}
    assert certificate.issuer == authority.certificate.subject
    assert counter_code_of(certificate) == "DEMOB"
    assert mailbox_of(certificate) == MAILBOX
    names = extension(certificate, x509.SubjectAlternativeName).value
    assert list(names) == [x509.RFC822Name(MAILBOX)]
    assert purposes(certificate) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION}
    assert key_usages(certificate) == {"digital_signature", "key_encipherment"}
    assert extension(certificate, x509.KeyUsage).critical
    constraints = extension(certificate, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca


def test_a_counter_certificate_points_at_the_authority_key(authority, counter):
    authority_key = extension(counter.certificate, x509.AuthorityKeyIdentifier).value.key_identifier
    assert authority_key == extension(authority.certificate, x509.SubjectKeyIdentifier).value.digest
    assert extension(counter.certificate, x509.SubjectKeyIdentifier).value == \
        x509.SubjectKeyIdentifier.from_public_key(counter.private_key.public_key())


def test_a_counter_without_mailbox_has_no_alternative_name(authority):
    certificate = authority.issue_counter("DEMOE", "Intercommunalité", None).certificate
    assert mailbox_of(certificate) is None
    assert counter_code_of(certificate) == "DEMOE"
    with pytest.raises(x509.ExtensionNotFound):
        extension(certificate, x509.SubjectAlternativeName)


def test_a_long_counter_name_is_cut_to_the_64_characters_x509_allows(authority):
    certificate = authority.issue_counter("G1104", "Office public de l'habitat " + "x" * 80, None).certificate
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(common_name) == 64 and common_name.startswith("Office public de l'habitat ")
    assert counter_code_of(certificate) == "G1104"


@pytest.mark.parametrize("code, name, mailbox", [
    ("demob", "Bailleur", None),          # counter codes are uppercase
    ("../../etc", "Bailleur", None),      # the demo PKI names a directory after it
    ("DEMOB", "", None),
    ("DEMOB", "Bailleur", "not a mailbox"),
    ("DEMOB", "Bailleur", "accentué@guichets.test"),
])
def test_bad_counter_details_are_refused(authority, code, name, mailbox):
    with pytest.raises(ValueError):
        authority.issue_counter(code, name, mailbox)


def test_the_server_certificate_names_its_hosts_and_addresses(server):
    certificate = server.certificate
    names = extension(certificate, x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "hub.sne-hub.test"]
    assert names.get_values_for_type(x509.IPAddress) == [ip_address("127.0.0.1"), ip_address("::1")]
    assert purposes(certificate) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert key_usages(certificate) == {"digital_signature", "key_encipherment"}
    assert counter_code_of(certificate) is None


def test_a_server_certificate_needs_a_name(authority):
    with pytest.raises(ValueError):
        authority.issue_server([], [])


def test_the_hub_mail_certificate_is_for_email_only(hub_mail):
    certificate = hub_mail.certificate
    assert mailbox_of(certificate) == HUB
    assert purposes(certificate) == {ExtendedKeyUsageOID.EMAIL_PROTECTION}
    assert key_usages(certificate) == {"digital_signature", "key_encipherment"}
    assert counter_code_of(certificate) is None


# -- chains verify -------------------------------------------------------------------------------


def verifier_policy(authority: Authority) -> PolicyBuilder:
    return PolicyBuilder().store(Store([authority.certificate])).time(datetime.now(timezone.utc))


def test_a_counter_chain_verifies_as_a_tls_client(authority, counter):
    verified = verifier_policy(authority).build_client_verifier().verify(counter.certificate, [])
    assert verified.chain == [counter.certificate, authority.certificate]
    assert verified.subjects == [x509.RFC822Name(MAILBOX)]


@pytest.mark.parametrize("name", [DNSName("localhost"), DNSName("hub.sne-hub.test"),
                                  IPAddress(ip_address("127.0.0.1")), IPAddress(ip_address("::1"))])
def test_the_server_chain_verifies_for_each_of_its_names(authority, server, name):
    chain = verifier_policy(authority).build_server_verifier(name).verify(server.certificate, [])
    assert chain == [server.certificate, authority.certificate]


def test_the_server_certificate_does_not_verify_for_another_name(authority, server):
    with pytest.raises(VerificationError):
        verifier_policy(authority).build_server_verifier(DNSName("example.org")).verify(server.certificate, [])


def test_a_certificate_from_another_authority_does_not_verify(authority, other_authority):
    stranger = other_authority.issue_counter("DEMOB", "Bailleur social de démonstration", MAILBOX)
    with pytest.raises(VerificationError):
        verifier_policy(authority).build_client_verifier().verify(stranger.certificate, [])
    assert authority.has_issued(stranger.certificate) is False
    assert other_authority.has_issued(stranger.certificate) is True


@needs_openssl
def test_openssl_verifies_the_issued_certificates_for_their_purposes(tmp_path, authority, counter, server, hub_mail):
    ca = write(tmp_path / "ca.pem", authority.cert_pem())
    for issued, purpose in ((counter, "sslclient"), (counter, "smimesign"), (counter, "smimeencrypt"),
                            (server, "sslserver"), (hub_mail, "smimesign"), (hub_mail, "smimeencrypt")):
        certificate = write(tmp_path / f"{issued.fingerprint}.pem", issued.cert_pem())
        result = openssl("verify", "-x509_strict", "-purpose", purpose, "-CAfile", ca, certificate)
        assert result.returncode == 0, (purpose, result.stderr)
        assert result.stdout.strip().endswith(b": OK")


@needs_openssl
def test_openssl_verifies_the_demo_counter_certificates(pki):
    directory, description = pki
    for code in ("DEMOB", "DEMOC", "DEMOE"):
        result = openssl("verify", "-CAfile", directory / "ca.pem", directory / code / "cert.pem")
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode().strip() == f"{directory / code / 'cert.pem'}: OK"


@needs_openssl
def test_openssl_refuses_a_certificate_from_another_authority(tmp_path, authority, other_authority):
    ca = write(tmp_path / "ca.pem", authority.cert_pem())
    stranger = write(tmp_path / "stranger.pem", other_authority.issue_counter("DEMOB", "Bailleur", None).cert_pem())
    assert openssl("verify", "-CAfile", ca, stranger).returncode != 0


@needs_openssl
def test_openssl_cms_signs_with_a_counter_and_encrypts_to_the_hub(tmp_path, authority, counter, hub_mail):
    """The S/MIME channel's two operations work with these certificates as OpenSSL understands them."""
    ca = write(tmp_path / "ca.pem", authority.cert_pem())
    counter_cert = write(tmp_path / "c.pem", counter.cert_pem())
    counter_key = write(tmp_path / "c.key", counter.key_pem())
    hub_cert = write(tmp_path / "h.pem", hub_mail.cert_pem())
    hub_key = write(tmp_path / "h.key", hub_mail.key_pem())
    message = b"Content-Type: text/plain\r\n\r\nDemande 057 1126 000001 DEMOB\r\n"

    signed = openssl("cms", "-sign", "-signer", counter_cert, "-inkey", counter_key, input=message)
    assert signed.returncode == 0, signed.stderr
    verified = openssl("cms", "-verify", "-CAfile", ca, input=signed.stdout)
    assert verified.returncode == 0, verified.stderr
    assert b"Demande 057 1126 000001 DEMOB" in verified.stdout

    encrypted = openssl("cms", "-encrypt", "-aes256", hub_cert, input=message)
    assert encrypted.returncode == 0, encrypted.stderr
    decrypted = openssl("cms", "-decrypt", "-recip", hub_cert, "-inkey", hub_key, input=encrypted.stdout)
    assert decrypted.returncode == 0, decrypted.stderr
    assert b"Demande 057 1126 000001 DEMOB" in decrypted.stdout


# -- fingerprints and loading --------------------------------------------------------------------


@needs_openssl
def test_the_fingerprint_is_openssls_sha256_fingerprint(tmp_path, counter):
    path = write(tmp_path / "cert.pem", counter.cert_pem())
    result = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", path)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.decode().strip().partition("=")[2]
    assert counter.fingerprint == printed.replace(":", "").lower()
    assert len(counter.fingerprint) == 64 and counter.fingerprint == counter.fingerprint.lower()


def test_the_fingerprint_is_stable_across_encodings(counter):
    der = counter.certificate.public_bytes(serialization.Encoding.DER)
    from_pem, from_der = load_certificate(counter.cert_pem()), load_certificate(der)
    assert fingerprint(from_der) == fingerprint(from_pem) == counter.fingerprint
    assert load_certificate(der) == counter.certificate


def test_a_pem_certificate_may_come_with_surrounding_text(counter):
    assert load_certificate(b"subject=...\n" + counter.cert_pem() + b"\n") == counter.certificate


@pytest.mark.parametrize("garbage", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                     b"\x30\x03\x02\x01\x01", "-----BEGIN CERTIFICATE-----"])
def test_garbage_is_not_a_certificate(garbage):
    with pytest.raises(CertificateError):
        load_certificate(garbage)


def test_the_key_is_unencrypted_pkcs8(counter):
    pem = counter.key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert loaded.private_numbers() == counter.private_key.private_numbers()


# -- saving and loading the authority ------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_authority_survives_save_and_load(tmp_path, authority):
    authority.save(tmp_path / "ca")
    assert mode(tmp_path / "ca" / "ca-key.pem") == 0o600
    loaded = Authority.load(tmp_path / "ca")
    assert loaded.certificate == authority.certificate
    assert loaded.key_pem() == authority.key_pem()
    issued = loaded.issue_counter("DEMOC", "Commune", None)
    issued.certificate.verify_directly_issued_by(authority.certificate)


def test_saving_over_a_readable_key_file_makes_it_private(tmp_path, authority):
    (tmp_path / "ca-key.pem").write_bytes(b"old")
    (tmp_path / "ca-key.pem").chmod(0o644)
    authority.save(tmp_path)
    assert mode(tmp_path / "ca-key.pem") == 0o600
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no leftover temporary


def test_loading_an_incomplete_or_mismatched_authority_says_what_is_wrong(tmp_path, authority, other_authority):
    authority.save(tmp_path)
    (tmp_path / "ca-key.pem").unlink()
    with pytest.raises(CertificateError, match="ca-key.pem is missing"):
        Authority.load(tmp_path)
    (tmp_path / "ca-key.pem").write_bytes(other_authority.key_pem())
    with pytest.raises(CertificateError, match="is not the key of"):
        Authority.load(tmp_path)
    (tmp_path / "ca-key.pem").write_bytes(b"not a key")
    with pytest.raises(CertificateError, match="private key"):
        Authority.load(tmp_path)


def test_a_leaf_certificate_is_not_loaded_as_an_authority(tmp_path, authority, counter):
    counter.write(tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    with pytest.raises(CertificateError, match="not a CA"):
        Authority.load(tmp_path)


# -- the demo PKI --------------------------------------------------------------------------------

DEMO_FILES = ["ca.pem", "ca-key.pem", "server-cert.pem", "server-key.pem", "hub-cert.pem", "hub-key.pem",
              "hub-client-cert.pem", "hub-client-key.pem", "DEMOB/cert.pem", "DEMOB/key.pem", "DEMOC/cert.pem",
              "DEMOC/key.pem", "DEMOE/cert.pem", "DEMOE/key.pem"]


def contents(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file()}


def test_the_demo_pki_writes_every_file_and_keys_are_private(pki):
    directory, _ = pki
    assert sorted(contents(directory)) == sorted(DEMO_FILES)
    for name in DEMO_FILES:
        assert mode(directory / name) == (0o600 if "key" in name else 0o644), name


def test_the_demo_pki_description_matches_the_files(pki):
    directory, description = pki
    authority = Authority.load(directory)
    assert description["ca"]["fingerprint"] == authority.fingerprint
    assert description["server"]["cert"] == str(directory / "server-cert.pem")
    assert description["hub"]["mailbox"] == HUB
    assert sorted(description["counters"]) == ["DEMOB", "DEMOC", "DEMOE"]
    for code, name, mailbox in DEMO_COUNTERS:
        entry = description["counters"][code]
        certificate = load_certificate(Path(entry["cert"]).read_bytes())
        assert entry["key"] == str(directory / code / "key.pem")
        assert entry["fingerprint"] == fingerprint(certificate)
        assert entry["mailbox"] == mailbox == mailbox_of(certificate)
        assert counter_code_of(certificate) == code
        assert authority.has_issued(certificate)
    hub = load_certificate((directory / "hub-cert.pem").read_bytes())
    assert mailbox_of(hub) == HUB and purposes(hub) == {ExtendedKeyUsageOID.EMAIL_PROTECTION}
    client = load_certificate((directory / "hub-client-cert.pem").read_bytes())
    assert description["hub_client"]["fingerprint"] == fingerprint(client) and authority.has_issued(client)
    assert purposes(client) == {ExtendedKeyUsageOID.CLIENT_AUTH} and mailbox_of(client) is None


def created(description: dict) -> set[str]:
    entries = {"ca": description["ca"], "server": description["server"], "hub": description["hub"],
               "hub_client": description["hub_client"], **description["counters"]}
    return {name for name, entry in entries.items() if entry["created"]}


def test_the_demo_pki_is_idempotent(tmp_path):
    first = write_demo_pki(tmp_path, DEMO_COUNTERS, HUB)
    before = contents(tmp_path)
    second = write_demo_pki(tmp_path, DEMO_COUNTERS, HUB)
    assert contents(tmp_path) == before
    assert created(first) == {"ca", "server", "hub", "hub_client", "DEMOB", "DEMOC", "DEMOE"}
    assert created(second) == set()
    for part in ("ca", "server", "hub", "hub_client"):  # the descriptions differ only by their created flags
        assert {**second[part], "created": True} == first[part]
    for code in ("DEMOB", "DEMOC", "DEMOE"):
        assert {**second["counters"][code], "created": True} == first["counters"][code]


def test_the_demo_pki_only_adds_what_is_missing_or_outdated(tmp_path, other_authority):
    write_demo_pki(tmp_path, DEMO_COUNTERS, HUB)
    before = contents(tmp_path)
    (tmp_path / "DEMOB" / "key.pem").unlink()                                  # incomplete
    other_authority.issue_counter("DEMOC", "Commune de démonstration", "democ@guichets.sne-hub.test").write(
        tmp_path / "DEMOC" / "cert.pem", tmp_path / "DEMOC" / "key.pem")      # not ours
    counters = [*DEMO_COUNTERS[:2], ("DEMOE", "Intercommunalité sans messagerie", "demoe@guichets.sne-hub.test"),
                ("DEMOF", "Nouveau guichet", None)]                            # mailbox changed, new counter
    description = write_demo_pki(tmp_path, counters, HUB)
    after = contents(tmp_path)
    assert created(description) == {"DEMOB", "DEMOC", "DEMOE", "DEMOF"}
    unchanged = ["ca.pem", "ca-key.pem", "server-cert.pem", "server-key.pem", "hub-cert.pem", "hub-key.pem",
                 "hub-client-cert.pem", "hub-client-key.pem"]
    assert {name: after[name] for name in unchanged} == {name: before[name] for name in unchanged}
    authority = Authority.load(tmp_path)
    for code in ("DEMOB", "DEMOC", "DEMOE", "DEMOF"):
        assert authority.has_issued(load_certificate(after[f"{code}/cert.pem"]))
    assert mailbox_of(load_certificate(after["DEMOE/cert.pem"])) == "demoe@guichets.sne-hub.test"


def test_the_demo_pki_reissues_the_server_certificate_when_its_names_change(tmp_path):
    first = write_demo_pki(tmp_path, [], HUB)
    second = write_demo_pki(tmp_path, [], HUB, hostnames=["localhost", "hub.local"])
    assert created(second) == {"server"}
    assert second["server"]["fingerprint"] != first["server"]["fingerprint"]


def test_the_demo_pki_refuses_a_counter_code_that_is_not_one(tmp_path):
    counters = [DEMO_COUNTERS[0], ("../..", "Evil", None)]
    with pytest.raises(ValueError):
        write_demo_pki(tmp_path / "pki", counters, HUB)
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


# -- TLS with client certificates ----------------------------------------------------------------


class OneConnectionServer:
    """A TLS server on an ephemeral port that accepts one connection and answers the peer's counter code."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.peer: dict | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> OneConnectionServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.thread.join(timeout=10)
        self.listener.close()
        assert not self.thread.is_alive()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
            connection.settimeout(10)
            with self.context.wrap_socket(connection, server_side=True) as tls:
                self.peer = tls.getpeercert()
                code = counter_code_of(load_certificate(tls.getpeercert(binary_form=True)))
                tls.recv(64)
                tls.sendall(f"hello {code}".encode())
        except (ssl.SSLError, OSError) as error:
            self.error = error


def server_context(directory: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server-cert.pem", directory / "server-key.pem")
    context.load_verify_locations(directory / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default: our certificates must pass it
    return context


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def exchange(port: int, context: ssl.SSLContext, server_hostname: str = "localhost") -> bytes | None:
    """What the server answers, or None when the connection fails."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
                tls.sendall(b"hello\n")
                return tls.recv(64) or None
    except (ssl.SSLError, OSError):
        return None


@pytest.mark.parametrize("code, server_hostname", [("DEMOB", "localhost"), ("DEMOB", "127.0.0.1"),
                                                   ("DEMOE", "localhost")])  # DEMOE: no mailbox, no SAN
def test_a_counter_authenticates_with_its_certificate(pki, code, server_hostname):
    directory, _ = pki
    client = client_context(directory / "ca.pem", directory / code / "cert.pem", directory / code / "key.pem")
    with OneConnectionServer(server_context(directory)) as server:
        answer = exchange(server.port, client, server_hostname)
    assert server.error is None
    assert answer == f"hello {code}".encode()
    assert (("serialNumber", code),) in server.peer["subject"]
    assert (("organizationName", "sne-hub"),) in server.peer["subject"]
    mailbox = dict((c, m) for c, _, m in DEMO_COUNTERS)[code]
    assert server.peer.get("subjectAltName", ()) == ((("email", mailbox),) if mailbox else ())


def test_a_counter_certificate_from_another_authority_is_refused(pki, tmp_path, other_authority):
    directory, _ = pki
    stranger = other_authority.issue_counter("DEMOB", "Bailleur social de démonstration", MAILBOX)
    stranger.write(tmp_path / "cert.pem", tmp_path / "key.pem")
    client = client_context(directory / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    with OneConnectionServer(server_context(directory)) as server:
        answer = exchange(server.port, client)
    assert answer is None
    assert isinstance(server.error, ssl.SSLCertVerificationError)
    assert server.peer is None


def test_a_client_without_certificate_is_refused(pki):
    directory, _ = pki
    with OneConnectionServer(server_context(directory)) as server:
        answer = exchange(server.port, client_context(directory / "ca.pem"))
    assert answer is None
    assert isinstance(server.error, ssl.SSLError)
    assert server.peer is None


def test_the_counter_refuses_a_server_it_did_not_dial(pki):
    directory, _ = pki
    client = client_context(directory / "ca.pem", directory / "DEMOB" / "cert.pem", directory / "DEMOB" / "key.pem")
    with OneConnectionServer(server_context(directory)) as server:
        answer = exchange(server.port, client, server_hostname="elsewhere.example.org")
    assert answer is None
    assert server.peer is None
