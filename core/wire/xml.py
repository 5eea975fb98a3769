"""Reading XML from outside safely: no DTD, no entity, no network, bounded size and depth.

Every byte that reaches the register from a channel goes through :func:`parse` first. libxml2 is
asked not to load DTDs, resolve entities or touch the network, and a document that declares a
DOCTYPE at all is refused: the SNE's files never have one, so one is either a mistake or an attack
(XXE, entity expansion).
"""

from __future__ import annotations

import re
import threading

from lxml import etree

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64  # the deepest SNE file is about 10 levels; SOAP adds 3


class UnsafeXml(Exception):
    """The bytes are not a document we are willing to read. ``code`` is stable (see docs)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


NOT_WELL_FORMED = "XML-MALFORME"
DTD_FORBIDDEN = "XML-DTD"
TOO_LARGE = "XML-TAILLE"
TOO_DEEP = "XML-PROFONDEUR"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def parse(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH) -> etree._Element:
    """The root element of ``data``, or :class:`UnsafeXml` saying why not."""
    if len(data) > max_bytes:
        raise UnsafeXml(TOO_LARGE, f"Document de {len(data)} octets : au plus {max_bytes}")
    if _declares_doctype(data):  # before libxml2 sees it: even unused, it would open external subsets
        raise UnsafeXml(DTD_FORBIDDEN, "Les DTD et entités sont refusées")
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as error:
        if "depth" in (error.msg or "").lower():
            raise UnsafeXml(TOO_DEEP, f"Imbrication de plus de {max_depth} niveaux") from None
        raise UnsafeXml(NOT_WELL_FORMED, f"XML mal formé : {error.msg}") from None
    except ValueError as error:  # e.g. a str with an encoding declaration
        raise UnsafeXml(NOT_WELL_FORMED, f"XML illisible : {error}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml(DTD_FORBIDDEN, "Les DTD et entités sont refusées")
    root = tree.getroot()
    if _deeper_than(root, max_depth):
        raise UnsafeXml(TOO_DEEP, f"Imbrication de plus de {max_depth} niveaux")
    return root


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _declares_doctype(data: bytes) -> bool:
    """Whether the prolog, before the root element, holds a DOCTYPE, in whatever encoding."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:  # no BOM: ASCII-compatible, or UTF-16 guessed from its first "<"
        encoding = "utf-16-le" if data[:2] == b"<\x00" else "utf-16-be" if data[:2] == b"\x00<" else "latin-1"
    first = re.search(r"<!DOCTYPE|<(?![?!])", data[:4096].decode(encoding, errors="ignore"))
    return first is not None and first.group() == "<!DOCTYPE"  # a DOCTYPE before any element


def _deeper_than(root: etree._Element, max_depth: int) -> bool:
    """Whether an element lies more than ``max_depth`` levels down (the root is level 1): one XPath
    asking for any element at level ``max_depth + 1``, evaluated by libxml2 without a Python step
    per node (a walk in Python cost a quarter of a millisecond per SNE file)."""
    return bool(_depth_probe(max_depth)(root))


_compiled = threading.local()  # lxml does not share a compiled etree.XPath between threads


def _depth_probe(max_depth: int) -> etree.XPath:
    """The probe, compiled once per thread and depth (compiling it took half of its 8 µs)."""
    probes = _compiled.__dict__.setdefault("probes", {})
    probe = probes.get(max_depth)
    if probe is None:
        probe = probes[max_depth] = etree.XPath("boolean(" + "/".join(["*"] * max_depth) + ")")
    return probe


def schema(path) -> etree.XMLSchema:
    """Load one of our XSDs (relative includes only, never the network)."""
    return compile_schema(etree.parse(str(path), _parser()))


_SCHEMA_COMPILER = threading.Lock()


def compile_schema(tree: etree._ElementTree) -> etree.XMLSchema:
    """Compile one schema at a time: libxml2 sets up its built-in types on the first schema a process
    compiles, and threads doing that at once fail with "the given type is not a built-in type" (the
    mail workers of a fresh process did, each loading the XSD for its first file)."""
    with _SCHEMA_COMPILER:
        return etree.XMLSchema(tree)
