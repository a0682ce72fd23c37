"""Fixtures: a fresh local Bot API server per test, a real PTB ``Bot`` pointed at it, the control client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from sandbox.client import AsyncControlClient
from sandbox.server import LocalBotApi

TOKEN = "123456789:SANDBOX-TEST-TOKEN"
RESIDENT = 10001


@pytest.fixture
async def api() -> AsyncIterator[LocalBotApi]:
    server = LocalBotApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: LocalBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{api.url}/bot") as telegram_bot:
        yield telegram_bot


@pytest.fixture
def control(api: LocalBotApi) -> AsyncControlClient:
    return AsyncControlClient(api.url)
