"""Fixtures for the officer console, notifier, watcher and rating tests.

Gateway tests run the real PTB application against the local Bot API server (tests/auxil/gateway.py) at a
fixed moment — Wednesday 2 December 2026, 10:00 at the sample station, when Wang Li (binhe) is on duty —
by pointing ``HEMU_CLOCK_FILE`` at a file whose shift lands the shared clock there. Officers are linked
the way real ones are: a code from ``store.officers.create_invite`` sent with ``/register``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hemu import clock as hemu_clock
from hemu.desk import Desk, Report
from hemu.settings import load_settings
from hemu.store import CaseRecord, Store
from sandbox.client import ControlError
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.conftest import REPO_ROOT, WEDNESDAY_10, Clock

# One private chat per officer of the sample roster; the supervisor is zhou_jian.
OFFICER_CHATS: dict[str, int] = {
    "wang_li": 7001,
    "zhao_min": 7002,
    "chen_hao": 7003,
    "sun_wei": 7004,
    "liu_yang": 7005,
    "zhou_jian": 7006,
}
RESIDENT = 9001
OTHER_RESIDENT = 9002
# Unmistakable danger and unmistakable calm, in both languages, for the screening tests (the real rules).
DANGER_ZH = "他拿着菜刀说要砍死我"
DANGER_EN = "My husband hit me again and says he will kill me"
HARMLESS_ZH = "楼上每天半夜拖椅子"
HARMLESS_EN = "Thanks, the officer was very helpful"


def report(**fields: Any) -> Report:
    """A noise complaint in Binhe (Wang Li's area) unless the test says otherwise."""
    values: dict[str, Any] = {
        "resident_id": str(RESIDENT),
        "language": "en",
        "category": "report_noise",
        "summary": "Loud music upstairs every night",
        "area_id": "binhe",
        "area_text": "Building 3",
    }
    values.update(fields)
    return Report(**values)


@pytest.fixture
def fixed_clock() -> Clock:
    return Clock(WEDNESDAY_10)


@pytest.fixture
def desk(tmp_path: Path, fixed_clock: Clock) -> Desk:
    """A desk over a fresh store, on a hand-set clock: for the pure card tests."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'cards.sqlite3'}")
    store.migrate()
    return Desk(load_settings(REPO_ROOT / "config"), store, clock=fixed_clock)


@pytest.fixture
def open_case(desk: Desk) -> Callable[..., CaseRecord]:
    def make(**fields: Any) -> CaseRecord:
        return desk.open_case(report(**fields)).case

    return make


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared clock, shifted so that "now" is Wednesday 10:00 at the station; tests move it on with
    :func:`hemu.clock.advance`."""
    path = tmp_path / "clock-shift"
    shift = (WEDNESDAY_10 - datetime.now(timezone.utc)).total_seconds()
    path.write_text(f"{shift}\n", encoding="utf-8")
    monkeypatch.setenv(hemu_clock.ENV, str(path))
    return path


def advance(path: Path, **delta: float) -> None:
    hemu_clock.advance(timedelta(**delta), path)


@pytest.fixture
async def gateway(tmp_path: Path, clock_file: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path) as running:
        yield running


async def register(
    running: RunningGateway, officer_id: str, chat_id: int | None = None, language_code: str = "zh-hans"
) -> dict[str, Any]:
    """Links an officer the real way: an invite code sent with /register; returns the bot's answer. The
    officer's Telegram app is Chinese unless the test says otherwise (its language is kept at /register)."""
    chat_id = chat_id or OFFICER_CHATS[officer_id]
    store = running.store
    code = await asyncio.to_thread(
        store.officers.create_invite, officer_id, hemu_clock.now(), timedelta(days=7)
    )
    before = len(await bot_messages(running, chat_id))
    await running.control.send_text(chat_id, f"/register {code}", language_code=language_code)
    messages = await running.control.wait_for(chat_id, before + 1)
    return messages[-1]


async def bot_messages(running: RunningGateway, chat_id: int) -> list[dict[str, Any]]:
    """The bot's messages in a chat as they are now; none for a chat that does not exist yet."""
    try:
        return await running.control.messages(chat_id, from_bot=True)
    except ControlError:
        return []


async def current(running: RunningGateway, chat_id: int, message_id: int) -> dict[str, Any]:
    """One bot message as it is now (edited text, remaining buttons)."""
    return next(m for m in await bot_messages(running, chat_id) if m["message_id"] == message_id)


async def register_all(running: RunningGateway) -> None:
    for officer_id in OFFICER_CHATS:
        await register(running, officer_id)


async def resident_says_hello(running: RunningGateway, user_id: int = RESIDENT) -> int:
    """Creates the resident's chat (Telegram only lets a bot write to someone who wrote first) without
    Rasa: a sticker is answered by the gateway itself. Returns the bot messages in the chat so far."""
    await running.control.media(user_id, "sticker")
    return len(await running.control.wait_for(user_id, 1))


async def wait_until(condition: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    """Polls a (sync or async) condition until it is truthy; fails the test with what it last saw."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(step)


def buttons(message: dict[str, Any]) -> list[str]:
    """Callback data of every inline button of a sandbox message, row by row."""
    markup = message.get("reply_markup") or {}
    return [button.get("callback_data") for row in markup.get("inline_keyboard", []) for button in row]


async def press(
    running: RunningGateway, user_id: int, message_id: int, data: str, chat_id: int | None = None
) -> dict[str, Any]:
    """Taps a button (in ``chat_id``, default the user's own chat) and returns the bot's
    answerCallbackQuery ({text, show_alert}) once it came."""
    pressed = await running.control.press(user_id, message_id, data, chat_id=chat_id)

    async def answered() -> dict[str, Any] | None:
        for answer in await running.control.callback_answers():
            if answer.get("callback_query_id") == pressed["callback_query_id"]:
                return answer
        return None

    return await wait_until(answered)


async def open_case_now(running: RunningGateway, **fields: Any) -> CaseRecord:
    """Opens a case through the gateway's own desk, as the action server would."""
    return (await asyncio.to_thread(running.gateway.desk.open_case, report(**fields))).case


async def latest(running: RunningGateway, chat_id: int, count: int) -> dict[str, Any]:
    """Waits for ``count`` bot messages in the chat and returns the newest."""
    return (await running.control.wait_for(chat_id, count))[-1]
