"""At least once, applied once: what the hub's retries look like from the receiver's side.

What a sender can observe is the acknowledgement: the contract offers no query of what a receiver
applied. So R340 checks that a redelivery is acknowledged again with the same refusals (a receiver
that applied it again would, with the usual unique keys, fault or refuse its sequences), and R341
that the retry after the hub stopped waiting is acknowledged (the receiver's answer to the first
attempt went nowhere: it must not fault on the second, nor apply it again).
"""

from __future__ import annotations

import time

import pytest

from .checks import acknowledged
from .deliveries import spoiled

RETRY_PAUSE = 1.0  # the hub's next attempt comes after its timeout and a delay (5 s by default): the kit waits less


@pytest.mark.requirement("SNE-HUB-R340")
def test_a_redelivery_is_acknowledged_again_the_same(push, stream):
    broken = spoiled(stream.change("CRE"))
    created = stream.change("CRE")
    delivery = stream.delivery(created, broken, stream.change("MOD", created.number, 2))
    first = acknowledged(push(delivery, what="first attempt"), delivery, refused=None)  # R320 says which
    again = acknowledged(push(delivery, what="same delivery again"), delivery, refused=None)
    assert set(again.refusals) == set(first.refusals), \
        f"the redelivery's refus {sorted(again.refusals)} differ from the first answer's {sorted(first.refusals)}"


@pytest.mark.requirement("SNE-HUB-R341")
def test_a_delivery_the_hub_stopped_waiting_for_is_acknowledged_when_sent_again(sender, kit_certificate, push,
                                                                                stream):
    created = stream.change("CRE")
    delivery = stream.delivery(created, stream.change("MOD", created.number, 2))
    sender.hang_up(*delivery.inline(), kit_certificate)
    time.sleep(RETRY_PAUSE)
    acknowledged(push(delivery, what="sent again"), delivery)


@pytest.mark.requirement("SNE-HUB-R350")
def test_a_delivery_after_a_gap_is_acknowledged(push, stream):
    before = stream.delivery(stream.change("CRE"))
    acknowledged(push(before), before)
    stream.skip(7)
    after = stream.delivery(stream.change("CRE"), stream.change("CRE"))
    after = stream.delivery(*after.changes, last_sequence=after.last_sequence + 3)
    acknowledged(push(after), after)
