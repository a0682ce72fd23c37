"""The control API and ``python -m sandbox``: how tests and people play the humans on the other side."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from telegram import Bot, Message

from sandbox.client import AsyncControlClient, ControlClient, ControlError
from sandbox.server import LocalBotApi
from tests.sandbox.conftest import RESIDENT

REPO = Path(__file__).resolve().parents[2]


async def test_media_kinds_arrive_as_telegram_messages(bot: Bot, control: AsyncControlClient) -> None:
    for kind in ("photo", "voice", "sticker", "document"):
        await control.media(RESIDENT, kind)
    await control.media(RESIDENT, "location", latitude=31.5, longitude=120.25)
    messages = [u.message for u in await bot.get_updates()]
    assert all(isinstance(m, Message) for m in messages)
    photo, voice, sticker, document, location = messages  # type: ignore[misc]
    assert len(photo.photo) == 3 and photo.photo[-1].width == 1280 and photo.text is None
    assert voice.voice is not None and voice.voice.mime_type == "audio/ogg"
    assert sticker.sticker is not None and sticker.sticker.type == "regular"
    assert document.document is not None and document.document.file_name
    assert location.location is not None and (location.location.latitude, location.location.longitude) == (
        31.5,
        120.25,
    )
    kinds = [m["kind"] for m in await control.messages(RESIDENT)]
    assert kinds == ["photo", "voice", "sticker", "document", "location"]


async def test_wait_for_returns_bot_messages_or_says_what_arrived(
    bot: Bot, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "hi")

    async def reply_later() -> None:
        await asyncio.sleep(0.3)
        await bot.send_message(RESIDENT, "第一条")
        await bot.send_message(RESIDENT, "second")

    replying = asyncio.create_task(reply_later())
    messages = await control.wait_for(RESIDENT, 2, timeout=5)
    await replying
    assert [m["text"] for m in messages] == ["第一条", "second"]
    with pytest.raises(TimeoutError, match=r"2 of 3 messages.*第一条.*second"):
        await control.wait_for(RESIDENT, 3, timeout=0.3)
    everything = await control.wait_for(RESIDENT, 3, timeout=1, from_bot=None)
    assert [m["from_bot"] for m in everything] == [False, True, True]


async def test_press_needs_an_existing_bot_message(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    with pytest.raises(ControlError, match="404"):
        await control.press(RESIDENT, 1, "x")  # the resident's own message has no buttons
    with pytest.raises(ControlError, match="404"):
        await control.press(999, 1, "x")


async def test_reset_forgets_everything_but_update_ids_keep_rising(
    bot: Bot, control: AsyncControlClient
) -> None:
    before = await control.send_text(RESIDENT, "hi")
    await bot.send_message(RESIDENT, "hello")
    await control.fail("sendMessage", 500, "Internal Server Error")
    await control.reset()
    assert await control.messages(RESIDENT) == []
    assert await control.calls() == []
    with pytest.raises(Exception, match="Chat not found"):
        await bot.send_message(RESIDENT, "hello")
    after = await control.send_text(RESIDENT, "again", language_code=None)
    assert after["update_id"] > before["update_id"]
    [update] = await bot.get_updates(offset=before["update_id"] + 1)
    assert update.message is not None and update.message.from_user is not None
    assert update.message.from_user.language_code is None
    await bot.send_message(RESIDENT, "no scripted failure left")


async def test_sync_client_works_from_another_thread(api: LocalBotApi) -> None:
    def play() -> list[dict[str, object]]:
        client = ControlClient(api.url)
        client.send_text(RESIDENT, "from a thread", language_code="en", first_name="Li")
        return client.chats()

    chats = await asyncio.to_thread(play)
    assert chats[0]["chat_id"] == RESIDENT
    assert chats[0]["user"] == {"id": RESIDENT, "is_bot": False, "first_name": "Li", "language_code": "en"}


async def test_officers_get_stable_user_ids() -> None:
    officers = [{"officer_id": "wang.li", "name": "王力", "code": "ABC"}, {"officer_id": "x", "user_id": 5}]
    async with LocalBotApi(officers=officers) as api:
        listed = await AsyncControlClient(api.url).officers()
        again = LocalBotApi(officers=list(reversed(officers))).officers
    ids = {o["officer_id"]: o["user_id"] for o in listed}
    assert ids["x"] == 5
    assert ids == {o["officer_id"]: o["user_id"] for o in again}


def test_command_line_serves_page_and_health_until_sigterm(tmp_path: Path) -> None:
    officers = tmp_path / "officers.json"
    officers.write_text(
        json.dumps([{"officer_id": "wang.li", "name": "王力", "code": "C0DE"}]), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--officers", str(officers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("sandbox: http://127.0.0.1:") and line.endswith("/")
        url = line.split(" ", 1)[1]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "health", timeout=5) as response:
            assert response.read() == b"ok"
        with opener.open(url, timeout=5) as response:
            page = response.read().decode()
        assert "/static/app.js" in page and "http" not in page.replace('href="/static', "")
        with opener.open(url + "static/app.js", timeout=5) as response:
            assert b"LABELS" in response.read()
        client = ControlClient(url)
        assert client.officers()[0]["code"] == "C0DE"
        # make run writes fresh invite codes on every start: the page sees them without a sandbox restart
        officers.write_text(
            json.dumps([{"officer_id": "wang.li", "name": "王力", "code": "NEW"}]), encoding="utf-8"
        )
        os.utime(officers, (1, 1))
        assert client.officers()[0]["code"] == "NEW"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_command_line_refuses_non_loopback_hosts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--host", "0.0.0.0"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "loopback" in result.stderr
