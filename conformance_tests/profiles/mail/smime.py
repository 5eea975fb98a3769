"""S/MIME as a counter's mail software makes and reads it, with ``cryptography`` alone.

Signing (detached, SHA-256, with signingTime) and encrypting (AES-256) are ``cryptography``'s
PKCS #7 builders. Reading the hub's answer: ``cryptography`` decrypts it, but has no CMS signature
verification, so :func:`verify` walks the SignedData's DER itself (RFC 5652 §5.3-5.4): the
messageDigest attribute must be the digest of the signed part, and the signed attributes must carry
a valid signature by the hub's certificate's key. No chain is built: the kit is given the hub's
certificate and checks that this very key signed.
"""

from __future__ import annotations

import base64
import hashlib
from email import policy
from email.parser import BytesParser

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

# DER contents of the object identifiers the verification reads.
DIGESTS = {bytes.fromhex("608648016503040201"): hashes.SHA256(), bytes.fromhex("608648016503040202"): hashes.SHA384(),
           bytes.fromhex("608648016503040203"): hashes.SHA512()}
MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
SEQUENCE, SET, OID, OCTET_STRING, CONTEXT_0 = 0x30, 0x31, 0x06, 0x04, 0xA0


class NotVerified(Exception):
    """The answer is not signed by the hub's certificate (or not readable as a signed mail)."""


def sign(entity: bytes, certificate: x509.Certificate, key) -> bytes:
    """``entity`` (a MIME entity, CRLF line ends) as a ``multipart/signed`` mail body, signed as is."""
    return (pkcs7.PKCS7SignatureBuilder().set_data(entity).add_signer(certificate, key, hashes.SHA256())
            .sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))


def encrypt(signed: bytes, recipient: x509.Certificate) -> bytes:
    """``signed`` enveloped (AES-256-CBC) to ``recipient``: an ``application/pkcs7-mime`` entity."""
    return (pkcs7.PKCS7EnvelopeBuilder().set_data(signed).add_recipient(recipient)
            .set_content_encryption_algorithm(pkcs7.algorithms.AES256)
            .encrypt(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.Binary]))


def decrypt(mail: bytes, certificate: x509.Certificate, key) -> bytes:
    return pkcs7.pkcs7_decrypt_smime(mail, certificate, key, [])


def is_encrypted(mail: bytes) -> bool:
    content_type = BytesParser(policy=policy.compat32).parsebytes(mail, headersonly=True).get_content_type()
    return content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime")


def verify(signed: bytes, signer: x509.Certificate) -> bytes:
    """The signed part of the ``multipart/signed`` entity ``signed``, once ``signer``'s signature over
    it verified; raises :class:`NotVerified` otherwise."""
    content, der = _signed_parts(signed)
    try:
        signer_info = _single_signer(der)
        algorithm = DIGESTS[_children(_children(signer_info)[2][1])[0][1]]
        attributes = next(raw for tag, _, raw in _children(signer_info) if tag == CONTEXT_0)
        signature = next(value for tag, value, _ in _children(signer_info) if tag == OCTET_STRING)
    except (IndexError, KeyError, StopIteration, TypeError, ValueError):
        raise NotVerified("the signature is not a single-signer CMS SignedData with signed attributes") from None
    if _message_digest(attributes) != _digest(algorithm, content):
        raise NotVerified("the signed part does not match the signature's messageDigest")
    try:
        _check(signer.public_key(), signature, bytes([SET]) + attributes[1:], algorithm)
    except InvalidSignature:
        raise NotVerified("the signature is not the hub's certificate's") from None
    return content


def _signed_parts(signed: bytes) -> tuple[bytes, bytes]:
    """(the signed part as sent, the signature's DER) of a multipart/signed entity."""
    message = BytesParser(policy=policy.compat32).parsebytes(signed)
    boundary = message.get_boundary()
    if message.get_content_type() != "multipart/signed" or not boundary:
        raise NotVerified(f"not a multipart/signed entity but {message.get_content_type()}")
    delimiter = b"\r\n--" + boundary.encode()
    body = b"\r\n" + signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").split(b"\r\n\r\n", 1)[1]
    pieces = body.split(delimiter)
    if len(pieces) < 4:
        raise NotVerified("a multipart/signed entity without its two parts")
    content = pieces[1].split(b"\r\n", 1)[1]
    signature_part = BytesParser(policy=policy.compat32).parsebytes(pieces[2].split(b"\r\n", 1)[1])
    return content, base64.b64decode(signature_part.get_payload())


def _tlv(data: bytes, offset: int) -> tuple[int, bytes, bytes, int]:
    """(tag, value, the whole TLV, the next offset) of the DER element at ``offset``."""
    tag, length, start = data[offset], data[offset + 1], offset + 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(data[start:start + count], "big"), start + count
    if start + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[start:start + length], data[offset:start + length], start + length


def _children(value: bytes) -> list[tuple[int, bytes, bytes]]:
    children, offset = [], 0
    while offset < len(value):
        tag, inner, whole, offset = _tlv(value, offset)
        children.append((tag, inner, whole))
    return children


def _single_signer(der: bytes) -> bytes:
    """The one SignerInfo of a ContentInfo holding a SignedData (signerInfos is its last SET)."""
    content_info = _children(_tlv(der, 0)[1])
    signed_data = _children(_children(content_info[1][1])[0][1])
    signer_infos = _children(signed_data[-1][1])
    if signed_data[-1][0] != SET or len(signer_infos) != 1:
        raise ValueError("not exactly one signer")
    return signer_infos[0][1]


def _message_digest(attributes: bytes) -> bytes | None:
    for _, attribute, _ in _children(_tlv(attributes, 0)[1]):
        oid, values = _children(attribute)[:2]
        if oid[1] == MESSAGE_DIGEST:
            return _children(values[1])[0][1]
    return None


def _digest(algorithm: hashes.HashAlgorithm, content: bytes) -> bytes:
    return hashlib.new(algorithm.name, content).digest()


def _check(public_key, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(algorithm))
    else:
        raise InvalidSignature


def attachments(entity: bytes) -> dict[str, bytes]:
    """The named parts of a MIME entity: {file name: decoded bytes}."""
    message = BytesParser(policy=policy.default).parsebytes(entity)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk()
            if not part.is_multipart() and part.get_filename()}


def text_of(entity: bytes) -> str:
    """The text the hub writes to the counter: the entity's unnamed text/plain parts."""
    message = BytesParser(policy=policy.default).parsebytes(entity)
    return "\n".join(part.get_content() for part in message.walk()
                     if part.get_content_type() == "text/plain" and not part.get_filename())

