"""The S3 document store against an S3-compatible server started here: moto's server mode
(``moto_server``, from PyPI), a separate process speaking the S3 REST protocol over HTTP with
SigV4-signed requests. It is an emulator, not MinIO or Ceph (none installs from the package
registries this project may use: docs/DOCUMENTS.md, "S3-compatible storage"): these tests prove
the adapter's protocol use, keys, errors and sealing, not a production store's behaviour."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import boto3
import pytest

from core import demo
from core.adapters.document_store import FilesystemStore, S3Store, SealedStore, add_key, make_document_store
from core.domain.calendar import PARIS
from core.domain.documents import Metadata
from core.domain.errors import DocumentRefused, DocumentUnreadable
from core.service_layer import documents, services
from support import documents as samples

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sne-hub-test", "AWS_SECRET_ACCESS_KEY": "sne-hub-test-secret",
               "AWS_DEFAULT_REGION": "eu-west-3"}
STARTUP_BOUND = 60  # seconds: a hang bound on a shared machine, not a speed limit


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    if not MOTO_SERVER.exists():
        pytest.fail("moto_server is missing: install the test extras (pip install -e .[test])")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_BOUND
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def bucket(s3_endpoint, monkeypatch, request) -> str:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    name = f"sne-hub-{abs(hash(request.node.name)) % 10**8}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    return name


@pytest.fixture
def store(s3_endpoint, bucket, tmp_path, monkeypatch) -> SealedStore:
    add_key(tmp_path / "keys", "s3k1")
    monkeypatch.setenv("SNE_HUB_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("SNE_HUB_S3_REGION", "eu-west-3")
    return make_document_store(f"s3://{bucket}/register/documents", str(tmp_path / "keys"))


def objects(s3_endpoint: str, bucket: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-3")
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_the_composition_root_makes_a_sealed_s3_store_from_the_url(store, bucket):
    assert isinstance(store.inner, S3Store) and (store.inner.bucket, store.inner.prefix) == (bucket,
                                                                                             "register/documents")


def test_objects_are_sealed_under_random_keys_and_read_back(store, s3_endpoint, bucket):
    content = samples.pdf(2 * 1024 * 1024)
    store.put("ab" * 16, content)
    assert store.get("ab" * 16) == content
    [(key, sealed)] = objects(s3_endpoint, bucket).items()
    assert key == f"register/documents/ab/{'ab' * 16}"
    assert content[:4096] not in sealed and sealed.startswith(b"SNE1")
    store.delete("ab" * 16)
    assert objects(s3_endpoint, bucket) == {}
    with pytest.raises(DocumentUnreadable):
        store.get("ab" * 16)
    store.delete("ab" * 16)  # deleting what is gone is no error


def test_keys_that_are_not_the_registers_never_reach_the_bucket(store):
    for key in ("../../secret", "AB" * 16, ""):
        with pytest.raises(ValueError):
            store.put(key, b"x")


def test_a_tampered_object_is_refused(store, s3_endpoint, bucket):
    store.put("cd" * 16, samples.png())
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-3")
    key = f"register/documents/cd/{'cd' * 16}"
    sealed = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    sealed[-3] ^= 0x40
    client.put_object(Bucket=bucket, Key=key, Body=bytes(sealed))
    with pytest.raises(DocumentUnreadable):
        store.get("cd" * 16)


def test_the_use_cases_work_on_the_s3_store(uow, store, s3_endpoint, bucket):
    services.add_territory(uow(), demo.TERRITORY)
    for counter in demo.COUNTERS:
        services.add_counter(uow(), counter)
    number = services.register(uow(), demo.household_form(), NOW.date(), "DEMOC", NOW).number
    content = samples.jpeg()
    document = documents.deposit(uow(), store, number, Metadata("IDD", "CID"), "recto.jpg", content, "DEMOB", NOW)
    assert documents.read(uow(), store, number, document.id, "DEMOE")[1] == content
    assert list(objects(s3_endpoint, bucket)) == [f"register/documents/{document.storage_key[:2]}/"
                                                   f"{document.storage_key}"]
    with pytest.raises(DocumentRefused):  # a refused deposit leaves nothing in the bucket
        documents.deposit(uow(), store, number, Metadata("IDD", "CID"), "x.pdf", samples.not_a_pdf(), "DEMOB", NOW)
    assert len(objects(s3_endpoint, bucket)) == 1


def test_rekey_moves_s3_objects_to_the_new_key(store, tmp_path):
    store.put("ef" * 16, samples.pdf())
    add_key(tmp_path / "keys", "s3k2")
    rotated = SealedStore(store.inner, type(store.keyring).load(tmp_path / "keys"))
    assert rotated.reseal("ef" * 16) is True and rotated.reseal("ef" * 16) is False
    assert rotated.get("ef" * 16) == samples.pdf()


def test_the_filesystem_stays_the_default(tmp_path, monkeypatch):
    add_key(tmp_path / "keys", "k")
    monkeypatch.delenv("SNE_HUB_DOCUMENT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert isinstance(make_document_store(keyring_path=str(tmp_path / "keys")).inner, FilesystemStore)
    assert os.environ.get("SNE_HUB_DOCUMENT_STORE") is None
