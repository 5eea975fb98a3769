"""getNumUnique without spyne (hub/direct.py) answers in the bytes spyne wrote: each case is sent
once to the direct path and once, the same request, to spyne (the direct path switched off), and
the two replies must match byte for byte but for what differs between any two calls (boundaries,
Content-IDs, the moment in file names, the application number and dates inside the answer file)."""

import re

import pytest

from core.wire import processing
from hub import direct
from support.files import get_num_unique, interface_file, person


def _comparable(data: bytes) -> bytes:
    data = re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"UUID", data)
    data = re.sub(rb"-\d{12}-\d{8}\.", b"-MOMENT.", data)  # RETDEMOB-202612030751-17069874.xml
    data = re.sub(rb"<(fichierDemande|attestation)>[A-Za-z0-9+/=]+</", rb"<\1>BASE64</", data)  # inline files
    data = re.sub(rb"<ns2:interfaceNuu.*?</ns2:interfaceNuu>", b"FILE", data, flags=re.S)  # MTOM: raw file
    return re.sub(rb"\r\n\r\n[A-Za-z0-9+/=\n]{200,}\r\n", b"\r\n\r\nPDF\r\n", data)  # MTOM: the PDF's part


def _both(hub, monkeypatch, file: bytes, mtom: bool, certificate: bytes = b"", again: bytes | None = None):
    """The direct reply to ``file``, then spyne's to ``again`` (by default the same file)."""
    client = hub.client("DEMOB")
    direct_reply = get_num_unique(client, file, certificate, mtom=mtom)
    with monkeypatch.context() as patch:
        patch.setattr(direct, "OPERATIONS", {})
        spyne_reply = get_num_unique(client, file if again is None else again, certificate, mtom=mtom)
    return direct_reply, spyne_reply


def _same(first, second) -> None:
    assert first.status == second.status
    assert _comparable(first.content_type.encode()) == _comparable(second.content_type.encode())
    assert _comparable(first.body) == _comparable(second.body)


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_a_registration_is_answered_as_spyne_answers_it(hub, monkeypatch, mtom):
    direct_reply, spyne_reply = _both(hub, monkeypatch, interface_file("DEMOB", form=person(1)), mtom,
                                      again=interface_file("DEMOB", form=person(2)))
    assert direct_reply.field("attestation").startswith(b"%PDF")
    assert direct_reply.field("fichierDemande") != spyne_reply.field("fichierDemande")  # two registrations
    _same(direct_reply, spyne_reply)


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
@pytest.mark.parametrize("file, certificate", [
    (b"<notafile/>", b""),  # refused before the register: a Sender fault
    (b"<a>&amp;<b/></a>", b""),  # a message to escape
    (None, b""),  # another counter's file: a RET answer with its anomaly
    (None, b"not a certificate"),  # an unreadable attached certificate: a RET answer with NUU187
], ids=["unknown-file", "escaped", "foreign-counter", "unreadable-certificate"])
def test_refusals_are_answered_as_spyne_answers_them(hub, monkeypatch, mtom, file, certificate):
    file = interface_file("DEMOC", form=person(3)) if file is None else file
    _same(*_both(hub, monkeypatch, file, mtom, certificate))


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_an_internal_error_is_answered_as_spyne_answers_it(hub, monkeypatch, mtom):
    def failing(*args, **kwargs):
        raise RuntimeError("a file's content, which must not leak")

    monkeypatch.setattr(processing, "process", failing)
    direct_reply, spyne_reply = _both(hub, monkeypatch, interface_file("DEMOB", form=person(4)), mtom)
    assert direct_reply.status == 500 and b"a file's content" not in direct_reply.body
    _same(direct_reply, spyne_reply)
