"""Sends the outbox: every notification the case store queued (case cards, updates, reminders) reaches
its chat once.

The store writes notifications in the same transaction as the change that caused them; this loop only
delivers them. A claim pushes a row's next attempt ``LEASE`` into the future before anything is sent, so a
second gateway process (or this one after a crash) cannot send it again while the first is still trying.
Texts are rendered at send time from the case as it is *now* (a card delivered late shows the current
state) in the recipient's language. Telegram's answers decide what happens next:

* ``RetryAfter``: try again when Telegram says, without counting it as a failure (flood control is ours);
* blocked / chat not found: dropped once with the reason — retrying would never succeed;
* network trouble: exponential backoff (1 s, 2 s, 4 s … 5 min), given up after ``MAX_NETWORK_FAILURES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot import callbacks, cards, languages, texts
from bot.gateway import Gateway
from hemu.guidance import load_content
from hemu.kinds import NoticeKind, Update
from hemu.parties import Party
from hemu.store import (
    CaseRecord,
    NotificationRecord,
    OutboxError,
)
from hemu.when import describe_due, describe_overdue

log = logging.getLogger(__name__)

# Longer than any send can take (rate limiter waits included), so a claimed row is never sent twice.
LEASE = timedelta(minutes=10)
BATCH = 50
# Recipients served at once; each recipient's notifications go one after another, in order.
PARALLEL_CHATS = 16
MAX_NETWORK_FAILURES = 10
BACKOFF_CAP = timedelta(minutes=5)
# A resident's own words inside an officer's update are capped so the message always fits.
QUOTE_CAP = 3000
SETTLE_ATTEMPTS = 5
_NET_TAG = re.compile(r"^\[net (\d+)\]")

# Case updates a resident is sent. Closing (a rating) and reopening (a low rating, "it came back") are
# the resident's own presses, answered by bot.ratings at once: the desk queues nothing for them.
RESIDENT_EVENTS = (
    Update.ACKNOWLEDGED,
    Update.CONTACTED,
    Update.RESOLVED,
    Update.HANDED_OVER,
    Update.PROMISE_BROKEN,
)

TEXT_KEYS: tuple[str, ...] = (
    *cards.TEXT_KEYS,
    *(f"update_{event.value}" for event in RESIDENT_EVENTS),
    "update_other",
    "follow_up",
    "button_fu_back",
    "button_fu_fine",
    "button_view",
    "header_assigned",
    "header_handed_over",
    "officer_details_added",
    "officer_cancelled",
    "officer_rated",
    "officer_comment",
    "officer_follow_up_came_back",
    "officer_update_other",
    "officer_reminder",
    "officer_broken_assigned",
    "officer_broken_backup",
    "officer_broken_supervisor",
)


class Drop(Exception):
    """This notification can never be delivered (no chat, not a Telegram user, case gone): say why."""


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


# ---------------------------------------------------------------- the loop


def wake(gateway: Gateway) -> None:
    """Something was just queued (an officer pressed a button, the watcher found a breach): send it now
    rather than at the next poll."""
    gateway.notifier.wake.set()


async def run(application: Application, gateway: Gateway) -> None:
    """Forever: deliver what is due; when nothing was, wait for ``notify_interval`` or a :func:`wake`."""
    event = gateway.notifier.wake
    while True:
        event.clear()
        try:
            handled = await deliver_once(application, gateway)
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken database must not kill the loop; it retries at the next poll
            log.exception("notifier: delivery round failed")
            handled = 0
        if handled == 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=gateway.config.notify_interval)


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


# ---------------------------------------------------------------- rendering


def render(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """The message for one notification, from the current case; :class:`Drop` when there is none."""
    party = Party.parse(record.recipient)
    if party is None:
        raise Drop(f"unknown recipient {record.recipient!r}")
    number = record.payload.get("number")
    if not number:
        raise Drop("notification without a case number")
    try:
        case = gateway.store.get(str(number))
    except ValueError:
        raise Drop(f"not a case number: {number!r}") from None
    if case is None:
        raise Drop(f"case {number} does not exist")
    if party.role == "resident":
        return render_resident(gateway, record, case, party.ident)
    return render_officer(gateway, record, case, party.ident)


def _when(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo is not None else fallback
    return value if isinstance(value, datetime) else fallback


def officer_values(gateway: Gateway, officer_id: str, language: str) -> dict[str, str]:
    """Who has the case, escaped for a resident's HTML message (bot.ratings names them the same way);
    an id the roster no longer has is shown as is."""
    officer = gateway.settings.roster.officer(officer_id)
    return {
        "officer_name": cards.escape(officer.name.get(language) if officer else officer_id),
        "officer_title": cards.escape(officer.title.get(language) if officer else ""),
        "station_name": cards.escape(gateway.settings.station.station.name.get(language)),
    }


def render_resident(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    if not ident.isdigit():
        raise Drop("not a Telegram resident")
    if case.resident_id != ident:
        raise Drop("the case no longer belongs to this resident")
    language = languages.of_case(case, gateway.officer_language)
    payload = record.payload
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    number = cards.escape(case.number)
    if record.kind == NoticeKind.FOLLOW_UP:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.text("button_fu_back", language),
                        callback_data=callbacks.follow_up(case.number, came_back=True),
                    ),
                    InlineKeyboardButton(
                        texts.text("button_fu_fine", language),
                        callback_data=callbacks.follow_up(case.number, came_back=False),
                    ),
                ]
            ]
        )
        return Outgoing(int(ident), texts.text("follow_up", language, number=number), markup)
    if record.kind != NoticeKind.CASE_UPDATE:
        raise Drop(f"unknown notification kind {record.kind!r}")
    event = str(payload.get("event") or "")
    if event not in RESIDENT_EVENTS:
        state = cards.escape(load_content().state_name(case.state, language))
        return Outgoing(int(ident), texts.text("update_other", language, number=number, state=state))
    officer_id = str(payload.get("officer_id") or case.officer_id)
    due = _when(payload.get("new_due"), case.promise_due_at)
    values = {
        "number": number,
        "promise": cards.escape(describe_due(due, now, tz, language)),
        **officer_values(gateway, officer_id, language),
    }
    if event == Update.PROMISE_BROKEN:  # the resident hears who above the officer now knows
        supervisor = officer_values(gateway, gateway.settings.roster.supervisor, language)
        values["supervisor_name"] = supervisor["officer_name"]
        values["supervisor_title"] = supervisor["officer_title"]
    markup = cards.rating_keyboard(case.number) if event == Update.RESOLVED else None
    return Outgoing(int(ident), texts.render(f"update_{event}", language, **values).text, markup)


def render_officer(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    chat_id = gateway.store.officers.chat_for_officer(ident)
    if chat_id is None:
        raise Drop(f"officer {ident} has no linked Telegram chat")
    language = languages.for_officer(gateway, ident)
    payload = record.payload
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    number = cards.escape(case.number)
    view = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.text("button_view", language),
                    callback_data=callbacks.officer_button("open", case.number),
                )
            ]
        ]
    )

    def name(officer_id: Any) -> str:
        return cards.escape(cards.officer_name(gateway.settings, str(officer_id), language))

    if record.kind == NoticeKind.CASE_ASSIGNED:
        if not gateway.desk.may_act(case, ident):
            raise Drop(f"case {case.number} is no longer assigned to {ident}")
        from_officer = payload.get("from_officer")
        if from_officer and from_officer != ident:
            header = texts.text("header_handed_over", language, officer=name(from_officer))
        else:
            header = texts.text("header_assigned", language)
        text = cards.card_text(case, gateway.settings, now, language, header=header)
        return Outgoing(chat_id, text, cards.viewer_keyboard(case, ident, gateway.desk, language))
    if record.kind == NoticeKind.PROMISE_REMINDER:
        if not case.is_active or case.officer_id != ident:
            raise Drop(f"case {case.number} no longer waits for {ident}")
        promise = cards.escape(describe_due(case.promise_due_at, now, tz, language))
        return Outgoing(
            chat_id, texts.text("officer_reminder", language, number=number, promise=promise), view
        )
    if record.kind == NoticeKind.PROMISE_BROKEN:
        role = str(payload.get("role") or "assigned")
        key = (
            f"officer_broken_{role}"
            if role in ("assigned", "backup", "supervisor")
            else "officer_broken_supervisor"
        )
        old = _when(payload.get("old_due"), case.promise_due_at)
        new = _when(payload.get("new_due"), case.promise_due_at)
        text = texts.text(
            key,
            language,
            number=number,
            officer=name(payload.get("officer_id") or case.officer_id),
            old=cards.escape(describe_overdue(old, now, tz, language)),
            new=cards.escape(describe_due(new, now, tz, language)),
        )
        return Outgoing(chat_id, text, view if gateway.desk.may_act(case, ident) else None)
    if record.kind != NoticeKind.CASE_UPDATE:
        raise Drop(f"unknown notification kind {record.kind!r}")
    event = str(payload.get("event") or "")
    if event == Update.DETAILS_ADDED:
        quoted = cards.escape(cards.cap(str(payload.get("text") or ""), QUOTE_CAP))
        text = texts.text("officer_details_added", language, number=number, text=quoted)
    elif event == Update.CANCELLED_BY_RESIDENT:
        text = texts.text("officer_cancelled", language, number=number)
    elif event == Update.RESIDENT_SAYS_SAFE:
        text = texts.text("officer_resident_safe", language, number=number)
    elif event == Update.RATED:
        comment = payload.get("comment")
        said = (
            texts.text("officer_comment", language, comment=cards.escape(cards.cap(str(comment), QUOTE_CAP)))
            if comment
            else ""
        )
        rating = cards.escape(payload.get("rating", case.rating or "?"))
        text = texts.text("officer_rated", language, number=number, rating=rating, comment=said).rstrip()
    elif event == Update.FOLLOW_UP_CAME_BACK:
        text = texts.text("officer_follow_up_came_back", language, number=number)
    else:
        text = texts.text("officer_update_other", language, number=number, event=cards.escape(event))
    return Outgoing(chat_id, text, view if gateway.desk.may_act(case, ident) else None)
