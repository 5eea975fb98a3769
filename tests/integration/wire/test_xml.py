"""The safe parser's depth bound, in every thread of a process.

Its probe is an XPath compiled once per thread (lxml does not share a compiled ``etree.XPath``
between threads): a hub process parses in all its worker threads at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.wire.xml import MAX_DEPTH, TOO_DEEP, UnsafeXml, parse


def nested(levels: int) -> bytes:
    return b"<a>" * levels + b"</a>" * levels


def depth_verdicts(_) -> tuple[int, str]:
    """The number of levels of a document at the bound, and the refusal of one a level deeper."""
    at_bound = parse(nested(MAX_DEPTH))
    with pytest.raises(UnsafeXml) as refused:
        parse(nested(MAX_DEPTH + 1))
    return len(list(at_bound.iter())), refused.value.code


def test_the_depth_bound_holds_in_every_thread():
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(depth_verdicts, range(400))) == {(MAX_DEPTH, TOO_DEEP)}
