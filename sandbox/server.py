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
import itertools
import json
import logging
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.bot_methods import BotMethods
from sandbox.control import ControlApi
from sandbox.photos import PhotoMethods, PhotoStore, Upload
from sandbox.protocol import (
    DEFAULT_UPDATE_TYPES,
    LOOPBACK_HOSTS,
    STATIC,
    TOKEN_RE,
    ApiError,
    bad_request,
    decode_param,
)
from sandbox.state import ChatState, FailRule, Handler, Outage, Webhook, new_user, with_user_id
from sandbox.station import StationReports

log = logging.getLogger(__name__)


class OutageBegan(Exception):
    """An outage started while a Bot API call was being answered (a long poll): it fails like the rest."""


class LocalBotApi(BotMethods, PhotoMethods, ControlApi):
    """The local Bot API server: ``await start()``, point PTB at ``f"{api.url}/bot"``, ``await stop()``.

    ``token`` restricts the server to one bot token; without it any well-formed token is accepted (the bot's
    id is the token's number), so tests never need a secret. ``officers`` feeds the sandbox page's officer
    list; ``officers_file`` does the same from a JSON file re-read whenever it changes (``make run`` writes
    fresh invite codes on every start). ``callback_ttl`` is how long a button press can still be answered.
    ``database_url`` is the case store the page's station tab reports on (None: the tab says it has none).
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
        database_url: str | None = None,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox only listens on loopback, not {host!r}")
        self.host = host
        self.port = port
        self.token = token
        self.officers = [with_user_id(o) for o in officers or []]
        self.officers_file = officers_file
        self._officers_stamp: float | None = None
        if officers_file is not None:
            self._reload_officers()
        self.callback_ttl = callback_ttl
        self.bot_name = bot_name
        self.bot_username = bot_username
        self.station = StationReports(database_url)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._closing = False
        self._changed: asyncio.Event | None = None
        self._update_ids = itertools.count(1)
        self._poll_generation = 0
        # Set when an outage begins, waking the calls it must fail; not reset by _clear (they wait on it).
        self._outage_began: asyncio.Event | None = None
        self._clear()
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
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
        app.router.add_get("/control/photos/{file_id}", self._c_photo)
        app.router.add_get("/station/report.html", self.station.report)
        app.router.add_post("/control/fail", self._c_fail)
        app.router.add_get("/control/outage", self._c_outage_status)
        app.router.add_post("/control/outage", self._c_outage)
        app.router.add_delete("/control/outage", self._c_outage_end)
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
        self.station.close()

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
        self._outage: Outage | None = None
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._webhook: Webhook | None = None
        self.photos = PhotoStore()

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
            chat = self.chats[user_id] = ChatState(user=new_user(user_id))
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
                    else:  # an uploaded file (sendPhoto): its bytes, read once
                        raw[key] = Upload(value.filename, value.content_type, value.file.read())
        params: dict[str, Any] = {}
        for key, value in raw.items():
            params[key] = decode_param(key, value)
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
        # ``error_code`` (None: answered ok) and ``retry_after`` let a test check how the bot reacted to
        # each refusal, e.g. that nothing was sent to a chat before its retry_after had passed.
        logged = {key: v.logged() if isinstance(v, Upload) else v for key, v in params.items()}
        call: dict[str, Any] = {"method": name, "params": logged, "at": time.time(), "error_code": None}
        self.calls.append(call)
        if self._outage_now() is not None:
            return self._unreachable(request, call)
        try:
            self._scripted_failure(name, params)
            if known is None:
                raise ApiError(404, "Not Found")
            # The handler gets a copy carrying the token (getMe and "from" need the bot's id); the call log
            # keeps exactly what the bot sent.
            result = await self._unless_outage(known[1]({**params, "_token": token}))
        except ApiError as error:
            call["error_code"] = error.error_code
            call["retry_after"] = error.retry_after
            return self._reply(error.body(), error.error_code)
        except OutageBegan:
            return self._unreachable(request, call)
        return self._reply({"ok": True, "result": result})

    # ----------------------------------------------------------------- outage (Telegram unreachable)

    def _outage_now(self) -> Outage | None:
        """The outage in force, if any; one whose time is up ends here (no timer task to leak)."""
        outage = self._outage
        if outage is not None and not outage.active():
            self._outage = None
            return None
        return outage

    def begin_outage(self, seconds: float | None, mode: str) -> Outage:
        """Every Bot API method fails from now on, for ``seconds`` (None: until :meth:`end_outage`).

        Long polls already waiting fail too: a real network cut does not spare open connections.
        """
        self._outage = Outage.starting(seconds, mode)
        if self._outage_began is not None:
            self._outage_began.set()
        self._outage_began = asyncio.Event()
        return self._outage

    def end_outage(self) -> Outage | None:
        ended, self._outage = self._outage, None
        return ended

    async def _unless_outage(self, handling: Awaitable[Any]) -> Any:
        """Runs a method's handler; raises :class:`OutageBegan` if an outage starts before it is done."""
        if self._outage_began is None:
            self._outage_began = asyncio.Event()
        began = self._outage_began
        task = asyncio.ensure_future(handling)
        if task.done():
            return task.result()
        waiter = asyncio.ensure_future(began.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ApiError):
            await task
        raise OutageBegan

    def _unreachable(self, request: web.Request, call: dict[str, Any]) -> web.Response:
        """What the bot gets from a server it cannot reach: the connection closed without an answer
        (``close``, the default) or a proxy's 502 page (``502``)."""
        outage = self._outage_now() or self._outage
        mode = outage.mode if outage is not None else "close"
        call["error_code"] = "unreachable"
        if mode == "502":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if request.transport is not None:
            request.transport.abort()  # the answer below is never written: the connection is gone
        return web.Response(status=502)
