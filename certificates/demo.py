"""A demo PKI on disk for ``make run``: a CA, the hub's server and mail identities, one per counter.

Running it again reuses what is there, so the CA and the fingerprints counters were registered
with survive restarts; only missing, foreign, expired or outdated certificates are (re)issued.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from cryptography import x509

from .authority import (
    CA_CERT,
    CA_KEY,
    COUNTER_DAYS,
    MAIL_DAYS,
    SERVER_DAYS,
    Authority,
    Profile,
    counter_profile,
    create_authority,
    hub_client_profile,
    hub_mail_profile,
    server_profile,
)
from .reading import CertificateError, fingerprint, key_matches, load_certificate, load_private_key

DEMO_AUTHORITY_NAME = "sne-hub demo CA"


def write_demo_pki(directory: Path, counters: Iterable[tuple[str, str, str | None]], hub_address: str,
                   hostnames: Sequence[str] = ("localhost",), ips: Sequence[str] = ("127.0.0.1",)) -> dict:
    """Make sure ``directory`` holds the whole demo PKI, and describe it.

    ``counters`` are ``(code, name, mailbox)`` triples. Files: ``ca.pem``, ``ca-key.pem``,
    ``server-cert.pem``, ``server-key.pem``, ``hub-cert.pem``, ``hub-key.pem`` (the hub's S/MIME
    identity), ``hub-client-cert.pem``, ``hub-client-key.pem`` (the hub as a TLS client, pushing
    dispatching) and ``<code>/cert.pem``, ``<code>/key.pem`` per counter; keys are 0600. The
    description maps ``ca``, ``server``, ``hub``, ``hub_client`` and ``counters`` (by code) to
    ``cert`` and ``key`` paths (str),
    ``fingerprint`` and ``created`` (issued by this call), plus ``mailbox`` for mail identities:
    plain data, ready to register fingerprints or print as JSON.
    """
    directory = Path(directory)
    # Every profile first: a bad code or mailbox refuses the call before anything is written.
    wanted = [(code, mailbox, counter_profile(code, name, mailbox)) for code, name, mailbox in counters]
    server, hub = server_profile(hostnames, ips), hub_mail_profile(hub_address)
    authority, created = _authority(directory)
    ca = {"cert": str(directory / CA_CERT), "key": str(directory / CA_KEY),
          "fingerprint": authority.fingerprint, "created": created}
    server_entry = _ensure(authority, directory / "server-cert.pem", directory / "server-key.pem", server, SERVER_DAYS)
    hub_entry = _ensure(authority, directory / "hub-cert.pem", directory / "hub-key.pem", hub, MAIL_DAYS)
    client_entry = _ensure(authority, directory / "hub-client-cert.pem", directory / "hub-client-key.pem",
                           hub_client_profile(), SERVER_DAYS)
    counter_entries = {
        code: _ensure(authority, directory / code / "cert.pem", directory / code / "key.pem", profile, COUNTER_DAYS)
        | {"mailbox": mailbox}
        for code, mailbox, profile in wanted
    }
    return {"ca": ca, "server": server_entry, "hub": hub_entry | {"mailbox": hub_address},
            "hub_client": client_entry, "counters": counter_entries}


def _authority(directory: Path) -> tuple[Authority, bool]:
    """The CA already in ``directory`` (never replaced: everything hangs on it), or a new one."""
    if (directory / CA_CERT).exists():
        return Authority.load(directory), False
    authority = create_authority(DEMO_AUTHORITY_NAME)
    authority.save(directory)
    return authority, True


def _ensure(authority: Authority, cert_path: Path, key_path: Path, profile: Profile, valid_days: int) -> dict:
    """Reuse the certificate at ``cert_path`` if still right, else issue and write a new one."""
    certificate = _reusable(authority, cert_path, key_path, profile)
    created = certificate is None
    if created:
        issued = authority.issue(profile, valid_days)
        issued.write(cert_path, key_path)
        certificate = issued.certificate
    return {"cert": str(cert_path), "key": str(key_path), "fingerprint": fingerprint(certificate),
            "created": created}


def _reusable(authority: Authority, cert_path: Path, key_path: Path, profile: Profile) -> x509.Certificate | None:
    """The existing certificate if it is this CA's, valid now, matches its key and says what ``profile`` says."""
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        certificate = load_certificate(cert_path.read_bytes())
        key = load_private_key(key_path.read_bytes())
    except CertificateError:
        return None
    now = datetime.now(timezone.utc)
    usable = (authority.has_issued(certificate) and key_matches(key, certificate) and profile.describes(certificate)
              and certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc)
    return certificate if usable else None
