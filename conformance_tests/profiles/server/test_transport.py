"""Transport: the counter's certificate, and both encodings of files (MTOM/XOP and inline base64)."""

import pytest
import requests

from .files import application_file
from .operations import answer_file, get_num_unique, number_of
from .wire import Client

PDF = b"%PDF-"


@pytest.mark.requirement("SNE-HUB-R160")
def test_an_mtom_request_gets_an_mtom_answer_with_the_file_as_an_xml_part(client, target, ledger, household):
    reply = get_num_unique(client, application_file(target.counter, household, commune=target.commune), mtom=True)
    answer = answer_file(reply, ledger, "getNumUnique CRE (MTOM)")
    assert number_of(answer)
    assert reply.content_type.startswith("multipart/related"), f"answered as {reply.content_type}"
    assert 'type="application/xop+xml"' in reply.content_type.replace("'", '"')
    assert any(part.lstrip().startswith(b"<") and b"interfaceNuu" in part for part in reply.attachments.values()), \
        "the answer file is not a raw XML part"


@pytest.mark.requirement("SNE-HUB-R161")
def test_an_inline_request_gets_an_inline_answer(client, target, ledger, household):
    reply = get_num_unique(client, application_file(target.counter, household, commune=target.commune), mtom=False)
    answer = answer_file(reply, ledger, "getNumUnique CRE (inline)")
    assert number_of(answer)
    assert reply.content_type.startswith("application/soap+xml"), f"answered as {reply.content_type}"
    assert (reply.field("attestation") or b"").startswith(PDF)


@pytest.mark.requirement("SNE-HUB-R170")
def test_a_call_without_a_client_certificate_is_refused(target):
    anonymous = Client(target.url, target.ca, name="no certificate")
    try:
        reply = anonymous.call("DemandeLogementImplService", "getDemandeLogement", "demandeLogementParametres",
                               [("numUnique", "0570101000001XXXXX"), ("nomCertificat", ""), ("certificat", b"")])
    except requests.exceptions.SSLError:
        return  # refused in the TLS handshake: as good
    assert (reply.status, reply.fault_code) == (403, "HUB-CERTIFICAT"), reply.describe()
