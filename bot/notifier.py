"""Sends the outbox: every notification the case store queued (case cards, updates, reminders, breach
alerts, summaries) reaches its chat — or, at its deadline, a person learns that it did not.

The store writes notifications in the same transaction as the change that caused them; this loop only
delivers them. A claim pushes a row's next attempt ``LEASE`` into the future before anything is sent, so a
second gateway process (or this one after a crash) cannot send it again while the first is still trying;
the lease is short (an urgent card must not wait 10 of its 15 minutes after a restart), so a row claimed
longer than ``SEND_WINDOW`` ago is handed back unsent rather than sent late, and a stopping gateway hands
back everything it had not started. Texts come from :mod:`bot.notices`, rendered at send time.
Telegram's answers decide what happens next:

* ``RetryAfter``: try again when Telegram says, without counting it as a failure (flood control is ours);
* network trouble, 5xx, any other Telegram error: back off (1 s, 2 s, 4 s … ``retry_cap_minutes``) and
  keep trying until the deadline (``delivery.give_up_after_hours`` in config/policy.yml, counted from
  when the notification was queued) — then it is given up and the supervisor is told
  (:data:`NoticeKind.DELIVERY_FAILED`); ``python -m hemu outbox`` lists and requeues it;
* the message itself refused (``BadRequest``, e.g. too long): the minimal version (case number and a
  ``/case N`` hint, :func:`bot.notices.render_minimal`) is sent instead at once;
* blocked / chat not found: dropped with the reason — retrying would never succeed; an officer who cannot
  be reached is reported to the supervisor like a given-up message.

Delivery is at least once: a gateway killed between Telegram's "sent" and recording it sends that one
message again after its lease (README, "What is never lost").
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot import delivery, digest, erasure, loops, notices
from bot.gateway import Gateway
from bot.recipients import Drop, Outgoing, Unlinked
from hemu.parties import Party
from hemu.store import (
    NotificationRecord,
    OutboxError,
)

log = logging.getLogger(__name__)

# A send is started only this soon after the claim; the lease (:func:`lease`) adds the longest one send
# can take, so a claimed row is never sent twice, yet a crashed gateway's claims free up within about
# two minutes — a small part of the shortest promise (15 minutes for an urgent case).
SEND_WINDOW = timedelta(seconds=45)
LEASE = timedelta(seconds=90)  # with the default Telegram timeouts (bot.config.TelegramTimeouts)
LEASE_MARGIN = timedelta(seconds=15)  # pacing and the rate limiter's wait
BATCH = 50
# Recipients served at once; each recipient's notifications go one after another, in order.
PARALLEL_CHATS = 16
SETTLE_ATTEMPTS = 5


# ---------------------------------------------------------------- the loop


def wake(gateway: Gateway) -> None:
    """Something was just queued (an officer pressed a button, the watcher found a breach): send it now
    rather than at the next poll."""
    gateway.notifier.wake.set()


async def run(application: Application, gateway: Gateway) -> None:
    """Forever: deliver what is due; when nothing was, wait for ``notify_interval`` or a :func:`wake`."""
    interval = gateway.config.notify_interval

    async def round_() -> float:
        if gateway.notifier.stopping.is_set():
            return interval
        return 0 if await deliver_once(application, gateway) else interval

    await loops.forever("notifier", round_, interval, gateway.notifier.wake)


async def stop(gateway: Gateway, task: asyncio.Task[None] | None, grace: float = 10.0) -> None:
    """Lets the sends in flight finish (up to ``grace`` seconds) and hands back what was claimed but
    not started, so the next gateway sends it at once instead of after the lease."""
    gateway.notifier.stopping.set()
    gateway.notifier.wake.set()
    idle = gateway.notifier.idle
    if task is not None and not task.done():
        waiting = asyncio.ensure_future(idle.wait())
        try:
            done, _ = await asyncio.wait({waiting}, timeout=grace)
        finally:
            waiting.cancel()
        if not done:
            log.warning("notifier: sends still in flight after %ss; stopping anyway", grace)


async def deliver_once(application: Application, gateway: Gateway) -> int:
    """Claims the due notifications and tries each once; returns how many were claimed.

    Whatever was claimed but not settled when this returns — the gateway stopping, a send window
    running out, cancellation — is released at the end, never left to wait out its lease.
    """
    now = gateway.desk.now()
    claim = gateway.store.outbox.claim
    claimed: list[NotificationRecord] = await asyncio.to_thread(claim, now, lease(gateway), BATCH)
    if not claimed:
        return 0
    claimed_at = time.monotonic()
    settled: set[int] = set()
    by_recipient: dict[str, list[NotificationRecord]] = defaultdict(list)
    for record in claimed:
        by_recipient[record.recipient].append(record)
    gate = asyncio.Semaphore(PARALLEL_CHATS)

    def may_start() -> bool:
        elapsed = time.monotonic() - claimed_at
        return not gateway.notifier.stopping.is_set() and elapsed < SEND_WINDOW.total_seconds()

    async def serve(records: list[NotificationRecord]) -> None:
        async with gate:
            for record in records:
                if not may_start():
                    return
                await deliver(application, gateway, record)
                settled.add(record.id)

    gateway.notifier.idle.clear()
    try:
        results = await asyncio.gather(
            *(serve(records) for records in by_recipient.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):  # one recipient's trouble must not stop the others'
                log.error("notifier: delivery failed", exc_info=result)
    finally:
        unsent = [record.id for record in claimed if record.id not in settled]
        if unsent:
            release = asyncio.to_thread(gateway.store.outbox.release, unsent, gateway.desk.now())
            try:
                await asyncio.shield(release)
            except Exception:  # noqa: BLE001 - the lease frees them anyway, a little later
                log.exception("notifier: could not release %d claimed notification(s)", len(unsent))
        gateway.notifier.idle.set()
    return len(claimed)


def lease(gateway: Gateway) -> timedelta:
    """How long a claim lasts: the send window, plus the longest a send started at its end can take
    (pool + connect + write + read, as configured), plus a margin; at least ``LEASE``."""
    limits = gateway.config.telegram
    one_send = timedelta(seconds=limits.pool + limits.connect + limits.write + limits.read)
    return max(LEASE, SEND_WINDOW + one_send + LEASE_MARGIN)


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


def render(gateway: Gateway, record: NotificationRecord, minimal: bool = False) -> Outgoing:
    """The message for a notification: the gateway's own kinds (:mod:`bot.delivery`) are short and
    hold no resident's words, so they are their own minimal version."""
    if record.kind in delivery.KINDS:
        return delivery.render(gateway, record)
    if record.kind == erasure.KIND:
        return erasure.render(gateway, record)
    if record.kind == digest.KIND:
        return digest.render(gateway, record, minimal)
    return notices.render_minimal(gateway, record) if minimal else notices.render(gateway, record)


