"""Document stores: the filesystem (default), S3-compatible object storage, and sealing, which wraps
any store with encryption at rest.

Sealing is AES-256-GCM (authenticated encryption, ``cryptography``'s AESGCM). Each object carries
the id of the key that sealed it, so keys rotate without a flag day: a new key is added to the
keyring as the current one, new objects are sealed with it, old ones still open with theirs, and
``sne-hub documents rekey`` seals them again with the current key, after which the old key can be
removed from the keyring (docs/DOCUMENTS.md, "Keys"). The storage key is authenticated with the
content (associated data): an object copied under another key fails to open, as does a flipped bit.

An object is ``SNE1 | len(key id) | key id | 96-bit nonce | ciphertext and tag``.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.domain.errors import DocumentUnreadable
from core.service_layer.unit_of_work import DocumentStore

STORAGE_KEY = re.compile(r"[0-9a-f]{32}")
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAGIC = b"SNE1"
NONCE_BYTES = 12


def checked_key(key: str) -> str:
    """Storage keys are the register's random hex: anything else (a path, a client's name) is refused."""
    if not STORAGE_KEY.fullmatch(key):
        raise ValueError("storage keys are 32 lowercase hexadecimal characters")
    return key


class FilesystemStore(DocumentStore):
    """One file per object under ``root/ab/abcdef…``, written to a temporary file then renamed, so a
    reader never sees half an object; files are readable by the hub's user only."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        key = checked_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise DocumentUnreadable("Pièce absente du stockage", "idPiece") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store(DocumentStore):
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage…), under ``prefix/ab/abcdef…``.

    For deployments whose hub processes run on several machines without a shared volume. The
    endpoint is ``SNE_HUB_S3_ENDPOINT`` (AWS's when unset), the region ``SNE_HUB_S3_REGION``; the
    credentials are boto3's usual ones (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile,
    an instance role), never in the repository. Objects are already sealed when they get here: the
    bucket's own encryption, if any, is a second layer, not the one the register relies on."""

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None,
                 client=None):
        import boto3  # the s3 extra: only deployments that use S3 install it
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint, region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                          s3={"addressing_style": "path"}))

    def _key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key[:2]}/{key}" if self.prefix else f"{key[:2]}/{key}"

    def put(self, key: str, content: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=content,
                               ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise DocumentUnreadable("Pièce absente du stockage", "idPiece") from None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


@dataclass(frozen=True)
class Keyring:
    """Document keys by id; ``current`` seals, every key opens what it sealed."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> "Keyring":
        """Lines ``<key id> <base64 of 32 bytes>``; the last one is the current key; ``#`` comments."""
        keys: dict[str, bytes] = {}
        current = None
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or not KEY_ID.fullmatch(parts[0]):
                raise ValueError(f"document keyring, line {number}: expected '<key id> <base64 key>'")
            try:
                key = base64.b64decode(parts[1], validate=True)
            except ValueError:
                key = b""
            if len(key) != 32:
                raise ValueError(f"document keyring, line {number}: a key is 32 bytes, in base64")
            keys[parts[0]] = key
            current = parts[0]
        if current is None:
            raise ValueError("document keyring: no key")
        return cls(keys, current)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Keyring":
        return cls.parse(Path(path).read_text(encoding="ascii"))


def new_key_line(key_id: str) -> str:
    """A keyring line with a fresh random key (``sne-hub documents keys add``)."""
    if not KEY_ID.fullmatch(key_id):
        raise ValueError("a key id is 1 to 32 letters, digits, '-' or '_'")
    return f"{key_id} {base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}\n"


def add_key(path: str | os.PathLike, key_id: str) -> None:
    """Append a new current key to the keyring file, created readable by its owner only."""
    path = Path(path)
    if path.exists() and key_id in Keyring.load(path).keys:
        raise ValueError(f"the keyring already holds a key {key_id}")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="ascii") as handle:
        handle.write(new_key_line(key_id))


def seal(keyring: Keyring, storage_key: str, content: bytes) -> bytes:
    key_id = keyring.current.encode()
    nonce = os.urandom(NONCE_BYTES)
    header = MAGIC + bytes([len(key_id)]) + key_id
    return header + nonce + AESGCM(keyring.keys[keyring.current]).encrypt(nonce, content, header + storage_key.encode())


def sealed_with(sealed: bytes) -> str:
    """The id of the key that sealed an object."""
    if not sealed.startswith(MAGIC) or len(sealed) < 5:
        raise DocumentUnreadable("Objet du stockage non scellé", "idPiece")
    return sealed[5:5 + sealed[4]].decode("ascii", "replace")


def unseal(keyring: Keyring, storage_key: str, sealed: bytes) -> bytes:
    key_id = sealed_with(sealed)
    key = keyring.keys.get(key_id)
    if key is None:
        raise DocumentUnreadable(f"Clé de chiffrement {key_id} absente du trousseau", "idPiece")
    header_end = 5 + sealed[4]
    nonce = sealed[header_end:header_end + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[header_end + NONCE_BYTES:], sealed[:header_end] + storage_key.encode())
    except InvalidTag:
        raise DocumentUnreadable("Pièce altérée dans le stockage (authentification du chiffrement en échec)",
                                 "idPiece") from None


class SealedStore(DocumentStore):
    """Any store, with every object sealed before it leaves the process."""

    def __init__(self, inner: DocumentStore, keyring: Keyring):
        self.inner = inner
        self.keyring = keyring

    def put(self, key: str, content: bytes) -> None:
        self.inner.put(key, seal(self.keyring, checked_key(key), content))

    def get(self, key: str) -> bytes:
        return unseal(self.keyring, key, self.inner.get(key))

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def reseal(self, key: str) -> bool:
        """Seal an object again with the current key if another one sealed it; whether it did."""
        sealed = self.inner.get(key)
        if sealed_with(sealed) == self.keyring.current:
            return False
        self.inner.put(key, seal(self.keyring, key, unseal(self.keyring, key, sealed)))
        return True


DEFAULT_STORE = "var/documents"
DEFAULT_KEYRING = "var/document-keys"


def make_document_store(location: str | None = None, keyring_path: str | None = None) -> SealedStore:
    """The deployment's store: ``SNE_HUB_DOCUMENT_STORE``, a directory or ``s3://bucket/prefix``,
    sealed with the keyring file ``SNE_HUB_DOCUMENT_KEYS``. One composition root for the server, the
    CLI, the tests and the bench."""
    location = location or os.environ.get("SNE_HUB_DOCUMENT_STORE", DEFAULT_STORE)
    keyring = Keyring.load(keyring_path or os.environ.get("SNE_HUB_DOCUMENT_KEYS", DEFAULT_KEYRING))
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://"):].partition("/")
        inner: DocumentStore = S3Store(bucket, prefix, os.environ.get("SNE_HUB_S3_ENDPOINT") or None,
                                       os.environ.get("SNE_HUB_S3_REGION") or None)
    else:
        inner = FilesystemStore(location)
    return SealedStore(inner, keyring)
