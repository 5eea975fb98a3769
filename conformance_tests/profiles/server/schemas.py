"""Schema validation of every file the kit sees, with xmlschema, reported as path and reason.

The interface files are described by the XSD set of the interface (InterfaceNuu v02.00 and v02.01,
Doublon, InterfaceNuuRecherche, the shared management's InterfaceNuuGPEvenement and
InterfaceNuuGPTypeEvenement), read from the directory given with ``--sne-xsd``. A file that
breaks its schema does not stop the check that received it: ``FileLedger`` keeps what each file
broke, and one requirement (R105) reports them all, so that a schema defect is named once and
not again by every check that happened to read the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import xmlschema
from lxml import etree

from .wire import parse

APPLICATION_FILES = {"02.00": "InterfaceNuu_v0200.xsd", "02.01": "InterfaceNuu_v0201.xsd"}
DUPLICATES_FILE = "Doublon_V0200.xsd"
SEARCH_FILE = "InterfaceNuuRecherche_v0200.xsd"
EVENTS_FILE = "InterfaceNuuGPEvenement_v0200.xsd"
TYPES_FILE = "InterfaceNuuGPTypeEvenement_v0200.xsd"
MAX_ERRORS = 20  # per file: enough to fix it, not a wall of text


@lru_cache(maxsize=None)
def load(path: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(path)


def errors(schema: xmlschema.XMLSchema, document: etree._Element) -> list[str]:
    """Each error as ``path: reason``, in document order (at most MAX_ERRORS)."""
    found = []
    for error in schema.iter_errors(document):
        found.append(f"{error.path or '/'}: {error.reason}")
        if len(found) == MAX_ERRORS:
            break
    return found


@dataclass
class FileLedger:
    """The files seen during the run, each validated once; those that broke their schema, and why."""

    directory: Path
    seen: int = 0
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)

    def check(self, what: str, schema_name: str, data: bytes) -> etree._Element:
        """``data`` parsed; validated against ``schema_name``, its errors kept under ``what``."""
        document = parse(data)
        self.seen += 1
        found = errors(load(str(self.directory / schema_name)), document)
        if found:
            self.invalid.append((what, found))
        return document

    def application(self, what: str, data: bytes) -> etree._Element:
        """An interfaceNuu application file, against the schema of its ``versionInterface``."""
        version = parse(data).get("versionInterface", "")
        schema_name = APPLICATION_FILES.get(version)
        if schema_name is None:
            self.seen += 1
            self.invalid.append((what, [f"/: versionInterface {version!r} is neither 02.00 nor 02.01"]))
            return parse(data)
        return self.check(what, schema_name, data)

    def report(self) -> str:
        lines = [f"{len(self.invalid)} of {self.seen} files broke their schema:"]
        for what, found in self.invalid:
            lines.append(f"- {what}:")
            lines += [f"    {error}" for error in found]
        return "\n".join(lines)
