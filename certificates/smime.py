"""S/MIME: open what counters send, sign and encrypt what the hub sends (mail-channel replies,
dispatching's mails). Project-independent: it knows certificates and bytes, not counters.

Bytes in, bytes out: no SMTP here. :func:`open_message` takes a whole message as received and
returns the signed MIME entity once decryption, signature, chain, validity and revocation all
passed; every refusal is a :class:`SmimeError` whose code is stable (journals, anomaly reports)
and whose message is French (operators read it).

Two choices shape the module:

- the signature covers the exact bytes of the first part of the ``multipart/signed``, so that part
  is cut out of the received bytes; re-serialising with the ``email`` package would refold headers
  and change line ends, breaking valid signatures (or worse, verifying bytes nobody sent);
- ``cryptography`` verifies no CMS signature (it only builds them), so SignedData is parsed with
  ``asn1crypto`` and each step is checked here by hand, with ``cryptography``'s primitives.
  Signatures are also built by hand, to control ``signingTime`` and the exact bytes signed.
  Enveloping and decryption use ``cryptography``'s PKCS#7 API (AES-256 needs cryptography 45+).
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import email.utils
import functools
import hashlib
import hmac
import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID

# Refusal codes: stable, they end up in journals and in the replies counters read.
NOT_MIME = "SMIME-MIME"                # unreadable, malformed or truncated MIME
NOT_SIGNED = "SMIME-NON-SIGNE"         # not multipart/signed (once decrypted), or opaque signed-data
NESTED = "SMIME-IMBRIQUE"              # the signed entity is wrapped inside another multipart
BAD_SIGNATURE = "SMIME-SIGNATURE"      # digest or signature wrong, algorithms inconsistent, CMS unreadable
SIGNERS = "SMIME-SIGNATAIRES"          # not exactly one SignerInfo
CHAIN = "SMIME-CHAINE"                 # signer certificate missing, self-signed, not from a trusted CA, not for mail
REVOKED = "SMIME-REVOQUE"              # serial listed in a CRL signed by the issuing CA
VALIDITY = "SMIME-VALIDITE"            # signer (or its CA) certificate expired or not yet valid at the moment
NOT_DECRYPTABLE = "SMIME-CHIFFREMENT"  # enveloped, but not to the hub's key, or broken

CRLF = b"\r\n"
_SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature"})
_ENVELOPE_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_LINE_END = re.compile(rb"\r*\n")
_BASE64_LINE = 76  # RFC 2045


class SmimeError(Exception):
    """Why a message is refused: ``code`` for machines (stable), ``message`` for operators (French)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verified:
    """A message whose signature, signer certificate and (if any) encryption all checked out.

    ``content`` is the signed entity in canonical CRLF form: the caller parses it, and never the
    outer headers of the mail, which nobody signed.
    """

    content: bytes
    signer: x509.Certificate
    signing_time: datetime | None
    digest: str
    was_encrypted: bool


# -- opening a received message ------------------------------------------------------------------


def open_message(raw: bytes, *, hub_certificate: x509.Certificate, hub_key: rsa.RSAPrivateKey,
                 trusted: list[x509.Certificate], crls: list[x509.CertificateRevocationList],
                 at: datetime) -> Verified:
    """Decrypt ``raw`` if it is enveloped to the hub, then verify its detached signature.

    The signer must hold a certificate issued by one of ``trusted``, valid at ``at`` and listed in
    none of that authority's ``crls``. Whether the signer is the right counter, and whether
    encryption was required, are the caller's policy: see ``signer`` and ``was_encrypted``.
    """
    moment = _aware(at)
    entity, was_encrypted = _decrypted(_canonical(raw), hub_certificate, hub_key)
    content, signature = _signed_parts(entity)
    signer, signing_time = _verify_signature(content, signature)
    _check_trust(signer, trusted, crls, moment)
    return Verified(content, signer, signing_time, hashlib.sha256(content).hexdigest(), was_encrypted)


def _canonical(data: bytes) -> bytes:
    """``data`` with CRLF line ends, as S/MIME signs text.

    Like OpenSSL's canonicalisation, carriage returns before a line feed collapse into the CRLF and
    other carriage returns are left alone, so that both sides hash the same bytes. Data already in
    that form (what SMTP carries, what the hub builds) is returned as it is, found by counting, ten
    times faster than the substitution.
    """
    if data.count(b"\n") == data.count(CRLF) and b"\r\r\n" not in data:
        return data
    return _LINE_END.sub(CRLF, data)


