"""Our XSD files (xsd/) accept exactly the documents the ministry's reference XSD files accept, as lxml judges.

The corpus and the xmlschema verdicts are the conformance kit's (conformance_tests/profiles/wsdl/
corpus.py, requirements SNE-HUB-R030 and R031, run on xsd/ by tests/conformance/test_wsdl_profile.py).
What stays here is the hub's side: the same verdicts with lxml (libxml2, the hub's validator), the
corpus's own health (large, balanced, deterministic, every element of the reference in a valid
document), and our files' hygiene (standalone with a hardened parser, UTF-8, LF, two-space indents).

The reference files cannot be copied here; the ``reference_schemas_dir`` fixture downloads them
(libsne 0.1.0a8 sdist).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from conformance_tests.profiles.wsdl.corpus import (
    CORPUS,
    FAMILIES,
    XS,
    Case,
    build_corpus,
    elements,
    hardened_parser,
    local,
)

XSD_DIR = Path(__file__).resolve().parents[3] / "xsd"


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema_pairs(reference_schemas_dir) -> dict:
    """For each family, (our schema, the reference schema), both compiled offline."""
    pairs = {}
    for family in FAMILIES.values():
        ours = etree.XMLSchema(etree.parse(str(XSD_DIR / family.schema), hardened_parser()))
        reference = etree.XMLSchema(etree.parse(str(reference_schemas_dir / family.schema), hardened_parser()))
        pairs[family.short] = (ours, reference)
    return pairs


def errors(schema: etree.XMLSchema) -> str:
    return "; ".join(f"line {error.line}: {error.message}" for error in schema.error_log) or "none"


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_same_verdict_as_the_reference(case: Case, schema_pairs) -> None:
    ours, reference = schema_pairs[case.family]
    document = etree.fromstring(case.xml, hardened_parser())
    reference_verdict = reference.validate(document)
    reference_errors = errors(reference)
    our_verdict = ours.validate(document)
    assert our_verdict == reference_verdict, (
        f"{FAMILIES[case.family].schema}: ours says {'valid' if our_verdict else 'invalid'} ({errors(ours)}), "
        f"the reference says {'valid' if reference_verdict else 'invalid'} ({reference_errors})"
    )
    assert reference_verdict == case.expected, (
        f"corpus expectation is wrong: the reference says {'valid' if reference_verdict else 'invalid'} "
        f"({reference_errors})"
    )


def test_corpus_is_large_and_balanced() -> None:
    assert len(CORPUS) >= 200
    assert len({case.id for case in CORPUS}) == len(CORPUS), "test ids must be unique"
    valid = [case for case in CORPUS if case.expected]
    invalid = [case for case in CORPUS if not case.expected]
    assert len(valid) >= 60 and len(invalid) >= 60, (len(valid), len(invalid))
    for family in FAMILIES:
        in_family = [case for case in CORPUS if case.family == family]
        assert sum(case.expected for case in in_family) >= 5, family
        assert sum(not case.expected for case in in_family) >= 20, family


def test_corpus_is_deterministic() -> None:
    assert [(case.id, case.xml) for case in build_corpus()] == [(case.id, case.xml) for case in CORPUS]


def reference_element_names(folder: Path, schema: str) -> set[str]:
    """Every element name the reference declares, in the file and the files it includes."""
    names, pending, done = set(), [schema], set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        tree = etree.parse(str(folder / name), hardened_parser())
        names |= {item.get("name") for item in tree.iter(f"{{{XS}}}element") if item.get("name")}
        pending += [Path(item.get("schemaLocation")).name for item in tree.iter(f"{{{XS}}}include")]
    return names


@pytest.mark.parametrize("family", list(FAMILIES))
def test_valid_corpus_exercises_every_element_of_the_reference(family: str, reference_schemas_dir) -> None:
    """Every element the reference declares appears in a document the corpus expects valid."""
    used = set()
    for case in CORPUS:
        if case.family == family and case.expected:
            used |= {local(element) for element in elements(etree.fromstring(case.xml, hardened_parser()))}
    missing = reference_element_names(reference_schemas_dir, FAMILIES[family].schema) - used
    assert not missing, f"no valid {family} document has {sorted(missing)}"


OUR_SCHEMAS = sorted(path.name for path in XSD_DIR.glob("*.xsd"))


class RecordingResolver(etree.Resolver):
    """Records what the schema compiler asks for (includes, redefinitions), resolving nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[str] = []

    def resolve(self, url, public_id, context):
        self.requested.append(url)
        return None


@pytest.mark.parametrize("name", OUR_SCHEMAS)
def test_our_schema_loads_standalone_with_a_hardened_parser(name: str) -> None:
    parser = hardened_parser()
    resolver = RecordingResolver()
    parser.resolvers.add(resolver)
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / name), parser))
    assert schema is not None
    for url in resolver.requested:  # only files of xsd/, by relative path
        assert "://" not in url and Path(url).resolve().parent == XSD_DIR, url
    locations = [
        item.get("schemaLocation")
        for item in etree.parse(str(XSD_DIR / name), hardened_parser()).iter(
            f"{{{XS}}}include", f"{{{XS}}}redefine", f"{{{XS}}}import")
    ]
    assert all(location and "/" not in location and (XSD_DIR / location).is_file() for location in locations)


@pytest.mark.parametrize("name", OUR_SCHEMAS)
def test_our_schema_files_are_utf8_with_lf_and_two_space_indentation(name: str) -> None:
    raw = (XSD_DIR / name).read_bytes()
    content = raw.decode("utf-8")
    assert "\r" not in content and "\t" not in content
    assert content.endswith("\n")
    for number, line in enumerate(content.splitlines(), 1):
        indentation = len(line) - len(line.lstrip(" "))
        assert indentation % 2 == 0, f"{name}:{number}: odd indentation"


def test_every_reference_file_name_has_our_counterpart() -> None:
    from tests.reference import SCHEMA_FILES

    assert set(SCHEMA_FILES) <= set(OUR_SCHEMAS)
