"""S/MIME: our mails open here and in OpenSSL, OpenSSL's open here, and every hostile mail gets its code.

Everything runs on the real demo PKI (write_demo_pki) and the real ``openssl`` command.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates import Authority, Issued, create_authority, generate_key, load_certificate, smime, write_demo_pki
from certificates.reading import load_private_key
from certificates.smime import SmimeError, Verified, encrypt, open_message, sign
from tests.conftest import in_ci

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(),
                                   reason="the openssl command is not installed (required under CI=true)")

HUB = "hub@sne-hub.test"
COUNTERS = [("DEMOB", "Bailleur social de démonstration", "demob@guichets.sne-hub.test"),
            ("DEMOC", "Commune de démonstration", "democ@guichets.sne-hub.test")]
ENTITY = (b'Content-Type: application/xml; charset="utf-8"; name="DEMDEMOB-202611300900-1.xml"\r\n'
          b"Content-Transfer-Encoding: 8bit\r\n"
          b"\r\n"
          b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
          + '<demande numero="057 1126 000001 DEMOB"><nom>Hélène Müller</nom></demande>\r\n'.encode())
DIGEST = hashlib.sha256(ENTITY).hexdigest()


@dataclass(frozen=True)
class Pki:
    directory: Path
    authority: Authority
    hub: Issued
    server: Issued
    counters: dict[str, Issued]

    def path(self, name: str) -> Path:
        return self.directory / name


def read_issued(cert: Path, key: Path) -> Issued:
    return Issued(load_certificate(cert.read_bytes()), load_private_key(key.read_bytes()))


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    write_demo_pki(directory, COUNTERS, HUB)
    counters = {code: read_issued(directory / code / "cert.pem", directory / code / "key.pem")
                for code, _, _ in COUNTERS}
    return Pki(directory, Authority.load(directory), read_issued(directory / "hub-cert.pem", directory / "hub-key.pem"),
               read_issued(directory / "server-cert.pem", directory / "server-key.pem"), counters)


@pytest.fixture(scope="module")
def other_authority() -> Authority:
    return create_authority("somebody else's CA")


def opened(pki: Pki, raw: bytes, *, crls=(), at: datetime | None = None, trusted=None) -> Verified:
    return open_message(raw, hub_certificate=pki.hub.certificate, hub_key=pki.hub.private_key,
                        trusted=[pki.authority.certificate] if trusted is None else trusted, crls=list(crls),
                        at=at or datetime.now(timezone.utc))


def refused(pki: Pki, raw: bytes, **options) -> SmimeError:
    with pytest.raises(SmimeError) as caught:
        opened(pki, raw, **options)
    assert caught.value.message and caught.value.code in str(caught.value)
    return caught.value


def refusal(pki: Pki, raw: bytes, **options) -> str:
    return refused(pki, raw, **options).code


def signed_by(pki: Pki, code: str = "DEMOB", entity: bytes = ENTITY, **options) -> bytes:
    counter = pki.counters[code]
    return sign(entity, counter.certificate, counter.private_key, **options)


def openssl(*arguments, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *map(str, arguments)], input=input, capture_output=True, timeout=30)


def run_openssl(*arguments, input: bytes | None = None) -> bytes:
    result = openssl(*arguments, input=input)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def ca_with_crl(pki: Pki, tmp_path: Path, revocations: x509.CertificateRevocationList) -> Path:
    """The CA and its CRL in one file: ``openssl cms`` has no -CRLfile, it reads CRLs from -CAfile."""
    pem = pki.path("ca.pem").read_bytes() + revocations.public_bytes(serialization.Encoding.PEM)
    return write(tmp_path / "ca-and-crl.pem", pem)


def crl(issuer: x509.Name, key, serials=(), days: int = 7) -> x509.CertificateRevocationList:
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer)
               .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=days)))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - timedelta(minutes=1)).build())
    return builder.sign(key, hashes.SHA256())


def issue(authority: Authority | None, not_before: datetime, not_after: datetime, key=None) -> Issued:
    """A counter-like mail certificate with the given validity; self-signed when ``authority`` is None."""
    key = key or generate_key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sne-hub"),
                         x509.NameAttribute(NameOID.SERIAL_NUMBER, "DEMOB"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Bailleur")])
    issuer, signing_key = (subject, key) if authority is None else (authority.certificate.subject,
                                                                    authority.private_key)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(not_before)
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                   .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(COUNTERS[0][2])]), critical=False)
                   .sign(signing_key, hashes.SHA256()))
    return Issued(certificate, key)


# -- round trips ---------------------------------------------------------------------------------


def test_a_signed_and_encrypted_mail_opens(pki):
    moment = datetime.now(timezone.utc) - timedelta(minutes=3)
    verified = opened(pki, encrypt(signed_by(pki, at=moment), pki.hub.certificate))
    assert verified == Verified(ENTITY, pki.counters["DEMOB"].certificate, moment.replace(microsecond=0), DIGEST, True)


def test_a_mail_signed_but_not_encrypted_opens_and_says_so(pki):
    verified = opened(pki, signed_by(pki))
    assert (verified.content, verified.digest, verified.was_encrypted) == (ENTITY, DIGEST, False)
    assert verified.signing_time.tzinfo is not None
    assert abs(verified.signing_time - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_line_ends_are_canonicalised_when_signing_and_when_opening(pki):
    signed = signed_by(pki, entity=ENTITY.replace(b"\r\n", b"\n"))
    assert ENTITY in signed  # the first part is the canonical entity, byte for byte
    assert opened(pki, signed).content == ENTITY
    stored_with_lf = signed.replace(b"\r\n", b"\n")  # a mailbox that keeps Unix line ends
    assert opened(pki, stored_with_lf).digest == DIGEST


def test_the_outer_headers_are_the_callers_and_are_not_returned(pki):
    outer = b"From: demob@guichets.sne-hub.test\r\nTo: hub@sne-hub.test\r\nSubject: Demande\r\nMIME-Version: 1.0\r\n"
    raw = outer + encrypt(signed_by(pki), pki.hub.certificate)
    assert raw.count(b"MIME-Version") == 1
    assert opened(pki, raw).content == ENTITY


def test_a_boundary_never_occurs_in_the_signed_entity(pki, monkeypatch):
    draws = iter(["a" * 32, "b" * 32])
    monkeypatch.setattr(smime, "secrets", SimpleNamespace(token_hex=lambda size: next(draws)))
    tricky = ENTITY + b"------sne-hub-" + b"a" * 32 + b"--\r\n"  # what the first draw would close with
    signed = signed_by(pki, entity=tricky)
    assert b'boundary="----sne-hub-' + b"b" * 32 + b'"' in signed
    assert opened(pki, signed).content == tricky


@needs_openssl
@pytest.mark.parametrize("with_crl", [False, True])
def test_openssl_decrypts_and_verifies_our_mail(pki, tmp_path, with_crl):
    sealed = write(tmp_path / "sealed.eml", encrypt(signed_by(pki), pki.hub.certificate))
    decrypted = run_openssl("cms", "-decrypt", "-recip", pki.path("hub-cert.pem"), "-inkey", pki.path("hub-key.pem"),
                            "-in", sealed)
    options = ["-CAfile", pki.path("ca.pem")]
    if with_crl:  # a CRL of the CA that revokes somebody else
        other = crl(pki.authority.certificate.subject, pki.authority.private_key,
                    [pki.counters["DEMOC"].certificate.serial_number])
        options = ["-crl_check", "-CAfile", ca_with_crl(pki, tmp_path, other)]
    content = run_openssl("cms", "-verify", "-purpose", "smimesign", *options, input=decrypted)
    assert content == ENTITY


@needs_openssl
def test_openssl_refuses_our_mail_when_the_crl_revokes_the_signer(pki, tmp_path):
    """The same CRL our check uses: both sides agree on revocation."""
    revoking = crl(pki.authority.certificate.subject, pki.authority.private_key,
                   [pki.counters["DEMOB"].certificate.serial_number])
    result = openssl("cms", "-verify", "-purpose", "smimesign", "-crl_check",
                     "-CAfile", ca_with_crl(pki, tmp_path, revoking), input=signed_by(pki))
    assert result.returncode != 0 and b"revoked" in result.stderr
    assert refusal(pki, signed_by(pki), crls=[revoking]) == smime.REVOKED


@needs_openssl
@pytest.mark.parametrize("options", [[], ["-md", "sha384"], ["-md", "sha512"], ["-md", "sha1"],
                                     ["-keyopt", "rsa_padding_mode:pss"], ["-noattr"], ["-keyid"]],
                         ids=["sha256", "sha384", "sha512", "sha1", "pss", "no-attributes", "key-identifier"])
@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "clear"])
def test_mails_made_by_openssl_open(pki, tmp_path, options, encrypted):
    entity = write(tmp_path / "entity", ENTITY.replace(b"\r\n", b"\n"))  # a legacy system with Unix line ends
    raw = run_openssl("cms", "-sign", "-signer", pki.path("DEMOB/cert.pem"), "-inkey", pki.path("DEMOB/key.pem"),
                      "-in", entity, *options)
    if encrypted:
        raw = run_openssl("cms", "-encrypt", "-aes256", pki.path("hub-cert.pem"), input=raw)
    verified = opened(pki, raw)
    assert (verified.content, verified.digest, verified.was_encrypted) == (ENTITY, DIGEST, encrypted)
    assert verified.signer == pki.counters["DEMOB"].certificate
    assert (verified.signing_time is None) == ("-noattr" in options)


def test_another_counters_mail_verifies_it_is_the_caller_who_checks_the_counter(pki):
    assert opened(pki, signed_by(pki, "DEMOC")).signer == pki.counters["DEMOC"].certificate


@needs_openssl
def test_an_elliptic_curve_signer_works_both_ways(pki, tmp_path):
    now = datetime.now(timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    holder = issue(pki.authority, now - timedelta(days=1), now + timedelta(days=30), key)
    raw = sign(ENTITY, holder.certificate, holder.private_key)
    assert opened(pki, raw).signer == holder.certificate
    assert run_openssl("cms", "-verify", "-purpose", "smimesign", "-CAfile", pki.path("ca.pem"), input=raw) == ENTITY
    write(tmp_path / "cert.pem", holder.certificate.public_bytes(serialization.Encoding.PEM))
    write(tmp_path / "key.pem", holder.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    made = run_openssl("cms", "-sign", "-signer", tmp_path / "cert.pem", "-inkey", tmp_path / "key.pem",
                       "-in", write(tmp_path / "entity", ENTITY))
    assert opened(pki, made).digest == DIGEST


def test_the_hub_opens_what_it_signed_for_itself(pki):
    raw = encrypt(sign(ENTITY, pki.hub.certificate, pki.hub.private_key), pki.hub.certificate)
    assert opened(pki, raw).signer == pki.hub.certificate


# -- not signed, not ours, not well-formed ---------------------------------------------------------


PLAIN = b"From: demob@guichets.sne-hub.test\r\nSubject: Demande\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n"


@pytest.mark.parametrize("raw", [PLAIN, PLAIN.replace(b"Content-Type: text/plain\r\n", b""), b"", b"\x00\xff garbage",
                                 b'Content-Type: multipart/signed; protocol="application/pgp-signature"; '
                                 b'boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n'],
                         ids=["plain", "no-content-type", "empty", "garbage", "pgp"])
def test_a_mail_that_is_not_signed_is_refused(pki, raw):
    assert refusal(pki, raw) == smime.NOT_SIGNED


def test_an_encrypted_mail_that_is_not_signed_is_refused(pki):
    assert refusal(pki, encrypt(PLAIN, pki.hub.certificate)) == smime.NOT_SIGNED


@needs_openssl
@pytest.mark.parametrize("encrypted", [False, True])
def test_an_opaque_signature_is_refused(pki, tmp_path, encrypted):
    raw = run_openssl("cms", "-sign", "-nodetach", "-signer", pki.path("DEMOB/cert.pem"),
                      "-inkey", pki.path("DEMOB/key.pem"), "-in", write(tmp_path / "entity", ENTITY))
    assert b"signed-data" in raw
    if encrypted:
        raw = run_openssl("cms", "-encrypt", "-aes256", pki.path("hub-cert.pem"), input=raw)
    assert refusal(pki, raw) == smime.NOT_SIGNED


def test_a_signed_part_wrapped_in_another_multipart_is_refused(pki):
    wrapped = (b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
               b"--outer\r\nContent-Type: text/plain\r\n\r\nVoir la piece jointe\r\n"
               b"--outer\r\n" + signed_by(pki) + b"\r\n--outer--\r\n")
    assert refusal(pki, wrapped) == smime.NESTED
    assert refusal(pki, encrypt(wrapped, pki.hub.certificate)) == smime.NESTED


def cut_signature_part(signed: bytes) -> bytes:
    """``signed`` without its second part: one part then the close delimiter."""
    boundary = re.search(rb'boundary="([^"]+)"', signed)[1]
    start = signed.index(b"\r\n--" + boundary + b"\r\nContent-Type: application/pkcs7-signature")
    return signed[:start] + b"\r\n--" + boundary + b"--\r\n"


@pytest.mark.parametrize("damage, code", [
    (lambda signed: signed[:len(signed) // 2], smime.NOT_MIME),                       # cut in the signed part
    (lambda signed: signed[:-40], smime.NOT_MIME),                                    # cut in the signature
    (lambda signed: re.sub(rb';\r\n boundary="[^"]+"', b"", signed), smime.NOT_MIME),  # no boundary
    (cut_signature_part, smime.NOT_MIME),                                             # one part only
    (lambda signed: re.sub(rb"(smime.p7s\"\r\n\r\n)[A-Za-z0-9+/]{8}", rb"\1!!!!!!!!", signed), smime.NOT_MIME),
    (lambda signed: signed.replace(b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: 7bit"),
     smime.NOT_MIME),
    (lambda signed: signed.replace(b"Content-Type: application/pkcs7-signature", b"Content-Type: text/plain"),
     smime.NOT_MIME),
], ids=["truncated-content", "truncated-signature", "no-boundary", "one-part", "bad-base64", "not-base64",
        "second-part-not-a-signature"])
def test_malformed_or_truncated_mails_are_refused(pki, damage, code):
    assert refusal(pki, damage(signed_by(pki))) == code


def test_an_envelope_the_hub_cannot_open_is_refused(pki):
    sealed = encrypt(signed_by(pki), pki.counters["DEMOC"].certificate)
    assert refusal(pki, sealed) == smime.NOT_DECRYPTABLE
    body_start = sealed.index(b"\r\n\r\n") + 4
    broken = sealed[:body_start] + base64.encodebytes(b"\x30\x03\x02\x01\x00").replace(b"\n", b"\r\n")
    assert refusal(pki, broken) == smime.NOT_DECRYPTABLE


@needs_openssl
def test_a_mail_openssl_encrypted_to_another_key_is_refused(pki):
    sealed = run_openssl("cms", "-encrypt", "-aes256", pki.path("DEMOC/cert.pem"), input=signed_by(pki))
    assert refusal(pki, sealed) == smime.NOT_DECRYPTABLE


# -- tampering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("original, changed", [
    ("Hélène".encode(), "Hélèna".encode()),                               # one byte of the body
    (b"DEMDEMOB-202611300900-1.xml", b"DEMDEMOB-202611300900-2.xml"),    # a signed header
    (b"Content-Transfer-Encoding: 8bit\r\n", b"Content-Transfer-Encoding: 8bit\r\nX-Added: 1\r\n"),
], ids=["body", "signed-header", "added-header"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_a_tampered_signed_part_is_refused(pki, original, changed, encrypted):
    signed = signed_by(pki)
    assert signed.count(original) == 1
    tampered = signed.replace(original, changed)
    assert refusal(pki, encrypt(tampered, pki.hub.certificate) if encrypted else tampered) == smime.BAD_SIGNATURE


def with_signature_der(signed: bytes, change) -> bytes:
    """``signed`` with ``change(der)`` as its signature part."""
    head, encoded, tail = re.fullmatch(rb'(.*smime\.p7s"\r\n\r\n)([A-Za-z0-9+/=\r\n]+?)(\r\n--[^\r\n]+--\r\n)',
                                       signed, re.S).groups()
    der = change(base64.b64decode(encoded))
    return head + base64.encodebytes(der).replace(b"\n", b"\r\n").rstrip(b"\r\n") + tail


def with_signature(signed: bytes, change) -> bytes:
    """``signed`` with its CMS signature re-encoded after ``change(content_info)``."""
    def recoded(der: bytes) -> bytes:
        info = cms.ContentInfo.load(der)
        change(info)
        return info.dump(force=True)
    return with_signature_der(signed, recoded)


def signer_info(info: cms.ContentInfo) -> cms.SignerInfo:
    return info["content"]["signer_infos"][0]


def set_field(name: str, value):
    return lambda info: signer_info(info).__setitem__(name, value)


def flip_last_signature_byte(info):
    signature = signer_info(info)["signature"].native
    signer_info(info)["signature"] = signature[:-1] + bytes([signature[-1] ^ 1])


def pss(info):
    parameters = algos.RSASSAPSSParams({
        "hash_algorithm": {"algorithm": "sha256"},
        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}}, "salt_length": 32})
    signer_info(info)["signature_algorithm"] = algos.SignedDigestAlgorithm(
        {"algorithm": "rsassa_pss", "parameters": parameters})


def no_attributes(info):
    del signer_info(info)["signed_attrs"]


def embedded_content(info):
    info["content"]["encap_content_info"] = {"content_type": "data", "content": ENTITY}


def test_re_encoding_an_untouched_signature_keeps_it_valid(pki):
    """The control for the mutations below: re-encoding alone changes nothing."""
    assert opened(pki, with_signature(signed_by(pki), lambda info: None)).content == ENTITY


@pytest.mark.parametrize("change, code, why", [
    (set_field("digest_algorithm", algos.DigestAlgorithm({"algorithm": "sha512"})), smime.BAD_SIGNATURE,
     "empreinte différente"),
    (set_field("digest_algorithm", algos.DigestAlgorithm({"algorithm": "md5"})), smime.BAD_SIGNATURE,
     "non pris en charge"),
    (set_field("signature_algorithm", algos.SignedDigestAlgorithm({"algorithm": "sha512_rsa"})), smime.BAD_SIGNATURE,
     "incompatible"),
    (set_field("signature_algorithm", algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})),
     smime.BAD_SIGNATURE, "incompatible"),
    (pss, smime.BAD_SIGNATURE, "signature invalide"),
    (flip_last_signature_byte, smime.BAD_SIGNATURE, "signature invalide"),
    (no_attributes, smime.BAD_SIGNATURE, "signature invalide"),  # then it would have to sign the content itself
    (embedded_content, smime.NOT_SIGNED, "non détachée"),
    (lambda info: info["content"].__setitem__("certificates", []), smime.CHAIN, "absent"),
], ids=["digest-sha512", "digest-md5", "signature-sha512", "signature-ecdsa", "pss-claimed", "flipped-byte",
        "attributes-removed", "embedded-content", "no-certificate"])
def test_a_forged_signature_structure_is_refused(pki, change, code, why):
    error = refused(pki, with_signature(signed_by(pki), change))
    assert error.code == code and why in error.message


def test_a_signature_part_that_is_not_cms_is_refused(pki):
    garbage = with_signature_der(signed_by(pki), lambda der: b"not a CMS structure at all")
    assert refusal(pki, garbage) == smime.BAD_SIGNATURE
    truncated = with_signature_der(signed_by(pki), lambda der: der[:-100])
    assert refusal(pki, truncated) == smime.BAD_SIGNATURE


def test_a_damaged_signer_certificate_is_refused(pki):
    """Its issuer and serial still match, but its key is of no known kind (the certificates come first)."""
    rsa_encryption = bytes.fromhex("06092a864886f70d010101")
    unknown = bytes.fromhex("06092a864886f70d010163")
    damaged = with_signature_der(signed_by(pki), lambda der: der.replace(rsa_encryption, unknown, 1))
    error = refused(pki, damaged)
    assert error.code == smime.BAD_SIGNATURE and "certificat" in error.message


@needs_openssl
def test_two_signers_are_refused(pki, tmp_path):
    raw = run_openssl("cms", "-sign", "-in", write(tmp_path / "entity", ENTITY),
                      "-signer", pki.path("DEMOB/cert.pem"), "-inkey", pki.path("DEMOB/key.pem"),
                      "-signer", pki.path("DEMOC/cert.pem"), "-inkey", pki.path("DEMOC/key.pem"))
    assert refusal(pki, raw) == smime.SIGNERS


@needs_openssl
def test_a_signature_without_the_signers_certificate_is_refused(pki, tmp_path):
    raw = run_openssl("cms", "-sign", "-nocerts", "-signer", pki.path("DEMOB/cert.pem"),
                      "-inkey", pki.path("DEMOB/key.pem"), "-in", write(tmp_path / "entity", ENTITY))
    assert refusal(pki, raw) == smime.CHAIN


# -- who signed: chain, purpose, validity, revocation -----------------------------------------------


def test_a_self_signed_certificate_is_refused_though_its_signature_is_good(pki):
    now = datetime.now(timezone.utc)
    stranger = issue(None, now - timedelta(days=1), now + timedelta(days=30))
    raw = sign(ENTITY, stranger.certificate, stranger.private_key)
    assert refusal(pki, raw) == smime.CHAIN
    # even when the caller wrongly trusts it: a self-signed certificate is an authority, not a counter
    assert refusal(pki, raw, trusted=[pki.authority.certificate, stranger.certificate]) == smime.CHAIN


def test_a_certificate_of_another_authority_is_refused(pki, other_authority):
    impostor = other_authority.issue_counter("DEMOB", COUNTERS[0][1], COUNTERS[0][2])
    raw = encrypt(sign(ENTITY, impostor.certificate, impostor.private_key), pki.hub.certificate)
    assert refusal(pki, raw) == smime.CHAIN
    both = [other_authority.certificate, pki.authority.certificate]
    assert opened(pki, raw, trusted=both).signer == impostor.certificate  # trusted when its CA is


def test_the_authority_itself_cannot_sign_mails(pki):
    raw = sign(ENTITY, pki.authority.certificate, pki.authority.private_key)
    assert refusal(pki, raw) == smime.CHAIN


def test_a_certificate_issued_for_tls_only_cannot_sign_mails(pki):
    raw = sign(ENTITY, pki.server.certificate, pki.server.private_key)
    assert refusal(pki, raw) == smime.CHAIN


@pytest.mark.parametrize("start, end", [(-400, -10), (10, 400)], ids=["expired", "not-yet-valid"])
def test_a_certificate_outside_its_validity_is_refused(pki, start, end):
    now = datetime.now(timezone.utc)
    holder = issue(pki.authority, now + timedelta(days=start), now + timedelta(days=end))
    raw = encrypt(sign(ENTITY, holder.certificate, holder.private_key), pki.hub.certificate)
    assert refusal(pki, raw) == smime.VALIDITY


def test_a_mail_is_accepted_at_a_moment_its_certificate_is_valid(pki):
    now = datetime.now(timezone.utc)
    holder = issue(pki.authority, now + timedelta(days=10), now + timedelta(days=400))
    raw = sign(ENTITY, holder.certificate, holder.private_key)
    assert opened(pki, raw, at=now + timedelta(days=11)).signer == holder.certificate


def test_validity_is_checked_at_the_given_moment(pki):
    raw = signed_by(pki)
    after = pki.counters["DEMOB"].certificate.not_valid_after_utc + timedelta(seconds=1)
    assert refusal(pki, raw, at=after) == smime.VALIDITY
    with pytest.raises(ValueError):
        opened(pki, raw, at=datetime.now())  # naive: a programming error, not the mail's


def test_a_revoked_certificate_is_refused(pki):
    authority = pki.authority
    revoking = crl(authority.certificate.subject, authority.private_key,
                   [pki.counters["DEMOB"].certificate.serial_number])
    assert refusal(pki, encrypt(signed_by(pki), pki.hub.certificate), crls=[revoking]) == smime.REVOKED
    assert opened(pki, signed_by(pki, "DEMOC"), crls=[revoking]).signer == pki.counters["DEMOC"].certificate


def test_a_crl_not_signed_by_the_authority_revokes_nothing(pki, other_authority):
    serial = pki.counters["DEMOB"].certificate.serial_number
    forged = crl(pki.authority.certificate.subject, other_authority.private_key, [serial])  # our CA's name
    foreign = crl(other_authority.certificate.subject, other_authority.private_key, [serial])
    assert opened(pki, signed_by(pki), crls=[forged, foreign]).signer == pki.counters["DEMOB"].certificate


# -- the error codes -------------------------------------------------------------------------------


def test_codes_are_short_stable_and_distinct():
    codes = [smime.NOT_MIME, smime.NOT_SIGNED, smime.NESTED, smime.BAD_SIGNATURE, smime.SIGNERS, smime.CHAIN,
             smime.REVOKED, smime.VALIDITY, smime.NOT_DECRYPTABLE]
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("SMIME-") and len(code) <= 20 and code.isascii() for code in codes)
    error = SmimeError(smime.CHAIN, "certificat inconnu")
    assert (error.code, error.message, str(error)) == ("SMIME-CHAINE", "certificat inconnu",
                                                       "SMIME-CHAINE: certificat inconnu")


def test_multipart_delimiters_are_found_as_rfc_2046_reads_them():
    """The delimiter search (bytes.find) finds what the reference regular expression finds, on bodies
    mixing delimiters, closing ones, blanks, stray CR, LF and dashes."""
    reference = re.compile(rb"(?:\A|\r\n)--B(--)?[ \t]*(?:\r\n|\Z)")
    pieces = [b"\r\n", b"--B", b"--", b" ", b"\t", b"x", b"B", b"-", b"\r", b"\n"]
    generator = random.Random(2046)
    for _ in range(20000):
        body = b"".join(generator.choice(pieces) for _ in range(generator.randint(0, 12)))
        expected = [(m.start(), m.end(), bool(m[1])) for m in reference.finditer(body)]
        assert list(itertools.islice(smime._delimiters(body, b"--B"), 100)) == expected, body