def _decrypted(entity: bytes, certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> tuple[bytes, bool]:
    """The entity inside an enveloped message (``True``), or ``entity`` itself when not enveloped."""
    headers, body = _split(entity)
    parsed = _headers(headers)
    if parsed.get_content_type() not in _ENVELOPE_TYPES:
        return entity, False
    der = _base64_body(parsed, body)
    if _cms_content_type(der) == "signed_data":
        raise SmimeError(NOT_SIGNED, "signature opaque (signed-data) : seule la signature détachée "
                                     "multipart/signed est acceptée")
    try:
        return _canonical(pkcs7.pkcs7_decrypt_der(der, certificate, key, [])), True
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SmimeError(NOT_DECRYPTABLE, "message chiffré indéchiffrable avec la clé du hub "
                                          "(destinataire différent ou message altéré)") from None


def _cms_content_type(der: bytes) -> str | None:
    """The CMS content type of ``der`` (``enveloped_data``, ``signed_data``…), None if unreadable."""
    try:
        return cms.ContentInfo.load(der, strict=True)["content_type"].native
    except (ValueError, TypeError):
        return None


def _signed_parts(entity: bytes) -> tuple[bytes, bytes]:
    """The exact signed bytes and the DER signature of a ``multipart/signed`` entity."""
    headers, body = _split(entity)
    message = _headers(headers)
    if message.get_content_type() != "multipart/signed":
        if message.get_content_maintype() == "multipart" and _wraps_signed(entity):
            raise SmimeError(NESTED, "la partie signée est incluse dans un autre multipart : "
                                     "elle doit être le message lui-même")
        raise SmimeError(NOT_SIGNED, f"message non signé ({message.get_content_type()[:80]})")
    protocol = email.utils.collapse_rfc2231_value(message.get_param("protocol") or "")
    if protocol.lower() not in _SIGNATURE_TYPES:
        raise SmimeError(NOT_SIGNED, "multipart/signed sans signature S/MIME (protocole non pkcs7-signature)")
    boundary = message.get_boundary()
    if not boundary:
        raise SmimeError(NOT_MIME, "multipart/signed sans délimiteur (paramètre boundary)")
    signed, signature_part = _two_parts(body, boundary.encode("utf-8", "surrogateescape"))
    return signed, _signature_der(signature_part)


def _wraps_signed(entity: bytes) -> bool:
    """Whether some part below the top of ``entity`` is signed or enveloped."""
    message = email.message_from_bytes(entity, policy=email.policy.compat32)
    wrapped = {"multipart/signed", *_ENVELOPE_TYPES}
    return any(part.get_content_type() in wrapped for part in message.walk() if part is not message)


def _two_parts(body: bytes, boundary: bytes) -> tuple[bytes, bytes]:
    """The two parts of a multipart body, cut from its bytes (RFC 2046: the CRLF before a
    delimiter belongs to the delimiter). Anything but exactly two parts then a close delimiter is
    malformed, and a missing close delimiter means a truncated message."""
    found = list(itertools.islice(_delimiters(body, b"--" + boundary), 3))
    if len(found) < 3 or found[0][2] or found[1][2] or not found[2][2]:
        raise SmimeError(NOT_MIME, "multipart/signed mal formé ou tronqué (il faut exactement deux parties)")
    first, second, close = found
    return body[first[1]:second[0]], body[second[1]:close[0]]


def _delimiters(body: bytes, marker: bytes):
    """(start, end, closing) of each delimiter line ``marker`` (``--boundary``) of ``body``: at its start
    or after a CRLF, then ``--`` if closing, blanks, and a CRLF or the end. Found with ``bytes.find``:
    a regular expression of the boundary, new with every mail, was compiled for each one."""
    position = 0
    while True:
        if position == 0 and body.startswith(marker):
            start, end = 0, len(marker)
        else:
            start = body.find(CRLF + marker, position)
            if start < 0:
                return
            end = start + len(CRLF + marker)
        closing = body.startswith(b"--", end)
        end += 2 if closing else 0
        while end < len(body) and body[end] in b" \t":
            end += 1
        if end == len(body) or body.startswith(CRLF, end):
            end = min(end + len(CRLF), len(body))
            yield start, end, closing
            position = end
        else:
            position = start + 1


def _signature_der(part: bytes) -> bytes:
    """The DER signature carried, base64-encoded, by the second part of ``multipart/signed``."""
    headers, body = _split(part)
    parsed = _headers(headers)
    if parsed.get_content_type() not in _SIGNATURE_TYPES:
        raise SmimeError(NOT_MIME, "la seconde partie du multipart/signed n'est pas une signature pkcs7")
    return _base64_body(parsed, body)


def _split(entity: bytes) -> tuple[bytes, bytes]:
    """Headers (each line with its CRLF) and body of a canonical entity."""
    if entity.startswith(CRLF):
        return b"", entity[2:]
    end = entity.find(CRLF + CRLF)
    if end < 0:
        return entity, b""
    return entity[:end + 2], entity[end + 4:]


def _headers(headers: bytes) -> Message:
    """The headers, parsed only to read them: bytes are never re-serialised from this."""
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(headers + CRLF)


def _base64_body(headers: Message, body: bytes) -> bytes:
    """The decoded body of a part whose transfer encoding must be base64 (binary DER)."""
    encoding = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding != "base64":
        raise SmimeError(NOT_MIME, f"encodage de transfert {encoding or 'absent'} au lieu de base64")
    try:
        decoded = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SmimeError(NOT_MIME, "contenu base64 illisible") from None
    if not decoded:
        raise SmimeError(NOT_MIME, "partie S/MIME vide")
    return decoded


# -- the signature --------------------------------------------------------------------------------


def _verify_signature(content: bytes, der: bytes) -> tuple[x509.Certificate, datetime | None]:
    """The signer's certificate and signing time, once its signature over ``content`` verified."""
    try:
        signed_data = _signed_data(der)
        signer_info = _only_signer(signed_data)
        certificate = _signer_certificate(signed_data, signer_info["sid"])
        algorithm = _digest_algorithm(signer_info)
        signed_bytes, signing_time = _signed_bytes(signer_info, content, algorithm)
        _check_signature(certificate, signer_info, signed_bytes, algorithm)
    except (ValueError, TypeError, KeyError):  # asn1crypto parses lazily: bad DER surfaces anywhere
        raise SmimeError(BAD_SIGNATURE, "signature illisible (structure CMS invalide)") from None
    return certificate, signing_time


def _signed_data(der: bytes) -> cms.SignedData:
    """The detached SignedData of ``der``: its signed content is the MIME part, not inside."""
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise SmimeError(BAD_SIGNATURE, "la partie signature ne contient pas de SignedData")
    signed_data = info["content"]
    encapsulated = signed_data["encap_content_info"]
    if encapsulated["content_type"].native != "data":
        raise SmimeError(BAD_SIGNATURE, "type de contenu signé inattendu")
    if not isinstance(encapsulated["content"], core.Void):
        raise SmimeError(NOT_SIGNED, "signature non détachée : le contenu est dans la signature")
    return signed_data


def _only_signer(signed_data: cms.SignedData) -> cms.SignerInfo:
    """The single SignerInfo: with several, which one identifies the sender would be ambiguous."""
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise SmimeError(SIGNERS, f"{len(signer_infos)} signataires au lieu d'un seul")
    return signer_infos[0]


def _signer_certificate(signed_data: cms.SignedData, sid: cms.SignerIdentifier) -> x509.Certificate:
    """The certificate the SignerInfo points at, among those the message carries."""
    certificates = signed_data["certificates"]
    choices = [] if isinstance(certificates, core.Void) else certificates
    for choice in choices:
        if choice.name == "certificate" and _identifies(sid, choice.chosen):
            return _parsed_certificate(choice.chosen.dump())
    raise SmimeError(CHAIN, "certificat du signataire absent du message")


@functools.lru_cache(maxsize=1024)
def _parsed_certificate(der: bytes) -> x509.Certificate:
    """The certificate, parsed through: ``cryptography`` reads names, extensions and key lazily, so
    a damaged certificate would otherwise fail later, outside any error handling. Kept per DER (a
    counter signs every mail with one certificate): the same object again, whose chain is then
    found in :func:`_directly_issued`'s cache."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        certificate.subject, certificate.issuer, certificate.extensions, certificate.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion, x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType):
        raise SmimeError(BAD_SIGNATURE, "certificat du signataire illisible") from None
    return certificate


def _identifies(sid: cms.SignerIdentifier, certificate: asn1_x509.Certificate) -> bool:
    """Names are compared as bytes first (what signers write), then as RFC 5280 says, which asn1crypto
    does through stringprep, a quarter of a verification's Python."""
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        return ((certificate.issuer.dump() == issuer.dump() or certificate.issuer == issuer)
                and certificate.serial_number == sid.chosen["serial_number"].native)
    return certificate.key_identifier is not None and certificate.key_identifier == sid.chosen.native


def _digest_algorithm(signer_info: cms.SignerInfo) -> str:
    name = signer_info["digest_algorithm"]["algorithm"].native
    if name not in _HASHES:
        raise SmimeError(BAD_SIGNATURE, f"algorithme d'empreinte non pris en charge : {name}")
    return name


def _signed_bytes(signer_info: cms.SignerInfo, content: bytes, algorithm: str) -> tuple[bytes, datetime | None]:
    """What the signature covers, once the signed attributes are checked against ``content``.

    With signed attributes, the signature covers their DER as a SET OF (RFC 5652 §5.4): the
    received bytes, re-tagged from ``[0] IMPLICIT`` to SET; without them, the content itself.
    """
    attributes = signer_info["signed_attrs"]
    if isinstance(attributes, core.Void):
        return content, None
    digest = _attribute(attributes, "message_digest")
    if not isinstance(digest, bytes) or not hmac.compare_digest(digest, _hash(algorithm, content)):
        raise SmimeError(BAD_SIGNATURE, "empreinte différente : le contenu signé a été modifié")
    if _attribute(attributes, "content_type") != "data":
        raise SmimeError(BAD_SIGNATURE, "attribut signé contentType absent ou inattendu")
    return b"\x31" + attributes.dump()[1:], _signing_time(_attribute(attributes, "signing_time"))


def _attribute(attributes: cms.CMSAttributes, name: str):
    """The single value of a signed attribute, None if absent; several are refused (RFC 5652)."""
    found = [attribute["values"] for attribute in attributes if attribute["type"].native == name]
    if not found:
        return None
    if len(found) > 1 or len(found[0]) != 1:
        raise SmimeError(BAD_SIGNATURE, f"attribut signé {name} répété")
    return found[0][0].native


def _signing_time(value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SmimeError(BAD_SIGNATURE, "attribut signé signingTime illisible")
    return value.astimezone(timezone.utc)


def _hash(algorithm: str, data: bytes) -> bytes:
    digest = hashes.Hash(_HASHES[algorithm]())
    digest.update(data)
    return digest.finalize()


def _check_signature(certificate: x509.Certificate, signer_info: cms.SignerInfo, signed_bytes: bytes,
                     algorithm: str) -> None:
    public_key = certificate.public_key()
    verify = _verifier(public_key, signer_info["signature_algorithm"], algorithm)
    try:
        verify(signer_info["signature"].native, signed_bytes)
    except InvalidSignature:
        raise SmimeError(BAD_SIGNATURE, "signature invalide : message ou en-têtes signés modifiés") from None


def _verifier(public_key, signature_algorithm: algos.SignedDigestAlgorithm, algorithm: str):
    """A ``verify(signature, data)`` for the announced scheme, which must agree with the digest
    algorithm and the key: a mismatch is refused rather than guessed around."""
    name = signature_algorithm["algorithm"].native
    hash_ = _HASHES[algorithm]()
    if isinstance(public_key, rsa.RSAPublicKey) and name == "rsassa_pss":
        scheme = _pss(signature_algorithm["parameters"], algorithm)
        return lambda signature, data: public_key.verify(signature, data, scheme, hash_)
    if isinstance(public_key, rsa.RSAPublicKey) and name in ("rsassa_pkcs1v15", f"{algorithm}_rsa"):
        return lambda signature, data: public_key.verify(signature, data, padding.PKCS1v15(), hash_)
    if isinstance(public_key, ec.EllipticCurvePublicKey) and name == f"{algorithm}_ecdsa":
        return lambda signature, data: public_key.verify(signature, data, ec.ECDSA(hash_))
    raise SmimeError(BAD_SIGNATURE, f"algorithme de signature {name} incompatible avec l'empreinte "
                                    f"{algorithm} ou la clé du signataire")


def _pss(parameters: algos.RSASSAPSSParams, algorithm: str) -> padding.PSS:
    """The PSS padding the parameters announce; their hash must be the digest algorithm."""
    mask = parameters["mask_gen_algorithm"]
    mask_hash = mask["parameters"]["algorithm"].native
    if (parameters["hash_algorithm"]["algorithm"].native != algorithm or mask["algorithm"].native != "mgf1"
            or mask_hash not in _HASHES):
        raise SmimeError(BAD_SIGNATURE, "paramètres RSASSA-PSS incompatibles avec l'empreinte annoncée")
    return padding.PSS(mgf=padding.MGF1(_HASHES[mask_hash]()), salt_length=parameters["salt_length"].native)


# -- trusting the signer --------------------------------------------------------------------------


def _check_trust(signer: x509.Certificate, trusted: list[x509.Certificate],
                 crls: list[x509.CertificateRevocationList], at: datetime) -> None:
    """The signer's certificate comes from a trusted authority, fits mail signing, is valid at
    ``at`` and is not revoked. A valid signature alone proves nothing: anyone can make a key."""
    if signer.issuer == signer.subject:
        raise SmimeError(CHAIN, "certificat du signataire auto-signé")
    authority = _issuer_among(signer, trusted)
    _check_purpose(signer)
    _check_validity(signer, at, "du signataire")
    _check_validity(authority, at, "de l'autorité")
    _check_revocation(signer, authority, crls)


def _issuer_among(certificate: x509.Certificate, trusted: list[x509.Certificate]) -> x509.Certificate:
    """The trusted authority whose key signed ``certificate`` under its own name."""
    for authority in trusted:
        if _is_authority(authority) and _directly_issued(certificate, authority):
            return authority
    raise SmimeError(CHAIN, "certificat du signataire émis par une autorité non reconnue")


def _is_authority(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


@functools.lru_cache(maxsize=1024)
def _directly_issued(certificate: x509.Certificate, authority: x509.Certificate) -> bool:
    """Whether ``authority`` signed ``certificate``: a fact of the two certificates (equal when their
    DER is), so it is kept, and the RSA verification runs once per counter certificate."""
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_purpose(certificate: x509.Certificate) -> None:
    """Refuse a certificate the authority issued for something else (a CA, a TLS server)."""
    extensions = certificate.extensions
    constraints = _extension(extensions, x509.BasicConstraints)
    usage = _extension(extensions, x509.KeyUsage)
    purposes = _extension(extensions, x509.ExtendedKeyUsage)
    fits = ((constraints is None or not constraints.ca)
            and (usage is None or usage.digital_signature or usage.content_commitment)
            and (purposes is None or ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
                 or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in purposes))
    if not fits:
        raise SmimeError(CHAIN, "certificat du signataire non destiné à la signature de courriels")


def _extension(extensions: x509.Extensions, kind: type):
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_validity(certificate: x509.Certificate, at: datetime, whose: str) -> None:
    if at < certificate.not_valid_before_utc:
        raise SmimeError(VALIDITY, f"certificat {whose} pas encore valide "
                                   f"(à partir du {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)")
    if at > certificate.not_valid_after_utc:
        raise SmimeError(VALIDITY, f"certificat {whose} expiré "
                                   f"(depuis le {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC)")


def _check_revocation(certificate: x509.Certificate, authority: x509.Certificate,
                      crls: list[x509.CertificateRevocationList]) -> None:
    """Only the authority's own CRLs count: anyone can write a list naming it as issuer."""
    for crl in crls:
        if crl.issuer != authority.subject or not crl.is_signature_valid(authority.public_key()):
            continue
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            raise SmimeError(REVOKED, f"certificat du signataire révoqué (numéro de série "
                                      f"{certificate.serial_number:x})")


def _aware(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a programming error, not a message's fault."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the checking moment must be timezone-aware")
    return moment.astimezone(timezone.utc)


# -- signing and encrypting -----------------------------------------------------------------------


def sign(entity: bytes, certificate: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
         *, at: datetime | None = None) -> bytes:
    """``entity`` (headers and body) in a ``multipart/signed`` with a detached SHA-256 signature.

    The result is an entity too: the caller adds the message headers (From, To, MIME-Version…),
    or encrypts it. The signed bytes are ``entity`` in canonical form, the first part is exactly those bytes, so
    :func:`open_message` and ``openssl cms -verify`` hash what was signed. ``at`` is the
    ``signingTime`` (now by default).
    """
    if not _same_key(key, certificate):
        raise ValueError("the key is not the certificate's")
    content = _canonical(entity)
    if at is None:  # now: cryptography's builder, ten times faster than building the CMS by hand
        return _multipart_signed(content, _signature_now(content, certificate, key))
    return _multipart_signed(content, _signature(content, certificate, key, _aware(at)))


def _same_key(key, certificate: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == certificate.public_key().public_bytes(*spki)


def _signature_now(content: bytes, certificate: x509.Certificate, key) -> bytes:
    """A detached SignedData over ``content`` as it is (already canonical), signed now."""
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities]
    return (pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(certificate, key, hashes.SHA256())
            .sign(serialization.Encoding.DER, options))


def _signature(content: bytes, certificate: x509.Certificate, key, moment: datetime) -> bytes:
    """A DER ContentInfo with a detached SignedData: one signer, its certificate, signed attributes."""
    signer = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    attributes = _signed_attributes(content, moment)
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": signer.issuer, "serial_number": signer.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attributes,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": _signature_algorithm(key)}),
        "signature": _sign_bytes(key, attributes.dump()),
    })
    signed_data = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": [cms.CertificateChoices(name="certificate", value=signer)],
        "signer_infos": [signer_info],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _signed_attributes(content: bytes, moment: datetime) -> cms.CMSAttributes:
    """contentType, signingTime and messageDigest, in DER order (a SET OF is sorted by encoding:
    verifiers such as OpenSSL re-encode before checking, so any other order would not verify)."""
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [_time(moment)]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
    ]
    return cms.CMSAttributes(sorted(attributes, key=lambda attribute: attribute.dump()))


