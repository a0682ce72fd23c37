"""Clients for the sandbox's control API: how tests (and scripts) play residents and officers.

The sync client uses only the standard library so any script can drive a running ``python -m sandbox``.
The async client runs the same calls in a worker thread: tests live in the event loop that also serves the
local Bot API server, and a blocking call there would deadlock the server it is waiting for.
"""

from __future__ import annotations

import asyncio
import functools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ControlError(RuntimeError):
    """The control API refused a request (bad arguments, unknown chat or message)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"sandbox control API answered {status}: {body}")
        self.status = status
        self.body = body


def _bot_flag(from_bot: bool | None) -> str:
    return "any" if from_bot is None else ("1" if from_bot else "0")


class ControlClient:
    """Blocking client; ``url`` is the server's base URL (``LocalBotApi.url``), e.g. http://127.0.0.1:8081."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # No proxy handler: the sandbox is on loopback and a proxy from the environment must not intercept it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        timeout: float | None = None,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as response:
                return response.status, json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            if error.code in accept:
                return error.code, json.loads(text)
            raise ControlError(error.code, text) from None

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, {k: v for k, v in body.items() if v is not None})[1]

    def _get(self, path: str, **query: Any) -> Any:
        return self._request("GET", path, query=query)[1]

    # -- playing a person

    def send_text(
        self,
        user_id: int,
        text: str,
        language_code: str | None = "zh-hans",
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """The user writes ``text`` → ``{update_id, message_id, chat_id}``. language_code None/"" omits it."""
        body: dict[str, Any] = {"user_id": user_id, "text": text, "language_code": language_code or ""}
        if first_name:
            body["first_name"] = first_name
        return self._post("/control/messages", body)

    def press(self, user_id: int, message_id: int, data: str, chat_id: int | None = None) -> dict[str, Any]:
        """The user taps a button of the bot's message → ``{update_id, callback_query_id}``."""
        return self._post(
            "/control/press", {"user_id": user_id, "message_id": message_id, "data": data, "chat_id": chat_id}
        )

    def media(
        self,
        user_id: int,
        kind: str,
        latitude: float | None = None,
        longitude: float | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo, voice, sticker, location or document → ``{update_id, message_id, ...}``;
        a photo, voice message or document may carry a ``caption``."""
        body: dict[str, Any] = {
            "user_id": user_id,
            "kind": kind,
            "latitude": latitude,
            "longitude": longitude,
        }
        if caption is not None:
            body["caption"] = caption
        return self._post("/control/media", body)

    # -- observing the bot

    def messages(self, chat_id: int, from_bot: bool | None = None) -> list[dict[str, Any]]:
        """The chat as it is now (edits applied), oldest first; ``from_bot`` True/False filters by sender."""
        return self._get(f"/control/chats/{chat_id}/messages", from_bot=_bot_flag(from_bot))

    def wait_for(
        self, chat_id: int, count: int, timeout: float = 30.0, from_bot: bool | None = True
    ) -> list[dict[str, Any]]:
        """Waits until the chat holds at least ``count`` (bot) messages; returns them all.

        Raises TimeoutError listing what the chat did receive, so a failing test shows the bot's actual words.
        """
        status, body = self._request(
            "GET",
            f"/control/chats/{chat_id}/wait",
            query={"count": count, "timeout": timeout, "from_bot": _bot_flag(from_bot)},
            timeout=timeout + 10,
            accept=(408,),
        )
        if status == 408:
            received = [m.get("text") for m in body.get("messages", [])]
            raise TimeoutError(f"{body.get('error')}; received: {received!r}")
        return body

    def photo(self, file_id: str) -> tuple[str, bytes]:
        """(content type, bytes) of a photo the bot sent, as the page's ``<img>`` gets it."""
        url = f"{self.url}/control/photos/{urllib.parse.quote(file_id, safe='')}"
        try:
            with self._opener.open(url, timeout=self.timeout) as response:
                return response.headers.get_content_type(), response.read()
        except urllib.error.HTTPError as error:
            raise ControlError(error.code, error.read().decode("utf-8", "replace")) from None

    def chats(self) -> list[dict[str, Any]]:
        return self._get("/control/chats")

    def officers(self) -> list[dict[str, Any]]:
        """The ``--officers`` list, each with the ``user_id`` the page plays that officer as."""
        return self._get("/control/officers")

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every Bot API call the bot made (``{method, params, at, error_code, retry_after?}``; error_code
        None when it was answered ok, ``"unreachable"`` during an outage), optionally one method only."""
        return self._get("/control/calls", method=method)

    def callback_answers(self) -> list[dict[str, Any]]:
        return self._get("/control/callback_answers")

    def commands(self) -> dict[str, list[dict[str, Any]]]:
        """setMyCommands as stored, keyed by ``<scope JSON>|<language_code>``."""
        return self._get("/control/commands")

    # -- scripting Telegram's behaviour

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` only, if given) fail with this error."""
        self._post(
            "/control/fail",
            {
                "method": method,
                "error_code": error_code,
                "description": description,
                "retry_after": retry_after,
                "chat_id": chat_id,
                "times": times,
            },
        )

    def outage(self, seconds: float | None = None, mode: str = "close") -> dict[str, Any]:
        """Telegram becomes unreachable: every Bot API call (getUpdates too) fails for ``seconds``, or until
        :meth:`end_outage`. ``mode`` ``close`` drops connections unanswered, ``502`` answers Bad Gateway."""
        return self._post("/control/outage", {"seconds": seconds, "mode": mode})

    def end_outage(self) -> dict[str, Any]:
        return self._request("DELETE", "/control/outage")[1]

    def outage_status(self) -> dict[str, Any]:
        """``{active, mode, began, seconds_left}`` (``seconds_left`` None: until ended)."""
        return self._get("/control/outage")

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to the chat fail with 403 until unblocked."""
        self._post("/control/block", {"chat_id": chat_id, "blocked": blocked})

    def reset(self) -> None:
        """Forgets chats, queued updates, calls, answers, failures, an outage and the webhook; update ids
        keep rising."""
        self._post("/control/reset", {})


def _in_thread(
    method: Callable[Concatenate[ControlClient, P], R],
) -> Callable[Concatenate[AsyncControlClient, P], Awaitable[R]]:
    """The awaitable twin of a :class:`ControlClient` method: same signature, run in a worker thread."""

    @functools.wraps(method)
    async def threaded(self: AsyncControlClient, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    return threaded


class AsyncControlClient:
    """The same API as :class:`ControlClient`, awaitable; each call runs the blocking client in a thread."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.sync = ControlClient(url, timeout)
        self.url = self.sync.url

    send_text = _in_thread(ControlClient.send_text)
    press = _in_thread(ControlClient.press)
    media = _in_thread(ControlClient.media)
    messages = _in_thread(ControlClient.messages)
    wait_for = _in_thread(ControlClient.wait_for)
    photo = _in_thread(ControlClient.photo)
    chats = _in_thread(ControlClient.chats)
    officers = _in_thread(ControlClient.officers)
    calls = _in_thread(ControlClient.calls)
    callback_answers = _in_thread(ControlClient.callback_answers)
    commands = _in_thread(ControlClient.commands)
    fail = _in_thread(ControlClient.fail)
    block = _in_thread(ControlClient.block)
    outage = _in_thread(ControlClient.outage)
    end_outage = _in_thread(ControlClient.end_outage)
    outage_status = _in_thread(ControlClient.outage_status)
    reset = _in_thread(ControlClient.reset)
