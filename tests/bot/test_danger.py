"""No way around the screening (SPEC §6), through the real gateway, the local Bot API server and a real
case desk; Rasa is the scripted stand-in (:mod:`tests.auxil.fakerasa`), the danger rules are the real ones.

Channels the gateway answers itself — a rating comment, an edited message, the words after a command, a
message kept while Rasa is down — must give the safety reply with the station's emergency number in the
resident's language and exactly one urgent case. Channels Rasa answers — text, captions, "/…" text — must
reach Rasa as the resident's words (never as an intent payload), so Rasa screens them; the end-to-end tests
check Rasa's answer to them.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import danger, relay, screening
from bot.texts import text
from hemu.cases import CaseState, Priority
from hemu.settings import load_settings
from hemu.store import CaseRecord, InboundStatus
from tests.auxil.fakerasa import FakeRasa, echo, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import (
    DANGER_EN,
    DANGER_ZH,
    HARMLESS_EN,
    HARMLESS_ZH,
    OFFICER_CHATS,
    RESIDENT,
    bot_messages,
    latest,
    open_case_now,
    press,
    register,
    register_all,
    resident_says_hello,
    wait_until,
)

EMERGENCY = "110"  # config/station.yml: the first emergency number
PAGED = {"zh": "紧急案件编号", "en": "urgent case"}


@pytest.fixture
async def gw(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningGateway]:
    monkeypatch.setattr(relay, "TYPING_EVERY", 0.3)
    async with running_gateway(tmp_path, rasa_url=rasa.url) as running:
        yield running


async def bot_texts(gw: RunningGateway, count: int, timeout: float = 15) -> list[str]:
    return [m["text"] for m in await gw.control.wait_for(RESIDENT, count, timeout=timeout)]


def urgent_cases(gw: RunningGateway) -> list[CaseRecord]:
    return [c for c in gw.store.cases_for_resident(str(RESIDENT)) if c.priority is Priority.URGENT]


def expected_safety(gw: RunningGateway, written: str, language: str) -> str:
    """The safety reply as the resident reads it (the sandbox shows HTML as plain text)."""
    risks = screening.dangers(written)
    assert risks, f"the rules no longer find danger in {written!r}: pick another test sentence"
    return html.unescape(danger.safety_reply(gw.gateway.settings.station, risks, language))


def assert_safety_and_one_page(
    gw: RunningGateway, said: list[str], written: str, language: str
) -> CaseRecord:
    """``said`` starts with the safety reply, then names the one urgent case; both carry the number."""
    safety, notice = said[0], said[1]
    assert safety == expected_safety(gw, written, language)
    assert EMERGENCY in safety and EMERGENCY in notice
    [case] = urgent_cases(gw)
    assert case.number in notice and PAGED[language] in notice
    assert case.category == "danger" and set(case.risk_flags) == screening.dangers(written)
    return case


def push_edit(gw: RunningGateway, message_id: int, content: dict[str, Any], language_code: str) -> None:
    """The resident edits one of their messages (Telegram sends an ``edited_message`` update)."""
    gw.api._push_update(  # type: ignore[attr-defined]
        "edited_message",
        {
            "message_id": message_id,
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": language_code},
            "chat": {"id": RESIDENT, "type": "private", "first_name": "R"},
            "date": 1,
            "edit_date": 2,
            **content,
        },
    )


def photo(caption: str) -> dict[str, Any]:
    return {
        "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 67}],
        "caption": caption,
    }


# -- the safety reply ------------------------------------------------------------------------------------


def test_the_safety_reply_carries_the_stations_numbers_in_the_residents_language() -> None:
    station = load_settings().station
    zh = html.unescape(danger.safety_reply(station, {"violence", "weapon"}, "zh"))
    assert zh.startswith("您的安全最重要") and "报警 110" in zh and "急救 120" in zh
    assert "不要上前争夺" in zh  # how to get safe from a weapon (content/safety.yml)
    assert "12338" in zh and "12356" not in zh  # the help-lines for violence, not for self-harm
    en = html.unescape(danger.safety_reply(station, {"self_harm"}, "en"))
    assert en.startswith("Your safety comes first") and "Police 110" in en
    assert "12356" in en and "12338" not in en


def test_the_self_harm_reply_speaks_to_the_resident_or_about_the_person_at_risk() -> None:
    station = load_settings().station
    own = html.unescape(danger.safety_reply(station, {"self_harm"}, "en", "I can't go on"))
    assert "you are not alone" in own and "Stay with the person" not in own
    other = html.unescape(danger.safety_reply(station, {"self_harm"}, "en", "my son says he wants to die"))
    assert "Stay with the person" in other


# -- typed "/…" text and captions reach Rasa as words ----------------------------------------------------


async def test_payload_looking_text_is_never_executed_as_an_intent(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    typed = ['/report_noise{"a":1}', "/affirm", "  /request_officer", "/ inform"]
    for count, words in enumerate(typed, start=1):
        await gw.control.send_text(RESIDENT, words)
        await bot_texts(gw, count)
    assert rasa.texts() == ['report_noise{"a":1}', "affirm", "request_officer", "inform"]
    assert not any(t.strip().startswith("/") for t in rasa.texts())
    assert urgent_cases(gw) == []


async def test_button_payloads_and_known_commands_still_work(gw: RunningGateway, rasa: FakeRasa) -> None:
    def ask(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body["message"] == HARMLESS_ZH:
            return [{"text": "需要民警吗？", "buttons": [{"title": "要", "payload": "/request_officer"}]}]
        return echo(body)

    rasa.script = ask
    await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    [question] = await gw.control.wait_for(RESIDENT, 1)
    await gw.control.press(RESIDENT, question["message_id"], "r:/request_officer")
    await bot_texts(gw, 2)
    await gw.control.send_text(RESIDENT, "/status")
    await bot_texts(gw, 3)
    assert rasa.texts() == [HARMLESS_ZH, "/request_officer", "/ask_status"]


async def test_danger_after_a_slash_reaches_rasa_as_words(gw: RunningGateway, rasa: FakeRasa) -> None:
    await gw.control.send_text(RESIDENT, f"/{DANGER_ZH}")
    assert await bot_texts(gw, 1) == [f"echo: {DANGER_ZH}"]
    assert rasa.texts() == [DANGER_ZH]  # Rasa screens it like any message


async def test_a_lone_slash_is_not_sent_to_rasa(gw: RunningGateway, rasa: FakeRasa) -> None:
    await gw.control.send_text(RESIDENT, "/", language_code="en")
    assert await bot_texts(gw, 1) == [text("empty_reply", "en")]
    assert rasa.messages == []


@pytest.mark.parametrize("kind", ["photo", "voice"])
async def test_a_caption_reaches_rasa_as_words(gw: RunningGateway, rasa: FakeRasa, kind: str) -> None:
    voice = {"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}, "caption": f"/{DANGER_ZH}"}
    gw.api.inject_message(RESIDENT, photo(f"/{DANGER_ZH}") if kind == "photo" else voice, kind=kind)
    assert (await bot_texts(gw, 2))[1] == f"echo: {DANGER_ZH}"
    assert rasa.texts() == [DANGER_ZH]


# -- while Rasa is down ----------------------------------------------------------------------------------


async def test_danger_while_rasa_is_down_is_answered_at_once_and_paged_once(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await rasa.down()
    await gw.control.send_text(RESIDENT, DANGER_ZH)
    said = await bot_texts(gw, 3)
    case = assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
    assert said[2] == text("assistant_unavailable", "zh", emergency=EMERGENCY)
    [kept] = gw.store.inbound.pending()
    assert kept.text == DANGER_ZH and kept.metadata[relay.PAGED_MARK] == case.number

    # Back up: the conversation gets the message once, in order; the case stays the only one.
    await rasa.up()
    said = await bot_texts(gw, 5)
    assert said[3:] == [text("back_online", "zh"), f"echo: {DANGER_ZH}"]
    assert rasa.texts() == [DANGER_ZH]
    assert [c.number for c in urgent_cases(gw)] == [case.number]


async def test_each_message_waiting_behind_is_screened_on_arrival_too(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await rasa.down()
    await gw.control.send_text(RESIDENT, HARMLESS_EN, language_code="en")
    assert await bot_texts(gw, 1) == [text("assistant_unavailable", "en", emergency=EMERGENCY)]
    await gw.control.send_text(RESIDENT, DANGER_EN, language_code="en")
    said = await bot_texts(gw, 4)
    assert_safety_and_one_page(gw, said[1:], DANGER_EN, "en")
    assert said[3] == text("queued_behind", "en", emergency=EMERGENCY)


async def test_a_dangerous_caption_while_rasa_is_down(gw: RunningGateway, rasa: FakeRasa) -> None:
    await rasa.down()
    gw.api.inject_message(RESIDENT, photo(DANGER_ZH), kind="photo")
    said = await bot_texts(gw, 4)
    assert said[0] == text("media_photo", "zh")
    assert_safety_and_one_page(gw, said[1:], DANGER_ZH, "zh")


async def test_danger_after_a_slash_while_rasa_is_down(gw: RunningGateway, rasa: FakeRasa) -> None:
    await rasa.down()
    await gw.control.send_text(RESIDENT, f"/{DANGER_EN}", language_code="zh-hans")
    said = await bot_texts(gw, 3)
    case = assert_safety_and_one_page(gw, said, DANGER_EN, "en")  # the language they wrote in
    assert case.summary == DANGER_EN  # the words, not the slash


async def test_when_no_officer_can_be_paged_the_resident_is_told_to_call_110(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_back = False
    working = gw.gateway.desk.open_urgent_case

    def broken(*args: object) -> Any:
        if store_back:
            return working(*args)
        raise RuntimeError("the case store is away")

    monkeypatch.setattr(gw.gateway.desk, "open_urgent_case", broken)
    monkeypatch.setattr(danger, "PAGE_RETRY_EVERY", 0.2)
    await rasa.down()
    await gw.control.send_text(RESIDENT, DANGER_EN, language_code="en")
    said = await bot_texts(gw, 3)
    assert said[0] == expected_safety(gw, DANGER_EN, "en")
    station = gw.gateway.settings.station.station
    failed = text(
        "danger_case_failed",
        "en",
        emergency=EMERGENCY,
        station_name=station.name.en,
        station_phone=station.phone,
    )
    assert said[1:] == [failed, text("assistant_unavailable", "en", emergency=EMERGENCY)]
    # Not marked as paged: Rasa gets its own chance to page when it is back.
    [kept] = gw.store.inbound.pending()
    assert relay.PAGED_MARK not in kept.metadata
    # The store comes back: the page the gateway kept trying opens the urgent case, late but not never.
    store_back = True
    said = await bot_texts(gw, 4)
    [case] = urgent_cases(gw)
    assert case.number in said[3] and PAGED["en"] in said[3]


async def test_harmless_text_while_rasa_is_down_pages_nobody(gw: RunningGateway, rasa: FakeRasa) -> None:
    await rasa.down()
    await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    assert await bot_texts(gw, 1) == [text("assistant_unavailable", "zh", emergency=EMERGENCY)]
    [kept] = gw.store.inbound.pending()
    assert relay.PAGED_MARK not in kept.metadata
    assert gw.store.cases_for_resident(str(RESIDENT)) == []


async def test_a_paged_message_is_not_replayed_once_an_officer_dealt_with_it(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await register_all(gw)
    await rasa.down()
    await gw.control.send_text(RESIDENT, DANGER_ZH)
    case = assert_safety_and_one_page(gw, await bot_texts(gw, 3), DANGER_ZH, "zh")
    desk = gw.gateway.desk
    await asyncio.to_thread(desk.officer_act, case.number, case.officer_id, "resolve", note="Came at once.")

    await rasa.up()

    def dropped() -> bool:
        return [m.status for m in gw.store.inbound.messages(str(RESIDENT))] == [InboundStatus.DROPPED]

    await wait_until(dropped)
    await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    await wait_until(lambda: rasa.texts() == [HARMLESS_ZH])  # Rasa never saw the message paged already
    assert [c.number for c in urgent_cases(gw)] == [case.number]
    assert gw.store.get(case.number).state is CaseState.RESOLVED


# -- edited messages -------------------------------------------------------------------------------------


async def test_a_dangerous_edit_is_answered_not_relayed(gw: RunningGateway, rasa: FakeRasa) -> None:
    sent = await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    await bot_texts(gw, 1)
    push_edit(gw, sent["message_id"], {"text": DANGER_ZH}, "zh-hans")
    said = await bot_texts(gw, 3)
    assert_safety_and_one_page(gw, said[1:], DANGER_ZH, "zh")
    assert rasa.texts() == [HARMLESS_ZH]


async def test_a_dangerous_edited_caption_in_english(gw: RunningGateway, rasa: FakeRasa) -> None:
    sent = gw.api.inject_message(RESIDENT, photo("our fence"), kind="photo", language_code="en")
    await bot_texts(gw, 2)
    push_edit(gw, sent["message_id"], photo(DANGER_EN), "en")
    said = await bot_texts(gw, 4)
    assert_safety_and_one_page(gw, said[2:], DANGER_EN, "en")


async def test_a_harmless_edit_pages_nobody(gw: RunningGateway, rasa: FakeRasa) -> None:
    sent = await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    await bot_texts(gw, 1)
    push_edit(gw, sent["message_id"], {"text": "楼上每天半夜拖桌子"}, "zh-hans")
    assert (await bot_texts(gw, 2))[1] == text("edited_ignored", "zh")
    assert gw.store.cases_for_resident(str(RESIDENT)) == []


# -- the words after a known command ---------------------------------------------------------------------


async def test_danger_after_a_known_command_is_answered_and_the_command_still_runs(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    await gw.control.send_text(RESIDENT, f"/help {DANGER_ZH}")
    said = await bot_texts(gw, 3)
    assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
    assert said[2] == "echo: /help" and rasa.texts() == ["/help"]


@pytest.mark.parametrize(
    ("command", "written", "language"), [("/stats", DANGER_ZH, "zh"), ("/cases", DANGER_EN, "en")]
)
async def test_danger_after_an_officers_command_sent_by_a_resident_is_answered(
    gw: RunningGateway, rasa: FakeRasa, command: str, written: str, language: str
) -> None:
    """/stats, /cases and /case are refused to residents ("officers only"); the words after them were
    refused with the command, unscreened, until the station report's review found it."""
    await gw.control.send_text(RESIDENT, f"{command} {written}", language_code="zh-hans")
    said = await bot_texts(gw, 3)
    assert_safety_and_one_page(gw, said, written, language)
    assert said[2] == text("officer_only", "zh") and rasa.texts() == []
    assert len(urgent_cases(gw)) == 1