def _time(moment: datetime) -> cms.Time:
    """UTCTime from 1950 to 2049, GeneralizedTime otherwise (RFC 5652 §11.3), whole seconds."""
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return cms.Time({"utc_time" if 1950 <= moment.year < 2050 else "general_time": moment})


def _signature_algorithm(key) -> str:
    return "rsassa_pkcs1v15" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"


def _sign_bytes(key, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    raise TypeError(f"unsupported signing key: {type(key).__name__}")


def _multipart_signed(content: bytes, signature: bytes) -> bytes:
    boundary = _boundary(content)
    head = CRLF.join([
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;',
        b' boundary="' + boundary + b'"',
        b"",
        b"This is an S/MIME signed message",
        b"--" + boundary,
        b"",
    ])
    tail = CRLF.join([
        b"",
        b"--" + boundary,
        b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="smime.p7s"',
        b"",
        _base64_lines(signature),
        b"--" + boundary + b"--",
        b"",
    ])
    return head + content + tail


def _boundary(content: bytes) -> bytes:
    """A random boundary that does not occur in ``content`` (RFC 2046 forbids it)."""
    while True:
        boundary = b"----sne-hub-" + secrets.token_hex(16).encode("ascii")
        if boundary not in content:
            return boundary


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[start:start + _BASE64_LINE] for start in range(0, len(encoded), _BASE64_LINE))


def encrypt(entity: bytes, recipient: x509.Certificate) -> bytes:
    """``entity`` enveloped to ``recipient`` (RSA key transport, AES-256-CBC), as a MIME entity
    to which the caller adds the message headers (From, To, MIME-Version…).

    The entity is canonicalised first and enveloped as binary, so the recipient decrypts exactly
    what would have been signed.
    """
    enveloped = (pkcs7.PKCS7EnvelopeBuilder()
                 .set_data(_canonical(entity))
                 .add_recipient(recipient)
                 .set_content_encryption_algorithm(algorithms.AES256)
                 .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    return CRLF.join([
        b'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="smime.p7m"',
        b"",
        _base64_lines(enveloped),
        b"",
    ])
