"""The resident's side of closing a case: rating buttons, the optional comment (and its window), and the
follow-up a week after closing. Everything else the resident writes passes on to the conversation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hemu.cases import CaseState
from tests.auxil.gateway import RunningGateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    RESIDENT,
    advance,
    bot_messages,
    buttons,
    current,
    latest,
    open_case_now,
    press,
    register,
    resident_says_hello,
    wait_until,
)

WANG = OFFICER_CHATS["wang_li"]


async def _resolved_case(gateway: RunningGateway, language: str = "en") -> tuple[str, dict, int]:
    """A case Wang Li resolved; returns its number, the rating request and the resident's message count."""
    await register(gateway, "wang_li")
    hello = await resident_says_hello(gateway)
    case = await open_case_now(gateway, language=language)
    await asyncio.to_thread(gateway.gateway.desk.officer_act, case.number, "wang_li", "resolve", note="Done.")
    request = await latest(gateway, RESIDENT, hello + 1)
    assert buttons(request) == [f"rate:{case.number}:{n}" for n in range(1, 6)]
    return case.number, request, hello + 1


async def test_a_good_rating_closes_and_skip_ends_the_comment_window(gateway: RunningGateway) -> None:
    number, request, count = await _resolved_case(gateway)
    await press(gateway, RESIDENT, request["message_id"], f"rate:{number}:5")
    thanks = await latest(gateway, RESIDENT, count + 1)
    assert "Thank you for rating" in thanks["text"] and "reopened" not in thanks["text"]
    closed = gateway.store.get(number)
    assert closed.state is CaseState.CLOSED and closed.rating == 5

    # The rating request lost its buttons; pressing an old one again changes nothing.
    async def spent() -> bool:
        return not buttons(await current(gateway, RESIDENT, request["message_id"]))

    await wait_until(spent)
    again = await press(gateway, RESIDENT, request["message_id"], f"rate:{number}:1")
    assert "already rated" in again["text"]
    assert gateway.store.get(number).rating == 5

    skipped = await press(gateway, RESIDENT, thanks["message_id"], f"rate:skip:{number}")
    assert "no comment" in skipped["text"]
    before = len(await bot_messages(gateway, RESIDENT))
    await gateway.control.send_text(RESIDENT, "What about my other problem?", language_code="en")
    await latest(gateway, RESIDENT, before + 1)  # answered as a message of its own (Rasa's turn)
    assert gateway.store.get(number).rating_comment is None


async def test_the_comment_window_closes_after_30_minutes(gateway: RunningGateway, clock_file: Path) -> None:
    number, request, count = await _resolved_case(gateway, language="zh")
    await press(gateway, RESIDENT, request["message_id"], f"rate:{number}:4")
    thanks = await latest(gateway, RESIDENT, count + 1)
    assert "谢谢您为案件" in thanks["text"]
    advance(clock_file, minutes=31)
    before = len(await bot_messages(gateway, RESIDENT))
    await gateway.control.send_text(RESIDENT, "还有一件事")
    await latest(gateway, RESIDENT, before + 1)  # answered as a message of its own (Rasa's turn)
    assert gateway.store.get(number).rating_comment is None


async def test_follow_up_a_week_after_closing(gateway: RunningGateway, clock_file: Path) -> None:
    number, request, count = await _resolved_case(gateway)
    await press(gateway, RESIDENT, request["message_id"], f"rate:{number}:4")
    await latest(gateway, RESIDENT, count + 1)
    advance(clock_file, days=7, hours=1)
    follow_up = await latest(gateway, RESIDENT, count + 2)
    assert number in follow_up["text"]
    assert buttons(follow_up) == [f"fu:{number}:back", f"fu:{number}:fine"]
    await press(gateway, RESIDENT, follow_up["message_id"], f"fu:{number}:back")
    back = await latest(gateway, RESIDENT, count + 3)
    assert "reopened" in back["text"] and "Wang Li" in back["text"]
    assert gateway.store.get(number).state is CaseState.REOPENED
    # Wang Li hears about it and gets the case again.
    assert any(number in (m["text"] or "") for m in (await bot_messages(gateway, WANG))[2:])
