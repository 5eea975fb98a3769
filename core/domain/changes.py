"""What a change altered in an application: a tree the DIS files turn into ``modifie`` marks.

The tree follows the model's fields (the same ones the vocabulary names on the wire): each key is an
attribute, or a list index as a string, and each value is ``True`` when the field changed as a
whole (set, cleared, a value replaced, a list that grew or shrank) or a subtree when only some of
its content changed. Fields that did not change are absent, so an unchanged application gives
``None``. Trees are plain JSON-able dicts: they travel in the outbox with the change they describe.

Two rules make the tree usable by a receiving system (docs/DISPATCHING.md):

- a container whose content changed is itself in the tree, so a receiver can skip whole unchanged
  blocks;
- what was removed has no element left to mark: its nearest container is marked, and replacing
  marked containers as a whole applies removals too.
"""

from __future__ import annotations

from typing import Any

from .vocabulary import is_model, wire_fields

Tree = dict[str, Any]  # attribute (or list index) -> True | Tree


def diff(before: Any, after: Any) -> Tree | bool | None:
    """None when equal; True when changed as a whole; a tree when changed inside."""
    if before == after:
        return None
    if before is None or after is None or type(before) is not type(after):
        return True
    if is_model(type(after)):
        tree = {}
        for wire_field in wire_fields(type(after)):
            inner = diff(getattr(before, wire_field.attribute), getattr(after, wire_field.attribute))
            if inner is not None:
                tree[wire_field.attribute] = inner
        return tree or True  # equal wire fields but unequal objects: a field off the wire changed
    if isinstance(after, list):
        if len(before) != len(after):
            return True
        return {str(index): inner for index, (old, new) in enumerate(zip(before, after))
                if (inner := diff(old, new)) is not None} or None
    return True


def altered(**pairs: tuple[Any, Any]) -> Tree:
    """The tree of several blocks at once: ``altered(form=(old, new), cancellation=(old, new))``."""
    tree = {}
    for name, (before, after) in pairs.items():
        inner = diff(before, after)
        if inner is not None:
            tree[name] = inner
    return tree
