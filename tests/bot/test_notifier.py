"""The outbox sender: each notification reaches its chat once, in the right language, whatever Telegram
answers — flood control, a blocked bot, a missing chat, network trouble, or a gateway restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import NetworkError

from bot import notices, notifier
from hemu import clock as hemu_clock
from hemu.desk import Desk
from hemu.settings import load_settings
from hemu.store import CaseRecord, OutboxStatus, Store
from sandbox.server import LocalBotApi
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    RESIDENT,
    bot_messages,
    buttons,
    latest,
    open_case_now,
    press,
    register,
    report,
    resident_says_hello,
    wait_until,
)
from tests.bot.offline import notice, offline_gateway

WANG = OFFICER_CHATS["wang_li"]


def _sent_to(gateway: RunningGateway, chat_id: int) -> list:
    return [
        n
        for n in gateway.store.outbox.notifications()
        if n.status is OutboxStatus.SENT and n.recipient.endswith(f":{chat_id}")
    ]


def _settled(
    gateway: RunningGateway, number: str, recipient: str, status: OutboxStatus = OutboxStatus.SENT
) -> list:
    return [
        n
        for n in gateway.store.outbox.notifications(number)
        if n.recipient == recipient and n.status is status
    ]


async def _send_calls(gateway: RunningGateway, chat_id: int) -> list[dict]:
    calls = await gateway.control.calls("sendMessage")
    return [c for c in calls if str(c["params"].get("chat_id")) == str(chat_id)]


async def test_flood_control_is_honoured(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await gateway.control.fail(
        "sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=WANG
    )
    before = len(await _send_calls(gateway, WANG))
    case = await open_case_now(gateway)
    started = asyncio.get_running_loop().time()
    card = await latest(gateway, WANG, 2)
    assert asyncio.get_running_loop().time() - started >= 0.9  # waited as told, no busy loop
    assert case.number in card["text"]
    assert len(await _send_calls(gateway, WANG)) - before == 2  # the refused try and the one that worked
    [assigned] = await wait_until(lambda: _settled(gateway, case.number, "officer:wang_li"))
    assert "RetryAfter" in (assigned.last_error or "")


async def test_a_resident_who_blocked_the_bot_is_dropped_once(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await resident_says_hello(gateway)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)
    await gateway.control.block(RESIDENT)
    before = len(await _send_calls(gateway, RESIDENT))
    await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:1")
    [notification] = await wait_until(
        lambda: _settled(gateway, case.number, f"resident:{RESIDENT}", OutboxStatus.DROPPED)
    )
    assert "blocked" in (notification.last_error or "")
    # Dropped is final (only pending rows are claimed): the one refused try is all there was.
    assert len(await _send_calls(gateway, RESIDENT)) == before + 1


async def test_residents_without_telegram_and_unlinked_officers_are_dropped(gateway: RunningGateway) -> None:
    case = await open_case_now(gateway, resident_id="rest-tester")  # a REST channel sender
    assignment = await wait_until(
        lambda: [
            n for n in gateway.store.outbox.notifications(case.number) if n.status is OutboxStatus.DROPPED
        ]
    )
    assert "no linked Telegram chat" in (assignment[0].last_error or "")  # nobody registered yet

    await register(gateway, "wang_li")
    gateway.store.transition(case.number, "acknowledged", hemu_clock.now(), actor="officer:wang_li")
    # A resident update queued by the store directly, for the REST sender: dropped with the reason.
    from hemu.store import Notification

    gateway.store.add_details(
        case.number,
        "more",
        hemu_clock.now(),
        actor="resident:rest-tester",
        notify=[
            Notification("resident:rest-tester", "case_update", {"number": case.number, "event": "closed"})
        ],
    )
    [dropped] = await wait_until(
        lambda: _settled(gateway, case.number, "resident:rest-tester", OutboxStatus.DROPPED)
    )
    assert dropped.last_error == "not a Telegram resident"
    details = await latest(gateway, WANG, 2)  # the officer still hears about the added details
    assert "more" in details["text"] and buttons(details) == [f"o:open:{case.number}"]


async def test_network_errors_back_off_and_then_deliver(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await gateway.control.fail("sendMessage", 502, "Bad Gateway", chat_id=WANG, times=2)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)  # after 1 s and 2 s of backoff
    assert case.number in card["text"]
    [assigned] = await wait_until(lambda: _settled(gateway, case.number, "officer:wang_li"))
    assert assigned.failures == 2 and "Bad Gateway" in (assigned.last_error or "")


def test_backoff_doubles_and_is_capped() -> None:
    delays = [notifier.backoff(n) for n in range(1, 12)]
    assert delays[:4] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert max(delays) == timedelta(minutes=5)
    assert issubclass(NetworkError, Exception)


async def test_nothing_is_lost_or_repeated_across_a_restart(tmp_path: Path, clock_file: Path) -> None:
    api = LocalBotApi()
    await api.start()
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    try:
        # First gateway: officers register, then it polls the outbox only once a minute.
        async with running_gateway(
            tmp_path, api=api, store=store, env={"HEMU_NOTIFY_INTERVAL": "60"}
        ) as first:
            await register(first, "wang_li")
            await register(first, "chen_hao")
            hello = await resident_says_hello(first)
        # While no gateway runs, cases are opened (the action server keeps working) ...
        desk = Desk(load_settings(), store)
        numbers = [desk.open_case(report(summary=f"case {n}")).case.number for n in range(3)]
        numbers.append(
            desk.open_case(report(resident_id="9002", area_id="xincun", summary="xincun case")).case.number
        )
        assert all(n.status is OutboxStatus.PENDING for n in store.outbox.notifications())
        # ... and the next gateway delivers every card exactly once.
        async with running_gateway(tmp_path, api=api, store=store) as second:
            await second.control.wait_for(WANG, 1 + 3)
            await second.control.wait_for(OFFICER_CHATS["chen_hao"], 1 + 1)
            # Every row is sent before it is marked sent: once all are, every message is in the chats.
            await wait_until(lambda: all(n.status is OutboxStatus.SENT for n in store.outbox.notifications()))
            wang, chen = (
                await bot_messages(second, WANG),
                await bot_messages(second, OFFICER_CHATS["chen_hao"]),
            )
            assert sorted(n for n in numbers[:3] if any(n in m["text"] for m in wang)) == sorted(numbers[:3])
            assert len(wang) == 4 and len(chen) == 2
            await wait_until(lambda: all(n.status is OutboxStatus.SENT for n in store.outbox.notifications()))
            assert len(await bot_messages(second, RESIDENT)) == hello
    finally:
        await api.stop()


@pytest.mark.parametrize("language, expected", [("zh", "已接手您的案件"), ("en", "has your case")])
async def test_resident_updates_are_in_the_case_language(
    gateway: RunningGateway, language: str, expected: str
) -> None:
    await register(gateway, "wang_li")
    hello = await resident_says_hello(gateway)
    case = await open_case_now(gateway, language=language)
    card = await latest(gateway, WANG, 2)
    await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:1")
    update = await latest(gateway, RESIDENT, hello + 1)
    assert expected in update["text"] and case.number in update["text"]
    await wait_until(lambda: len(_sent_to(gateway, RESIDENT)) == 1)


# ---------------------------------------------------------------- rendering, without Telegram


def test_officer_updates_escape_what_residents_wrote(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"wang_li": 7001})
    rated = notices.render(
        gateway,
        notice(
            desk,
            "officer:wang_li",
            "case_update",
            {"number": case.number, "event": "rated", "rating": 2, "comment": "<i>bad</i> & worse"},
        ),
    )
    assert rated.chat_id == 7001
    assert "&lt;i&gt;bad&lt;/i&gt; &amp; worse" in rated.text and "2/5" in rated.text
    details = notices.render(
        gateway,
        notice(
            desk,
            "officer:wang_li",
            "case_update",
            {"number": case.number, "event": "details_added", "text": "a<b"},
        ),
    )
    assert "a&lt;b" in details.text
    safe = notices.render(
        gateway,
        notice(
            desk, "officer:wang_li", "case_update", {"number": case.number, "event": "resident_says_safe"}
        ),
    )
    assert case.number in safe.text and "核实" in safe.text


def test_a_broken_promise_names_the_role(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"zhao_min": 7002})
    later = (desk.now() + timedelta(hours=2)).isoformat()
    backup = notices.render(
        gateway,
        notice(
            desk,
            "officer:zhao_min",
            "promise_broken",
            {
                "number": case.number,
                "officer_id": "wang_li",
                "old_due": desk.now().isoformat(),
                "new_due": later,
                "role": "backup",
            },
        ),
    )
    assert "后备民警" in backup.text and "王丽" in backup.text and case.number in backup.text
    assert backup.markup is None  # the backup sees the alarm, not buttons for a case that is not theirs


def test_undeliverable_notifications_say_why(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case()
    gateway = offline_gateway(desk)
    cases = [
        (
            "resident:abc",
            "case_update",
            {"number": case.number, "event": "acknowledged"},
            "not a Telegram resident",
        ),
        (f"resident:{RESIDENT}", "mystery", {"number": case.number}, "unknown notification kind"),
        ("officer:wang_li", "case_assigned", {"number": case.number}, "no linked Telegram chat"),
        (f"resident:{RESIDENT}", "case_update", {"number": "HM-2026-000999"}, "does not exist"),
        ("nobody:1", "case_update", {"number": case.number}, "unknown recipient"),
    ]
    for recipient, kind, payload, reason in cases:
        with pytest.raises(notices.Drop, match=reason):
            notices.render(gateway, notice(desk, recipient, kind, payload))


def test_an_urgent_case_taken_over_after_a_breach_says_so_on_its_card(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    """Not "handed over to you by Wang Li": Wang Li did not hand it over, the promise broke."""
    case = open_case()
    gateway = offline_gateway(desk, linked={"wang_li": 7003})
    payload = {"number": case.number, "from_officer": "zhao_min", "reason": "urgent_breach"}
    card = notices.render(gateway, notice(desk, "officer:wang_li", "case_assigned", payload))
    assert "🚨" in card.text and "赵敏" in card.text and "转交" not in card.text


def test_a_reopened_cards_header_says_why_and_the_resident_reads_what_was_done(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"zhou_jian": 7004})
    payload = {"number": case.number, "from_officer": "wang_li", "reason": "low_rating", "rating": 1}
    card = notices.render(gateway, notice(desk, "officer:zhou_jian", "case_assigned", payload))
    assert "1/5" in card.text and "王丽" in card.text and "转交" not in card.text
    resolved = desk.officer_act(case.number, case.officer_id, "resolve", note="<b>谈妥</b> & 道歉").case
    update = notices.render(
        gateway,
        notice(
            desk,
            f"resident:{resolved.resident_id}",
            "case_update",
            {"number": case.number, "event": "resolved", "officer_id": case.officer_id},
        ),
    )
    assert "&lt;b&gt;谈妥&lt;/b&gt; &amp; 道歉" in update.text and update.markup is not None


def test_a_resident_in_danger_whose_promise_broke_is_told_whom_to_call_now(desk: Desk) -> None:
    """A late officer must not leave someone in danger waiting for the next promise: the apology for a
    danger case carries the emergency number; an ordinary case's does not."""
    urgent = desk.open_urgent_case("42", "en", "he has a knife and is at my door", ["weapon"]).case
    gateway = offline_gateway(desk)
    later = (desk.now() + timedelta(minutes=30)).isoformat()
    payload = {"number": urgent.number, "event": "promise_broken", "officer_id": urgent.officer_id}
    told = notices.render(gateway, notice(desk, "resident:42", "case_update", {**payload, "new_due": later}))
    assert "110" in told.text and "in danger" in told.text
    ordinary = desk.open_case(report(resident_id="43", language="en")).case
    payload = {"number": ordinary.number, "event": "promise_broken", "officer_id": ordinary.officer_id}
    told = notices.render(gateway, notice(desk, "resident:43", "case_update", {**payload, "new_due": later}))
    assert "110" not in told.text
