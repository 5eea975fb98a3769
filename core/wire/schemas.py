"""Our XSDs (the xsd/ folder at the top of the project), loaded once per process.

SNE_HUB_XSD_DIR overrides the folder, for installations that put the schemas elsewhere.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from lxml import etree

from .xml import schema

APPLICATION_FILES = {"02.00": "InterfaceNuu_v0200.xsd", "02.01": "InterfaceNuu_v0201.xsd"}
SEARCH_FILE = "InterfaceNuuRecherche_v0200.xsd"
DUPLICATES_FILE = "Doublon_V0200.xsd"
EVENTS_FILE = "InterfaceNuuGPEvenement_v0200.xsd"  # shared management: the events of an application
EVENT_TYPES_FILE = "InterfaceNuuGPTypeEvenement_v0200.xsd"  # shared management: event types


def directory() -> Path:
    configured = os.environ.get("SNE_HUB_XSD_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "xsd"


@cache
def load(file_name: str) -> etree.XMLSchema:
    return schema(directory() / file_name)


def errors(xml_schema: etree.XMLSchema, root: etree._Element, limit: int = 10) -> list[str]:
    """The first ``limit`` reasons ``root`` is invalid (empty when valid), with their line numbers."""
    if xml_schema.validate(root.getroottree()):
        return []
    return [f"ligne {error.line} : {error.message}" for error in list(xml_schema.error_log)[:limit]]