def deadline(gateway: Gateway, record: NotificationRecord) -> datetime:
    """When the notifier stops trying: fixed at the first failure (or by a requeue), else the policy's
    span after the notification was queued."""
    return record.give_up_at or record.created_at + gateway.settings.policy.delivery.give_up_after


async def _send(application: Application, outgoing: Outgoing) -> int | None:
    """Sends (or, for :mod:`bot.erasure`, edits) the message; the id of the message sent."""
    if outgoing.edit is not None:
        await application.bot.edit_message_text(
            outgoing.text,
            chat_id=outgoing.chat_id,
            message_id=outgoing.edit,
            parse_mode=ParseMode.HTML,
            reply_markup=outgoing.markup,
        )
        return None
    if outgoing.photo is not None:
        shown = await application.bot.send_photo(
            outgoing.chat_id, outgoing.photo, caption=outgoing.text, parse_mode=ParseMode.HTML
        )
        return shown.message_id
    sent = await application.bot.send_message(
        outgoing.chat_id,
        outgoing.text,
        parse_mode=ParseMode.HTML,
        reply_markup=outgoing.markup,
        disable_web_page_preview=True,
    )
    return sent.message_id


async def _keep_officer_copy(
    gateway: Gateway, record: NotificationRecord, chat_id: int, message_id: int | None
) -> None:
    """A message about a case in an officer's chat is recorded, so /forget can edit it (bot.erasure)."""
    party = Party.parse(record.recipient)
    number = record.payload.get("number")
    if message_id is None or party is None or party.role != "officer" or not number:
        return
    if record.kind in delivery.KINDS:  # alerts name the case, never a resident's words
        return
    try:
        await asyncio.to_thread(
            gateway.store.officer_messages.keep,
            str(number),
            party.ident,
            chat_id,
            message_id,
            gateway.desk.now(),
        )
    except Exception:  # noqa: BLE001 - the message is delivered; only its later erasure is at risk
        log.exception("notification %s: could not record the officer's message %s", record.id, message_id)


