"""Certificates: the deployment's authority, counter certificates, revocation.

The same registry authenticates SOAP clients (TLS) and mail senders (S/MIME).
"""

from .authority import Authority, Issued, Profile, create_authority, generate_key
from .demo import write_demo_pki
from .reading import CertificateError, counter_code_of, fingerprint, load_certificate, mailbox_of, registration

__all__ = [
    "Authority", "CertificateError", "Issued", "Profile", "counter_code_of", "create_authority", "fingerprint",
    "generate_key", "load_certificate", "mailbox_of", "registration", "write_demo_pki",
]
