"""Updates from different chats run concurrently; updates from one chat run in the order they came, and
a chat's waiting updates wait in their own queue, not in the gateway's.

PTB's ``concurrent_updates(True)`` gives no order at all, which would let a resident's second message
overtake the first inside Rasa; sequential processing would make 100 residents wait for each other.

PTB's ``BaseUpdateProcessor.process_update`` takes one of the global slots (``max_concurrent_updates``)
*before* it hands the update to ``do_process_update``. Waiting for the chat's turn inside that would let
one resident sending hundreds of messages fill every slot with updates that only wait for their own
chat, while every other resident and officer waited for a slot. So ``process_update`` is replaced (PTB
marks it ``final`` for type checkers only; the application calls it on whatever processor it was given):
an update first waits for its chat's turn, and only then for one of the global slots — which it holds
only while it runs. A chat with a queue holds at most one slot.

An update that waits for its chat's turn longer than ``wait`` is handed to ``waiting`` once, meanwhile:
the gateway screens a resident's words there, so danger behind a slow earlier message (Rasa busy for up
to its timeout) is answered now and not when the turn comes (:mod:`bot.resident.waiting`). The update
keeps its place in the queue while that runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


def chat_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


Hook = Callable[[object], Awaitable[None]]


async def acquire_or_meanwhile(
    lock: asyncio.Lock, wait: float, meanwhile: Callable[[], Awaitable[None]]
) -> None:
    """Takes ``lock``; when it is not free within ``wait`` seconds, runs ``meanwhile`` once first, keeping
    the place in the lock's queue. Shared by a chat's updates here and a resident's turn in
    :mod:`bot.relay`: what waits for its turn is screened for danger meanwhile. Cancelled (shutdown)
    while waiting, the lock is never left taken."""
    if not lock.locked():
        await lock.acquire()
        return
    turn = asyncio.ensure_future(lock.acquire())
    try:
        await asyncio.wait({turn}, timeout=wait)
        if not turn.done():
            await meanwhile()
        await turn
    except BaseException:
        if turn.done() and not turn.cancelled() and turn.exception() is None:
            lock.release()
        else:
            turn.cancel()
        raise


class PerChatUpdateProcessor(BaseUpdateProcessor):
    __slots__ = ("_finished", "_locks", "_users", "wait", "waiting")

    def __init__(
        self,
        max_concurrent_updates: int = 256,
        finished: Hook | None = None,
        waiting: Hook | None = None,
        wait: float = 1.0,
    ) -> None:
        super().__init__(max_concurrent_updates)
        # Called once an update's handlers are done (not when cancelled): bot.received clears its journal.
        self._finished = finished
        # Called once for an update still waiting for its chat's turn after ``wait`` seconds. Settable
        # after the application is built (the hook needs it).
        self.waiting = waiting
        self.wait = wait
        # One lock per chat with updates in flight: its waiters are the chat's queue (asyncio.Lock
        # wakes them first come, first served, and a newcomer never jumps a waiting one).
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def process_update(  # type: ignore[misc]  # PTB's @final: see the module docstring
        self, update: object, coroutine: Awaitable[Any]
    ) -> None:
        key = chat_key(update)
        if key is None:
            async with self._semaphore:
                await self.do_process_update(update, coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            # The chat's turn first, the global slot second (the semaphore PTB counts in
            # ``current_concurrent_updates``): a chat's queue never holds more than one slot.
            await self._take_turn(lock, update)
            try:
                async with self._semaphore:
                    await self.do_process_update(update, coroutine)
            finally:
                lock.release()
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle chats so the table does not grow forever
                del self._users[key]
                self._locks.pop(key, None)

    async def _take_turn(self, lock: asyncio.Lock, update: object) -> None:
        """The chat's turn; handed to ``waiting`` if it is long in coming."""
        waiting = self.waiting
        if waiting is None:
            await lock.acquire()
            return

        async def meanwhile() -> None:
            try:
                await waiting(update)
            except Exception:  # the update itself must still be handled in its turn
                log.exception("handling an update while it waits for its chat's turn failed")

        await acquire_or_meanwhile(lock, self.wait, meanwhile)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine
        if self._finished is not None:
            await self._finished(update)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
