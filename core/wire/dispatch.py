"""DIS files: an application as the register holds it after a change, for the other counters.

A DIS file is an InterfaceNuu v02.01 file typed ``DIS`` carrying the whole application (so a
system that never saw it can create it), dated with the change (``dateFichier``), with the
application's version in ``incrementFichier`` and ``modifie="true"`` on every element the change
altered, and on the containers around them (docs/DISPATCHING.md says how receivers read them).
Its ``numGuichet`` is the receiving counter's code, as in every file the hub sends a counter.

One file is rendered per change, when it is fanned out, and stored compressed with a placeholder
for ``numGuichet``: each delivery only fills the receiving counter's code in.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from core.domain.application import Application
from core.domain.codes import ApplicationState, FileType
from core.service_layer.unit_of_work import StreamItem

from .codec import PREFIX, InterfaceFile, write_file

PLACEHOLDER = "#####"  # five characters, like a counter code; never one (codes are [0-9A-Z]{5})
_SLOT = f"<{PREFIX}:numGuichet>{PLACEHOLDER}</{PREFIX}:numGuichet>".encode()
MAX_FILE_BYTES = 2 * 1024 * 1024  # a whole application is far smaller (30 items per list at most)


def stored_file(application: Application, altered: dict[str, Any]) -> bytes | None:
    """The DIS file of a change, compressed, to be addressed later; None for a deletion (the
    register erased the application: the delivery names its number, nothing more)."""
    if application.state is ApplicationState.DELETED:
        return None
    file = InterfaceFile.of(application, version="02.01", file_type=FileType.DISPATCHING.value,
                            file_date=application.last_changed_at, counter=PLACEHOLDER, altered=altered)
    return zlib.compress(write_file(file), 6)


def addressed(stored: bytes, counter: str) -> bytes:
    """The DIS file for ``counter``, from its stored form."""
    decompressor = zlib.decompressobj()
    data = decompressor.decompress(stored, MAX_FILE_BYTES)
    if decompressor.unconsumed_tail:
        raise ValueError("stored DIS file larger than its bound")
    if _SLOT not in data:
        raise ValueError("stored DIS file without its numGuichet placeholder")
    return data.replace(_SLOT, f"<{PREFIX}:numGuichet>{counter}</{PREFIX}:numGuichet>".encode(), 1)


def file_name(counter: str, at: datetime, sequence: int) -> str:
    """``DIS<guichet>-<YYYYMMDDHHMM>-<séquence>.xml``, after the SNE's ``DEM…`` file names."""
    return f"DIS{counter}-{at:%Y%m%d%H%M}-{sequence}.xml"


def wire_item(item: StreamItem, counter: str) -> dict[str, Any]:
    """One ``dispatch`` element of a delivery or of a getDispatchDepuis answer, by its wire names
    (ReceptionDispatchImplService.wsdl): the change, and its DIS file addressed to ``counter``."""
    element: dict[str, Any] = {
        "sequence": item.sequence,
        "typeChangement": item.kind,
        "numUnique": item.number,
        "version": item.version,
        "dateChangement": item.at,
        "guichetOrigine": item.actor,
    }
    if item.file is not None:
        element["nomFichier"] = file_name(counter, item.at, item.sequence)
        element["fichierDis"] = addressed(item.file, counter)
    return element
