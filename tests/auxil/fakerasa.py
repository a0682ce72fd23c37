"""A scripted stand-in for Rasa's REST channel and the action server, for the gateway's own tests.

It records what the gateway sends, answers what the test says, and can be switched off and on again the
way a restarting Rasa refuses connections; the real Rasa is exercised by the end-to-end tests. Test
modules import :class:`FakeRasa` and the fixture behind ``rasa``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"recipient_id": body["sender"], "text": f"echo: {body['message']}"}]


class FakeRasa:
    """Rasa's REST channel, its /status, the action server's /health and the tracker API, on one port."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.resets: list[tuple[str, Any]] = []
        self.script: Script = echo
        self.delay = 0.0
        # While this event is unset, every turn waits for it (a busy Rasa, released by the test).
        self.hold: asyncio.Event | None = None
        self.webhook_status = 200
        # What real Rasa keeps per conversation once a turn has finished: the user event (with the
        # gateway's metadata) and the bot's replies — the replay looks here before sending again.
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def texts(self, sender: str | None = None) -> list[str]:
        return [m["message"] for m in self.messages if sender is None or m["sender"] == sender]

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # A connection opened before ``down()`` may stay alive: it must not reach a "stopped" Rasa.
        if self._site is None:
            return web.Response(status=503, text="down", headers={"Connection": "close"})
        return await handler(request)

    async def _hello(self, request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "fake.tar.gz"})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.webhook_status != 200:
            return web.Response(status=self.webhook_status, text="broken")
        self.messages.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold is not None:
            await self.hold.wait()
        replies = self.script(body)
        events = self.trackers.setdefault(body["sender"], [])
        events.append({"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}})
        for reply in replies:
            data = {key: value for key, value in reply.items() if key not in ("recipient_id", "text")}
            events.append({"event": "bot", "text": reply.get("text"), "data": data})
        return web.json_response(replies)

    async def _tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "events": self.trackers.get(sender, [])})

    async def _events(self, request: web.Request) -> web.Response:
        self.resets.append((request.match_info["sender"], await request.json()))
        return web.json_response({"events": []})

    async def start(self) -> None:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/", self._hello)
        app.router.add_get("/status", self._status)
        app.router.add_get("/health", self._health)
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_put("/conversations/{sender}/tracker/events", self._events)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await self.up()

    async def up(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def down(self) -> None:
        """Stops listening: connections are refused, as when Rasa is restarting."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def stop(self) -> None:
        await self.down()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture(name="rasa")
async def rasa_fixture() -> AsyncIterator[FakeRasa]:
    """A started :class:`FakeRasa`; a test module uses it by importing ``rasa_fixture``."""
    fake = FakeRasa()
    await fake.start()
    yield fake
    await fake.stop()
