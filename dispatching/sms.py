"""SMS providers: how renewal notices reach the applicant's mobile phone.

A provider is anything with ``send(number, text) -> reference`` that raises :class:`SmsRefused`
when it does not take the message (``permanent`` when retrying would not help: an invalid number).
``SNE_HUB_SMS_PROVIDER`` names it: ``demo`` (the default) writes each message to a file under
``<notices dir>/sms/``; a real provider is a package exposing a factory in the entry point group
``sne_hub.sms_providers``, called with the dispatch settings (docs/DISPATCHING.md shows one).
"""

from __future__ import annotations

import json
import os
import uuid
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from .config import DispatchSettings


class SmsRefused(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmsProvider(Protocol):
    def send(self, number: str, text: str) -> str:
        """Hand the message to the provider; its reference for the message. Raises SmsRefused."""


class DemoSmsProvider:
    """Writes each message to ``<directory>/<reference>.json``: what a real provider would send."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, number: str, text: str) -> str:
        if not number or not number.replace(" ", "").lstrip("+").isdigit():
            raise SmsRefused("numéro de téléphone mobile invalide", permanent=True)
        reference = uuid.uuid4().hex
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{reference}.json"
        temporary = target.with_suffix(".part")
        temporary.write_text(json.dumps({"to": number, "text": text}, ensure_ascii=False))
        os.replace(temporary, target)
        return reference


def provider(settings: DispatchSettings) -> SmsProvider:
    if settings.sms_provider == "demo":
        return DemoSmsProvider(settings.notices_directory / "sms")
    for entry in entry_points(group="sne_hub.sms_providers"):
        if entry.name == settings.sms_provider:
            return entry.load()(settings)
    raise LookupError(f"fournisseur SMS inconnu : {settings.sms_provider!r} (entry point sne_hub.sms_providers)")
