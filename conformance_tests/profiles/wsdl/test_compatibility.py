"""XSD compatibility: the set's XSD files accept exactly the documents the reference XSD files accept.

Given ``--reference-xsd DIR`` (the ministry's XSD files), each of the interface's files (application,
duplicates, search, shared management) has a counterpart of the same name in the set under test, and on every document of the corpus (corpus.py) both schemas of a
file name give the same verdict, judged with xmlschema. Without ``--reference-xsd`` these checks skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from .conftest import verdict
from .corpus import CORPUS, FAMILIES
from .description import Document, is_url

# The corpus's documents, parsed once for both schemas (a defused xmlschema resource for each verdict
# made the profile take 63 s on the project's set; 25 s so). Comments and processing instructions are not content: dropped,
# as xmlschema's own resources drop them. No network, entity or DTD, as everywhere in the kit.
PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False,
                         remove_comments=True, remove_pis=True)


@pytest.fixture(scope="module")
def reference_xsd(pytestconfig) -> Path:
    folder = pytestconfig.getoption("--reference-xsd")
    if not folder:
        pytest.skip("needs the reference XSD files: --reference-xsd DIR")
    return Path(folder)


def set_xsd(description_set: list[Document]) -> dict[str, str]:
    """The set's XSD files by file name (where each is: a path or a URL)."""
    return {Path(document.source).name if not is_url(document.source) else document.source.rsplit("/", 1)[-1]:
            document.source for document in description_set if not document.is_wsdl}


def verdicts(schema: xmlschema.XMLSchema, document: etree._Element) -> tuple[bool, str]:
    """Valid or not, and the first reason: validation stops at the first error."""
    error = next(iter(schema.iter_errors(document)), None)
    return error is None, (error.reason or str(error).splitlines()[0]) if error else ""


@pytest.mark.requirement("SNE-HUB-R031")
def test_every_reference_file_has_a_counterpart(description_set, reference_xsd):
    ours = set_xsd(description_set)
    names = sorted({family.schema for family in FAMILIES.values()})
    verdict([f"the reference's {name} has no file of that name in the set" for name in names
             if (reference_xsd / name).is_file() and name not in ours]
            + [f"the reference XSD directory has no {name}" for name in names if not (reference_xsd / name).is_file()])


@pytest.mark.requirement("SNE-HUB-R030")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_same_verdict_as_the_reference_on_the_corpus(description_set, reference_xsd, family):
    name = FAMILIES[family].schema
    ours = set_xsd(description_set).get(name)
    if ours is None or not (reference_xsd / name).is_file():
        pytest.skip(f"{name} is not in both sets (SNE-HUB-R031)")
    schema, reference = xmlschema.XMLSchema(ours), xmlschema.XMLSchema(str(reference_xsd / name))
    problems = []
    for case in (case for case in CORPUS if case.family == family):
        document = etree.fromstring(case.xml, PARSER)  # parsed once, judged by both schemas
        (our_verdict, our_reason), (their_verdict, their_reason) = verdicts(schema, document), \
            verdicts(reference, document)
        if our_verdict != their_verdict:
            problems.append(f"{case.id}: the set says {'valid' if our_verdict else 'invalid'} ({our_reason or '-'}), "
                            f"the reference {'valid' if their_verdict else 'invalid'} ({their_reason or '-'})")
        elif their_verdict != case.expected:  # the kit's own corpus is wrong: say so rather than pass silently
            problems.append(f"{case.id}: the corpus expects {'valid' if case.expected else 'invalid'}, the reference "
                            f"says otherwise ({their_reason or '-'}): a kit defect")
    verdict(problems)
