"""What the kit's reports may show of a body: SNE files' structure, never the person they describe."""

from __future__ import annotations

import base64

from conformance_tests.masking import MASK, SHOWN_BYTES, mask_body

FILE = (b"<interfaceNuu xmlns='http://nuu.application.i2/'><demandeur><nom>DUPONT</nom>"
        b"<telPortable>0612345678</telPortable><mel>j.dupont@example.fr</mel><civilite>MME</civilite>"
        b"</demandeur></interfaceNuu>")


def test_an_sne_files_personal_elements_are_masked_and_the_rest_kept():
    shown = mask_body(FILE)
    assert "DUPONT" not in shown and "0612345678" not in shown and "j.dupont" not in shown
    assert shown.count(MASK) == 3 and "<civilite>MME</civilite>" in shown


def test_the_same_names_outside_the_sne_namespaces_are_kept():
    assert "Alice" in mask_body(b"<a:person xmlns:a='urn:other'><nom>Alice</nom></a:person>")


def test_an_mtom_bodys_xml_parts_are_masked_and_binary_parts_reduced_to_their_length():
    body = (b"--MIME\r\nContent-Type: application/xop+xml\r\n\r\n<e:Envelope xmlns:e='urn:e'/>\r\n"
            b"--MIME\r\nContent-Type: application/octet-stream\r\n\r\n" + FILE + b"\r\n"
            b"--MIME\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 Jeanne DUPONT\r\n--MIME--\r\n")
    shown = mask_body(body, 'multipart/related; type="application/xop+xml"; boundary="MIME"')
    assert "DUPONT" not in shown and "<e:Envelope" in shown and "bytes, not XML" in shown


def test_a_nir_anywhere_is_masked():
    envelope = b"<e:Envelope xmlns:e='urn:e'><ref>2850775123456 12</ref><x>185077512345678</x></e:Envelope>"
    assert "185077512345678" not in mask_body(envelope)


def test_a_base64_file_inside_an_envelope_is_shown_masked():
    envelope = b"<e:Envelope xmlns:e='urn:e'><fichierXml>" + base64.b64encode(FILE) + b"</fichierXml></e:Envelope>"
    shown = mask_body(envelope)
    assert "DUPONT" not in shown and "civilite" in shown


def test_a_document_with_a_dtd_is_not_parsed():
    shown = mask_body(b"<!DOCTYPE x [<!ENTITY e 'DUPONT'>]><x>&e;</x>")
    assert "DUPONT" not in shown and "not XML" in shown


def test_an_oversize_body_is_shown_by_its_length_only():
    body = FILE.replace(b"<civilite>", b"<civilite>" + b" " * SHOWN_BYTES)
    assert mask_body(body) == f"[{len(body)} bytes, not shown]"
