"""``sne-hub certificates …`` as operators run it: the installed script, on SQLite and PostgreSQL.

Each test runs in its own directory, so the authority lands in the default ``var/ca``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certificates import create_authority, fingerprint, load_certificate
from certificates.cli import certificates as certificates_group
from core.cli import main
from tests.conftest import in_ci

SNE_HUB = str(Path(sys.executable).parent / "sne-hub")
MAILBOX = "guichet@nancy.test"

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None and not in_ci(),
                                   reason="the openssl command is not installed (required under CI=true)")


@pytest.fixture
def sne_hub(database_url, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "SNE_HUB_CA_DIR"}
    environment |= {"SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_LOG_LEVEL": "WARNING"}

    def run(*args, check=True, env=None):
        result = subprocess.run([SNE_HUB, *map(str, args)], capture_output=True, text=True,
                                env=environment | {key: str(value) for key, value in (env or {}).items()}, cwd=tmp_path)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


@pytest.fixture
def counters(sne_hub):
    """Territory 054 with a counter that has a mailbox (NANCY) and one that has none (METZA)."""
    sne_hub("territories", "add", "054", "--name", "Meurthe-et-Moselle", "--departement", "54")
    sne_hub("counters", "add", "NANCY", "--name", "Ville de Nancy", "--type", "commune", "--territory", "054",
            "--mailbox", MAILBOX)
    sne_hub("counters", "add", "LUNEV", "--name", "Ville de Lunéville", "--type", "commune", "--territory", "054")


@pytest.fixture
def ca(sne_hub, tmp_path, counters) -> Path:
    result = sne_hub("certificates", "init", "--name", "sne-hub test CA")
    assert "created in var/ca" in result.stdout
    return tmp_path / "var" / "ca"


def openssl(*arguments, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *map(str, arguments)], capture_output=True, text=True, timeout=30, cwd=cwd)


def fingerprint_of(path: Path) -> str:
    return fingerprint(load_certificate(path.read_bytes()))


def ledger(ca: Path) -> dict:
    return json.loads((ca / "index.json").read_text())


def listed(sne_hub, *args) -> dict[str, str]:
    """``certificates list`` as {fingerprint: line}."""
    return {line.split()[1]: line for line in sne_hub("certificates", "list", *args).stdout.splitlines()}


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [()] + [(name,) for name in sorted(certificates_group.commands)],
                         ids=lambda c: " ".join(("certificates",) + c))
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, ["certificates", *command, "--help"], prog_name="sne-hub")
    assert result.exit_code == 0, result.output
    assert "Usage: sne-hub certificates" in result.output
    description = result.output.split("\n\n")[1].strip()
    assert description and not description.startswith("Options:")


def test_the_installed_script_lists_the_commands():
    result = subprocess.run([SNE_HUB, "certificates", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("init", "issue", "issue-hub", "register", "revoke", "list", "crl", "expiring", "demo"):
        assert f"  {name} " in result.stdout, name


# -- the authority ------------------------------------------------------------------------------


def test_init_creates_the_authority_once(sne_hub, ca):
    assert sorted(path.name for path in ca.iterdir() if not path.name.startswith(".")) == \
        ["ca-key.pem", "ca.pem", "crl.pem", "index.json"]
    assert stat.S_IMODE((ca / "ca-key.pem").stat().st_mode) == 0o600
    assert ledger(ca) == {"format": 1, "crl_number": 1, "certificates": []}
    before = (ca / "ca-key.pem").read_bytes()
    again = sne_hub("certificates", "init", "--name", "another", check=False)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    assert (ca / "ca-key.pem").read_bytes() == before


def test_ca_dir_option_and_environment(sne_hub, tmp_path, counters):
    sne_hub("certificates", "init", "--name", "elsewhere", "--ca-dir", tmp_path / "pki")
    assert (tmp_path / "pki" / "ca.pem").exists() and not (tmp_path / "var" / "ca").exists()
    missing = sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "nancy", check=False)
    assert missing.returncode == 1 and "no certificate authority in var/ca" in missing.stderr
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "nancy", "--ca-dir", tmp_path / "pki")
    assert len(ledger(tmp_path / "pki")["certificates"]) == 1


@needs_openssl
def test_issue_writes_records_and_registers_a_counter_certificate(sne_hub, ca, tmp_path):
    result = sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "nancy", "--days", "90")
    cert, key = tmp_path / "nancy" / "cert.pem", tmp_path / "nancy" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    issued = fingerprint_of(cert)
    assert f"certificate {issued} issued to NANCY and registered" in result.stdout
    text = openssl("x509", "-in", cert, "-noout", "-text", "-ext", "subjectAltName").stdout
    assert MAILBOX in text
    verified = openssl("verify", "-CAfile", ca / "ca.pem", cert)
    assert verified.returncode == 0 and "OK" in verified.stdout, verified.stderr
    assert openssl("verify", "-purpose", "sslclient", "-CAfile", ca / "ca.pem", cert).returncode == 0
    assert openssl("verify", "-purpose", "smimesign", "-CAfile", ca / "ca.pem", cert).returncode == 0
    [entry] = ledger(ca)["certificates"]
    serial = openssl("x509", "-in", cert, "-noout", "-serial").stdout.strip().split("=")[1]
    assert entry["serial"] == serial and entry["fingerprint"] == issued and entry["counter"] == "NANCY"
    assert entry["revoked_at"] is None and entry["reason"] is None and "NANCY" in entry["subject"]
    assert "active" in listed(sne_hub, "NANCY")[issued]
    # no overwriting by accident; unknown counters refused
    again = sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "nancy", check=False)
    assert again.returncode == 1 and "--force" in again.stderr
    unknown = sne_hub("certificates", "issue", "NOONE", "--out", tmp_path / "noone", check=False)
    assert unknown.returncode == 1 and "no counter NOONE" in unknown.stderr
    # a counter without mailbox gets a certificate without one
    sne_hub("certificates", "issue", "LUNEV", "--out", tmp_path / "lunev")
    assert "email:" not in openssl("x509", "-in", tmp_path / "lunev" / "cert.pem", "-noout", "-text").stdout


@needs_openssl
def test_renewal_and_replace(sne_hub, ca, tmp_path):
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "v1")
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "v2")  # renewal: both stay valid
    v1, v2 = fingerprint_of(tmp_path / "v1" / "cert.pem"), fingerprint_of(tmp_path / "v2" / "cert.pem")
    states = listed(sne_hub, "NANCY")
    assert "active" in states[v1] and "active" in states[v2]

    result = sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "v3", "--replace")
    v3 = fingerprint_of(tmp_path / "v3" / "cert.pem")
    assert f"certificate {v1} revoked (superseded)" in result.stdout and f"{v2} revoked" in result.stdout
    states = listed(sne_hub, "NANCY")
    assert "revoked" in states[v1] and "revoked" in states[v2] and "active" in states[v3]
    entries = {entry["fingerprint"]: entry for entry in ledger(ca)["certificates"]}
    assert entries[v1]["reason"] == entries[v2]["reason"] == "superseded" and entries[v3]["revoked_at"] is None

    text = openssl("crl", "-in", ca / "crl.pem", "-noout", "-text").stdout
    for old in (v1, v2):
        assert entries[old]["serial"] in text
    assert entries[v3]["serial"] not in text and "Superseded" in text
    check = ("verify", "-crl_check", "-CRLfile", ca / "crl.pem", "-CAfile", ca / "ca.pem")
    assert openssl(*check, tmp_path / "v1" / "cert.pem").returncode != 0
    assert openssl(*check, tmp_path / "v3" / "cert.pem").returncode == 0


@needs_openssl
def test_revoke_and_crl(sne_hub, ca, tmp_path):
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "good")
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "bad")
    good, bad = tmp_path / "good" / "cert.pem", tmp_path / "bad" / "cert.pem"
    # openssl's own form of the fingerprint is accepted
    colons = openssl("x509", "-in", bad, "-noout", "-fingerprint", "-sha256").stdout.strip().split("=")[1]
    result = sne_hub("certificates", "revoke", colons, "--reason", "keyCompromise")
    assert "revoked in the register" in result.stdout and "revoked in the ledger" in result.stdout
    assert "CRL number 2 written to var/ca/crl.pem" in result.stdout
    states = listed(sne_hub)
    assert "revoked" in states[fingerprint_of(bad)] and "active" in states[fingerprint_of(good)]

    serial = openssl("x509", "-in", bad, "-noout", "-serial").stdout.strip().split("=")[1]
    text = openssl("crl", "-in", ca / "crl.pem", "-noout", "-text")
    assert text.returncode == 0 and f"Serial Number: {serial}" in text.stdout and "Key Compromise" in text.stdout
    assert openssl("crl", "-in", ca / "crl.pem", "-noout", "-CAfile", ca / "ca.pem").returncode == 0
    check = ("verify", "-crl_check", "-CRLfile", ca / "crl.pem", "-CAfile", ca / "ca.pem")
    refused = openssl(*check, bad)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    assert openssl(*check, good).returncode == 0

    # again: nothing changes but the CRL, reissued under the next number
    again = sne_hub("certificates", "revoke", fingerprint_of(bad), "--reason", "superseded")
    assert "already revoked in the register" in again.stdout and "(keyCompromise," in again.stdout
    crl = sne_hub("certificates", "crl", "--out", tmp_path / "public" / "sne-hub.crl", "--days", "2")
    assert "CRL number 4 written" in crl.stdout and "1 revoked" in crl.stdout
    dates = openssl("crl", "-in", tmp_path / "public" / "sne-hub.crl", "-noout", "-lastupdate", "-nextupdate")
    assert dates.returncode == 0 and "nextUpdate" in dates.stdout
    assert ledger(ca)["crl_number"] == 4

    unknown = sne_hub("certificates", "revoke", "ab" * 32, check=False)
    assert unknown.returncode == 1 and "no certificate" in unknown.stderr
    malformed = sne_hub("certificates", "revoke", "not-a-fingerprint", check=False)
    assert malformed.returncode == 2 and "64 hexadecimal digits" in malformed.stderr


def test_register_an_externally_issued_certificate(sne_hub, ca, tmp_path):
    external = create_authority("a counter's own CA").issue_counter("NANCY", "Ville de Nancy", MAILBOX)
    external.write(tmp_path / "external.pem", tmp_path / "external-key.pem")
    result = sne_hub("certificates", "register", "NANCY", tmp_path / "external.pem")
    assert f"certificate {external.fingerprint} registered for NANCY" in result.stdout
    assert "SNE_HUB_TLS_CLIENT_CA" in result.stderr  # the operator is told to trust its issuer
    assert "active" in listed(sne_hub, "NANCY")[external.fingerprint]
    # it can be revoked in the register; it is not ours, so not in our CRL
    revoked = sne_hub("certificates", "revoke", external.fingerprint)
    assert "revoked in the register" in revoked.stdout and "ledger" not in revoked.stdout
    assert "revoked" in listed(sne_hub, "NANCY")[external.fingerprint]
    assert ledger(ca)["certificates"] == []
    # our own certificate, registered again, raises no trust note
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "ours")
    again = sne_hub("certificates", "register", "NANCY", tmp_path / "ours" / "cert.pem")
    assert "SNE_HUB_TLS_CLIENT_CA" not in again.stderr
    not_a_certificate = sne_hub("certificates", "register", "NANCY", tmp_path / "external-key.pem", check=False)
    assert not_a_certificate.returncode == 1 and "not an X.509 certificate" in not_a_certificate.stderr


def self_signed(path: Path, valid_from: timedelta, valid_until: timedelta) -> Path:
    """A certificate valid from now + ``valid_from`` to now + ``valid_until`` (negative: past)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ville de Nancy")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now + valid_from)
                   .not_valid_after(now + valid_until).sign(key, hashes.SHA256()))
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_register_refuses_what_would_authenticate_nothing_or_what_was_revoked(sne_hub, ca, tmp_path):
    external = create_authority("a counter's own CA").issue_counter("NANCY", "Ville de Nancy", MAILBOX)
    revoked = tmp_path / "external.pem"
    external.write(revoked, tmp_path / "external-key.pem")
    sne_hub("certificates", "register", "NANCY", revoked)
    sne_hub("certificates", "revoke", fingerprint_of(revoked))  # in the register: not ours
    again = sne_hub("certificates", "register", "NANCY", revoked, check=False)
    assert again.returncode == 1 and "NUU185" in again.stderr and "révoqué" in again.stderr
    assert "registered" not in again.stdout
    assert "revoked" in listed(sne_hub, "NANCY")[fingerprint_of(revoked)]
    # revoked by our authority, never registered: registering it would let it authenticate again
    sne_hub("certificates", "issue-hub", "--client", "--out", tmp_path / "hub")
    hub_client = tmp_path / "hub" / "hub-client-cert.pem"
    sne_hub("certificates", "revoke", fingerprint_of(hub_client))
    ledger_only = sne_hub("certificates", "register", "LUNEV", hub_client, check=False)
    assert ledger_only.returncode == 1 and "was revoked by the authority in var/ca" in ledger_only.stderr
    assert fingerprint_of(hub_client) not in listed(sne_hub)

    expired = self_signed(tmp_path / "expired.pem", timedelta(days=-30), timedelta(days=-1))
    refused = sne_hub("certificates", "register", "NANCY", expired, check=False)
    assert refused.returncode == 1 and "NUU185" in refused.stderr and "expiré" in refused.stderr
    assert fingerprint_of(expired) not in listed(sne_hub)
    later = self_signed(tmp_path / "later.pem", timedelta(days=10), timedelta(days=400))
    warned = sne_hub("certificates", "register", "NANCY", later)
    assert "registered for NANCY" in warned.stdout and "warning: it is valid only from" in warned.stderr


