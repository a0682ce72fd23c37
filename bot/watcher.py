"""Keeps promises honest: reminds officers before a promise falls due and raises the alarm when it is
broken, by calling :meth:`hemu.desk.Desk.watch` on a timer; and queues the supervisor's Monday digest.

Nothing is kept in memory: ``watch()`` derives what is due from the store and records what it did there,
so a restart (or a second gateway) loses and repeats nothing. It only queues notifications; the notifier
sends them, and is woken at once so a breach is not also late to be told.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram.ext import Application

from bot import loops, notifier
from bot.gateway import Gateway
from hemu.report.digest import queue_weekly_digest

log = logging.getLogger(__name__)

# Never spin: even when the next check is "now" (a clock moved forward) wait this long between sweeps.
MIN_DELAY = 0.05

TEXT_KEYS: tuple[str, ...] = ()


async def watch_once(gateway: Gateway) -> float:
    """One sweep; returns seconds until the next one (the watch interval, or sooner if something falls
    due before that)."""
    report = await asyncio.to_thread(gateway.desk.watch)
    if report.reminded or report.breached or report.followed_up:
        log.info(
            "watcher: reminded %s, breached %s, followed up %s",
            report.reminded,
            report.breached,
            report.followed_up,
        )
        notifier.wake(gateway)
    delay = gateway.config.watch_interval
    upcoming = [report.next_check, await _weekly_digest(gateway)]
    for moment in (moment for moment in upcoming if moment is not None):
        delay = min(delay, (moment - gateway.desk.now()).total_seconds())
    return max(MIN_DELAY, delay)


async def _weekly_digest(gateway: Gateway) -> datetime | None:
    """Queues the supervisor's Monday digest when it is due (hemu.report.digest); when the next one is.
    A failure is logged and tried again next sweep: it must never stop the promises being watched."""
    try:
        queued, following = await asyncio.to_thread(
            queue_weekly_digest, gateway.store, gateway.settings, gateway.desk.now()
        )
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("watcher: the weekly digest could not be queued")
        return None
    if queued:
        log.info("watcher: the weekly digest was queued for the supervisor")
        notifier.wake(gateway)
    return following


async def run(application: Application, gateway: Gateway) -> None:
    """Sweeps right away (whatever fell due while the gateway was down) and then on a timer, forever."""
    await loops.forever("watcher", lambda: watch_once(gateway), gateway.config.watch_interval)
