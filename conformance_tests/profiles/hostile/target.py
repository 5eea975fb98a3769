"""The hub under test as the hostile cases reach it: its address, and a TLS context per counter role.

``client(role)`` answers what the cases need (``.context``): ``OWN``, ``STATE``, ``FOREIGN`` (the
certificates given on the command line), ``None`` (no client certificate) or ``stranger=True`` (a
certificate the kit makes for itself, from an authority of its own that the hub does not trust).
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..server.conftest import counter_code
from ..server.files import Household, application_file, run_token
from .exchange import OWN


@dataclass(frozen=True)
class Channel:
    context: ssl.SSLContext


@dataclass
class Target:
    url: str
    ca: str | None
    credentials: dict[str, tuple[str, str | None]]  # role: (certificate, key)
    counter: str
    commune: str
    max_request_bytes: int = 10 * 1024 * 1024
    contexts: dict = field(default_factory=dict)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def address(self) -> str:
        return self.host

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 443

    def client(self, counter: str | None = OWN, stranger: bool = False) -> Channel:
        key = "stranger" if stranger else counter
        if key not in self.contexts:
            self.contexts[key] = self._context(key)
        return Channel(self.contexts[key])

    def _context(self, key: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca)
        if key == "stranger":
            context.load_cert_chain(*self.stranger)
        elif key is not None:
            if key not in self.credentials:
                pytest.skip(f"needs the {key} counter's certificate (--sne-{key}-cert)")
            cert, key_file = self.credentials[key]
            context.load_cert_chain(cert, key_file)
        return context

    def certificate(self, counter: str = OWN) -> bytes:
        return Path(self.credentials[counter][0]).read_bytes()

    def application_file(self, index: int = 0, role: str = OWN, number: str | None = None, **names: str) -> bytes:
        """A valid file of ``role``'s counter for a household of this run: a CRE, or about ``number``;
        ``names``: the applicant's ``surname`` or ``first_name`` instead of invented ones."""
        counter = self.counter if role == OWN else counter_code(self.credentials[role][0])
        household = replace(Household.invent(run_token(), index), **names)
        return application_file(counter, household, "MOD" if number else "CRE", commune=self.commune, number=number)

    @cached_property
    def stranger(self) -> tuple[str, str]:
        """(certificate, key) of a counter certified by an authority of the kit's own, made now."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Guichet inconnu")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
        directory = Path(tempfile.mkdtemp(prefix="sne-hostile-"))
        (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        return str(directory / "cert.pem"), str(directory / "key.pem")
