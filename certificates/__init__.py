"""Certificates: the deployment's authority, counter certificates, revocation.

The same registry authenticates SOAP clients (TLS) and mail senders (S/MIME).
"""

from .authority import Authority, Issued, Profile, create_authority, generate_key
from .demo import write_demo_pki
from .ledger import AuthorityDirectory, Entry, Ledger
from .reading import CertificateError, counter_code_of, fingerprint, load_certificate, mailbox_of, registration
from .revocation import REASONS, Revoked, build_crl, load_crl

__all__ = [
    "REASONS", "Authority", "AuthorityDirectory", "CertificateError", "Entry", "Issued", "Ledger", "Profile",
    "Revoked", "build_crl", "counter_code_of", "create_authority", "fingerprint", "generate_key",
    "load_certificate", "load_crl", "mailbox_of", "registration", "write_demo_pki",
]
