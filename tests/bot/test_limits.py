"""The resident limits through the real gateway (local Bot API server, fake Rasa): past 20 messages a minute
nothing reaches Rasa and the resident is told once, danger always gets through, and past three urgent pages
a day the gateway's own danger answer still gives the emergency numbers and puts the words on the case.

Each test ends on a positive signal that comes after everything it asserts about: a dangerous message
sent last is answered only once every earlier message of that chat was handled (one chat, in order).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import danger, screening
from bot.texts import text
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import DANGER_EN, DANGER_ZH, advance, wait_until

RESIDENT = 4001
LIMIT = 20


@pytest.fixture
async def gw(tmp_path: Path, clock_file: Path, rasa: FakeRasa) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, rasa_url=rasa.url) as running:
        assert running.gateway.settings.policy.resident_limits.messages_per_minute == LIMIT
        yield running


def write(gw: RunningGateway, *texts: str) -> None:
    """The resident sends these at once, as fast as a script would."""
    for words in texts:
        gw.api.inject_message(RESIDENT, {"text": words})


async def bot_texts(gw: RunningGateway, count: int) -> list[str]:
    return [m["text"] for m in await gw.control.wait_for(RESIDENT, count, timeout=30)]


async def landed_in(gw: RunningGateway, expected: str) -> list[str] | None:
    """The resident's chat once ``expected`` is in it."""
    shown = [m["text"] for m in await gw.control.messages(RESIDENT, from_bot=True)]
    return shown if expected in shown else None


async def test_past_twenty_a_minute_nothing_is_read_the_resident_is_told_once_and_danger_gets_through(
    gw: RunningGateway, rasa: FakeRasa, clock_file: Path
) -> None:
    harmless = [f"楼上又吵了 {n}" for n in range(LIMIT)]
    ignored = [f"还在吵 {n}" for n in range(30)]
    write(gw, *harmless, DANGER_ZH, *ignored, DANGER_EN)
    notice = text("messages_throttled", "zh", emergency="110")
    assert await bot_texts(gw, LIMIT + 3) == [
        *(f"echo: {words}" for words in harmless),
        f"echo: {DANGER_ZH}",  # the 21st, dangerous: read
        notice,  # the 22nd: not read, told once for all 30
        f"echo: {DANGER_EN}",  # dangerous again: read, after all of them
    ]
    assert rasa.texts() == [*harmless, DANGER_ZH, DANGER_EN]

    advance(clock_file, seconds=61)  # a minute later they are read again
    write(gw, "现在安静了")
    assert (await bot_texts(gw, LIMIT + 4))[-1] == "echo: 现在安静了"


async def test_a_flood_of_stickers_is_not_answered_with_a_flood(gw: RunningGateway, rasa: FakeRasa) -> None:
    for _ in range(LIMIT + 10):
        await gw.control.media(RESIDENT, "sticker")
    write(gw, DANGER_EN)
    sticker = text("media_sticker", "zh")
    assert await bot_texts(gw, LIMIT + 2) == [
        *[sticker] * LIMIT,
        text("messages_throttled", "zh", emergency="110"),
        f"echo: {DANGER_EN}",
    ]
    assert rasa.texts() == [DANGER_EN]


async def test_the_fourth_page_of_the_day_gets_the_safety_reply_and_lands_on_the_case(
    gw: RunningGateway,
) -> None:
    desk = gw.gateway.desk

    def three_pages() -> str:
        number = ""
        for n in range(3):
            case = desk.open_urgent_case(str(RESIDENT), "zh", f"他又动手了 {n}", ["violence"]).case
            desk.officer_act(case.number, case.officer_id, "resolve", note="talked to both")
            number = case.number
        return number

    newest = await asyncio.to_thread(three_pages)
    cards = [n.id for n in gw.store.outbox.notifications() if n.kind == "case_assigned"]
    sent = await gw.control.send_text(RESIDENT, "你好")
    # An edit gets no Rasa turn: the gateway answers danger in it itself (bot/danger.py).
    gw.api._push_update(  # type: ignore[attr-defined]
        "edited_message",
        {
            "message_id": sent["message_id"],
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": "zh-hans"},
            "chat": {"id": RESIDENT, "type": "private", "first_name": "R"},
            "date": 1,
            "edit_date": 2,
            "text": DANGER_ZH,
        },
    )
    case = gw.store.get(newest)
    assert case is not None
    officer = desk.officer(case.officer_id)
    landed = text(
        "danger_limit_extended",
        "zh",
        number=newest,
        officer_title=officer.title.zh,
        officer_name=officer.name.zh,
        emergency="110",
    )
    # The chat also holds the three resolved cases' notices: look for the two answers by their words.
    shown = await wait_until(lambda: landed_in(gw, landed))
    risks = screening.dangers(DANGER_ZH)
    safety = html.unescape(danger.safety_reply(gw.gateway.settings.station, risks, "zh", DANGER_ZH))
    assert "110" in safety
    assert shown.index(safety) < shown.index(landed)  # the numbers first, whatever the limit
    assert len(gw.store.cases_for_resident(str(RESIDENT))) == 3
    assert [n.id for n in gw.store.outbox.notifications() if n.kind == "case_assigned"] == cards  # no page
    # (The officer never registered here, so the supervisor is also told of the undelivered cards.)
    details = [n for n in gw.store.outbox.notifications(newest) if n.kind == "case_update"][-1]
    assert DANGER_ZH in details.payload["text"]
