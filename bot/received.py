"""Every Telegram update is in the store before Telegram is told it arrived, and leaves it once handled.

PTB's Updater puts each fetched update into the application's queue and only then acknowledges it (the
next getUpdates offset; the webhook's 200 comes after the put too). So the journal sits in the queue's
``put``: polling and webhook alike, an acknowledged update is already on disk (:mod:`hemu.store.received`).
The update processor deletes it when its handlers are done (:func:`finished`); the next gateway hands
whatever is left back to its own queue before it fetches anything new (:func:`hand_back`).

When the store cannot take the journal (locked, unreachable) the update is handled anyway: a resident in
danger must not wait for the database; that update is then only as safe as it was before this journal.
The same after :data:`JOURNAL_WAIT` of a slow store (make chaos: with SQLite locked for 40 s, a danger
message waited the whole lock for its own journal entry, and 110 came 40 s late): the update is handled
now, and its entry, should it be written late, is deleted as soon as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram import Bot, Update

from hemu.store import Store

log = logging.getLogger(__name__)

# How long an update waits for its journal entry before it is handled without one.
JOURNAL_WAIT = 2.0


class JournallingQueue(asyncio.Queue):  # type: ignore[type-arg]  # asyncio.Queue[object]
    """The application's (and the Updater's) update queue."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._store = store
        self._clock = clock
        self._late: set[asyncio.Task[None]] = set()

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            chat = item.effective_chat
            journal = asyncio.ensure_future(
                asyncio.to_thread(
                    self._store.received.keep,
                    item.update_id,
                    chat.id if chat is not None else None,
                    item.to_dict(),
                    self._clock(),
                )
            )
            # While an earlier entry is still being written late, the store is known to be slow: no wait.
            await asyncio.wait({journal}, timeout=0 if self._late else JOURNAL_WAIT)
            if not journal.done():
                log.warning("journal slow: handling update %s without waiting for it", item.update_id)
                late = asyncio.create_task(self._forget_late(journal, item.update_id))
                self._late.add(late)
                late.add_done_callback(self._late.discard)
            elif journal.exception() is not None:  # see the module docstring: handled, just not journalled
                log.error(
                    "could not journal update %s (%r): handling it without the journal",
                    item.update_id,
                    journal.exception(),
                )
            else:
                fresh = journal.result()
                if not fresh:
                    # Journalled and not yet handled: Telegram sent it again while this gateway (or the
                    # restart's hand-back) already has it. Handling it twice would answer twice.
                    log.info("update %s is already being handled: not again", item.update_id)
                    return
        await super().put(item)

    async def _forget_late(self, journal: asyncio.Future[bool], update_id: int) -> None:
        """An entry written after its update was handed on without it is deleted at once: the update
        is being (or was) handled; kept, it would be handled again by the next gateway."""
        try:
            await journal
            await asyncio.to_thread(self._store.received.done, update_id)
        except Exception as error:  # noqa: BLE001 - never written, or left: at least once, as documented
            log.warning("late journal entry of update %s: %r", update_id, error)

    async def hand_back(self, bot: Bot) -> int:
        """Queues the updates an earlier gateway fetched but did not finish; returns how many. Called
        before polling starts, so they are handled before anything newer."""
        left = await asyncio.to_thread(self._store.received.left_over)
        for row in left:
            await super().put(Update.de_json(row.payload, bot))
        if left:
            log.warning("handling %d updates the last gateway fetched but did not finish", len(left))
        return len(left)


def finished(store: Store) -> Callable[[object], Awaitable[None]]:
    """The update processor's callback once an update's handlers are done."""

    async def done(update: object) -> None:
        if not isinstance(update, Update):
            return
        try:
            await asyncio.to_thread(store.received.done, update.update_id)
        except Exception:  # noqa: BLE001 - left behind: the next gateway handles it again (at least once)
            log.exception("could not clear update %s from the journal", update.update_id)

    return done


__all__ = ["JournallingQueue", "finished"]
