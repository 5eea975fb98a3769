"""The dispatcher: fan-out, delivery workers and the notice channels, in one process.

``sne-hub serve`` runs one beside the channels; ``sne-hub dispatch run`` runs one alone, and on
PostgreSQL several may run at once (fan-out takes a deployment-wide lock, streams and notice sends
are leased with ``SKIP LOCKED``): killing any of them, even with SIGKILL, loses nothing, since every
step is a transaction and a leased stream goes back to the others when its lease ends.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import date, datetime
from typing import Callable

from core.domain.calendar import PARIS, now_in_paris
from core.domain.dispatch import Channel
from core.service_layer import dispatching
from core.service_layer.dispatching import Delivery, Failed, Outcome
from core.service_layer.unit_of_work import UnitOfWork
from core.wire.dispatch import stored_file

from .config import DispatchSettings
from .mailer import Mailer
from .notices import NoticeSender
from .push import Pusher

log = logging.getLogger(__name__)

IMMEDIATE = (Channel.SOAP, Channel.MAIL)


class Dispatcher:
    def __init__(self, unit_of_work: Callable[..., UnitOfWork], settings: DispatchSettings, notices: bool = True):
        self.unit_of_work = unit_of_work
        self.settings = settings
        self.senders = {Channel.SOAP: self._pusher, Channel.MAIL: self._mailer, Channel.DAILY_MAIL: self._mailer}
        self.notices = NoticeSender(unit_of_work, settings) if notices else None
        self._local = threading.local()
        self.caught_up = threading.Event()  # fan-out found the outbox empty once: daily mails may go

    # -- running ----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        loops = [("dispatch-fan-out", self._fan_out_loop)]
        loops += [(f"dispatch-{index}", self._delivery_loop) for index in range(self.settings.workers)]
        if self.notices is not None:
            loops.append(("notices", self._notices_loop))
        threads = [threading.Thread(target=loop, args=(stop,), name=name, daemon=True) for name, loop in loops]
        for thread in threads:
            thread.start()
        stop.wait()
        for thread in threads:
            thread.join(timeout=self.settings.timeout + 5)

    def _fan_out_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            handled = self._guarded("fan-out", self.fan_out_once)
            if not handled or handled < dispatching.FAN_OUT_BATCH:
                stop.wait(self.settings.poll)

    def _delivery_loop(self, stop: threading.Event) -> None:
        owner = dispatching.new_owner()
        while not stop.is_set():
            if self._guarded("delivery", self.deliver_once, owner) is None:
                stop.wait(self.settings.poll * random.uniform(0.5, 1.5))  # workers do not poll in step

    def _notices_loop(self, stop: threading.Event) -> None:
        closed_on: date | None = None
        while not stop.is_set():
            now = now_in_paris()
            self._guarded("notices", self.notices.run_once, now)
            if now.time() >= self.settings.letters_at and closed_on != now.date():
                if self._guarded("letters", self.notices.close_letters, now) is not None:
                    closed_on = now.date()
            stop.wait(1)

    @staticmethod
    def _guarded(what: str, step: Callable, *args):
        """One step, whatever happens: a database down or a bug must not end the loop."""
        try:
            return step(*args)
        except Exception as error:  # noqa: BLE001 - logged without data, the next round retries
            log.error("%s step failed: %s", what, type(error).__name__)
            return None

    # -- one step each ------------------------------------------------------------------------------

    def fan_out_once(self, now: datetime | None = None) -> int:
        handled = dispatching.fan_out(self.unit_of_work(), now or now_in_paris(), stored_file)
        if handled < dispatching.FAN_OUT_BATCH:
            self.caught_up.set()
        return handled

    def deliver_once(self, owner: str, now: datetime | None = None) -> str | None:
        """Claim one due batch, send it, record the outcome; None when nothing was due."""
        now = now or now_in_paris()
        settings = self.settings
        delivery = dispatching.claim(self.unit_of_work(), IMMEDIATE, now, owner, settings.lease, settings.batch)
        if delivery is None and self.caught_up.is_set() and now.astimezone(PARIS).time() >= settings.daily_at:
            delivery = dispatching.claim(self.unit_of_work(), [Channel.DAILY_MAIL], now, owner, settings.lease,
                                         settings.batch, daily=True)
        if delivery is None:
            return None
        outcome = self._send(delivery)
        word = dispatching.record(self.unit_of_work(), delivery, outcome, now_in_paris(), settings.retry,
                                  settings.disable_after)
        log.info("delivery %s to %s (%d files): %s", delivery.id, delivery.counter.code, len(delivery.items), word)
        return word

    def _send(self, delivery: Delivery) -> Outcome:
        try:
            return self.senders[delivery.subscription.channel]().deliver(delivery)
        except Exception as error:  # noqa: BLE001 - a bug or a missing file: the stream says so and retries
            log.error("delivery %s: %s", delivery.id, type(error).__name__)
            return Failed(f"erreur interne du hub : {type(error).__name__}")

    def _pusher(self) -> Pusher:
        """This thread's: zeep clients and their connections are not shared between threads."""
        if getattr(self._local, "pusher", None) is None:
            self._local.pusher = Pusher(self.settings)
        return self._local.pusher

    def _mailer(self) -> Mailer:
        if getattr(self._local, "mailer", None) is None:
            self._local.mailer = Mailer(self.settings)
        return self._local.mailer
