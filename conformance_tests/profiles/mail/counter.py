"""The counter the kit plays: its identity (certificate, key, code, mailbox), the mails it makes and
sends to the hub, and the answers it opens."""

from __future__ import annotations

import base64
import datetime
import random
import smtplib
import uuid
from dataclasses import dataclass, replace
from email.utils import make_msgid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..server.files import now
from . import smime


@dataclass(frozen=True)
class Identity:
    code: str
    mailbox: str
    certificate: x509.Certificate
    key: object

    @classmethod
    def load(cls, cert: str, key: str | None) -> "Identity":
        """A counter's identity as SNE certificates carry it: the code in the subject's serialNumber
        (else its CN), the exchange mailbox in the rfc822Name."""
        certificate = x509.load_pem_x509_certificate(Path(cert).read_bytes())
        private_key = serialization.load_pem_private_key(Path(key or cert).read_bytes(), password=None)
        subject = certificate.subject
        code = next(str(attributes[0].value) for oid in (NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME)
                    if (attributes := subject.get_attributes_for_oid(oid)))
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return cls(code, names.get_values_for_type(x509.RFC822Name)[0], certificate, private_key)

    def impostor(self) -> "Identity":
        """The same code and mailbox in a self-signed certificate: a signer no authority issued."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, self.code),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"impostor of {self.code}")])
        moment = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(moment - datetime.timedelta(hours=1))
                       .not_valid_after(moment + datetime.timedelta(days=1))
                       .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(self.mailbox)]), critical=False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                       .sign(key, hashes.SHA256()))
        return Identity(self.code, self.mailbox, certificate, key)


def file_name(counter: str) -> str:
    """A new DEM file name of the counter: DEM<guichet>-<AAAAMMJJHHMM>-<seq>.xml (docs/MAIL.md)."""
    return f"DEM{counter}-{now():%Y%m%d%H%M}-{random.randrange(1, 999_999):06d}.xml"


def entity(files: list[tuple[str | None, bytes]], text: str = "Fichiers du guichet") -> bytes:
    """The MIME entity a counter signs: a short text, then each file as a base64 XML attachment (a
    file named None goes without Content-Disposition, as some mail clients send it)."""
    boundary = f"files-{uuid.uuid4().hex}"
    lines = [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}",
             "Content-Type: text/plain; charset=utf-8", "", text]
    for name, data in files:
        disposition = [] if name is None else [f'Content-Disposition: attachment; filename="{name}"']
        lines += [f"--{boundary}", "Content-Type: text/xml; charset=utf-8", *disposition,
                  "Content-Transfer-Encoding: base64", "", *base64.encodebytes(data).decode().splitlines()]
    lines.append(f"--{boundary}--")
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True)
class Mail:
    message_id: str
    raw: bytes
    signed: bytes = b""  # the signed entity, before encryption (a replay sends it again)


@dataclass
class Counter:
    """The counter: makes mails as docs/MAIL.md asks and sends them to the hub's SMTP listener."""

    identity: Identity
    hub_certificate: x509.Certificate
    hub_address: str
    smtp: tuple[str, int]

    def mail(self, content: bytes, *, signer: Identity | None = None, encrypted: bool = True,
             message_id: str | None = None, tamper=None) -> Mail:
        """``content`` signed (by ``signer``, the counter by default), ``tamper``-ed after signing if
        given, then encrypted to the hub, under the counter's headers."""
        signed = smime.sign(content, (signer or self.identity).certificate, (signer or self.identity).key)
        signed = tamper(signed) if tamper else signed
        return self.sealed(signed, encrypted, message_id)

    def sealed(self, signed: bytes, encrypted: bool = True, message_id: str | None = None) -> Mail:
        """The signed entity ``signed``, encrypted to the hub, under the counter's headers."""
        body = smime.encrypt(signed, self.hub_certificate) if encrypted else signed
        return replace(self.headed(body, message_id), signed=signed)

    def headed(self, body: bytes, message_id: str | None = None) -> Mail:
        message_id = message_id or make_msgid(domain=self.identity.mailbox.partition("@")[2] or "guichet")
        headers = (f"From: {self.identity.mailbox}\r\nTo: {self.hub_address}\r\nSubject: Fichiers "
                   f"{self.identity.code}\r\nMessage-ID: {message_id}\r\n")
        if not body.startswith(b"MIME-Version"):
            headers += "MIME-Version: 1.0\r\n"
        return Mail(message_id, headers.encode() + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def send(self, mail: Mail, recipient: str | None = None) -> None:
        with smtplib.SMTP(*self.smtp, timeout=30) as connection:
            connection.sendmail(self.identity.mailbox, [recipient or self.hub_address], mail.raw)

    def open(self, answer: bytes) -> bytes:
        """The signed entity of the hub's answer, decrypted when encrypted, once the hub's signature
        verified (smime.NotVerified otherwise)."""
        if smime.is_encrypted(answer):
            answer = smime.decrypt(answer, self.identity.certificate, self.identity.key)
        return smime.verify(answer, self.hub_certificate)
