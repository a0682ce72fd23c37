"""What the sandbox holds: messages and chats as Telegram would, scripted failures, the webhook, and
the shapes of users, replies and media it makes up."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class StoredMessage:
    """One message as Telegram holds it now (edits replace it), plus what the page needs to show it."""

    message: dict[str, Any]
    from_bot: bool
    kind: str = "text"
    parse_mode: str | None = None
    source: str | None = None  # the text as the bot sent it, before entity parsing
    keyboard: Any = None  # any reply_markup the bot sent (the Message only keeps inline keyboards)

    def view(self) -> dict[str, Any]:
        """The control API's flat view; ``text`` is the plain text a Telegram client would display."""
        return {
            "message_id": self.message["message_id"],
            "from_bot": self.from_bot,
            "kind": self.kind,
            "text": self.message.get("text", self.message.get("caption")),
            "entities": self.message.get("entities", self.message.get("caption_entities", [])),
            # The largest size's file_id: the page shows a photo the bot sent from /control/photos/<id>.
            "photo": self.message["photo"][-1]["file_id"] if self.message.get("photo") else None,
            "reply_markup": self.keyboard,
            "parse_mode": self.parse_mode,
            "source": self.source,
            "edited": "edit_date" in self.message,
            "date": self.message["date"],
        }


@dataclass
class ChatState:
    """A private chat between the bot and one simulated user (chat id == user id, as on Telegram)."""

    user: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False

    @property
    def chat(self) -> dict[str, Any]:
        chat = {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}
        for key in ("last_name", "username"):
            if self.user.get(key):
                chat[key] = self.user[key]
        return chat

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class FailRule:
    method: str  # lower case
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | str | None
    times: int


OUTAGE_MODES = ("close", "502")


@dataclass
class Outage:
    """Telegram unreachable: every Bot API call fails until ``until`` (monotonic; inf: until ended).

    ``mode`` is how it fails: ``close`` drops the connection without an answer (a network cut), ``502``
    answers like a proxy whose upstream is gone. Either way the bot sees a network error, never an API
    error it could mistake for a refusal of its message.
    """

    mode: str
    began: float  # wall clock (time.time), for the control API and reports
    until: float  # time.monotonic() deadline

    @classmethod
    def starting(cls, seconds: float | None, mode: str = "close") -> Outage:
        if mode not in OUTAGE_MODES:
            raise ValueError(f"outage mode must be one of {OUTAGE_MODES}, not {mode!r}")
        if seconds is not None and not seconds > 0:
            raise ValueError("an outage lasts a positive number of seconds (or until ended)")
        until = math.inf if seconds is None else time.monotonic() + seconds
        return cls(mode=mode, began=time.time(), until=until)

    def active(self) -> bool:
        return time.monotonic() < self.until

    def view(self) -> dict[str, object]:
        left = None if math.isinf(self.until) else max(0.0, self.until - time.monotonic())
        return {"active": self.active(), "mode": self.mode, "began": self.began, "seconds_left": left}


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def with_user_id(officer: dict[str, Any]) -> dict[str, Any]:
    """Gives each listed officer a stable Telegram user id (from the officer id, not the file order), so a
    restarted sandbox still plays the same chat the officer registered from."""
    if officer.get("user_id") is not None:
        return {**officer, "user_id": int(officer["user_id"])}
    return {**officer, "user_id": 700_000_000 + zlib.crc32(str(officer["officer_id"]).encode()) % 100_000_000}


def new_user(user_id: int) -> dict[str, Any]:
    """The User of someone the sandbox has not heard from before (a press or message adds the details)."""
    return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}


def as_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as quoted in ``reply_to_message``: Telegram does not nest the quoted message's own reply."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of reply_markup a Message keeps: only an inline keyboard is attached to the message."""
    return markup if markup and "inline_keyboard" in markup else None


def set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def fake_file(kind: str, seed: str) -> dict[str, str]:
    digest = hashlib.sha256(f"{kind}:{seed}".encode()).hexdigest()
    return {"file_id": f"SANDBOX-{kind}-{digest[:24]}", "file_unique_id": digest[:16]}


def media_content(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Message fields for a simulated photo/voice/sticker/location/document, shaped like Telegram's."""
    seed = secrets.token_hex(8)
    caption = body.get("caption")
    content: dict[str, Any]
    if kind == "photo":
        content = {
            "photo": [
                {**fake_file("photo", f"{seed}:{w}"), "width": w, "height": h, "file_size": w * h // 10}
                for w, h in ((90, 67), (320, 240), (1280, 960))
            ]
        }
    elif kind == "voice":
        content = {
            "voice": {
                **fake_file("voice", seed),
                "duration": int(body.get("duration", 3)),
                "mime_type": "audio/ogg",
            }
        }
    elif kind == "sticker":
        content = {
            "sticker": {
                **fake_file("sticker", seed),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": body.get("emoji", "👍"),
            }
        }
    elif kind == "location":
        content = {
            "location": {
                "latitude": float(body.get("latitude") if body.get("latitude") is not None else 31.2304),
                "longitude": float(body.get("longitude") if body.get("longitude") is not None else 121.4737),
            }
        }
    elif kind == "document":
        content = {
            "document": {
                **fake_file("document", seed),
                "file_name": body.get("file_name", "evidence.pdf"),
                "mime_type": body.get("mime_type", "application/pdf"),
                "file_size": 20480,
            }
        }
    else:
        return None
    if caption and kind in ("photo", "voice", "document"):
        content["caption"] = str(caption)
    return content
