"""The resident relay end to end through the real PTB application and the local Bot API server.

Rasa is a small aiohttp stand-in the test scripts (:mod:`tests.auxil.fakerasa`: records requests, answers
what the test says, can be switched off); the real Rasa is exercised by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import relay, resident
from bot.texts import text
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import DANGER_ZH, advance, report, wait_until

RESIDENT = 1001


@pytest.fixture
async def gw(
    tmp_path: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningGateway]:
    monkeypatch.setattr(relay, "TYPING_EVERY", 0.3)
    async with running_gateway(tmp_path, rasa_url=rasa.url) as running:
        yield running


async def bot_texts(gw: RunningGateway, count: int, chat: int = RESIDENT, timeout: float = 10) -> list[str]:
    return [m["text"] for m in await gw.control.wait_for(chat, count, timeout=timeout)]


async def settle(seconds: float = 0.6) -> None:
    await asyncio.sleep(seconds)


async def shown(gw: RunningGateway, expected: str, timeout: float = 15) -> None:
    """Waits until ``expected`` is among the bot's messages to the resident."""
    deadline = asyncio.get_running_loop().time() + timeout
    while expected not in [m["text"] for m in await gw.control.messages(RESIDENT, from_bot=True)]:
        assert asyncio.get_running_loop().time() < deadline, f"never shown: {expected!r}"
        await asyncio.sleep(0.05)


