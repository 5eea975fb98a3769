"""The codec reads every valid document of the compatibility corpus and writes it back whole.

For each valid InterfaceNuu document of the corpus: what the codec writes is valid against our
schema, reading it again gives the same domain objects (a fixed point), and every element of the
input (its path from the root) is still there. Left out: ``modifie`` marks, the answer-only blocks
(``listeAnomalie``, ``listeDoublons``) a counter never sends, and optional lists sent empty
(``<listePersonneEnGarde/>`` says no more than no list at all).
"""

from collections import Counter

import pytest
from lxml import etree

from core.wire import schemas
from core.wire.codec import NS, VERSIONS, read_file, write_file

from .test_xsd_compatibility import CORPUS

ANSWER_ONLY = {"listeAnomalie", "listeDoublons"}
FILES = [case for case in CORPUS if case.expected and case.family in ("v0201", "v0200")
         and etree.fromstring(case.xml).tag == f"{{{NS}}}interfaceNuu"
         and etree.fromstring(case.xml).get("versionInterface") in VERSIONS]  # others are refused before


def paths(root: etree._Element) -> Counter:
    found = Counter()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        names = [etree.QName(e).localname for e in reversed(list(element.iterancestors()))]
        names.append(etree.QName(element).localname)
        if ANSWER_ONLY.isdisjoint(names) and not _empty_list(element):
            found["/".join(names)] += 1
    return found


def _empty_list(element: etree._Element) -> bool:
    return (etree.QName(element).localname.startswith("liste") and len(element) == 0
            and not (element.text or "").strip())


def test_the_corpus_gives_enough_files():
    assert len(FILES) >= 100


@pytest.mark.parametrize("case", FILES, ids=[case.id for case in FILES])
def test_read_then_write_loses_nothing(case):
    original = etree.fromstring(case.xml)
    file = read_file(original)
    written = etree.fromstring(write_file(file))
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES[file.version]), written) == []
    assert read_file(written) == file
    missing = paths(original) - paths(written)
    assert not missing, missing
