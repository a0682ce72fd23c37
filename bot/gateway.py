"""What every handler and background loop of one gateway process shares, typed.

Kept apart from :mod:`bot.app` (which wires the handlers and loops together) so that the handler
modules can depend on the shared state without depending on the module that imports them all.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes

from bot.config import GatewayConfig
from bot.rasa_client import GRACE
from bot.rasa_pool import RasaPool
from bot.replies import ButtonKeys
from bot.throttle import MessageWindow
from hemu import clock
from hemu.desk import Desk
from hemu.settings import Settings
from hemu.store import Store


@dataclass
class ResidentState:
    """The resident relay's state: the Rasa client, long button payloads, and one lock per resident.

    The lock keeps one resident's turns in order between their live messages and the replay loop (PTB's
    per-chat ordering cannot see the loop).
    """

    client: RasaPool
    keys: ButtonKeys = field(default_factory=ButtonKeys)
    locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(default_factory=weakref.WeakValueDictionary)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Residents told "Hemu is unavailable": their replayed answers start with "Hemu is back".
    told_unavailable: set[str] = field(default_factory=set)
    # Keyboards already answered (chat, message): a double tap must not send the choice to Rasa twice.
    pressed: OrderedDict[tuple[int, int], None] = field(default_factory=OrderedDict)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # When a turn of this gateway for a kept message last failed (time.monotonic()) and whether it timed
    # out (Rasa may still be running it): the replay's grace.
    tried: dict[int, tuple[float, bool]] = field(default_factory=dict)
    # When this gateway started: a message journalled before then was in flight in a gateway that died.
    started_at: datetime = field(default_factory=clock.now)
    # This gateway among several on one database: it owns the kept messages it works on (the replay).
    owner: str = "gateway"
    # Messages read per resident in the last minute (resident_limits.messages_per_minute).
    window: MessageWindow = field(default_factory=MessageWindow)
    # One screening at a time for messages waiting for their turn (bot.danger.screen_fairly).
    screening: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Danger answered while a message waited for its turn, by its source (bot.relay.source_of): the
    # safety text sent, so the message's own turn neither repeats it nor pages again.
    answered_early: OrderedDict[str, set[str]] = field(default_factory=OrderedDict)

    def lock(self, sender: str) -> asyncio.Lock:
        lock = self.locks.get(sender)
        if lock is None:
            lock = asyncio.Lock()
            self.locks[sender] = lock
        return lock

    def failed_turn(self, inbound_id: int, timed_out: bool) -> None:
        self.tried[inbound_id] = (time.monotonic(), timed_out)

    def answered_while_waiting(self, source: str, said: set[str]) -> None:
        self.answered_early[source] = said
        while len(self.answered_early) > 10_000:  # a message never handled (dropped update) is forgotten
            self.answered_early.popitem(last=False)

    def take_answered(self, source: str | None) -> set[str]:
        """The safety text already sent for this message while it waited (empty: none)."""
        return self.answered_early.pop(source, set()) if source else set()

    def first_press(self, chat_id: int, message_id: int) -> bool:
        key = (chat_id, message_id)
        if key in self.pressed:
            return False
        self.pressed[key] = None
        while len(self.pressed) > 10_000:
            self.pressed.popitem(last=False)
        return True


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class NotifierState:
    """The notifier's wake-up call (something was just queued), when each chat was last sent to, and
    the shutdown hand-shake: ``stopping`` starts no new send, ``idle`` is set while nothing is claimed."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_sent: dict[int, float] = field(default_factory=dict)
    # Chats Telegram told to wait (429 retry_after), until when (time.monotonic()): nothing is sent to
    # them before then, by the notifier or a resident's reply — not only the message that was refused.
    held: dict[int, float] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=_set_event)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said to wait ``seconds`` before writing to this chat again."""
        until = time.monotonic() + seconds
        self.held[chat_id] = max(until, self.held.get(chat_id, 0.0))

    def held_for(self, chat_id: int) -> float:
        """Seconds still to wait before writing to this chat (0: go ahead)."""
        until = self.held.get(chat_id)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self.held[chat_id]
            return 0.0
        return left


@dataclass
class ConsoleState:
    """Refused registration codes per chat, so that guessing costs time (:mod:`bot.console`)."""

    register_refusals: dict[int, list[datetime]] = field(default_factory=dict)


@dataclass
class Gateway:
    """One per process, in ``application.bot_data["gateway"]``."""

    config: GatewayConfig
    settings: Settings
    store: Store
    desk: Desk
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    notifier: NotifierState = field(default_factory=NotifierState)
    console: ConsoleState = field(default_factory=ConsoleState)
    # Created on first use and closed on shutdown: a gateway built but never started opens no client.
    resident: ResidentState | None = None

    @property
    def lease(self) -> timedelta:
        """How long a message this gateway took is its own: a whole turn (``rasa_timeout``) and the
        time Rasa may still work on it after the gateway gave up (``GRACE``)."""
        return timedelta(seconds=self.config.rasa_timeout) + GRACE

    @property
    def officer_language(self) -> str:
        return self.settings.station.station.default_language

    def resident_state(self) -> ResidentState:
        if self.resident is None:
            config = self.config
            self.resident = ResidentState(
                client=RasaPool.from_urls(
                    config.rasa_urls,
                    config.actions_urls,
                    timeout=config.rasa_timeout,
                    token=config.rasa_token,
                ),
                owner=config.gateway_id,
            )
        return self.resident


def gateway_of(context: ContextTypes.DEFAULT_TYPE) -> Gateway:
    return context.application.bot_data["gateway"]
