"""Webhook mode: the Bot API server pushes updates to the gateway, which accepts only Telegram's secret."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import load_gateway_config
from hemu.errors import ConfigError
from scripts.processes import free_port
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.test_resident import RESIDENT, bot_texts

SECRET = "hemu-webhook-secret_1"


@pytest.fixture
async def hooked(tmp_path: Path, rasa: FakeRasa) -> AsyncIterator[tuple[RunningGateway, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    env = {
        "HEMU_WEBHOOK_URL": url,
        "HEMU_WEBHOOK_SECRET": SECRET,
        "HEMU_WEBHOOK_LISTEN": "127.0.0.1",
        "HEMU_WEBHOOK_PORT": str(port),
    }
    async with running_gateway(tmp_path, rasa_url=rasa.url, env=env) as running:
        yield running, url


async def test_updates_arrive_by_webhook_and_are_answered(
    hooked: tuple[RunningGateway, str], rasa: FakeRasa
) -> None:
    gateway, url = hooked
    calls = await gateway.control.calls("setWebhook")
    assert calls and calls[-1]["params"]["url"] == url
    assert calls[-1]["params"]["secret_token"] == SECRET
    assert not await gateway.control.calls("getUpdates")  # no polling in webhook mode

    await gateway.control.send_text(RESIDENT, "楼上太吵了")
    texts = await bot_texts(gateway, 1)
    assert rasa.texts(str(RESIDENT)) == ["楼上太吵了"]
    assert texts and texts[0]


def post(url: str, body: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_a_request_without_telegrams_secret_is_refused(
    hooked: tuple[RunningGateway, str], rasa: FakeRasa, secret: str | None
) -> None:
    _, url = hooked
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": RESIDENT, "type": "private"},
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "Mallory"},
            "text": "forged",
        },
    }
    status = await asyncio.to_thread(post, url, forged, secret)
    assert status == 403
    assert rasa.texts() == []


def test_webhook_settings_are_checked() -> None:
    config = load_gateway_config(
        {"HEMU_WEBHOOK_URL": "https://hemu.example/tg/hook", "HEMU_WEBHOOK_SECRET": "x"}
    )
    assert config.webhook_path == "tg/hook"
    with pytest.raises(ConfigError, match="HEMU_WEBHOOK_URL"):
        load_gateway_config({"HEMU_WEBHOOK_URL": "hemu.example/hook", "HEMU_WEBHOOK_SECRET": "x"})
