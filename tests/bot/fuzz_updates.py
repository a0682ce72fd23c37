"""Random and hostile Telegram updates, as many as wanted, from a seed (hypothesis is too slow for 100,000).

Every update type the gateway asks for, each as Telegram could send it (PTB refuses a whole batch that
does not parse and polls it again forever; Telegram never sends lone surrogates either); texts huge,
empty, invisible, right-to-left, markup-like, command-like; callback data forged in every form the
buttons use (against real case numbers), malformed and over-long; senders who are residents,
strangers, officers outside their own chat, groups and channels.
Texts carry :data:`MARKER` (markup that must never reach an officer unescaped) and :data:`RLO` (a
character that must never reach an officer at all).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MARKER = "<hemu-fuzz>"
RLO = "\u202e"
PIECES = (
    MARKER,
    RLO,
    "\u200b",
    "\u2066",
    "\x00",
    "\x1b[31m",
    "\n",
    "\r\n",
    "😡",
    "👨\u200d👩\u200d👧",
    "𠀀",
    "<b>",
    "</i>",
    "&amp;",
    "&",
    "<a href='javascript:x'>",
    "噪音",
    "他拿着刀说要杀了我",
    "he has a knife and says he will kill me",
    "楼上天天吵",
    " ",
    "/",
    "{",
    '"',
    "%s",
    "{number}",
    "138 0000 1234",
)
COMMANDS = (
    "/start",
    "/help",
    "/status",
    "/language",
    "/privacy",
    "/forget",
    "/cancel",
    "/cases",
    "/case",
    "/stats",
    "/register",
    "/frobnicate",
    "/case@hemu_sandbox_bot",
)
KINDS = (
    "message",
    "message",
    "message",
    "callback_query",
    "callback_query",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "my_chat_member",
    "chat_member",
    "message_reaction",
    "poll_answer",
)


def _no_surrogate(code: int) -> str:
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)


@dataclass(frozen=True)
class Cast:
    """Who may appear: residents (private chats that exist), officers (ids only: never in their own
    chat here), groups and channels (no chat in the sandbox: answers to them fail, as Telegram's would)."""

    residents: Sequence[int]
    officers: Sequence[int]
    groups: Sequence[int]
    case_numbers: Sequence[str]


class HostileUpdates:
    def __init__(self, seed: int, cast: Cast) -> None:
        self.random = random.Random(seed)
        self.cast = cast
        self._ids = itertools.count(1)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        while True:
            yield self.update()

    # -- pieces ---------------------------------------------------------------------------------

    def text(self) -> str:
        r = self.random
        shape = r.random()
        if shape < 0.1:
            return ""
        if shape < 0.2:
            return r.choice(PIECES) * r.choice([1, 700, 2100, 5000])
        if shape < 0.35:
            return f"{r.choice(COMMANDS)} {self.text_plain(r.randint(0, 3))}".rstrip()
        if shape < 0.45:
            return "".join(_no_surrogate(r.randint(1, 0x10FFFF)) for _ in range(r.randint(1, 40)))
        return self.text_plain(r.randint(1, 30))

    def text_plain(self, pieces: int) -> str:
        text = "".join(self.random.choice(PIECES) for _ in range(pieces))
        return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)

    def data(self) -> str:
        r = self.random
        number = r.choice([*self.cast.case_numbers, "HM-2026-999999", "hm-2026-000001", "x"])
        version = r.choice(["0", "1", "2", "3", "9" * 12, "-1", "x", ""])
        verb = r.choice(["ack", "contact", "resolve", "handover", "auto", "open", "zap"])
        payload = r.choice(
            ["/affirm", "/deny", "/request_officer", '/inform{"harm":"none"}', self.text_plain(2)]
        )
        forms = [
            f"o:{verb}:{number}:{version}",
            f"o:to:{number}:{version}:{r.choice(['zhou_jian', 'wang_li', 'nobody', ''])}",
            f"o:open:{number}",
            f"rate:{number}:{r.randint(-1, 7)}",
            f"rate:skip:{number}",
            f"fu:{number}:{r.choice(['back', 'fine', 'x'])}",
            f"forget:{r.choice(['yes', 'no', 'x'])}",
            f"lang:{r.choice(['zh', 'en', 'fr', ''])}",
            f"r:{payload}",
            f"rk:{r.getrandbits(64):016x}",
            self.text_plain(r.randint(0, 6))[:80],
            "o:" * 40,
        ]
        return r.choice(forms)

    def user(self, user_id: int) -> dict[str, Any]:
        r = self.random
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": r.random() < 0.02,
            "first_name": self.text_plain(2)[:64] or "x",
        }
        if r.random() < 0.7:
            user["language_code"] = r.choice(["zh-hans", "en", "fr", "", "zh", "EN"])
        return user

    def chat(self) -> tuple[dict[str, Any], int]:
        """(chat, from user id): mostly a resident in their own chat; sometimes an officer or a stranger
        in a group or a channel, or a resident's chat with another person's hand in it."""
        r = self.random
        roll = r.random()
        if roll < 0.75:
            person = r.choice(self.cast.residents)
            return {"id": person, "type": "private", "first_name": "R"}, person
        if roll < 0.9:
            group = r.choice(self.cast.groups)
            person = r.choice([*self.cast.officers, *self.cast.residents])
            return {
                "id": group,
                "type": r.choice(["group", "supergroup"]),
                "title": self.text_plain(2) or "g",
            }, person
        resident = r.choice(self.cast.residents)
        intruder = r.choice([*self.cast.officers, r.choice(self.cast.residents)])
        return {"id": resident, "type": "private", "first_name": "R"}, intruder

    def message(self, chat: dict[str, Any], sender: int) -> dict[str, Any]:
        r = self.random
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "from": self.user(sender),
            "chat": chat,
            "date": 1_796_000_000 + r.randint(0, 10_000),
        }
        shape = r.random()
        if shape < 0.7:
            text = self.text()
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}
                ]
        elif shape < 0.8:
            message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
            message["caption"] = self.text()
        elif shape < 0.87:
            message["location"] = {"latitude": r.uniform(-90, 90), "longitude": r.uniform(-180, 180)}
        elif shape < 0.93:
            message["sticker"] = {
                "file_id": "s",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
        else:
            message["contact"] = {
                "phone_number": "+86 138 0000 1234",
                "first_name": self.text_plain(2) or "c",
            }
        return message

    def update(self) -> tuple[str, dict[str, Any]]:
        r = self.random
        kind = r.choice(KINDS)
        chat, sender = self.chat()
        if kind in ("message", "edited_message"):
            payload = self.message(chat, sender)
            if kind == "edited_message":
                payload["edit_date"] = payload["date"] + 5
            return kind, payload
        if kind in ("channel_post", "edited_channel_post"):
            channel = {"id": r.choice(self.cast.groups), "type": "channel", "title": "c"}
            payload = self.message(channel, sender)
            payload.pop("from", None)
            return kind, payload
        if kind == "callback_query":
            shown = {
                "message_id": r.randint(1, 50),
                "from": {"id": 123456789, "is_bot": True, "first_name": "Hemu"},
                "chat": chat,
                "date": 1_796_000_000,
                "text": self.text_plain(2) or "?",
            }
            return kind, {
                "id": str(r.getrandbits(62)),
                "from": self.user(sender),
                "chat_instance": str(r.getrandbits(30)),
                "data": self.data(),
                "message": shown,
            }
        if kind == "inline_query":
            return kind, {
                "id": str(r.getrandbits(62)),
                "from": self.user(sender),
                "query": self.text()[:256],
                "offset": "",
            }
        if kind in ("my_chat_member", "chat_member"):
            member = {"status": "member", "user": self.user(sender)}
            return kind, {
                "chat": chat,
                "from": self.user(sender),
                "date": 1_796_000_000,
                "old_chat_member": member,
                "new_chat_member": r.choice(
                    [{**member, "status": "kicked", "until_date": 0}, {**member, "status": "left"}, member]
                ),
            }
        if kind == "message_reaction":
            return kind, {
                "chat": chat,
                "message_id": r.randint(1, 50),
                "user": self.user(sender),
                "date": 1_796_000_000,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        return kind, {
            "poll_id": str(r.getrandbits(30)),
            "user": self.user(sender),
            "option_ids": [r.randint(0, 3)],
        }
