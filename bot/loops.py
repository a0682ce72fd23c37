"""The gateway's background work (the notifier, the promise watcher, the replay of kept messages) runs in
rounds for the gateway's whole life: one helper, so each loop survives a bad round the same way and can
be woken early the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

log = logging.getLogger(__name__)


async def forever(
    name: str,
    round_: Callable[[], Awaitable[float]],
    after_failure: float,
    wake: asyncio.Event | None = None,
) -> None:
    """Runs ``round_`` until cancelled. Each round returns how many seconds to wait before the next (0: at
    once); a round that fails is logged and the next one comes after ``after_failure`` seconds (a
    database hiccup must not end the loop). Setting ``wake`` cuts a wait short; it is cleared before
    each round, so something queued during a round is picked up by the next one, not missed."""
    while True:
        if wake is not None:
            wake.clear()
        try:
            delay = await round_()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("%s: round failed; trying again in %.1f s", name, after_failure)
            delay = after_failure
        await pause(delay, wake)


async def pause(seconds: float, wake: asyncio.Event | None = None) -> None:
    """Waits ``seconds``, or until ``wake`` is set; even no wait lets the other tasks run."""
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    if wake is None:
        await asyncio.sleep(seconds)
        return
    # Not asyncio.wait_for: on Python 3.10 it swallows a cancel that lands just as the wake completes,
    # and the loop then outlived the gateway's shutdown. asyncio.wait always lets the cancel through.
    waiting = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waiting}, timeout=seconds)
    finally:
        waiting.cancel()


__all__ = ["forever", "pause"]