def test_list_and_expiring(sne_hub, ca, tmp_path):
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "short", "--days", "10")
    sne_hub("certificates", "issue", "LUNEV", "--out", tmp_path / "long", "--days", "365")
    short, long = fingerprint_of(tmp_path / "short" / "cert.pem"), fingerprint_of(tmp_path / "long" / "cert.pem")

    everything = listed(sne_hub)
    assert set(everything) == {short, long}
    assert everything[short].startswith(f"NANCY  {short}  until ") and "active" in everything[short]
    assert everything[long].startswith(f"LUNEV  {long}  until ")
    assert set(listed(sne_hub, "LUNEV")) == {long}
    assert set(listed(sne_hub, "--expiring-within", "30")) == {short}
    assert set(listed(sne_hub, "NANCY", "--expiring-within", "5")) == set()

    soon = sne_hub("certificates", "expiring", "--days", "30")
    assert soon.returncode == 0
    [line] = soon.stdout.splitlines()
    assert line.startswith(f"NANCY  {short}  until ") and "in 9 days" in line and "renewed" not in line
    nothing = sne_hub("certificates", "expiring", "--days", "5")
    assert nothing.returncode == 0 and "no registered certificate expires within 5 days" in nothing.stdout
    assert len(sne_hub("certificates", "expiring").stdout.splitlines()) == 1  # 30 days by default

    # renewed: still listed (it still works) but marked; revoked: no longer listed
    sne_hub("certificates", "issue", "NANCY", "--out", tmp_path / "renewed")
    assert "renewed" in sne_hub("certificates", "expiring", "--days", "30").stdout
    sne_hub("certificates", "revoke", short)
    assert "no registered certificate" in sne_hub("certificates", "expiring", "--days", "30").stdout


