"""The requirement catalogue: every profile's ``requirements.py`` (id -> the sentence docs/INTERFACES.md states)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from . import profiles


@dataclass(frozen=True)
class Requirement:
    id: str
    sentence: str
    profile: str


def profile_names() -> list[str]:
    return sorted(module.name for module in pkgutil.iter_modules(profiles.__path__) if module.ispkg)


def load() -> dict[str, Requirement]:
    """Every requirement of every profile, by id (ids are unique across profiles: their ranges differ)."""
    catalogue: dict[str, Requirement] = {}
    for profile in profile_names():
        try:
            module = importlib.import_module(f"{profiles.__name__}.{profile}.requirements")
        except ModuleNotFoundError:
            continue
        for requirement, sentence in module.REQUIREMENTS.items():
            if requirement in catalogue:
                raise ValueError(f"{requirement} is in both the {catalogue[requirement].profile} and {profile} profiles")
            catalogue[requirement] = Requirement(requirement, sentence, profile)
    return catalogue
