"""Rasa REST replies → Telegram messages.

Rasa answers one turn with several small replies (one per ``utter``); sent one by one they arrive as a
burst of bubbles and a resident on a slow phone reads them out of order. Consecutive text replies are
joined into one message; a reply with buttons closes a message so its keyboard sits under the question it
belongs to. Telegram refuses messages over 4096 characters, so long texts (guidance can be long) are cut at
paragraph, then line, then word boundaries. Everything Rasa says is escaped: the gateway sends HTML, and a
resident's own words quoted back by an action must never become markup.

Buttons carry their Rasa payload in the callback data (``r:<payload>``) when it fits Telegram's 64 bytes,
otherwise a short hash (``rk:<16 hex>``) kept in :class:`ButtonKeys`.
"""

from __future__ import annotations

import hashlib
import html
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import MAX_BYTES, Prefix

TEXT_LIMIT = 4096  # Telegram: message text, after entity parsing
PAYLOAD_PREFIX = f"{Prefix.REPLY.value}:"
HASH_PREFIX = f"{Prefix.REPLY_KEY.value}:"
# A keyboard needs a message to hang from; Rasa may send buttons without text.
BUTTONS_ONLY_TEXT = "👇"
# Buttons share a row only while they stay readable on a narrow phone (CJK counts double).
ROW_WIDTH = 28
ROW_BUTTONS = 3


def escape(text: str) -> str:
    """Text → Telegram HTML. Quotes need no escaping in text nodes, so they stay readable in logs."""
    return html.escape(text, quote=False)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji counts two."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` (Telegram-counted) characters, cut where a reader expects a break.

    Paragraph breaks are preferred, then line breaks, then spaces; a cut inside a word happens only when a
    single "word" is longer than the limit (CJK text has no spaces, so it may). A boundary in the first
    quarter is not used: a tiny first piece followed by a full one reads worse than a mid-line cut.
    """
    text = text.strip("\n")
    pieces: list[str] = []
    while telegram_length(text) > limit:
        fit = _fitting_prefix(text, limit)
        window = text[:fit]
        cut = -1
        for separator in ("\n\n", "\n", " ", "。", "，", ". "):
            position = window.rfind(separator)
            if position >= fit // 4:
                cut = position + (len(separator) if separator in ("。", "，", ". ") else 0)
                break
        if cut <= 0:
            cut = fit
        head = text[:cut].rstrip()
        if head:
            pieces.append(head)
        text = text[cut:].lstrip("\n ")
    if text.strip():
        pieces.append(text)
    return pieces


class ButtonKeys:
    """Long Rasa payloads behind short callback data; in memory, bounded, forgotten after ``ttl``.

    Losing the map (restart, eviction) only turns an old button into "this button has expired", which the
    resident can recover from by typing; keeping it in the store would persist payloads that can contain
    what the resident wrote.
    """

    def __init__(self, max_entries: int = 50_000, ttl: float = 14 * 24 * 3600.0) -> None:
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl

    def __len__(self) -> int:
        return len(self._entries)

    def data_for(self, payload: str) -> str:
        direct = PAYLOAD_PREFIX + payload
        if len(direct.encode("utf-8")) <= MAX_BYTES:
            return direct
        key = hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]
        self._entries[key] = (payload, time.monotonic())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return HASH_PREFIX + key

    def payload_for(self, data: str) -> str | None:
        """The payload behind callback data, or None when the button is unknown or expired."""
        if data.startswith(PAYLOAD_PREFIX):
            return data[len(PAYLOAD_PREFIX) :] or None
        if data.startswith(HASH_PREFIX):
            entry = self._entries.get(data[len(HASH_PREFIX) :])
            if entry is None:
                return None
            payload, created = entry
            if time.monotonic() - created > self._ttl:
                del self._entries[data[len(HASH_PREFIX) :]]
                return None
            return payload
        return None


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: HTML text and an optional inline keyboard."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None


def _width(title: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in title)


def keyboard(buttons: Sequence[dict[str, Any]], keys: ButtonKeys) -> InlineKeyboardMarkup | None:
    """Rasa buttons → inline keyboard; short titles share a row, long ones get a row each."""
    made: list[InlineKeyboardButton] = []
    for button in buttons:
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload:
            continue
        if payload.startswith(("https://", "http://")):
            made.append(InlineKeyboardButton(title, url=payload))
        else:
            made.append(InlineKeyboardButton(title, callback_data=keys.data_for(payload)))
    if not made:
        return None
    together = len(made) <= ROW_BUTTONS and sum(_width(b.text) for b in made) <= ROW_WIDTH
    rows = [made] if together else [[b] for b in made]
    return InlineKeyboardMarkup(rows)


def _message(text: str, markup: InlineKeyboardMarkup | None) -> list[Outgoing]:
    pieces = split_text(text) or ([BUTTONS_ONLY_TEXT] if markup else [])
    return [
        Outgoing(text=escape(piece), reply_markup=markup if index == len(pieces) - 1 else None)
        for index, piece in enumerate(pieces)
    ]


def render(replies: Iterable[dict[str, Any]], keys: ButtonKeys) -> list[Outgoing]:
    """The messages to send for one Rasa turn, in order."""
    out: list[Outgoing] = []
    texts: list[str] = []
    for reply in replies:
        if not isinstance(reply, dict):
            continue
        text = str(reply.get("text") or "").strip("\n")
        if text:
            texts.append(text)
        image = reply.get("image")
        if isinstance(image, str) and image:
            texts.append(image)  # shown as a link: Telegram previews it
        buttons = reply.get("buttons") or []
        markup = keyboard(buttons, keys) if isinstance(buttons, list) else None
        if markup is not None:
            out += _message("\n\n".join(texts), markup)
            texts = []
    if texts:
        out += _message("\n\n".join(texts), None)
    return out


def chosen_title(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The title of the button carrying ``data`` in ``markup`` (what the resident tapped)."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
