"""Sends the outbox: every notification the case store queued (case cards, updates, reminders) reaches
its chat once.

The store writes notifications in the same transaction as the change that caused them; this loop only
delivers them. A claim pushes a row's next attempt ``LEASE`` into the future before anything is sent, so a
second gateway process (or this one after a crash) cannot send it again while the first is still trying.
Texts come from :mod:`bot.notices`, rendered at send time. Telegram's answers decide what happens next:

* ``RetryAfter``: try again when Telegram says, without counting it as a failure (flood control is ours);
* blocked / chat not found: dropped once with the reason — retrying would never succeed;
* network trouble: exponential backoff (1 s, 2 s, 4 s … 5 min), given up after ``MAX_NETWORK_FAILURES``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import warnings
from collections import defaultdict
from datetime import timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot import loops
from bot.gateway import Gateway
from bot.notices import Drop, render
from hemu.store import (
    NotificationRecord,
    OutboxError,
)

log = logging.getLogger(__name__)

# Longer than any send can take (rate limiter waits included), so a claimed row is never sent twice.
LEASE = timedelta(minutes=10)
BATCH = 50
# Recipients served at once; each recipient's notifications go one after another, in order.
PARALLEL_CHATS = 16
MAX_NETWORK_FAILURES = 10
BACKOFF_CAP = timedelta(minutes=5)
SETTLE_ATTEMPTS = 5
_NET_TAG = re.compile(r"^\[net (\d+)\]")


# ---------------------------------------------------------------- the loop


def wake(gateway: Gateway) -> None:
    """Something was just queued (an officer pressed a button, the watcher found a breach): send it now
    rather than at the next poll."""
    gateway.notifier.wake.set()


async def run(application: Application, gateway: Gateway) -> None:
    """Forever: deliver what is due; when nothing was, wait for ``notify_interval`` or a :func:`wake`."""
    interval = gateway.config.notify_interval

    async def round_() -> float:
        return 0 if await deliver_once(application, gateway) else interval

    await loops.forever("notifier", round_, interval, gateway.notifier.wake)


async def deliver_once(application: Application, gateway: Gateway) -> int:
    """Claims the due notifications and tries each once; returns how many were claimed."""
    now = gateway.desk.now()
    claimed: list[NotificationRecord] = await asyncio.to_thread(gateway.store.outbox.claim, now, LEASE, BATCH)
    if not claimed:
        return 0
    by_recipient: dict[str, list[NotificationRecord]] = defaultdict(list)
    for record in claimed:
        by_recipient[record.recipient].append(record)
    gate = asyncio.Semaphore(PARALLEL_CHATS)

    async def serve(records: list[NotificationRecord]) -> None:
        async with gate:
            for record in records:
                await deliver(application, gateway, record)

    results = await asyncio.gather(
        *(serve(records) for records in by_recipient.values()), return_exceptions=True
    )
    for result in results:
        if isinstance(result, Exception):  # one recipient's trouble must not stop the others' messages
            log.error("notifier: delivery failed", exc_info=result)
    return len(claimed)


async def _pace(gateway: Gateway, chat_id: int) -> None:
    """Telegram allows about one message a second to one chat; space ours out instead of being throttled."""
    pace = gateway.config.per_chat_pace
    last = gateway.notifier.last_sent
    if pace > 0 and chat_id in last:
        wait = last[chat_id] + pace - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
    last[chat_id] = time.monotonic()


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait; PTB 22 warns that the attribute's type will change, so read it
    quietly and accept both an int and a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def network_failures(record: NotificationRecord) -> int:
    """Network failures so far, kept in ``last_error`` (the store's ``attempts`` also counts claims and
    flood-control waits, which must not use up the give-up budget)."""
    match = _NET_TAG.match(record.last_error or "")
    return int(match.group(1)) if match else 0


async def deliver(application: Application, gateway: Gateway, record: NotificationRecord) -> None:
    """One attempt at one notification, ending in exactly one of sent / retry later / failed / dropped."""
    store = gateway.store
    try:
        outgoing = await asyncio.to_thread(render, gateway, record)
    except Drop as reason:
        log.info("notification %s to %s dropped: %s", record.id, record.recipient, reason)
        await _settle(store.outbox.drop, record.id, gateway.desk.now(), str(reason))
        return
    except Exception as error:  # a rendering bug or the database: treat like a network failure
        log.exception("notification %s: could not render", record.id)
        await _network_failure(gateway, record, error)
        return
    await _pace(gateway, outgoing.chat_id)
    try:
        await application.bot.send_message(
            outgoing.chat_id,
            outgoing.text,
            parse_mode=ParseMode.HTML,
            reply_markup=outgoing.markup,
            disable_web_page_preview=True,
        )
    except RetryAfter as error:
        wait = max(1.0, retry_seconds(error))
        log.info("notification %s: flood control, retrying in %ss", record.id, wait)
        tag = f"[net {network_failures(record)}] RetryAfter {wait:g}s"
        now = gateway.desk.now()
        await _settle(store.outbox.mark_failed, record.id, now, tag, now + timedelta(seconds=wait))
        return
    except Forbidden as error:
        await _settle(store.outbox.drop, record.id, gateway.desk.now(), f"blocked: {error.message}")
        log.info("notification %s: %s blocked the bot; dropped", record.id, record.recipient)
        return
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            await _settle(
                store.outbox.drop, record.id, gateway.desk.now(), f"chat not found: {error.message}"
            )
            return
        # Telegram refused this message itself (bad HTML, too long…): sending it again cannot help.
        log.error("notification %s refused by Telegram: %s", record.id, error.message)
        await _settle(
            store.outbox.mark_failed, record.id, gateway.desk.now(), f"bad request: {error.message}", None
        )
        return
    except NetworkError as error:  # TimedOut included
        await _network_failure(gateway, record, error)
        return
    except TelegramError as error:  # e.g. ChatMigrated, InvalidToken: not fixed by waiting
        log.error("notification %s: %s", record.id, error)
        await _settle(store.outbox.mark_failed, record.id, gateway.desk.now(), f"telegram: {error}", None)
        return
    await _settle(store.outbox.mark_sent, record.id, gateway.desk.now())


def backoff(failures: int) -> timedelta:
    """The wait before the next try after ``failures`` network failures in a row: 1 s, 2 s, 4 s … 5 min."""
    return min(BACKOFF_CAP, timedelta(seconds=2 ** (failures - 1)))


async def _network_failure(gateway: Gateway, record: NotificationRecord, error: Exception) -> None:
    failures = network_failures(record) + 1
    now = gateway.desk.now()
    message = f"[net {failures}] {type(error).__name__}: {error}"[:500]
    if failures >= MAX_NETWORK_FAILURES:
        log.error("notification %s: giving up after %s failures: %s", record.id, failures, error)
        await _settle(gateway.store.outbox.mark_failed, record.id, now, message, None)
        return
    delay = backoff(failures)
    log.warning("notification %s: %s; retrying in %s", record.id, error, delay)
    await _settle(gateway.store.outbox.mark_failed, record.id, now, message, now + delay)


async def _settle(method: Any, *args: Any) -> None:
    """Record the outcome; a row someone else already settled (e.g. erased by /forget) is left alone.

    A database hiccup is retried a few times: after a successful send, failing to mark it sent would let
    the lease run out and the message go out twice.
    """
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            await asyncio.to_thread(method, *args)
            return
        except OutboxError as error:
            log.info("outbox: %s", error)
            return
        except Exception:
            if attempt == SETTLE_ATTEMPTS - 1:
                log.exception("outbox: could not record %s%r", getattr(method, "__name__", method), args)
                return
            await asyncio.sleep(0.2 * (attempt + 1))
