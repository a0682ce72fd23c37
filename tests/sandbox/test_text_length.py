"""The local Bot API server measures a message as Telegram does: the visible text after entity parsing, in
UTF-16 code units. Counting Python characters let 4,000 emoji through that Telegram refuses, so a card too
long for Telegram passed every test; counting the raw HTML would refuse cards Telegram accepts."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from sandbox.client import AsyncControlClient
from tests.sandbox.conftest import RESIDENT


@pytest.mark.parametrize(
    ("text", "parse_mode"),
    [
        ("😡" * 2049, None),  # 2,049 characters, 4,098 units
        ("𠀀" * 2049, None),  # astral CJK: two units each as well
        ("<b>" + "😡" * 2048 + "</b>x", ParseMode.HTML),
        ("&amp;" * 4097, ParseMode.HTML),
    ],
    ids=["emoji", "astral-cjk", "emoji-html", "escapes"],
)
async def test_more_than_4096_visible_units_is_too_long(
    bot: Bot, control: AsyncControlClient, text: str, parse_mode: str | None
) -> None:
    await control.send_text(RESIDENT, "hi")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(RESIDENT, text, parse_mode=parse_mode)


async def test_tags_and_escapes_cost_what_the_reader_sees(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    text = "<b>" + "😡" * 2000 + "</b>" + "&lt;" * 96  # 4,000 + 96 units seen; far more in HTML
    sent = await bot.send_message(RESIDENT, text, parse_mode=ParseMode.HTML)
    assert sent.text == "😡" * 2000 + "<" * 96


async def test_an_edit_is_measured_the_same_way(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    sent = await bot.send_message(RESIDENT, "card")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.edit_message_text("😡" * 2049, RESIDENT, sent.message_id)
    edited = await bot.edit_message_text("😡" * 2048, RESIDENT, sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "😡" * 2048
