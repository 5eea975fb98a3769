"""The schemas: namespaced, compiling with xmlschema, declaring every element the messages carry."""

from __future__ import annotations

import pytest
import xmlschema
from lxml import etree

from .conftest import verdict
from .description import NS, definitions, schemas, wsdls


@pytest.mark.requirement("SNE-HUB-R010")
def test_every_embedded_schema_has_a_target_namespace(description_set):
    verdict([f"{document.source}: an xs:schema of wsdl:types has no targetNamespace"
             for document in wsdls(description_set) for schema in document.root.iterfind("wsdl:types/xs:schema", NS)
             if not schema.get("targetNamespace")])


@pytest.mark.requirement("SNE-HUB-R020")
def test_every_schema_compiles(description_set):
    problems = []
    for document, schema in schemas(description_set):
        try:
            xmlschema.XMLSchema(etree.tostring(schema, encoding="unicode"), base_url=document.location("."))
        except (xmlschema.XMLSchemaException, etree.XMLSyntaxError, OSError) as error:
            reason = str(error).strip().splitlines()[0]
            problems.append(f"{document.source}: {reason}")
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R021")
def test_every_part_element_is_declared(description_set):
    declared = {f"{{{schema.get('targetNamespace', '')}}}{element.get('name')}"
                for _, schema in schemas(description_set) for element in schema.iterfind("xs:element", NS)}
    problems = []
    for name, (document, message) in definitions(description_set, "message").items():
        for part in message.iterfind("wsdl:part[@element]", NS):
            if document.qname(part, part.get("element")) not in declared:
                problems.append(f"{document.source}: message {message.get('name')} part {part.get('name')} "
                                f"names {part.get('element')}, which no schema of the set declares")
    verdict(problems)

