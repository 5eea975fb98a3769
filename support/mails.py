"""Mails as counter systems make them: an entity with the files, signed and encrypted with the
``openssl cms`` command line (as the documentation tells integrators to), or with our own library
for the bulk of the tests."""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path

from certificates import load_certificate, smime
from certificates.reading import load_private_key

HUB = "hub@sne-hub.example.org"


@dataclass(frozen=True)
class Identity:
    code: str
    mailbox: str
    cert: Path
    key: Path


def identity(pki: dict, code: str, stranger: bool = False) -> Identity:
    entry = pki["stranger"] if stranger else pki["counters"][code]
    return Identity(code, entry["mailbox"] or f"{code.lower()}@guichets.sne-hub.test", Path(entry["cert"]),
                    Path(entry["key"]))


def entity(files: list[tuple[str | None, bytes]], text: str = "Fichiers du guichet") -> bytes:
    """The MIME entity a counter signs: a short text, then each file as an XML attachment (a file
    whose name is None is an XML part without Content-Disposition, as some mail clients make it)."""
    boundary = f"files-{uuid.uuid4().hex}"
    lines = [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}",
             "Content-Type: text/plain; charset=utf-8", "", text]
    for name, data in files:
        encoded = base64.encodebytes(data).decode().rstrip("\n").split("\n")
        disposition = [] if name is None else [f'Content-Disposition: attachment; filename="{name}"']
        lines += [f"--{boundary}", "Content-Type: text/xml; charset=utf-8", *disposition,
                  "Content-Transfer-Encoding: base64", "", *encoded]
    lines.append(f"--{boundary}--")
    return ("\r\n".join(lines) + "\r\n").encode()


def headers(sender: str, message_id: str | None = None, subject: str = "Fichiers", to: str = HUB) -> bytes:
    message_id = message_id or make_msgid(domain="guichets.sne-hub.test")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\n").encode()


def ours(content: bytes, signer: Identity, hub_cert: Path | None, sender: str | None = None,
         message_id: str | None = None, **signing) -> bytes:
    """Signed (and encrypted when ``hub_cert`` is given) with certificates.smime."""
    certificate, key = load_certificate(signer.cert.read_bytes()), load_private_key(signer.key.read_bytes())
    sealed = smime.sign(content, certificate, key, **signing)
    if hub_cert is not None:
        sealed = smime.encrypt(sealed, load_certificate(hub_cert.read_bytes()))
    return headers(sender or signer.mailbox, message_id) + sealed


def with_openssl(content: bytes, signer: Identity, hub_cert: Path | None, workdir: Path,
                 extra_signer: Identity | None = None) -> bytes:
    """Signed (and encrypted) by the openssl command line, headers added by openssl -encrypt."""
    source = workdir / f"entity-{uuid.uuid4().hex}.mime"
    source.write_bytes(content)
    signed = source.with_suffix(".signed")
    command = ["openssl", "cms", "-sign", "-md", "sha256", "-signer", str(signer.cert), "-inkey", str(signer.key),
               "-in", str(source), "-out", str(signed)]
    if extra_signer is not None:
        command[command.index("-in"):command.index("-in")] = ["-signer", str(extra_signer.cert), "-inkey",
                                                               str(extra_signer.key)]
    run(command)
    if hub_cert is None:
        return crlf(headers(signer.mailbox)[:-len(b"MIME-Version: 1.0\r\n")] + signed.read_bytes())
    sealed = signed.with_suffix(".eml")
    run(["openssl", "cms", "-encrypt", "-aes256", "-in", str(signed), "-out", str(sealed), "-from", signer.mailbox,
         "-to", HUB, "-subject", "Fichiers", str(hub_cert)])
    return crlf(sealed.read_bytes())


def crlf(data: bytes) -> bytes:
    """openssl writes LF line ends; mail travels with CRLF, as any mail client sends it."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def open_reply(raw: bytes, counter: Identity, ca_with_crl: Path, workdir: Path) -> bytes:
    """Decrypt and verify a reply with openssl as a counter would; returns the signed entity."""
    sealed = workdir / f"reply-{uuid.uuid4().hex}.eml"
    sealed.write_bytes(raw)
    signed, inner = sealed.with_suffix(".signed"), sealed.with_suffix(".mime")
    run(["openssl", "cms", "-decrypt", "-recip", str(counter.cert), "-inkey", str(counter.key), "-in", str(sealed),
         "-out", str(signed)])
    run(["openssl", "cms", "-verify", "-purpose", "smimesign", "-crl_check", "-CAfile", str(ca_with_crl),
         "-in", str(signed), "-out", str(inner)])
    return inner.read_bytes()


def attachments(inner: bytes) -> dict[str, bytes]:
    message = BytesParser(policy=policy.default).parsebytes(inner)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk()
            if not part.is_multipart() and part.get_filename()}


def text_of(inner: bytes) -> str:
    """The text of an opened reply (its first text/plain part): what the hub says to the counter."""
    message = BytesParser(policy=policy.default).parsebytes(inner)
    return next(part.get_content() for part in message.walk()
                if part.get_content_type() == "text/plain" and not part.get_filename())


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, timeout=30)
    assert result.returncode == 0, (command[:3], result.stderr.decode(errors="replace"))
