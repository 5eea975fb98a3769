"""The documents themselves: well-formed, of a known kind, and their imports within reach."""

from __future__ import annotations

import pytest
import requests

from .conftest import verdict
from .description import NS, WSDL, XS, read

IMPORTS = {"wsdl:import": "location", "xs:import": "schemaLocation", "xs:include": "schemaLocation",
           "xs:redefine": "schemaLocation"}


@pytest.mark.requirement("SNE-HUB-R001")
def test_every_document_is_a_wsdl_or_a_schema(description_set):
    problems = [f"{document.source}: {document.error}" for document in description_set if document.error]
    problems += [f"{document.source}: its root is {document.root.tag}, not wsdl:definitions or xs:schema"
                 for document in description_set if document.root is not None
                 and document.root.tag not in (f"{{{WSDL}}}definitions", f"{{{XS}}}schema")]
    verdict(problems)


@pytest.mark.requirement("SNE-HUB-R002")
def test_every_import_resolves(description_set, exchanges):
    problems = []
    for document in description_set:
        if document.root is None:
            continue
        for path, attribute in IMPORTS.items():
            for element in document.root.iterfind(f".//{path}", NS):
                location = element.get(attribute)
                if location and not readable(document.location(location), exchanges.record):
                    problems.append(f"{document.source}: {path} {location!r} cannot be read")
    verdict(problems)


def readable(location: str, record) -> bool:
    try:
        read(location, record)
    except (OSError, requests.RequestException):
        return False
    return True
