"""Bindings, port types and messages: SOAP 1.2 over HTTP, document/literal, the WS-I Basic Profile's rules."""

from __future__ import annotations

import pytest

from .conftest import KNOWN_DEVIATIONS, verdict
from .description import NS, SOAP12, definitions, input_element, wsdls

HTTP = "http://schemas.xmlsoap.org/soap/http"


def bindings(description_set):
    for document in wsdls(description_set):
        for binding in document.root.iterfind("wsdl:binding", NS):
            yield document, binding


@pytest.mark.requirement("SNE-HUB-R003")
def test_every_binding_is_soap_1_2_over_http(description_set):
    problems = []
    for document, binding in bindings(description_set):
        soap = binding.find("soap12:binding", NS)
        if soap is None:
            problems.append(f"{document.source}: binding {binding.get('name')} has no soap12:binding")
        elif soap.get("transport") != HTTP:
            problems.append(f"{document.source}: binding {binding.get('name')} transport is "
                            f"{soap.get('transport')!r}, not {HTTP}")
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R004")
def test_every_binding_is_document_literal(description_set):
    problems = []
    for document, binding in bindings(description_set):
        soap = binding.find("soap12:binding", NS)
        styles = {soap.get("style", "document") if soap is not None else "document"}
        styles |= {operation.get("style") for operation in binding.iterfind("wsdl:operation/soap12:operation", NS)
                   if operation.get("style")}
        if styles != {"document"}:
            problems.append(f"{document.source}: binding {binding.get('name')} style {sorted(styles)}, not document")
        for body in binding.iter(f"{{{SOAP12}}}body"):
            if body.get("use") != "literal" or body.get("namespace") is not None:
                operation = body.getparent().getparent().get("name")
                problems.append(f"{document.source}: operation {operation}: soap12:body use={body.get('use')!r}"
                                + (f" namespace={body.get('namespace')!r}" if body.get("namespace") else ""))
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R005")
def test_no_encoding_style(description_set):
    verdict([f"{document.source}: {element.tag} has encodingStyle={element.get('encodingStyle')!r}"
             for document in description_set if document.root is not None
             for element in document.root.iter() if element.get("encodingStyle") is not None])


@pytest.mark.requirement("SNE-HUB-R006")
def test_every_message_has_one_element_part(description_set):
    problems = []
    for name, (document, message) in definitions(description_set, "message").items():
        parts = message.findall("wsdl:part", NS)
        if len(parts) > 1:
            problems.append(f"{document.source}: message {message.get('name')} has {len(parts)} parts")
        problems += [f"{document.source}: message {message.get('name')} part {part.get('name')} names a type, "
                     "not an element" for part in parts if part.get("element") is None]
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R007")
def test_every_operation_declares_its_soap_action(description_set):
    problems = []
    for document, binding in bindings(description_set):
        for operation in binding.iterfind("wsdl:operation", NS):
            soap = operation.find("soap12:operation", NS)
            if soap is None or not soap.get("soapAction"):
                problems.append(f"{document.source}: binding {binding.get('name')} operation "
                                f"{operation.get('name')} declares no soapAction")
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R008")
def test_operations_differ_by_their_input(description_set, known_deviation):
    messages, problems = definitions(description_set, "message"), []
    for name, (document, port_type) in definitions(description_set, "portType").items():
        seen: dict[tuple, list[str]] = {}
        for operation in port_type.iterfind("wsdl:operation", NS):
            signature = input_element(document, operation, messages)
            if signature is not None:
                seen.setdefault(signature, []).append(operation.get("name"))
        shared = [operations for operations in seen.values() if len(operations) > 1]
        if not shared:
            continue
        finding = f"port type {port_type.get('name')}: operations {'; '.join(', '.join(o) for o in shared)} " \
                  "take the same input"
        why = KNOWN_DEVIATIONS.get(("SNE-HUB-R008", name))
        if why:
            known_deviation("SNE-HUB-R008", f"{finding}: {why}")
        else:
            problems.append(f"{document.source}: {finding}")
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R009")
def test_every_reference_resolves(description_set):
    messages = definitions(description_set, "message")
    port_types = definitions(description_set, "portType")
    known_bindings = definitions(description_set, "binding")
    problems = []
    for name, (document, port_type) in port_types.items():
        for put in port_type.iterfind("wsdl:operation/*[@message]", NS):
            if document.qname(put, put.get("message")) not in messages:
                problems.append(f"{document.source}: port type {port_type.get('name')} names an unknown message "
                                f"{put.get('message')}")
    for document, binding in bindings(description_set):
        port_type = port_types.get(document.qname(binding, binding.get("type", "")))
        if port_type is None:
            problems.append(f"{document.source}: binding {binding.get('name')} names an unknown port type "
                            f"{binding.get('type')}")
            continue
        expected = {operation.get("name") for operation in port_type[1].iterfind("wsdl:operation", NS)}
        bound = {operation.get("name") for operation in binding.iterfind("wsdl:operation", NS)}
        if expected != bound:
            problems.append(f"{document.source}: binding {binding.get('name')} operations differ from its port "
                            f"type's: missing {sorted(expected - bound)}, extra {sorted(bound - expected)}")
    for document in wsdls(description_set):
        for port in document.root.iterfind("wsdl:service/wsdl:port", NS):
            if document.qname(port, port.get("binding", "")) not in known_bindings:
                problems.append(f"{document.source}: port {port.get('name')} names an unknown binding "
                                f"{port.get('binding')}")
    verdict(problems)