def test_issue_hub_certificates(sne_hub, ca, tmp_path):
    result = sne_hub("certificates", "issue-hub", "--out", tmp_path / "hub", "--hostname", "hub.example.org",
                     "--ip", "127.0.0.1", "--mailbox", "hub@example.org")
    assert result.stdout.count("issued") == 2
    for name in ("server-key.pem", "hub-key.pem"):
        assert stat.S_IMODE((tmp_path / "hub" / name).stat().st_mode) == 0o600
    entries = ledger(ca)["certificates"]
    assert [entry["counter"] for entry in entries] == [None, None]
    server = fingerprint_of(tmp_path / "hub" / "server-cert.pem")
    assert server in {entry["fingerprint"] for entry in entries}
    assert listed(sne_hub) == {}  # the register only knows counters' certificates
    revoked = sne_hub("certificates", "revoke", server, "--reason", "cessationOfOperation")
    assert "not in the register" in revoked.stdout and "revoked in the ledger" in revoked.stdout
    nothing = sne_hub("certificates", "issue-hub", "--out", tmp_path / "none", check=False)
    assert nothing.returncode == 2


@needs_openssl
def test_the_demo_directory_works_as_an_authority(sne_hub, tmp_path):
    sne_hub("demo", "seed")
    sne_hub("certificates", "demo")
    demo = tmp_path / "var" / "demo"
    entries = ledger(demo)["certificates"]
    assert {entry["counter"] for entry in entries} == {None, "DEMOB", "DEMOC", "DEMOE"}
    assert ledger(demo)["crl_number"] == 1 and (demo / "crl.pem").exists()  # an empty CRL to start with
    sne_hub("certificates", "demo")  # again: nothing new
    assert ledger(demo)["certificates"] == entries and ledger(demo)["crl_number"] == 1
    democ = fingerprint_of(demo / "DEMOC" / "cert.pem")
    result = sne_hub("certificates", "revoke", democ, "--ca-dir", "var/demo")
    assert "revoked in the register" in result.stdout and "CRL number 2 written to var/demo/crl.pem" in result.stdout
    check = ("verify", "-crl_check", "-CRLfile", demo / "crl.pem", "-CAfile", demo / "ca.pem")
    assert openssl(*check, demo / "DEMOC" / "cert.pem").returncode != 0
    assert openssl(*check, demo / "DEMOB" / "cert.pem").returncode == 0
    environment_only = sne_hub("certificates", "issue", "DEMOB", "--out", tmp_path / "demob",
                               env={"SNE_HUB_CA_DIR": demo})
    assert "issued to DEMOB" in environment_only.stdout
    assert openssl(*check, tmp_path / "demob" / "cert.pem").returncode == 0
