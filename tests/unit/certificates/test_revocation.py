"""CRLs: what the builder writes (number, authority key, dates, reasons), that OpenSSL reads and
enforces it, and the authority's directory that keeps the ledger behind it."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates import (
    REASONS,
    AuthorityDirectory,
    CertificateError,
    Entry,
    Ledger,
    Revoked,
    build_crl,
    create_authority,
    load_crl,
)
from certificates.authority import counter_profile, hub_mail_profile
from certificates.revocation import crl_number, crl_pem, reason_of
from tests.conftest import in_ci

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(),
                                   reason="the openssl command is not installed (required under CI=true)")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def authority():
    return create_authority("sne-hub CRL test CA")


@pytest.fixture(scope="module")
def revoked_pair(authority):
    good = authority.issue_counter("DEMOB", "Bailleur", "demob@guichets.test")
    bad = authority.issue_counter("DEMOB", "Bailleur", "demob@guichets.test")
    return good, bad


def openssl(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *map(str, arguments)], capture_output=True, text=True, timeout=30)


# -- the builder ---------------------------------------------------------------------------------


def test_a_crl_names_its_issuer_number_dates_and_authority_key(authority):
    crl = build_crl(authority, [], number=42, days=7, now=NOW)
    assert crl.issuer == authority.certificate.subject
    assert crl_number(crl) == 42
    assert crl.last_update_utc <= NOW and NOW - crl.last_update_utc <= timedelta(minutes=5)
    assert crl.next_update_utc == NOW + timedelta(days=7)
    identifier = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    subject_key = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert identifier == subject_key
    assert crl.is_signature_valid(authority.certificate.public_key())
    assert len(crl) == 0


def test_entries_carry_serial_date_and_reason_but_unspecified_is_left_out(authority, revoked_pair):
    good, bad = revoked_pair
    entries = [Revoked(bad.certificate.serial_number, NOW - timedelta(hours=1), "keyCompromise"),
               Revoked(good.certificate.serial_number, NOW - timedelta(hours=2))]
    crl = build_crl(authority, entries, number=1, now=NOW)
    assert len(crl) == 2
    bad_entry = crl.get_revoked_certificate_by_serial_number(bad.certificate.serial_number)
    assert bad_entry.revocation_date_utc == NOW - timedelta(hours=1)
    assert reason_of(bad_entry) == "keyCompromise"
    good_entry = crl.get_revoked_certificate_by_serial_number(good.certificate.serial_number)
    with pytest.raises(x509.ExtensionNotFound):
        good_entry.extensions.get_extension_for_class(x509.CRLReason)
    assert reason_of(good_entry) == "unspecified"
    assert crl.next_update_utc == NOW + timedelta(days=7)  # the default


def test_the_authority_builds_its_own_crl(authority, revoked_pair):
    _, bad = revoked_pair
    crl = authority.crl([Revoked(bad.certificate.serial_number, NOW, "superseded")], number=3, days=2)
    assert crl_number(crl) == 3 and len(crl) == 1
    assert crl.next_update_utc - crl.last_update_utc > timedelta(days=2)
    assert crl.is_signature_valid(authority.certificate.public_key())


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_offered_reason_round_trips(authority, reason):
    crl = build_crl(authority, [Revoked(12345, NOW, reason)], number=1, now=NOW)
    assert reason_of(crl.get_revoked_certificate_by_serial_number(12345)) == reason


def test_nonsense_is_refused(authority):
    with pytest.raises(ValueError):
        Revoked(1, NOW, "certificateHold")  # a revocation here is final
    with pytest.raises(ValueError):
        Revoked(1, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        build_crl(authority, [], number=1, days=0)
    with pytest.raises(ValueError):
        build_crl(authority, [], number=-1)


def test_load_crl_reads_pem_and_der_from_bytes_or_files(authority, tmp_path):
    crl = build_crl(authority, [Revoked(7, NOW)], number=5, now=NOW)
    der = crl.public_bytes(serialization.Encoding.DER)
    (tmp_path / "crl.pem").write_bytes(crl_pem(crl))
    for source in (crl_pem(crl), der, tmp_path / "crl.pem"):
        loaded = load_crl(source)
        assert crl_number(loaded) == 5 and loaded.get_revoked_certificate_by_serial_number(7) is not None
    with pytest.raises(CertificateError):
        load_crl(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    with pytest.raises(CertificateError):
        load_crl(b"\x30\x03garbage")


@needs_openssl
def test_openssl_reads_the_crl_and_refuses_the_revoked_certificate_only(authority, revoked_pair, tmp_path):
    good, bad = revoked_pair
    crl = build_crl(authority, [Revoked(bad.certificate.serial_number, NOW, "keyCompromise")], number=9)
    (tmp_path / "crl.pem").write_bytes(crl_pem(crl))
    authority.write(tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    good.write(tmp_path / "good.pem", tmp_path / "good-key.pem")
    bad.write(tmp_path / "bad.pem", tmp_path / "bad-key.pem")
    text = openssl("crl", "-in", tmp_path / "crl.pem", "-noout", "-text")
    assert text.returncode == 0, text.stderr
    assert f"{bad.certificate.serial_number:X}" in text.stdout and "Key Compromise" in text.stdout
    assert "CRL Number" in text.stdout and "Authority Key Identifier" in text.stdout
    assert openssl("crl", "-in", tmp_path / "crl.pem", "-noout", "-CAfile", tmp_path / "ca.pem").returncode == 0
    check = ("verify", "-crl_check", "-CRLfile", tmp_path / "crl.pem", "-CAfile", tmp_path / "ca.pem")
    assert openssl(*check, tmp_path / "good.pem").returncode == 0
    refused = openssl(*check, tmp_path / "bad.pem")
    assert refused.returncode != 0 and "revoked" in refused.stdout + refused.stderr


# -- the authority's directory and its ledger ----------------------------------------------------


def test_a_new_directory_holds_the_ca_an_empty_ledger_and_a_first_crl(tmp_path):
    directory = AuthorityDirectory(tmp_path / "ca")
    authority = directory.create("Test CA")
    assert stat.S_IMODE((tmp_path / "ca" / "ca-key.pem").stat().st_mode) == 0o600
    assert directory.authority().fingerprint == authority.fingerprint
    document = json.loads((tmp_path / "ca" / "index.json").read_text())
    assert document == {"format": 1, "crl_number": 1, "certificates": []}
    crl = load_crl(tmp_path / "ca" / "crl.pem")
    assert crl_number(crl) == 1 and len(crl) == 0
    with pytest.raises(CertificateError, match="refusing to overwrite"):
        directory.create("Another CA")
    assert directory.authority().fingerprint == authority.fingerprint


def test_issuing_revoking_and_publishing_keep_the_ledger(tmp_path):
    directory = AuthorityDirectory(tmp_path)
    directory.create("Test CA")
    first = directory.issue(counter_profile("DEMOB", "Bailleur", "demob@guichets.test"), 30, counter="DEMOB")
    hub = directory.issue(hub_mail_profile("hub@sne-hub.test"), 30)
    ledger = directory.read_ledger()
    assert [entry.fingerprint for entry in ledger.entries] == [first.fingerprint, hub.fingerprint]
    entry = ledger.find(first.fingerprint)
    assert entry.counter == "DEMOB" and entry.serial == first.certificate.serial_number
    assert ledger.find(hub.fingerprint).counter is None
    assert not directory.record(first.certificate)  # once only

    revoked = directory.revoke(first.fingerprint, NOW, "superseded")
    assert revoked.revoked_at == NOW and revoked.reason == "superseded"
    again = directory.revoke(first.fingerprint, NOW + timedelta(days=1), "keyCompromise")
    assert again == revoked  # the first revocation stands
    assert directory.revoke("0" * 64, NOW) is None

    path, crl = directory.publish_crl(days=3)
    assert path == tmp_path / "crl.pem" and crl_number(crl) == 2
    assert crl.get_revoked_certificate_by_serial_number(first.certificate.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(hub.certificate.serial_number) is None
    _, elsewhere = directory.publish_crl(tmp_path / "published" / "sne-hub.crl")
    assert crl_number(elsewhere) == 3 and (tmp_path / "published" / "sne-hub.crl").exists()
    assert json.loads((tmp_path / "index.json").read_text())["crl_number"] == 3


def test_the_ledger_round_trips_through_json():
    entry = Entry(0xABC, "a" * 64, "CN=x", "DEMOB", NOW, NOW + timedelta(days=1), NOW, "superseded")
    ledger = Ledger([entry, Entry(0x1F, "b" * 64, "CN=y", None, NOW, NOW)], crl_number=4)
    document = json.loads(json.dumps(ledger.to_json()))
    assert document["certificates"][0]["serial"] == "0ABC"
    assert document["certificates"][0]["revoked_at"] == "2026-11-30T09:00:00Z"
    assert Ledger.from_json(document) == ledger


def test_a_directory_without_ledger_reads_as_empty(tmp_path):
    """The demo PKI written before the ledger existed: the commands still work on it."""
    create_authority("Old demo CA").save(tmp_path)
    directory = AuthorityDirectory(tmp_path)
    assert directory.read_ledger() == Ledger([])
    _, crl = directory.publish_crl()
    assert crl_number(crl) == 1
    assert json.loads((tmp_path / "index.json").read_text())["crl_number"] == 1


def test_a_missing_authority_is_explained(tmp_path):
    with pytest.raises(CertificateError, match="sne-hub certificates init"):
        AuthorityDirectory(tmp_path / "nowhere").authority()
