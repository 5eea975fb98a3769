"""The codec reads every valid document of the compatibility corpus and writes it back whole; it
reads no list beyond its bound.

For each valid InterfaceNuu document of the corpus: what the codec writes is valid against our
schema, reading it again gives the same domain objects (a fixed point), and every element of the
input (its path from the root) is still there. Left out: ``modifie`` marks, the answer-only blocks
(``listeAnomalie``, ``listeDoublons``) a counter never sends, and optional lists sent empty
(``<listePersonneEnGarde/>`` says no more than no list at all).
"""

from collections import Counter

import pytest
from lxml import etree

from core.domain.form import ApplicationForm, Disability, ReceivedResource, WishedLocation
from core.domain.vocabulary import wire_path
from core.wire import schemas
from core.wire.codec import MAX_ITEMS, NS, VERSIONS, read_file, write_file
from support.files import interface_file, person

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


# -- lists over their bound: read up to it, the first one named -------------------------------------


def _form_with(edit) -> ApplicationForm:
    form = person(1)
    edit(form)
    return form


OVER_BOUND = {  # the python path of the list made too long: how
    "housing_sought.wished_locations": lambda f: setattr(
        f.housing_sought, "wished_locations", [WishedLocation(f"57{i:03d}") for i in range(MAX_ITEMS + 1)]),
    "motives.motives": lambda f: setattr(f.motives, "motives", ["13"] * (MAX_ITEMS + 500)),
    "household.applicant.resources_received": lambda f: setattr(
        f.household.applicant, "resources_received", [ReceivedResource("SAL", i) for i in range(MAX_ITEMS + 1)]),
    "disabilities[1].technical_aids": lambda f: setattr(
        f, "disabilities", [Disability(), Disability(technical_aids=["1"] * (MAX_ITEMS + 1))]),
}


@pytest.mark.parametrize("python_path", list(OVER_BOUND))
def test_a_list_over_its_bound_is_named_and_read_up_to_it(python_path):
    data = interface_file("DEMOB", "CRE", _form_with(OVER_BOUND[python_path]))
    file = read_file(etree.fromstring(data))
    assert file.over_bound is not None
    assert (file.over_bound.code, file.over_bound.property) == ("NUU105", wire_path(ApplicationForm, python_path))
    assert len(_items(file.form, python_path)) == MAX_ITEMS
    written = etree.fromstring(write_file(file))  # the echo: valid, with the list cut
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES[file.version]), written) == []


def test_only_the_first_list_over_its_bound_is_named():
    form = _form_with(OVER_BOUND["household.applicant.resources_received"])
    OVER_BOUND["housing_sought.wished_locations"](form)  # logementRecherche comes first in the file
    file = read_file(etree.fromstring(interface_file("DEMOB", "CRE", form)))
    assert file.over_bound.property == "logementRecherche.listeLocalisationSouhaite"
    assert len(file.form.household.applicant.resources_received) == MAX_ITEMS


def test_a_list_at_its_bound_is_read_whole():
    form = _form_with(lambda f: setattr(f.housing_sought, "wished_locations",
                                        [WishedLocation(f"57{i:03d}") for i in range(MAX_ITEMS)]))
    file = read_file(etree.fromstring(interface_file("DEMOB", "CRE", form)))
    assert file.over_bound is None
    assert file.form.housing_sought.wished_locations == form.housing_sought.wished_locations


def _items(instance, python_path: str) -> list:
    for step in python_path.split("."):
        name, _, index = step.partition("[")
        instance = getattr(instance, name)
        if index:
            instance = instance[int(index.rstrip("]"))]
    return instance
