"""The officers' console through the real gateway and the local Bot API server: registering, case cards,
buttons (and refusals of stale or forged ones), resolving with a note, hand-over, /cases, /case, /stats."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot import notifier
from hemu import clock as hemu_clock
from hemu.cases import CaseState
from hemu.store import OutboxStatus
from sandbox.server import LocalBotApi
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    RESIDENT,
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
ZHAO = OFFICER_CHATS["zhao_min"]
CHEN = OFFICER_CHATS["chen_hao"]
ZHOU = OFFICER_CHATS["zhou_jian"]


async def test_register_links_the_chat_and_explains_bad_codes(gateway: RunningGateway) -> None:
    control = gateway.control
    await control.send_text(WANG, "/register", language_code="en")
    assert "followed by the invite code" in (await latest(gateway, WANG, 1))["text"]
    await control.send_text(WANG, "/register nosuchcode", language_code="en")
    assert "not known" in (await latest(gateway, WANG, 2))["text"]

    welcome = await register(gateway, "wang_li")
    assert "欢迎，王丽" in welcome["text"]  # officers read the station's language
    assert gateway.store.officers.officer_for_chat(WANG) == "wang_li"

    code = gateway.store.officers.create_invite("chen_hao", hemu_clock.now(), timedelta(days=1))
    await control.send_text(CHEN, f"/register {code}", language_code="en")
    await latest(gateway, CHEN, 1)
    await control.send_text(ZHAO, f"/register {code}", language_code="en")
    assert "already been used" in (await latest(gateway, ZHAO, 1))["text"]

    old = gateway.store.officers.create_invite(
        "zhao_min", hemu_clock.now() - timedelta(days=2), timedelta(days=1)
    )
    await control.send_text(ZHAO, f"/register {old}", language_code="zh-hans")
    assert "已过期" in (await latest(gateway, ZHAO, 2))["text"]
    assert gateway.store.officers.officer_for_chat(ZHAO) is None


async def test_guessing_invite_codes_is_stopped_for_an_hour(gateway: RunningGateway) -> None:
    control = gateway.control
    for n in range(5):
        await control.send_text(ZHAO, f"/register guess{n:06d}", language_code="en")
    assert "not known" in (await latest(gateway, ZHAO, 5))["text"]
    code = gateway.store.officers.create_invite("zhao_min", hemu_clock.now(), timedelta(days=1))
    await control.send_text(ZHAO, f"/register {code}", language_code="en")
    assert "Too many wrong invite codes" in (await latest(gateway, ZHAO, 6))["text"]
    assert gateway.store.officers.officer_for_chat(ZHAO) is None  # not even a right code counts now

    hemu_clock.advance(timedelta(hours=1, minutes=1))
    await control.send_text(ZHAO, f"/register {code}", language_code="en")
    await latest(gateway, ZHAO, 7)
    assert gateway.store.officers.officer_for_chat(ZHAO) == "zhao_min"


async def test_officer_commands_are_refused_to_residents(gateway: RunningGateway) -> None:
    await resident_says_hello(gateway)
    for command in ("/cases", "/stats", "/case HM-2026-000001"):
        await gateway.control.send_text(RESIDENT, command, language_code="en")
    messages = await gateway.control.wait_for(RESIDENT, 4)
    assert all("only for registered officers" in m["text"] for m in messages[1:])

    await register(gateway, "wang_li")
    case = await open_case_now(gateway)
    await latest(gateway, WANG, 2)
    answer = await press(gateway, RESIDENT, messages[-1]["message_id"], f"o:ack:{case.number}:{case.version}")
    assert answer["show_alert"] and "only for registered officers" in answer["text"]
    assert gateway.store.get(case.number).state is CaseState.OPEN


async def test_card_arrives_escaped_and_acknowledging_tells_the_resident_once(
    gateway: RunningGateway,
) -> None:
    await register(gateway, "wang_li")
    hello = await resident_says_hello(gateway)
    case = await open_case_now(gateway, summary="Party <b>& shouting</b> at 3am")
    card = await latest(gateway, WANG, 2)
    assert card["parse_mode"] == "HTML"
    assert "Party <b>& shouting</b> at 3am" in card["text"]  # shown literally, not as markup
    assert case.number in card["text"]
    assert buttons(card) == [
        f"o:ack:{case.number}:1",
        f"o:contact:{case.number}:1",
        f"o:resolve:{case.number}:1",
        f"o:handover:{case.number}:1",
    ]

    answer = await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:1")
    assert not answer["show_alert"]
    update = await latest(gateway, RESIDENT, hello + 1)
    assert case.number in update["text"] and "has your case" in update["text"]
    assert "Wang Li" in update["text"]

    async def edited() -> dict | None:
        shown = await current(gateway, WANG, card["message_id"])
        return shown if shown["edited"] else None

    edited_card = await wait_until(edited)
    assert "已确认" in edited_card["text"]  # the state, in the officer's language (station default: zh)
    assert [b.split(":")[1] for b in buttons(edited_card)] == ["contact", "resolve", "handover"]

    # The same (now old) button again: nothing changes, nobody is told twice.
    again = await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:1")
    assert "已经处理过了" in again["text"]
    # Whatever the press queued would be in the outbox now; wait until all of it has gone out.
    await wait_until(
        lambda: all(
            n.status is not OutboxStatus.PENDING for n in gateway.store.outbox.notifications(case.number)
        )
    )
    assert len(await bot_messages(gateway, RESIDENT)) == hello + 1
    acks = [e for e in gateway.store.events(case.number) if e.to_state is CaseState.ACKNOWLEDGED]
    assert len(acks) == 1


async def test_forged_stale_and_foreign_presses_change_nothing(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "chen_hao")
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)
    version = gateway.store.get(case.number).version

    forged = await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:x")
    assert forged["show_alert"] and "按钮无效" in forged["text"]
    stale = await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:{version + 5}")
    assert stale["show_alert"] and "已过时" in stale["text"]
    unknown = await press(gateway, WANG, card["message_id"], "o:ack:HM-2026-999999:1")
    assert unknown["show_alert"] and "HM-2026-999999" in unknown["text"]

    # Another officer (not the supervisor) cannot act on Wang Li's case, even with a well-formed button.
    chen_message = (await bot_messages(gateway, CHEN))[-1]
    foreign = await press(gateway, CHEN, chen_message["message_id"], f"o:ack:{case.number}:{version}")
    assert foreign["show_alert"] and "负责民警或所长" in foreign["text"]
    await gateway.control.send_text(CHEN, f"/case {case.number}")
    assert "不归您负责" in (await latest(gateway, CHEN, 2))["text"]

    current = gateway.store.get(case.number)
    assert current.state is CaseState.OPEN and current.version == version


async def test_resolve_asks_for_a_note_and_a_low_rating_reopens_to_the_supervisor(
    gateway: RunningGateway,
) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "zhou_jian")
    hello = await resident_says_hello(gateway)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)

    await press(gateway, WANG, card["message_id"], f"o:resolve:{case.number}:1")
    assert "处理说明" in (await latest(gateway, WANG, 3))["text"]
    await gateway.control.send_text(WANG, "/cancel")
    assert "已取消" in (await latest(gateway, WANG, 4))["text"]
    assert gateway.store.get(case.number).state is CaseState.OPEN

    await press(gateway, WANG, card["message_id"], f"o:resolve:{case.number}:1")
    await latest(gateway, WANG, 5)
    await gateway.control.send_text(WANG, "Talked to both neighbours; music off by 22:00 <agreed>")
    assert case.number in (await latest(gateway, WANG, 6))["text"]
    resolved = gateway.store.get(case.number)
    assert resolved.state is CaseState.RESOLVED
    assert resolved.resolution_note == "Talked to both neighbours; music off by 22:00 <agreed>"

    rating_request = await latest(gateway, RESIDENT, hello + 1)
    assert "marked your case" in rating_request["text"]
    assert buttons(rating_request) == [f"rate:{case.number}:{n}" for n in range(1, 6)]

    await press(gateway, RESIDENT, rating_request["message_id"], f"rate:{case.number}:2")
    thanks = await latest(gateway, RESIDENT, hello + 2)
    assert "Thank you for rating" in thanks["text"] and "reopened" in thanks["text"]
    assert "Zhou Jian" in thanks["text"]
    assert buttons(thanks) == [f"rate:skip:{case.number}"]
    reopened = gateway.store.get(case.number)
    assert (
        reopened.state in (CaseState.REOPENED, CaseState.HANDED_OVER) and reopened.officer_id == "zhou_jian"
    )

    supervisor_card = await latest(gateway, ZHOU, 2)
    assert case.number in supervisor_card["text"]
    assert any(b.startswith("o:resolve:") for b in buttons(supervisor_card))

    await gateway.control.send_text(RESIDENT, "They only stopped for one night.", language_code="en")
    assert "comment" in (await latest(gateway, RESIDENT, hello + 3))["text"]
    assert gateway.store.get(case.number).rating_comment == "They only stopped for one night."


async def test_hand_over_to_a_chosen_officer(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "zhao_min")
    hello = await resident_says_hello(gateway)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)

    await press(gateway, WANG, card["message_id"], f"o:handover:{case.number}:1")

    async def choice() -> list[str] | None:
        shown = await current(gateway, WANG, card["message_id"])
        data = buttons(shown)
        return data if any(d.startswith("o:to:") for d in data) else None

    data = await wait_until(choice)
    assert f"o:to:{case.number}:1:zhao_min" in data and f"o:auto:{case.number}:1" in data
    assert not any(d.endswith(":wang_li") for d in data)

    done = await press(gateway, WANG, card["message_id"], f"o:to:{case.number}:1:zhao_min")
    assert "赵敏" in done["text"]
    moved = gateway.store.get(case.number)
    assert moved.officer_id == "zhao_min" and moved.state is CaseState.HANDED_OVER
    zhao_card = await latest(gateway, ZHAO, 2)
    assert case.number in zhao_card["text"] and "王丽" in zhao_card["text"]  # handed over from Wang Li
    assert any(b.startswith("o:ack:") for b in buttons(zhao_card))
    told = await latest(gateway, RESIDENT, hello + 1)
    assert "Zhao Min" in told["text"]

    # Wang Li's card now shows the case without buttons: it is not theirs any more.
    async def card_without_buttons() -> bool:
        shown = await current(gateway, WANG, card["message_id"])
        return not buttons(shown)

    await wait_until(card_without_buttons)
    again = await press(gateway, WANG, card["message_id"], f"o:to:{case.number}:1:zhao_min")
    assert not again["show_alert"]


async def test_cases_case_and_stats(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "zhou_jian")
    await register(gateway, "chen_hao")  # Xincun's officer: otherwise the supervisor hears of the lost card
    first = await open_case_now(gateway)
    second = await open_case_now(gateway, category="report_pet_dispute", summary="A dog barks all day")
    other = await open_case_now(gateway, resident_id="9002", area_id="xincun", summary="Noise in Xincun")
    await gateway.control.wait_for(WANG, 3)

    await gateway.control.send_text(WANG, "/cases")
    listing = await latest(gateway, WANG, 4)
    assert first.number in listing["text"] and second.number in listing["text"]
    assert other.number not in listing["text"]
    assert f"o:open:{first.number}" in buttons(listing)

    await gateway.control.send_text(ZHOU, "/cases")
    everything = await wait_until(
        lambda: _with(gateway, ZHOU, other.number),
    )
    assert first.number in everything["text"]

    await press(gateway, WANG, listing["message_id"], f"o:open:{first.number}")
    shown = await latest(gateway, WANG, 5)
    assert shown["text"].count(first.number) >= 1 and any(b.startswith("o:ack:") for b in buttons(shown))

    typed = first.number.replace("HM-", "hm－").replace("-0000", "-")
    await gateway.control.send_text(WANG, f"/case {typed}")
    assert first.number in (await latest(gateway, WANG, 6))["text"]
    await gateway.control.send_text(WANG, "/case 12")
    assert "/case" in (await latest(gateway, WANG, 7))["text"]

    await gateway.control.send_text(WANG, "/stats")
    stats = await latest(gateway, WANG, 8)  # the report's chart, its figures for this week the caption
    assert stats["photo"] and "满意率" in stats["text"] and "期末未结 3 件" in stats["text"]

    await gateway.control.send_text(WANG, "hello?")
    assert "/cases" in (await latest(gateway, WANG, 9))["text"]  # officers get help, never Rasa


async def _with(gateway: RunningGateway, chat_id: int, needle: str) -> dict | None:
    for message in reversed(await bot_messages(gateway, chat_id)):
        if needle in (message.get("text") or ""):
            return message
    return None


async def test_a_note_asked_for_before_a_gateway_restart_is_taken_after_it(
    tmp_path: Path, clock_file: Path
) -> None:
    """The question lived in the gateway's memory: after a restart the officer's note got the help text and
    the case stayed open. It is in the store now (hemu/store/pending_notes.py)."""
    api = LocalBotApi()
    await api.start()
    try:
        async with running_gateway(tmp_path, api=api) as first:
            await register(first, "wang_li")
            await resident_says_hello(first)
            case = await open_case_now(first)
            card = await latest(first, WANG, 2)
            await press(first, WANG, card["message_id"], f"o:resolve:{case.number}:1")
            assert "处理说明" in (await latest(first, WANG, 3))["text"]
        async with running_gateway(tmp_path, api=api, store=first.store) as second:
            await second.control.send_text(WANG, "Both sides agreed on quiet hours.")
            assert case.number in (await latest(second, WANG, 4))["text"]
            resolved = second.store.get(case.number)
            assert resolved.state is CaseState.RESOLVED
            assert resolved.resolution_note == "Both sides agreed on quiet hours."
            assert second.store.pending_notes.get(WANG) is None
    finally:
        await api.stop()


# -- only the officer, only in their own private chat ----------------------------------------------

GROUP = -1_001_234_567_890  # a supergroup Wang Li is a member of


def _in_group(gateway: RunningGateway, user_id: int, text: str) -> None:
    """A member of a group writes there (the sandbox's users only write in private chats)."""
    gateway.api._push_update(  # type: ignore[attr-defined]
        "message",
        {
            "message_id": 1,
            "from": {"id": user_id, "is_bot": False, "first_name": "W", "language_code": "en"},
            "chat": {"id": GROUP, "type": "supergroup", "title": "Binhe neighbours"},
            "date": 1,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    )


async def _said_to_group(gateway: RunningGateway, words: str) -> str:
    """What the bot tried to send to the group containing ``words`` (the sandbox has no such chat, so
    Telegram's answer is "chat not found"; what was tried is what counts)."""

    async def said() -> str | None:
        texts = [
            c["params"]["text"]
            for c in await gateway.control.calls("sendMessage")
            if str(c["params"].get("chat_id")) == str(GROUP)
        ]
        return next((text for text in texts if words in text), None)

    return await wait_until(said)


async def test_the_console_works_only_in_the_officers_own_private_chat(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Authorised by the chat, a group's members were all the officer, and anyone pressing a card's
    button in the officer's chat was the officer too."""
    code = gateway.store.officers.create_invite("wang_li", hemu_clock.now(), timedelta(days=1))
    _in_group(gateway, WANG, f"/register {code}")
    await _said_to_group(gateway, "register in a private chat")
    # Telegram refused the answer ("chat not found"): the error handler logged the update by its ids,
    # not with what was written in it (before: the whole update, the code and the group's name too).
    await wait_until(lambda: "error while handling update" in caplog.text)
    assert code not in caplog.text and "Binhe neighbours" not in caplog.text
    assert gateway.store.officers.officer_for_chat(GROUP) is None
    assert [i.status(hemu_clock.now()) for i in gateway.store.officers.invites("wang_li")] == ["valid"]

    await register(gateway, "wang_li")
    _in_group(gateway, WANG, "/cases")
    await _said_to_group(gateway, "only in a private chat")

    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)
    # Someone else's tap on Wang Li's card, in Wang Li's chat (a shared phone, a forwarded card).
    answer = await press(gateway, ZHAO, card["message_id"], f"o:ack:{case.number}:1", chat_id=WANG)
    assert answer["show_alert"] and "只供已登记的民警使用" in answer["text"]  # Zhao Min's app is Chinese
    assert gateway.store.get(case.number).state is CaseState.OPEN


async def test_an_officer_taken_off_the_roster_loses_the_console_and_the_cards_at_once(
    gateway: RunningGateway,
) -> None:
    """``active: false`` in roster.yml only stopped new assignments: the officer kept /cases, /case N with
    residents' contacts, and the cards of cases still theirs."""
    await register(gateway, "wang_li")
    await register(gateway, "zhou_jian")
    running = gateway.gateway
    roster = running.settings.roster
    off = [o.copy(update={"active": False}) if o.id == "wang_li" else o for o in roster.officers]
    # The gateway reads the changed roster; the desk (the action server's, in production) has not yet.
    running.settings = replace(running.settings, roster=roster.copy(update={"officers": off}))

    await gateway.control.send_text(WANG, "/cases", language_code="en")
    assert "only for registered officers" in (await latest(gateway, WANG, 2))["text"]
    case = await open_case_now(gateway)  # still assigned to Wang Li by the desk's older roster
    assert case.officer_id == "wang_li"
    alert = await latest(gateway, ZHOU, 2)  # the supervisor hears the card could not go out
    assert case.number in alert["text"] and "未能送达" in alert["text"]
    assert all(case.number not in m["text"] for m in await bot_messages(gateway, WANG))


async def test_forgetting_a_resident_edits_the_officers_copies(gateway: RunningGateway) -> None:
    """/forget erased the store, but the card with the resident's words stayed in the officer's chat,
    as did a card shown again with /case N."""
    await register(gateway, "wang_li")
    case = await open_case_now(
        gateway, summary="Zhang at No. 5 hits his wife", contact_consent=True, contact="138 0000 1234"
    )
    card = await latest(gateway, WANG, 2)
    await gateway.control.send_text(WANG, f"/case {case.number}")
    shown = await latest(gateway, WANG, 3)
    assert "hits his wife" in card["text"] and "hits his wife" in shown["text"]
    await wait_until(lambda: gateway.store.officer_messages.count(case.number) == 2)

    await asyncio.to_thread(gateway.gateway.desk.forget_resident, str(RESIDENT))
    notifier.wake(gateway.gateway)

    async def erased(message_id: int) -> dict | None:
        now = await current(gateway, WANG, message_id)
        return now if "asked to be forgotten" in now["text"] or "删除其个人信息" in now["text"] else None

    for message in (card, shown):
        edited = await wait_until(lambda message=message: erased(message["message_id"]))
        assert "hits his wife" not in edited["text"] and "138" not in edited["text"]
        assert case.number in edited["text"] and not edited.get("reply_markup")
    # Edited in place; whatever else the officer was told says nothing of the resident's words either.
    assert all("hits his wife" not in m["text"] for m in await bot_messages(gateway, WANG))
