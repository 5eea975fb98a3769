"""Playing the notice channels in core's tests: every channel takes every notice due.

The channels themselves (relay, SMS provider, letter batches) are tested in
tests/integration/dispatching/; here they only need to report that the notices left, through the
same use cases the real ones call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.service_layer import notices


def notices_leave(unit_of_work, at: datetime) -> int:
    """Take the clock's requests and have every channel accept every send due at ``at``."""
    notices.take_requests(unit_of_work(), at)
    left = 0
    for channel in (notices.EMAIL, notices.SMS):
        for send in notices.claim(unit_of_work(), channel, at, timedelta(minutes=1), limit=10_000):
            notices.sent(unit_of_work(), send.id, at, f"accepted-{send.id}")
            left += 1
    return left + len(notices.close_letter_batches(unit_of_work, at, lambda *letters: b"%PDF-1.4 test"))