async def test_harmless_words_after_a_command_page_nobody(gw: RunningGateway, rasa: FakeRasa) -> None:
    await gw.control.send_text(RESIDENT, "/start hello")
    assert await bot_texts(gw, 1) == ["echo: /greet"]
    assert gw.store.cases_for_resident(str(RESIDENT)) == []


# -- rating comments -------------------------------------------------------------------------------------


async def rated(gw: RunningGateway, language: str) -> tuple[str, int]:
    """A case Wang Li resolved and the resident rated 4; returns its number and the chat's message count."""
    await register(gw, "wang_li")
    hello = await resident_says_hello(gw)
    case = await open_case_now(gw, language=language)
    await asyncio.to_thread(gw.gateway.desk.officer_act, case.number, "wang_li", "resolve", note="Done.")
    request = await latest(gw, RESIDENT, hello + 1)
    await press(gw, RESIDENT, request["message_id"], f"rate:{case.number}:4")
    await latest(gw, RESIDENT, hello + 2)  # thanks, and the question for a comment
    return case.number, hello + 2


@pytest.mark.parametrize(("language", "comment"), [("zh", DANGER_ZH), ("en", DANGER_EN)])
async def test_a_dangerous_rating_comment_is_kept_and_answered(
    gw: RunningGateway, rasa: FakeRasa, language: str, comment: str
) -> None:
    number, count = await rated(gw, language)
    await gw.control.send_text(RESIDENT, comment, language_code=language)
    said = await bot_texts(gw, count + 2)
    assert_safety_and_one_page(gw, said[count:], comment, language)
    assert gw.store.get(number).rating_comment == comment
    assert text("rating_comment_thanks", language) not in said
    assert rasa.messages == []


