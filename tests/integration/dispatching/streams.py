"""Helpers the dispatching tests share: a SOAP subscription, a household's registration, delivering
everything due with the product's dispatcher, one step at a time."""

from __future__ import annotations

from datetime import date

from core import demo
from core.domain.calendar import now_in_paris
from core.domain.dispatch import Channel, Filter
from core.service_layer import dispatching, services


def subscribe(uow, counter: str, endpoint: str, **options):
    dispatching.set_endpoint(uow(), counter, endpoint)
    return dispatching.subscribe(uow(), counter, Channel.SOAP, options.pop("filter", Filter()), now_in_paris(),
                                 **options)


def register_household(uow, counter: str = "DEMOC", index: int = 0):
    form = demo.household_form("Martin", f"Prénom{index}", date(1980, 1, 1 + index % 28))
    return services.register(uow(), form, now_in_paris().date(), counter, now_in_paris())


def deliver_all(dispatcher, owner: str = "test") -> list[str]:
    dispatcher.fan_out_once()
    words = []
    while (word := dispatcher.deliver_once(owner)) is not None:
        words.append(word)
    return words
