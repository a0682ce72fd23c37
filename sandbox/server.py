"""A local stand-in for Telegram's Bot API server, plus a control API that plays the humans.

Hemu must be usable and testable offline (SPEC §8), so the gateway talks to this server exactly as it would
talk to api.telegram.org: same paths (``/bot<token>/<method>``), same request encodings (PTB posts form
fields with JSON-encoded objects; other clients post JSON), same result and error shapes, same error
wording for the mistakes a bot can make (bad HTML, empty or long text, stale edits, blocked users, rate
limits). Residents and officers are simulated through ``/control/…`` (see :mod:`sandbox.client`) and the
sandbox page at ``/``. Everything binds to 127.0.0.1; webhooks are only ever delivered to loopback URLs.

All state lives in one event loop; handlers never block, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import itertools
import json
import logging
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.markup import MAX_TEXT_LENGTH, ParseError, command_entities, parse_html

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{1,100}$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Update types Telegram sends when allowed_updates is empty or was never given.
ALL_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Form bodies carry every value as a string; these are the parameters Telegram decodes as JSON / int / bool.
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "menu_button",
    }
)
INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "reply_to_message_id",
    }
)
BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
    }
)

# An inline keyboard button needs one of these besides its text (a bare text button is refused).
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
NOT_AN_OBJECT = "InlineKeyboardButton must be an Object"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class ApiError(Exception):
    """A Bot API error: becomes ``{"ok": false, "error_code", "description"}`` with that HTTP status."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


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
            "entities": self.message.get("entities", []),
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


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class LocalBotApi:
    """The local Bot API server: ``await start()``, point PTB at ``f"{api.url}/bot"``, ``await stop()``.

    ``token`` restricts the server to one bot token; without it any well-formed token is accepted (the bot's
    id is the token's number), so tests never need a secret. ``officers`` feeds the sandbox page's officer
    list; ``officers_file`` does the same from a JSON file re-read whenever it changes (``make run`` writes
    fresh invite codes on every start). ``callback_ttl`` is how long a button press can still be answered.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        *,
        officers: list[dict[str, Any]] | None = None,
        officers_file: Path | None = None,
        callback_ttl: float = 300.0,
        bot_name: str = "Hemu",
        bot_username: str = "hemu_sandbox_bot",
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox only listens on loopback, not {host!r}")
        self.host = host
        self.port = port
        self.token = token
        self.officers = [_with_user_id(o) for o in officers or []]
        self.officers_file = officers_file
        self._officers_stamp: float | None = None
        if officers_file is not None:
            self._reload_officers()
        self.callback_ttl = callback_ttl
        self.bot_name = bot_name
        self.bot_username = bot_username
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._closing = False
        self._changed: asyncio.Event | None = None
        self._update_ids = itertools.count(1)
        self._poll_generation = 0
        self._clear()
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "close": self._true,
            "logOut": self._true,
            "setMyDescription": self._true,
            "setMyShortDescription": self._true,
            "setMyName": self._true,
            "setChatMenuButton": self._true,
        }.items():
            self._methods[name.lower()] = (name, handler)

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash); PTB's base_url is ``url + "/bot"``."""
        if self._runner is None:
            raise RuntimeError("LocalBotApi is not started")
        return f"http://{'[::1]' if self.host == '::1' else self.host}:{self.port}"

    async def start(self) -> None:
        self._changed = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/health", self._health)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_static("/static/", STATIC, show_index=False)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_post("/control/messages", self._c_messages)
        app.router.add_post("/control/press", self._c_press)
        app.router.add_post("/control/media", self._c_media)
        app.router.add_get("/control/chats", self._c_chats)
        app.router.add_get("/control/chats/{chat_id}/messages", self._c_chat_messages)
        app.router.add_get("/control/chats/{chat_id}/wait", self._c_wait)
        app.router.add_get("/control/calls", self._c_calls)
        app.router.add_get("/control/callback_answers", self._c_callback_answers)
        app.router.add_get("/control/officers", self._c_officers)
        app.router.add_get("/control/commands", self._c_commands)
        app.router.add_post("/control/fail", self._c_fail)
        app.router.add_post("/control/block", self._c_block)
        app.router.add_post("/control/reset", self._c_reset)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        # trust_env=False: never route webhook deliveries through a proxy named in the environment.
        self._session = ClientSession(trust_env=False, timeout=ClientTimeout(total=10))
        self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="sandbox-webhook")

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._webhook_task:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- state

    def _clear(self) -> None:
        """Forgets chats, updates, calls, settings. Update ids and the poll generation keep rising, so a
        running poller is neither lost nor told it was superseded (409) by a reset."""
        self.chats: dict[int, ChatState] = {}
        self.updates: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._queries: dict[str, tuple[float, int]] = {}  # id → (created monotonic, chat id)
        self._fail_rules: list[FailRule] = []
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._webhook: Webhook | None = None

    def _notify(self) -> None:
        """Wakes every long poll / wait: something changed (a new update, a new message, a new poller)."""
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> None:
        assert self._changed is not None
        event = self._changed
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), max(timeout, 0))

    def bot_user(self, token: str) -> dict[str, Any]:
        """getMe's User: every field Telegram returns for a bot, so PTB's initialize() sees a real shape."""
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _push_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        # Telegram filters at creation: an update type the bot did not ask for is never stored. setWebhook and
        # getUpdates both record their allowed_updates in _allowed_updates.
        if kind in self._allowed_updates:
            self.updates.append({"update_id": update_id, kind: payload})
        self._notify()
        return update_id

    def _user_chat(self, user_id: int, **user_fields: Any) -> ChatState:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = ChatState(user=_new_user(user_id))
        for key, value in user_fields.items():
            if value is not None and value != "":
                chat.user[key] = value
            elif key == "language_code" and value == "":
                chat.user.pop(key, None)
        return chat

    def _lookup_chat(self, chat_id: Any) -> ChatState:
        """``chat_id`` as :func:`_decode_param` left it: numeric strings are ints already, so any other value
        (an @username, a float, a bool) names no chat here."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self.chats.get(chat_id) if type(chat_id) is int else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    @staticmethod
    def _writable(chat: ChatState) -> None:
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    # ----------------------------------------------------------------- HTTP plumbing

    @staticmethod
    def _reply(body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Merges query string and body (JSON, urlencoded, multipart); decodes typed fields like Telegram."""
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        raw[key] = value
        params: dict[str, Any] = {}
        for key, value in raw.items():
            params[key] = _decode_param(key, value)
        return params

    async def _bot_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if not TOKEN_RE.match(token) or (self.token is not None and token != self.token):
            return self._reply({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._reply(error.body(), error.error_code)
        known = self._methods.get(method.lower())
        name = known[0] if known else method
        self.calls.append({"method": name, "params": params, "at": time.time()})
        try:
            self._scripted_failure(name, params)
            if known is None:
                raise ApiError(404, "Not Found")
            # The handler gets a copy carrying the token (getMe and "from" need the bot's id); the call log
            # keeps exactly what the bot sent.
            result = await known[1]({**params, "_token": token})
        except ApiError as error:
            return self._reply(error.body(), error.error_code)
        return self._reply({"ok": True, "result": result})

    def _scripted_failure(self, method: str, params: dict[str, Any]) -> None:
        for rule in self._fail_rules:
            if rule.method != method.lower():
                continue
            if rule.chat_id is not None and str(params.get("chat_id")) != str(rule.chat_id):
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._fail_rules.remove(rule)
            raise ApiError(rule.error_code, rule.description, rule.retry_after)

    # ----------------------------------------------------------------- Bot API methods

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user(params["_token"])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = _int(params, "offset", 0)
        limit = min(max(_int(params, "limit", 100), 1), 100)
        timeout = max(_number(params, "timeout", 0.0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed updates")
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an earlier long poll still waiting is now superseded
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self.updates or self._closing:
                return self.updates[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            await self._wait_change(remaining)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        _check_webhook_url(url)
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates")
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self._webhook = Webhook(
            url=url,
            secret_token=str(secret) if secret else None,
            max_connections=_int(params, "max_connections", 40),
            allowed_updates=list(allowed) if allowed else None,
        )
        if allowed:
            self._allowed_updates = frozenset(allowed)
        self._poll_generation += 1  # a long poll in progress ends (with 409)
        self._notify()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self._notify()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if hook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _formatted(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
        """Text + entities after parse_mode, with Telegram's checks (empty, bad markup, too long)."""
        text = params.get("text")
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        entities: list[dict[str, Any]] = []
        if parse_mode is not None:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    text, entities = parse_html(text)
                except ParseError as error:
                    raise bad_request(f"can't parse entities: {error}") from None
            elif mode not in ("markdown", "markdownv2"):
                raise bad_request(f"unsupported parse_mode {parse_mode}")
            # Markdown is accepted as plain text: Hemu sends HTML, so a full Markdown parser buys nothing.
        elif params.get("entities") is not None:
            if not isinstance(params["entities"], list):
                raise bad_request("can't parse entities JSON object")
            entities = params["entities"]
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return text, entities, str(parse_mode) if parse_mode else None

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._lookup_chat(params.get("chat_id"))
        text, entities, parse_mode = self._formatted(params)
        markup = _check_reply_markup(params.get("reply_markup"))
        self._writable(chat)
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": self.bot_user(params["_token"]),
            "chat": chat.chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        reply_to = params.get("reply_to_message_id")
        parameters = params.get("reply_parameters")
        if isinstance(parameters, dict):
            reply_to = parameters.get("message_id")
        if reply_to is not None:
            original = chat.messages.get(_as_int(reply_to, "reply_to_message_id"))
            if original is not None:
                message["reply_to_message"] = _as_reply(original.message)
            elif not (
                isinstance(parameters, dict) and parameters.get("allow_sending_without_reply")
            ) and not (params.get("allow_sending_without_reply")):
                raise bad_request("message to be replied not found")
        if _inline(markup):
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = StoredMessage(
            message=message,
            from_bot=True,
            parse_mode=parse_mode,
            source=str(params.get("text")),
            keyboard=markup,
        )
        self._notify()
        return message

    def _bot_message(self, params: dict[str, Any], verb: str) -> tuple[ChatState, StoredMessage]:
        if params.get("inline_message_id"):
            raise bad_request(f"message to {verb} not found")
        chat = self._lookup_chat(params.get("chat_id"))
        if params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        stored = chat.messages.get(_as_int(params["message_id"], "message_id"))
        if stored is None:
            raise bad_request(f"message to {verb} not found")
        if not stored.from_bot:
            raise bad_request(f"message can't be {'edited' if verb == 'edit' else 'deleted'}")
        return chat, stored

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, stored = self._bot_message(params, "edit")
        text, entities, parse_mode = self._formatted(params)
        inline = _inline(_check_reply_markup(params.get("reply_markup")))
        message = stored.message
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == inline
        ):
            raise bad_request(NOT_MODIFIED)
        self._writable(chat)
        message["text"] = text
        _set_or_drop(message, "entities", entities or None)
        stored.parse_mode = parse_mode
        stored.source = str(params.get("text"))
        # As on Telegram: editing the text without reply_markup removes the inline keyboard.
        return self._edited(stored, inline)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, stored = self._bot_message(params, "edit")
        inline = _inline(_check_reply_markup(params.get("reply_markup")))
        if stored.message.get("reply_markup") == inline:
            raise bad_request(NOT_MODIFIED)
        self._writable(chat)
        return self._edited(stored, inline)

    def _edited(self, stored: StoredMessage, inline: dict[str, Any] | None) -> dict[str, Any]:
        """What every edit does last: the new inline keyboard (or none) and the edit_date that marks it."""
        message = stored.message
        _set_or_drop(message, "reply_markup", inline)
        message["edit_date"] = int(time.time())
        stored.keyboard = inline
        self._notify()
        return message

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat, stored = self._bot_message(params, "delete")
        del chat.messages[stored.message["message_id"]]
        self._notify()
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        known = self._queries.pop(query_id, None)
        if known is None or time.monotonic() - known[0] > self.callback_ttl:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "chat_id": known[1],
                "text": text,
                "show_alert": bool(params.get("show_alert", False)),
                "url": params.get("url"),
                "at": time.time(),
            }
        )
        self._notify()
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._lookup_chat(params.get("chat_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._writable(chat)
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        return json.dumps(scope, sort_keys=True) + "|" + str(language)

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request(
                    "command description is empty"
                    if not command.get("description")
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        key = self._commands_key(params)
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    # ----------------------------------------------------------------- webhook delivery

    async def _deliver_webhooks(self) -> None:
        """Posts pending updates, oldest first, to the webhook; a failed delivery is retried with backoff."""
        backoff = 0.1
        while not self._closing:
            hook = self._webhook
            if hook is None or not self.updates or self._session is None:
                await self._wait_change(5.0)
                continue
            update = self.updates[0]
            headers = {"Content-Type": "application/json"}
            if hook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
            error: str | None = None
            try:
                async with self._session.post(
                    hook.url,
                    data=json.dumps(update, ensure_ascii=False),
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any transport failure is a delivery error Telegram would report
                error = f"Connection error: {type(exc).__name__}: {exc}"
            if error is None:
                if self.updates and self.updates[0] is update:
                    self.updates.pop(0)
                backoff = 0.1
                self._notify()
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            log.info("sandbox webhook delivery failed (retry in %.1fs): %s", backoff, error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    # ----------------------------------------------------------------- control API

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
            message["reply_to_message"] = _as_reply(chat.messages[reply_to_message_id].message)
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
        user = dict(self.chats[user_id].user) if user_id in self.chats else _new_user(user_id)
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
        content = _media_content(kind, body)
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
        from_bot = _flag(request.query.get("from_bot"))
        return web.json_response(self.chat_messages(self._chat_id(request), from_bot))

    async def _c_wait(self, request: web.Request) -> web.Response:
        chat_id = self._chat_id(request)
        try:
            count = int(request.query.get("count", "1"))
            timeout = min(float(request.query.get("timeout", "30")), 600.0)
        except ValueError:
            raise web.HTTPBadRequest(text="control API: count and timeout must be numbers") from None
        from_bot = _flag(request.query.get("from_bot", "1"))
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
            officers = [_with_user_id(o) for o in data]
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


# --------------------------------------------------------------------- helpers


def _with_user_id(officer: dict[str, Any]) -> dict[str, Any]:
    """Gives each listed officer a stable Telegram user id (from the officer id, not the file order), so a
    restarted sandbox still plays the same chat the officer registered from."""
    if officer.get("user_id") is not None:
        return {**officer, "user_id": int(officer["user_id"])}
    return {**officer, "user_id": 700_000_000 + zlib.crc32(str(officer["officer_id"]).encode()) % 100_000_000}


def _decode_param(key: str, value: Any) -> Any:
    """Form fields are strings; Telegram decodes objects from JSON and numbers/booleans from text."""
    if not isinstance(value, str):
        return value
    if key in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if key == "timeout" and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        return float(value)
    if key in BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _int(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    return default if value is None or value == "" else _as_int(value, name)


def _number(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _flag(value: str | None) -> bool | None:
    if value is None or value.lower() in ("", "any", "all", "none"):
        return None
    return value.lower() in ("1", "true", "yes")


def _new_user(user_id: int) -> dict[str, Any]:
    """The User of someone the sandbox has not heard from before (a press or message adds the details)."""
    return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}


def _as_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as quoted in ``reply_to_message``: Telegram does not nest the quoted message's own reply."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of reply_markup a Message keeps: only an inline keyboard is attached to the message."""
    return markup if markup and "inline_keyboard" in markup else None


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _check_webhook_url(url: str) -> None:
    """Only loopback receivers: the sandbox must never send anything off this machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise bad_request("bad webhook: invalid URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: HTTPS url must be provided for webhook")
    loopback = host == "localhost"
    if not loopback:
        with contextlib.suppress(ValueError):
            loopback = ipaddress.ip_address(host).is_loopback
    if not loopback:
        raise bad_request(
            f"bad webhook: the local Bot API server only delivers to 127.0.0.1/localhost, not {host!r}"
        )


def _check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validates reply_markup like Telegram (the inline keyboard in detail: Hemu's buttons live there)."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(f"can't parse inline keyboard button: {NOT_AN_OBJECT}")
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup
    if "keyboard" in markup:
        if not isinstance(markup["keyboard"], list):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(f"can't parse inline keyboard button: {NOT_AN_OBJECT}")
    if not str(button.get("text", "")).strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if not any(key in button for key in BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"^(https?|tg)://", str(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")


def _file(kind: str, seed: str) -> dict[str, str]:
    digest = hashlib.sha256(f"{kind}:{seed}".encode()).hexdigest()
    return {"file_id": f"SANDBOX-{kind}-{digest[:24]}", "file_unique_id": digest[:16]}


def _media_content(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Message fields for a simulated photo/voice/sticker/location/document, shaped like Telegram's."""
    seed = secrets.token_hex(8)
    caption = body.get("caption")
    content: dict[str, Any]
    if kind == "photo":
        content = {
            "photo": [
                {**_file("photo", f"{seed}:{w}"), "width": w, "height": h, "file_size": w * h // 10}
                for w, h in ((90, 67), (320, 240), (1280, 960))
            ]
        }
    elif kind == "voice":
        content = {
            "voice": {
                **_file("voice", seed),
                "duration": int(body.get("duration", 3)),
                "mime_type": "audio/ogg",
            }
        }
    elif kind == "sticker":
        content = {
            "sticker": {
                **_file("sticker", seed),
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
                **_file("document", seed),
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