async def answered(gw: RunningGateway, pressed: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    """The gateway's answer to one button press: the positive sign that its handler has finished."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for answer in await gw.control.callback_answers():
            if answer["callback_query_id"] == pressed["callback_query_id"]:
                return answer
        assert asyncio.get_running_loop().time() < deadline, "the press was never answered"
        await asyncio.sleep(0.05)


# -- text --------------------------------------------------------------------------------------------


async def test_text_goes_to_rasa_with_metadata_and_the_answer_comes_back(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await gw.control.send_text(RESIDENT, "楼上每天半夜拖椅子", language_code="zh-hans")
    assert await bot_texts(gw, 1) == ["echo: 楼上每天半夜拖椅子"]
    assert rasa.messages == [
        {
            "sender": str(RESIDENT),
            "message": "楼上每天半夜拖椅子",
            "metadata": {
                "language": "zh",
                "telegram_user_id": RESIDENT,
                "telegram_chat_id": RESIDENT,
                # The Telegram message, so a replay after a timeout changes nothing twice.
                "hemu_source": f"m:{RESIDENT}:1",
            },
        }
    ]


@pytest.mark.parametrize(
    ("code", "language"), [("en-GB", "en"), ("en", "en"), ("zh-hant", "zh"), ("fr", None), ("", None)]
)
async def test_language_comes_from_the_telegram_client(
    gw: RunningGateway, rasa: FakeRasa, code: str, language: str | None
) -> None:
    await gw.control.send_text(RESIDENT, "hello", language_code=code)
    await bot_texts(gw, 1)
    assert rasa.messages[0]["metadata"].get("language") == language


async def test_rasa_text_is_shown_literally_not_as_markup(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.script = lambda body: [{"text": "<b>not bold</b> & <script>"}, {"text": "second"}]
    await gw.control.send_text(RESIDENT, "hi")
    messages = await gw.control.wait_for(RESIDENT, 1)
    assert messages[0]["text"] == "<b>not bold</b> & <script>\n\nsecond"  # joined, literal
    assert messages[0]["parse_mode"] == "HTML"


async def test_typing_is_shown_and_renewed_while_rasa_thinks(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.delay = 1.0
    await gw.control.send_text(RESIDENT, "slow one")
    await bot_texts(gw, 1)
    calls = await gw.control.calls("sendChatAction")
    ours = [c for c in calls if int(c["params"]["chat_id"]) == RESIDENT]
    assert ours and all(c["params"]["action"] == "typing" for c in ours)
    assert len(ours) >= 3  # renewed every 0.3 s here (4 s in production)
    await settle(0.8)
    assert len(await gw.control.calls("sendChatAction")) == len(calls)  # stopped with the turn


async def test_a_long_answer_is_split_under_telegrams_limit(gw: RunningGateway, rasa: FakeRasa) -> None:
    paragraph = "邻里之间有话好好说。" * 50  # 500 characters
    rasa.script = lambda body: [{"text": "\n\n".join([paragraph] * 20)}]
    await gw.control.send_text(RESIDENT, "guidance please")
    pieces = await bot_texts(gw, 3)
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n\n".join(pieces) == "\n\n".join([paragraph] * 20)


async def test_commands_are_rasa_payloads(gw: RunningGateway, rasa: FakeRasa) -> None:
    for command in ("/start", "/help", "/status", "/privacy", "/cancel"):
        await gw.control.send_text(RESIDENT, command)
    await bot_texts(gw, 5)
    assert rasa.texts() == ["/greet", "/help", "/ask_status", "/ask_privacy", "/cancel"]


async def test_an_unknown_command_reaches_rasa_as_words_not_as_an_intent(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await gw.control.send_text(RESIDENT, "/frobnicate", language_code="en")
    assert await bot_texts(gw, 1) == ["echo: frobnicate"]
    assert rasa.texts() == ["frobnicate"]


async def test_the_commands_menu_is_set_in_both_languages(gw: RunningGateway) -> None:
    calls = await gw.control.calls("setMyCommands")
    by_language = {c["params"].get("language_code"): c["params"]["commands"] for c in calls}
    assert set(by_language) == {None, "zh", "en"}
    for language in ("zh", "en"):
        commands = by_language[language]
        if isinstance(commands, str):
            commands = json.loads(commands)
        assert [c["command"] for c in commands] == list(resident.MENU)
        assert commands[0]["description"] == text("command_start", language)


# -- buttons -----------------------------------------------------------------------------------------

LONG_PAYLOAD = '/cancel{"case_number":"HM-2026-000123","why":"we sorted it out ourselves"}'


def with_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body["message"].startswith("/"):
        return [{"text": f"got {body['message']}"}]
    return [
        {"text": "这些建议够用吗？"},
        {
            "text": "还是希望社区民警来跟进？",
            "buttons": [
                {"title": "我要找民警", "payload": "/request_officer"},
                {"title": "撤销案件", "payload": LONG_PAYLOAD},
            ],
        },
    ]


async def test_buttons_round_trip(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.script = with_buttons
    await gw.control.send_text(RESIDENT, "楼上太吵")
    [question] = await gw.control.wait_for(RESIDENT, 1)
    assert question["text"] == "这些建议够用吗？\n\n还是希望社区民警来跟进？"
    buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["我要找民警", "撤销案件"]
    assert buttons[0]["callback_data"] == "r:/request_officer"
    assert buttons[1]["callback_data"].startswith("rk:") and len(buttons[1]["callback_data"]) <= 64

    pressed = await gw.control.press(RESIDENT, question["message_id"], buttons[0]["callback_data"])
    texts = await bot_texts(gw, 2)
    assert texts[1] == "got /request_officer"
    assert rasa.texts()[-1] == "/request_officer"
    answers = await gw.control.callback_answers()
    assert any(a["callback_query_id"] == pressed["callback_query_id"] for a in answers)
    # The question now shows the choice and has no keyboard left to press.
    [edited] = [
        m
        for m in await gw.control.messages(RESIDENT, from_bot=True)
        if m["message_id"] == question["message_id"]
    ]
    assert edited["text"].endswith("➜ 我要找民警") and not edited.get("reply_markup")

    # A double tap on the old keyboard does not reach Rasa twice.
    again = await gw.control.press(RESIDENT, question["message_id"], buttons[0]["callback_data"])
    await answered(gw, again)
    assert rasa.texts().count("/request_officer") == 1


async def test_a_long_payload_travels_behind_a_hash(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.script = with_buttons
    await gw.control.send_text(RESIDENT, "楼上太吵")
    [question] = await gw.control.wait_for(RESIDENT, 1)
    data = question["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    await gw.control.press(RESIDENT, question["message_id"], data)
    await bot_texts(gw, 2)
    assert rasa.texts()[-1] == LONG_PAYLOAD


async def test_an_unknown_hashed_button_says_it_expired(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.script = with_buttons
    await gw.control.send_text(RESIDENT, "楼上太吵", language_code="en")
    [question] = await gw.control.wait_for(RESIDENT, 1)
    pressed = await gw.control.press(RESIDENT, question["message_id"], "rk:0123456789abcdef")
    assert (await answered(gw, pressed))["text"] == text("button_expired", "en")
    assert rasa.texts() == ["楼上太吵"]


# -- /language ---------------------------------------------------------------------------------------


async def test_language_choice_switches_rasa_and_the_gateway(gw: RunningGateway, rasa: FakeRasa) -> None:
    await gw.control.send_text(RESIDENT, "/language", language_code="zh-hans")
    [prompt] = await gw.control.wait_for(RESIDENT, 1)
    assert prompt["text"] == text("language_choose", "zh")
    buttons = [b for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [("中文", "lang:zh"), ("English", "lang:en")]

    await gw.control.press(RESIDENT, prompt["message_id"], "lang:en")
    await bot_texts(gw, 2)
    sent = rasa.messages[-1]
    assert sent["message"].startswith("/change_language")
    assert json.loads(sent["message"][len("/change_language") :]) == {"language": "en"}
    assert sent["metadata"]["language"] == "en"
    [edited] = [
        m
        for m in await gw.control.messages(RESIDENT, from_bot=True)
        if m["message_id"] == prompt["message_id"]
    ]
    assert edited["text"].endswith(text("language_chosen", "en")) and not edited.get("reply_markup")

    # From now on: English to Rasa and from the gateway, although the phone says Chinese.
    await gw.control.send_text(RESIDENT, "hello", language_code="zh-hans")
    await bot_texts(gw, 3)
    assert rasa.messages[-1]["metadata"]["language"] == "en"
    await gw.control.media(RESIDENT, "sticker")
    assert (await bot_texts(gw, 4))[-1] == text("media_sticker", "en")


# -- media and locations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("photo", "media_photo"),
        ("voice", "media_voice"),
        ("sticker", "media_sticker"),
        ("document", "media_document"),
    ],
)
async def test_media_get_a_sensible_answer_without_rasa(
    gw: RunningGateway, rasa: FakeRasa, kind: str, key: str
) -> None:
    await gw.control.media(RESIDENT, kind)
    assert await bot_texts(gw, 1) == [text(key, "zh")]
    assert rasa.messages == []


async def test_a_photo_caption_still_reaches_rasa(gw: RunningGateway, rasa: FakeRasa) -> None:
    gw.api.inject_message(
        RESIDENT,
        {
            "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 67}],
            "caption": "墙上的裂缝",
        },
        kind="photo",
    )
    assert await bot_texts(gw, 2) == [text("media_photo", "zh"), "echo: 墙上的裂缝"]


async def test_a_location_in_an_area_answers_where(gw: RunningGateway, rasa: FakeRasa) -> None:
    binhe = next(a for a in gw.gateway.settings.station.areas if a.id == "binhe")
    assert binhe.location is not None
    await gw.control.media(
        RESIDENT, "location", latitude=binhe.location.latitude + 0.001, longitude=binhe.location.longitude
    )
    texts = await bot_texts(gw, 2)
    assert texts == [text("location_area", "zh", area="滨河社区"), "echo: 滨河社区"]
    assert rasa.texts() == ["滨河社区"]


async def test_a_location_outside_every_area_asks_for_words(gw: RunningGateway, rasa: FakeRasa) -> None:
    await gw.control.media(RESIDENT, "location", latitude=39.9042, longitude=116.4074)
    assert await bot_texts(gw, 1) == [text("location_unknown", "zh")]
    assert rasa.messages == []


# -- outages -----------------------------------------------------------------------------------------


async def test_an_outage_keeps_messages_and_replays_them_in_order_once(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await rasa.down()
    for words in ("第一句", "第二句", "第三句"):
        await gw.control.send_text(RESIDENT, words)
    texts = await bot_texts(gw, 3)
    assert texts[0] == text("assistant_unavailable", "zh", emergency="110")
    assert texts[1:] == [text("queued_behind", "zh", emergency="110")] * 2
    pending = gw.store.inbound.pending()
    assert [r.text for r in pending] == ["第一句", "第二句", "第三句"]
    assert pending[0].metadata["telegram_chat_id"] == RESIDENT

    await settle(1.0)  # the replay loop keeps trying while Rasa is down: nothing lost, nothing sent
    assert len(gw.store.inbound.pending()) == 3

    await rasa.up()
    texts = await bot_texts(gw, 7, timeout=15)
    assert texts[3:] == [text("back_online", "zh"), "echo: 第一句", "echo: 第二句", "echo: 第三句"]

    # Back to normal: answered straight away, and only after the replay (one chat is handled in order),
    # so its answer is the sign that nothing replayed was sent twice.
    await gw.control.send_text(RESIDENT, "第四句")
    assert (await bot_texts(gw, 8))[-1] == "echo: 第四句"
    assert rasa.texts() == ["第一句", "第二句", "第三句", "第四句"]  # exactly once, in order
    await wait_until(lambda: gw.store.inbound.pending() == [])  # marked delivered once sent
    assert len(await gw.control.messages(RESIDENT, from_bot=True)) == 8


async def test_server_errors_count_as_an_outage_too(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.webhook_status = 503
    await gw.control.send_text(RESIDENT, "help", language_code="en")
    assert await bot_texts(gw, 1) == [text("assistant_unavailable", "en", emergency="110")]
    rasa.webhook_status = 200
    texts = await bot_texts(gw, 3, timeout=15)
    assert texts[1:] == [text("back_online", "en"), "echo: help"]


async def test_two_residents_outage_each_in_order(gw: RunningGateway, rasa: FakeRasa) -> None:
    other = 2002
    await rasa.down()
    await gw.control.send_text(RESIDENT, "a1")
    await gw.control.send_text(other, "b1")
    await gw.control.send_text(RESIDENT, "a2")
    await gw.control.send_text(other, "b2")
    await bot_texts(gw, 2)
    await bot_texts(gw, 2, chat=other)
    await rasa.up()
    assert (await bot_texts(gw, 5, timeout=15))[-2:] == ["echo: a1", "echo: a2"]
    assert (await bot_texts(gw, 5, chat=other, timeout=15))[-2:] == ["echo: b1", "echo: b2"]
    assert rasa.texts(str(RESIDENT)) == ["a1", "a2"] and rasa.texts(str(other)) == ["b1", "b2"]


# -- /forget -----------------------------------------------------------------------------------------


def open_case_for(gw: RunningGateway, resident_id: str) -> str:
    fields = {"language": "zh", "summary": "楼上602半夜拖椅子", "area_text": None, "harm": "none"}
    return gw.gateway.desk.open_case(report(resident_id=resident_id, **fields)).case.number


async def test_forget_erases_the_case_data_and_the_conversation(gw: RunningGateway, rasa: FakeRasa) -> None:
    number = open_case_for(gw, str(RESIDENT))
    await gw.control.send_text(RESIDENT, "/forget", language_code="en")
    [confirm] = await gw.control.wait_for(RESIDENT, 1)
    assert confirm["text"] == text("forget_confirm", "en")
    data = [b["callback_data"] for row in confirm["reply_markup"]["inline_keyboard"] for b in row]
    assert data == ["forget:yes", "forget:no"]
    await gw.control.press(RESIDENT, confirm["message_id"], "forget:yes")
    texts = await bot_texts(gw, 2)
    assert texts[1] == text("forget_done", "en", cases=1)
    assert rasa.resets == [(str(RESIDENT), [{"event": "restart"}])]
    case = gw.store.get(number)
    assert case is not None and case.resident_id != str(RESIDENT) and "602" not in (case.summary or "")
    assert gw.store.cases_for_resident(str(RESIDENT)) == []


async def test_a_conversation_quiet_past_the_retention_rule_is_erased_in_rasa(
    clock_file: Path, gw: RunningGateway, rasa: FakeRasa
) -> None:
    """The retention rule reaches Rasa's tracker too: the watcher queues a reset, the replay loop sends it."""
    await gw.control.send_text(RESIDENT, "楼上602天天吵")
    await shown(gw, "echo: 楼上602天天吵")
    await wait_until(lambda: gw.store.inbound.messages(str(RESIDENT))[0].status.value == "delivered")
    assert rasa.resets == []
    days = gw.gateway.settings.policy.retention.personal_details_days
    advance(clock_file, days=days + 1)
    await wait_until(lambda: rasa.resets, timeout=60)
    assert rasa.resets == [(str(RESIDENT), [{"event": "restart"}])]


async def test_danger_behind_a_queued_retention_reset_still_gets_the_emergency_number(
    clock_file: Path, gw: RunningGateway, rasa: FakeRasa
) -> None:
    """The retention rule puts a reset into the resident's queue; a message arriving behind it (Rasa
    away, so the reset waits) is still screened on arrival: 110 and a page now, and Rasa gets the reset
    before the message once it is back."""
    await gw.control.send_text(RESIDENT, "楼上602天天吵")
    await shown(gw, "echo: 楼上602天天吵")
    await wait_until(lambda: gw.store.inbound.messages(str(RESIDENT))[0].status.value == "delivered")
    await rasa.down()
    advance(clock_file, days=gw.gateway.settings.policy.retention.personal_details_days + 1)
    await wait_until(lambda: gw.store.inbound.has_pending(str(RESIDENT)), timeout=60)  # the reset, queued
    before = len(await gw.control.messages(RESIDENT, from_bot=True))
    await gw.control.send_text(RESIDENT, DANGER_ZH)
    said = await bot_texts(gw, before + 2)
    assert "110" in said[before] and "110" in said[before + 1]
    assert [c.priority.value for c in gw.store.cases_for_resident(str(RESIDENT))] == ["urgent"]
    await rasa.up()
    await shown(gw, f"echo: {DANGER_ZH}")
    assert rasa.resets == [(str(RESIDENT), [{"event": "restart"}])]


async def test_forget_can_be_declined(gw: RunningGateway, rasa: FakeRasa) -> None:
    number = open_case_for(gw, str(RESIDENT))
    await gw.control.send_text(RESIDENT, "/forget")
    [confirm] = await gw.control.wait_for(RESIDENT, 1)
    await gw.control.press(RESIDENT, confirm["message_id"], "forget:no")
    assert (await bot_texts(gw, 2))[1] == text("forget_cancelled", "zh")
    assert rasa.resets == []
    assert gw.store.get(number).resident_id == str(RESIDENT)  # type: ignore[union-attr]


async def test_forget_while_rasa_is_down_resets_the_conversation_later(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await rasa.down()
    await gw.control.send_text(RESIDENT, "我想说的事")  # kept for later...
    await bot_texts(gw, 1)
    await gw.control.send_text(RESIDENT, "/forget")
    [_, confirm] = await gw.control.wait_for(RESIDENT, 2)
    await gw.control.press(RESIDENT, confirm["message_id"], "forget:yes")
    assert (await bot_texts(gw, 3))[2] == text("forget_done_later", "zh", cases=0)
    await rasa.up()
    for _ in range(50):
        if rasa.resets:
            break
        await asyncio.sleep(0.2)
    assert rasa.resets == [(str(RESIDENT), [{"event": "restart"}])]
    # A new message is answered only after anything still waiting from before (one chat is handled in
    # order): once it is, the forgotten message has had every chance to be replayed.
    await gw.control.send_text(RESIDENT, "新的一句")
    await shown(gw, "echo: 新的一句")
    assert "我想说的事" not in rasa.texts()  # ...and erased with the rest, never replayed
    assert gw.store.inbound.pending() == []


# -- robustness --------------------------------------------------------------------------------------


async def test_an_edited_message_is_answered_politely_not_relayed(gw: RunningGateway, rasa: FakeRasa) -> None:
    sent = await gw.control.send_text(RESIDENT, "楼上很吵")
    await bot_texts(gw, 1)
    chat = {"id": RESIDENT, "type": "private", "first_name": "R"}
    gw.api._push_update(  # type: ignore[attr-defined]
        "edited_message",
        {
            "message_id": sent["message_id"],
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": "zh-hans"},
            "chat": chat,
            "date": 1,
            "edit_date": 2,
            "text": "楼下很吵",
        },
    )
    assert (await bot_texts(gw, 2))[1] == text("edited_ignored", "zh")
    assert rasa.texts() == ["楼上很吵"]


async def test_many_residents_at_once(gw: RunningGateway, rasa: FakeRasa) -> None:
    rasa.delay = 0.2
    residents = list(range(5000, 5040))
    await asyncio.gather(*(gw.control.send_text(r, f"hello from {r}") for r in residents))
    for r in residents:
        assert await bot_texts(gw, 1, chat=r, timeout=20) == [f"echo: hello from {r}"]
