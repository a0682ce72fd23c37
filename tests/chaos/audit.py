"""The checks every scenario ends with, read from what people see (the chats in the local Bot API server)
and from the case store:

* **duplicates shown to a person**: in one chat, the same bot message twice where the flow expects it
  once — two identical bot messages with nothing the person did between them (a turn answered twice,
  a replay delivered twice), an identical notice about one case twice, or a second case card for the
  same case in one officer's chat; and a report that opened two cases (the officer gets two cards for
  one report);
* **notifications lost**: an outbox row of the case still pending or failed once the system had time
  to recover, or a card the outbox says went to an officer that is not in that officer's chat;
* **cases lost** are the scenarios' own (a report that should have produced a case has none).

Each finding is a line of evidence naming the chat, the message ids and the text.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hemu.parties import Party
from hemu.store import NotificationRecord, Store
from sandbox.client import ControlClient

SETTLED = ("sent", "dropped")


def short(text: str | None, width: int = 70) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def is_card(text: str, number: str) -> bool:
    """A case card names the case in its title and lists the category (both languages)."""
    return number in text and ("类别：" in text or "Category:" in text)


def clock_time(message: dict[str, Any]) -> str:
    """When the chat got a message (the Bot API's ``date``: whole seconds, local time)."""
    return time.strftime("%H:%M:%S", time.localtime(message.get("date") or 0))


def duplicates_in_chat(
    messages: list[dict[str, Any]], chat_id: int, after: int = 0, number: str | None = None
) -> list[str]:
    """Bot messages (newer than ``after``) shown twice with no action of the person in between; with
    ``number``, also any identical notice naming that case, and more than one card for it."""
    found: list[str] = []
    pairs: set[tuple[int, int]] = set()
    previous: dict[str, dict[str, Any]] = {}  # text → message, since the person last wrote
    for message in messages:
        if message["message_id"] <= after:
            continue
        if not message.get("from_bot"):
            previous.clear()
            continue
        text = (message.get("text") or "").strip()
        if not text:
            continue
        if text in previous:
            first = previous[text]
            pairs.add((first["message_id"], message["message_id"]))
            found.append(
                f"chat {chat_id}: messages {first['message_id']} ({clock_time(first)}) and "
                f"{message['message_id']} ({clock_time(message)}) are the same with nothing done in "
                f"between: {short(text)!r}"
            )
        previous[text] = message
    if number is None:
        return found
    about = [m for m in messages if m.get("from_bot") and number in (m.get("text") or "")]
    cards = [m["message_id"] for m in about if is_card(m.get("text") or "", number)]
    if len(cards) > 1:
        found.append(f"chat {chat_id}: {len(cards)} cards for {number} (messages {cards})")
    by_text: dict[str, list[int]] = {}
    for message in about:
        by_text.setdefault((message.get("text") or "").strip(), []).append(message["message_id"])
    for text, ids in by_text.items():
        if len(ids) > 1 and not set(zip(ids, ids[1:], strict=False)) <= pairs:
            found.append(
                f"chat {chat_id}: {len(ids)}× the same message about {number} ({ids}): {short(text)!r}"
            )
    return found


def officer_chat_of(recipient: str) -> str | None:
    party = Party.parse(recipient)
    return party.ident if party is not None and party.role == "officer" else None


@dataclass
class Delivery:
    """The outbox of some cases and what it proves, once the system had time to settle."""

    rows: list[NotificationRecord]
    lost: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def unsettled(self) -> list[NotificationRecord]:
        return [row for row in self.rows if row.status.value not in SETTLED]


def describe(row: NotificationRecord) -> str:
    event = row.payload.get("event") or row.payload.get("reason") or ""
    kind = f"{row.kind}/{event}" if event else row.kind
    return (
        f"outbox {row.id} {kind} → {row.recipient}: {row.status.value}, {row.attempts} attempts, "
        f"next {row.next_attempt_at:%H:%M:%S}, last error {short(row.last_error, 90)!r}"
    )


def outbox_of(store: Store, numbers: Iterable[str]) -> list[NotificationRecord]:
    rows: list[NotificationRecord] = []
    for number in numbers:
        rows += store.outbox.notifications(number)
    return rows


def settle(
    store: Store, numbers: list[str], deadline: float, hemu_now: Any | None = None
) -> list[NotificationRecord]:
    """Waits (until the monotonic ``deadline``) for every outbox row of ``numbers`` to be sent or
    dropped; returns the rows. Stops early when all that is left are rows whose next attempt lies beyond
    the deadline on Hemu's clock (a lease left by a killed gateway): waiting cannot change them."""
    while True:
        rows = outbox_of(store, numbers)
        open_rows = [row for row in rows if row.status.value not in SETTLED]
        if not open_rows:
            return rows
        if all(row.status.value == "failed" for row in open_rows):
            return rows  # given up: final
        if hemu_now is not None:
            horizon = hemu_now() + _seconds(deadline - time.monotonic())
            if all(row.status.value == "failed" or row.next_attempt_at > horizon for row in open_rows):
                return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=max(0.0, value))


def check_delivery(
    store: Store, control: ControlClient, numbers: list[str], officer_chats: dict[str, int]
) -> Delivery:
    """Every row sent (or dropped, listed apart), every card the outbox sent visible in its chat."""
    rows = outbox_of(store, numbers)
    delivery = Delivery(rows=rows)
    for row in rows:
        status = row.status.value
        if status == "dropped":
            delivery.dropped.append(describe(row))
        elif status != "sent":
            delivery.lost.append(describe(row))
    chats: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        officer = officer_chat_of(row.recipient)
        if row.kind != "case_assigned" or officer is None or row.status.value != "sent":
            continue
        number = str(row.payload.get("number") or "")
        chat_id = officer_chats.get(officer)
        if chat_id is None:
            delivery.lost.append(f"{describe(row)}: officer {officer} has no chat in this run")
            continue
        if chat_id not in chats:
            chats[chat_id] = control.messages(chat_id, from_bot=True)
        if not any(is_card(m.get("text") or "", number) for m in chats[chat_id]):
            delivery.lost.append(f"{describe(row)}: marked sent, but no card for {number} in chat {chat_id}")
    return delivery


def resident_pending(store: Store, sender: str) -> list[str]:
    """The resident's messages still kept for Rasa (never handed over)."""
    return [
        f"inbound {m.id} {short(m.text, 40)!r}: {m.attempts} attempts, {short(m.last_error, 60)!r}"
        for m in store.inbound.messages(sender)
        if m.status.value == "pending"
    ]


def when(value: datetime | None) -> str:
    return f"{value:%H:%M:%S}" if value is not None else "-"