async def deliver(application: Application, gateway: Gateway, record: NotificationRecord) -> None:
    """One attempt at one notification, ending in exactly one of sent / retry later / given up / dropped."""
    store = gateway.store
    try:
        outgoing = await asyncio.to_thread(render, gateway, record)
    except Unlinked as reason:  # an officer who has not registered is missing their cases
        await _unreachable(gateway, record, str(reason))
        return
    except Drop as reason:
        log.info("notification %s to %s dropped: %s", record.id, record.recipient, reason)
        await _settle(store.outbox.drop, record.id, gateway.desk.now(), str(reason))
        return
    except Exception as error:  # a rendering bug or the database: retried like a network failure
        log.exception("notification %s: could not render", record.id)
        await _failure(gateway, record, error)
        return
    held = gateway.notifier.held_for(outgoing.chat_id)
    if held:  # flood control for this chat: wait it out, not counted as a failure
        await _later(gateway, record, held, "waiting out flood control for this chat")
        return
    await _pace(gateway, outgoing.chat_id)
    try:
        message_id = await _send(application, outgoing)
    except RetryAfter as error:
        wait = max(1.0, retry_seconds(error))
        log.info("notification %s: flood control, retrying in %ss", record.id, wait)
        gateway.notifier.hold(outgoing.chat_id, wait)
        await _later(gateway, record, wait, f"RetryAfter {wait:g}s")
        return
    except Forbidden as error:
        await _unreachable(gateway, record, f"blocked: {error.message}")
        return
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            await _unreachable(gateway, record, f"chat not found: {error.message}")
            return
        if outgoing.edit is not None:  # deleted by the officer, or already edited: nothing left to do
            log.info("notification %s: message %s not edited: %s", record.id, outgoing.edit, error.message)
            await _settle(
                store.outbox.drop, record.id, gateway.desk.now(), f"not edited: {error.message}"[:500]
            )
            return
        # Telegram refused this message itself (too long, bad HTML…): the minimal version instead.
        log.error(
            "notification %s refused by Telegram (%s): sending the minimal one", record.id, error.message
        )
        await _minimal(application, gateway, record, f"bad request: {error.message}")
        return
    except TelegramError as error:  # NetworkError, TimedOut, 5xx, and anything else waiting may fix
        await _failure(gateway, record, error)
        return
    await _keep_officer_copy(gateway, record, outgoing.chat_id, message_id)
    await _settle(store.outbox.mark_sent, record.id, gateway.desk.now())


async def _later(gateway: Gateway, record: NotificationRecord, seconds: float, why: str) -> None:
    now = gateway.desk.now()
    retry_at = now + timedelta(seconds=seconds)
    await _settle(gateway.store.outbox.mark_failed, record.id, now, why, retry_at)


async def _minimal(application: Application, gateway: Gateway, record: NotificationRecord, why: str) -> None:
    try:
        outgoing = await asyncio.to_thread(render, gateway, record, True)
        message_id = await _send(application, outgoing)
    except (BadRequest, Drop) as error:  # refused too: nothing shorter to try
        await _give_up(gateway, record, f"{why}; minimal version: {error}")
        return
    except Exception as error:  # noqa: BLE001 - a network hiccup: the whole notification again later
        await _failure(gateway, record, error)
        return
    await _keep_officer_copy(gateway, record, outgoing.chat_id, message_id)
    await _settle(gateway.store.outbox.mark_sent, record.id, gateway.desk.now())


def backoff(failures: int, cap: timedelta = timedelta(minutes=5)) -> timedelta:
    """The wait before the next try after ``failures`` failures in a row: 1 s, 2 s, 4 s … ``cap``."""
    return min(cap, timedelta(seconds=2 ** min(failures - 1, 20)))


async def _failure(gateway: Gateway, record: NotificationRecord, error: BaseException) -> None:
    """A failure waiting may fix: back off, until the deadline; then give up, out loud."""
    failures = record.failures + 1
    now = gateway.desk.now()
    message = f"{type(error).__name__}: {error}"[:500]
    until = deadline(gateway, record)
    if now >= until:
        await _give_up(gateway, record, f"still failing after {failures} tries: {message}")
        return
    retry_at = min(now + backoff(failures, gateway.settings.policy.delivery.retry_cap), until)
    log.warning("notification %s: %s; retrying at %s", record.id, message, retry_at.isoformat())
    await _settle(gateway.store.outbox.mark_failed, record.id, now, message, retry_at, failures, until)


async def _give_up(gateway: Gateway, record: NotificationRecord, why: str) -> None:
    log.error("notification %s to %s given up: %s", record.id, record.recipient, why)
    await _settle(gateway.store.outbox.mark_failed, record.id, gateway.desk.now(), why[:500], None)
    await _alert(gateway, record, why)


async def _unreachable(gateway: Gateway, record: NotificationRecord, why: str) -> None:
    """A chat that cannot be written to: a resident who blocked the bot has left; an officer who did
    is missing their cases, and the supervisor must hear of it."""
    log.info("notification %s: %s: %s; dropped", record.id, record.recipient, why)
    await _settle(gateway.store.outbox.drop, record.id, gateway.desk.now(), why[:500])
    party = Party.parse(record.recipient)
    if party is not None and party.role == "officer":
        await _alert(gateway, record, why)


async def _alert(gateway: Gateway, record: NotificationRecord, why: str) -> None:
    try:
        queued = await asyncio.to_thread(delivery.alert_given_up, gateway, record, why)
    except Exception:  # noqa: BLE001 - the log line above still says it
        log.exception("notification %s: could not alert the supervisor", record.id)
        return
    if queued:
        wake(gateway)


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
