"""The control API (``/control/…``) and the sandbox page: residents and officers played by tests and by a
person in a browser. A mixin of :class:`sandbox.server.LocalBotApi`, whose state it uses."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import web

from sandbox.markup import command_entities
from sandbox.protocol import STATIC, flag
from sandbox.state import FailRule, StoredMessage, as_reply, media_content, new_user, with_user_id

log = logging.getLogger(__name__)


class ControlApi:
    """``/control/messages``, ``/control/press`` and the rest (``LocalBotApi.start`` routes them)."""

    async def _control_body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise web.HTTPBadRequest(text="control API: body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="control API: body must be a JSON object")
        return body

    @staticmethod
    def _need(body: dict[str, Any], key: str) -> Any:
        if body.get(key) is None:
            raise web.HTTPBadRequest(text=f"control API: {key!r} is required")
        return body[key]

    @staticmethod
    def _user_id(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text=f"control API: user id {value!r} is not a number") from None

    def inject_message(
        self,
        user_id: int,
        content: dict[str, Any],
        *,
        language_code: str | None = "zh-hans",
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        reply_to_message_id: int | None = None,
        kind: str = "text",
    ) -> dict[str, Any]:
        """A user writes to the bot: stores the message in the chat and queues a ``message`` update."""
        chat = self._user_chat(
            user_id,
            language_code=language_code,
            first_name=first_name,
            last_name=last_name,
            username=username,
        )
        chat.blocked = False  # a user who writes to the bot has (re)started it
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": dict(chat.user),
            "chat": chat.chat,
            "date": int(time.time()),
            **content,
        }
        if reply_to_message_id is not None and reply_to_message_id in chat.messages:
            message["reply_to_message"] = as_reply(chat.messages[reply_to_message_id].message)
        chat.messages[message["message_id"]] = StoredMessage(message=message, from_bot=False, kind=kind)
        update_id = self._push_update("message", message)
        return {"update_id": update_id, "message_id": message["message_id"], "chat_id": chat.user["id"]}

    def press_button(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        """A user taps an inline button: queues a ``callback_query`` carrying the message as it is now."""
        chat = self.chats.get(chat_id if chat_id is not None else user_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id if chat_id is not None else user_id}")
        stored = chat.messages.get(message_id)
        if stored is None or not stored.from_bot:
            raise LookupError(f"no bot message {message_id} in chat {chat.user['id']}")
        user = dict(self.chats[user_id].user) if user_id in self.chats else new_user(user_id)
        query_id = str(secrets.randbits(62))
        now = time.monotonic()
        # Presses nobody answered would otherwise pile up for the server's lifetime.
        self._queries = {q: v for q, v in self._queries.items() if now - v[0] <= self.callback_ttl}
        self._queries[query_id] = (now, chat.user["id"])
        instance = int(hashlib.sha256(f"chat:{chat.user['id']}".encode()).hexdigest()[:15], 16)
        query = {
            "id": query_id,
            "from": user,
            "message": json.loads(json.dumps(stored.message)),
            "chat_instance": str(instance),
            "data": data,
        }
        update_id = self._push_update("callback_query", query)
        return {"update_id": update_id, "callback_query_id": query_id}

    async def _c_messages(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        text = str(self._need(body, "text"))
        if not text:
            raise web.HTTPBadRequest(text="control API: text is empty")
        reply_to = body.get("reply_to_message_id")
        content: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        result = self.inject_message(
            self._user_id(self._need(body, "user_id")),
            content,
            language_code=body.get("language_code", "zh-hans"),
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            reply_to_message_id=int(reply_to) if reply_to is not None else None,
        )
        return web.json_response(result)

    async def _c_media(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        kind = str(self._need(body, "kind"))
        user_id = self._user_id(self._need(body, "user_id"))
        content = media_content(kind, body)
        if content is None:
            raise web.HTTPBadRequest(text=f"control API: unknown media kind {kind!r}")
        result = self.inject_message(
            user_id,
            content,
            language_code=body.get("language_code", "zh-hans"),
            first_name=body.get("first_name"),
            kind=kind,
        )
        return web.json_response(result)

    async def _c_press(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        user_id = self._user_id(self._need(body, "user_id"))
        chat_id = body.get("chat_id")
        try:
            result = self.press_button(
                user_id,
                int(self._need(body, "message_id")),
                str(self._need(body, "data")),
                int(chat_id) if chat_id is not None else None,
            )
        except LookupError as error:
            raise web.HTTPNotFound(text=f"control API: {error}") from None
        return web.json_response(result)

    async def _c_chats(self, request: web.Request) -> web.Response:
        chats = []
        for chat in self.chats.values():
            last = max((m.message["date"] for m in chat.messages.values()), default=None)
            chats.append(
                {
                    "chat_id": chat.user["id"],
                    "user": chat.user,
                    "blocked": chat.blocked,
                    "message_count": len(chat.messages),
                    "last_date": last,
                }
            )
        return web.json_response(chats)

    def chat_messages(self, chat_id: int, from_bot: bool | None = None) -> list[dict[str, Any]]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [
            m.view() for _, m in sorted(chat.messages.items()) if from_bot is None or m.from_bot == from_bot
        ]

    @staticmethod
    def _chat_id(request: web.Request) -> int:
        try:
            return int(request.match_info["chat_id"])
        except ValueError:
            raise web.HTTPBadRequest(text="control API: chat id must be a number") from None

    async def _c_chat_messages(self, request: web.Request) -> web.Response:
        from_bot = flag(request.query.get("from_bot"))
        return web.json_response(self.chat_messages(self._chat_id(request), from_bot))

    async def _c_wait(self, request: web.Request) -> web.Response:
        chat_id = self._chat_id(request)
        try:
            count = int(request.query.get("count", "1"))
            timeout = min(float(request.query.get("timeout", "30")), 600.0)
        except ValueError:
            raise web.HTTPBadRequest(text="control API: count and timeout must be numbers") from None
        from_bot = flag(request.query.get("from_bot", "1"))
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            messages = self.chat_messages(chat_id, from_bot)
            if len(messages) >= count:
                return web.json_response(messages)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._closing:
                return web.json_response(
                    {
                        "error": f"chat {chat_id}: {len(messages)} of {count} messages after {timeout:g}s",
                        "messages": messages,
                    },
                    status=408,
                )
            await self._wait_change(remaining)

    async def _c_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c for c in self.calls if method is None or c["method"].lower() == method.lower()]
        return self._reply(calls)

    async def _c_callback_answers(self, request: web.Request) -> web.Response:
        return web.json_response(self.callback_answers)

    def _reload_officers(self) -> None:
        """Re-reads ``officers_file`` when its mtime changed; a broken file keeps the last good list."""
        assert self.officers_file is not None
        try:
            stamp = self.officers_file.stat().st_mtime
            if stamp == self._officers_stamp:
                return
            data = json.loads(self.officers_file.read_text(encoding="utf-8"))
            officers = [with_user_id(o) for o in data]
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            log.warning("sandbox: cannot read officers from %s: %s", self.officers_file, error)
            return
        self.officers = officers
        self._officers_stamp = stamp

    async def _c_officers(self, request: web.Request) -> web.Response:
        if self.officers_file is not None:
            self._reload_officers()
        return web.json_response(self.officers)

    async def _c_commands(self, request: web.Request) -> web.Response:
        return web.json_response(self.commands)

    async def _c_fail(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        method = str(self._need(body, "method"))
        code = int(self._need(body, "error_code"))
        retry_after = body.get("retry_after")
        description = body.get("description") or (
            f"Too Many Requests: retry after {retry_after}" if code == 429 else f"Error {code}"
        )
        times = int(body.get("times", 1))
        if times < 1:
            raise web.HTTPBadRequest(text="control API: times must be at least 1")
        self._fail_rules.append(
            FailRule(
                method=method.lower(),
                error_code=code,
                description=str(description),
                retry_after=int(retry_after) if retry_after is not None else None,
                chat_id=body.get("chat_id"),
                times=times,
            )
        )
        return web.json_response({"ok": True})

    async def _c_outage(self, request: web.Request) -> web.Response:
        """``{"seconds": S, "mode": "close"|"502"}``: Telegram unreachable for S seconds (no S: until
        ``DELETE /control/outage``). The control API itself keeps working, so a test can watch."""
        body = await self._control_body(request)
        seconds = body.get("seconds")
        try:
            outage = self.begin_outage(
                float(seconds) if seconds is not None else None, str(body.get("mode") or "close")
            )
        except (TypeError, ValueError) as error:
            raise web.HTTPBadRequest(text=f"control API: {error}") from None
        return web.json_response({"ok": True, **outage.view()})

    async def _c_outage_end(self, request: web.Request) -> web.Response:
        ended = self.end_outage()
        return web.json_response({"ok": True, "ended": ended.view() if ended is not None else None})

    async def _c_outage_status(self, request: web.Request) -> web.Response:
        outage = self._outage_now()
        return web.json_response(outage.view() if outage is not None else {"active": False})

    async def _c_block(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        chat_id = self._user_id(self._need(body, "chat_id"))
        chat = self._user_chat(chat_id)
        chat.blocked = bool(body.get("blocked", True))
        self._notify()
        return web.json_response({"ok": True, "chat_id": chat_id, "blocked": chat.blocked})

    async def _c_reset(self, request: web.Request) -> web.Response:
        self._clear()
        self._notify()
        return web.json_response({"ok": True})

    # ----------------------------------------------------------------- page

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # keeps the browser console free of a pointless 404

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")
