"""Webhook mode: updates are POSTed to a loopback receiver with the secret header, retried until accepted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest

from sandbox.client import AsyncControlClient
from tests.sandbox.conftest import RESIDENT


class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 that can be told to fail its first requests."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.failures_left = 0
        self.attempts = 0
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=500)
        self.received.append(
            (json.loads(await request.text()), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        self.arrived.set()
        return web.Response(text="ok")

    async def wait(self, count: int) -> None:
        async def enough() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), 10)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def test_updates_are_posted_with_the_secret_header(
    bot: Bot, control: AsyncControlClient, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token="s3cret-Token_1")
    sent = await control.send_text(RESIDENT, "你好")
    await receiver.wait(1)
    update, secret = receiver.received[0]
    assert secret == "s3cret-Token_1"
    assert update["update_id"] == sent["update_id"]
    assert update["message"]["text"] == "你好"
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0


async def test_failed_deliveries_are_retried_in_order(
    bot: Bot, control: AsyncControlClient, receiver: Receiver
) -> None:
    receiver.failures_left = 2
    await bot.set_webhook(receiver.url)
    first = await control.send_text(RESIDENT, "one")
    second = await control.send_text(RESIDENT, "two")
    await receiver.wait(2)
    assert [u["update_id"] for u, _ in receiver.received] == [first["update_id"], second["update_id"]]
    assert receiver.attempts == 4
    assert receiver.received[0][1] is None  # no secret configured, no header
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "500" in info.last_error_message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://10.0.0.1/hook",
        "http://127.0.0.1.example.com/hook",
        "ftp://127.0.0.1/",
    ],
)
async def test_only_loopback_webhooks_are_accepted(bot: Bot, url: str) -> None:
    with pytest.raises(BadRequest, match="Bad webhook"):
        await bot.set_webhook(url)
    assert (await bot.get_webhook_info()).url == ""


async def test_drop_pending_updates_and_back_to_polling(bot: Bot, control: AsyncControlClient) -> None:
    await bot.set_webhook("http://localhost:9/hook")  # nothing listens there: deliveries keep failing
    await control.send_text(RESIDENT, "lost")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.delete_webhook(drop_pending_updates=True)
    kept = await control.send_text(RESIDENT, "kept")
    assert [u.update_id for u in await bot.get_updates()] == [kept["update_id"]]