async def test_a_harmless_rating_comment_is_thanked_and_pages_nobody(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    number, count = await rated(gw, "en")
    await gw.control.send_text(RESIDENT, HARMLESS_EN, language_code="en")
    assert (await bot_texts(gw, count + 1))[-1] == text("rating_comment_thanks", "en")
    assert gw.store.get(number).rating_comment == HARMLESS_EN
    assert urgent_cases(gw) == []


async def test_what_a_resident_wrote_reaches_the_officer_escaped(gw: RunningGateway, rasa: FakeRasa) -> None:
    await register_all(gw)
    await rasa.down()
    written = f"{DANGER_ZH} <b>快来</b> & 报警"
    await gw.control.send_text(RESIDENT, written)
    await bot_texts(gw, 3)
    [case] = urgent_cases(gw)
    chat = OFFICER_CHATS[case.officer_id]

    async def card() -> str | None:
        texts = [m.get("text") or "" for m in await bot_messages(gw, chat)]
        return next((t for t in texts if case.number in t), None)

    shown = await wait_until(card)
    assert "<b>快来</b> & 报警" in shown  # literally, not as markup


async def test_a_safety_reply_telegram_will_not_take_now_is_delivered_later(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    """The old sender gave up after three tries and the resident in danger never saw the number."""
    await rasa.down()
    await gw.control.fail("sendMessage", 502, "Bad Gateway", chat_id=RESIDENT, times=4)
    await gw.control.send_text(RESIDENT, DANGER_ZH)
    said = await bot_texts(gw, 3, timeout=30)
    assert expected_safety(gw, DANGER_ZH, "zh") in said
    assert all(EMERGENCY in line for line in said)
    [case] = urgent_cases(gw)
    assert any(case.number in line for line in said)


async def test_danger_is_answered_while_the_store_is_too_slow_to_journal_it(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make chaos, store locked 40 s: the message waited for its journal entry before anyone screened
    it, and 110 came 40 s late. Now the safety reply and the page come while the journal still waits;
    once it is kept, Rasa gets the message once and its answer does not repeat the safety reply."""
    monkeypatch.setattr(relay, "JOURNAL_SLOW", 0.2)
    unlocked = threading.Event()
    add = gw.store.inbound.add

    def locked_add(*args: Any, **kwargs: Any) -> Any:
        unlocked.wait(60)
        return add(*args, **kwargs)

    monkeypatch.setattr(gw.store.inbound, "add", locked_add)
    try:
        await gw.control.send_text(RESIDENT, DANGER_ZH)
        said = await bot_texts(gw, 2, timeout=20)  # while the journal is still locked
        assert not unlocked.is_set()
        assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
        assert rasa.texts() == []
    finally:
        unlocked.set()
    said = await bot_texts(gw, 3)
    assert said[2] == f"echo: {DANGER_ZH}" and rasa.texts() == [DANGER_ZH]
    await wait_until(lambda: [m.status for m in gw.store.inbound.messages()] == [InboundStatus.DELIVERED])
    assert len(urgent_cases(gw)) == 1


# -- danger behind the resident's earlier message ------------------------------------------------------


async def test_danger_does_not_wait_for_the_turn_an_earlier_message_holds(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make chaos: the replay held a resident's turn while it waited 30 s for a locked store, and the
    danger message behind it waited too — 110 came 31 s late. Now the safety reply and the page come while
    the earlier turn still holds; then the message takes its turn: Rasa gets it once, no second page."""
    monkeypatch.setattr(relay, "TURN_SLOW", 0.2)
    turn = gw.gateway.resident_state().lock(str(RESIDENT))
    await turn.acquire()  # an earlier message of this resident (here: the replay) holds the turn
    try:
        await gw.control.send_text(RESIDENT, DANGER_ZH)
        said = await bot_texts(gw, 2, timeout=20)
        assert turn.locked()
        assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
        assert rasa.texts() == []
    finally:
        turn.release()
    said = await bot_texts(gw, 3)
    assert said[2] == f"echo: {DANGER_ZH}" and rasa.texts() == [DANGER_ZH]
    assert len(urgent_cases(gw)) == 1


async def test_words_without_danger_simply_wait_their_turn(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "TURN_SLOW", 0.2)
    screened = asyncio.Event()
    screen_fairly = danger.screen_fairly

    async def noted(*args: Any, **kwargs: Any) -> frozenset[str]:
        found = await screen_fairly(*args, **kwargs)
        screened.set()
        return found

    monkeypatch.setattr(danger, "screen_fairly", noted)
    turn = gw.gateway.resident_state().lock(str(RESIDENT))
    await turn.acquire()
    try:
        await gw.control.send_text(RESIDENT, HARMLESS_ZH)
        await asyncio.wait_for(screened.wait(), 20)  # screened while waiting: nothing found
        assert rasa.texts() == [] and urgent_cases(gw) == []
    finally:
        turn.release()
    said = await bot_texts(gw, 1)
    assert said == [f"echo: {HARMLESS_ZH}"] and urgent_cases(gw) == []


@pytest.mark.parametrize(
    ("written", "relayed"), [(DANGER_ZH, DANGER_ZH), (f"/help {DANGER_ZH}", "/help")], ids=["text", "command"]
)
async def test_danger_behind_a_slow_rasa_turn_is_answered_while_it_waits(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch, written: str, relayed: str
) -> None:
    """The resident's first message is still with a busy Rasa; what they send next waits for that turn in
    the update processor (one chat, one update at a time) — up to Rasa's timeout. Danger in it is answered
    and paged while it waits; once Rasa is free both are relayed in order and nothing is said twice."""
    monkeypatch.setattr(relay, "SLOW_AFTER", 120.0)  # no "still thinking" note in the count
    rasa.hold = asyncio.Event()
    await gw.control.send_text(RESIDENT, HARMLESS_ZH)
    await wait_until(lambda: rasa.texts() == [HARMLESS_ZH])  # Rasa has the first, and holds it
    await gw.control.send_text(RESIDENT, written)
    said = await bot_texts(gw, 2, timeout=20)
    assert rasa.texts() == [HARMLESS_ZH]  # still holding the first turn
    assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
    rasa.hold.set()
    said = await bot_texts(gw, 4)
    assert said[2:] == [f"echo: {HARMLESS_ZH}", f"echo: {relayed}"]
    assert rasa.texts() == [HARMLESS_ZH, relayed]
    assert len(urgent_cases(gw)) == 1
