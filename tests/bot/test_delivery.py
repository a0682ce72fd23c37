"""Delivery guarantees of the notifier (README, "What is never lost"): retried until the deadline, not
for nine minutes; given up out loud (the supervisor told, counted, requeued); claims short and handed back
on shutdown, so an urgent card never waits out a long lease."""

from __future__ import annotations

from pathlib import Path

from bot import notifier
from hemu import clock as hemu_clock
from hemu.kinds import NoticeKind
from hemu.store import NotificationRecord, OutboxStatus
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import OFFICER_CHATS, advance, latest, open_case_now, register, wait_until

WANG = OFFICER_CHATS["wang_li"]
SUPERVISOR = OFFICER_CHATS["zhou_jian"]


def _card(running: RunningGateway, number: str) -> NotificationRecord:
    [card] = [
        n
        for n in running.store.outbox.notifications(number)
        if n.recipient == "officer:wang_li" and n.kind == NoticeKind.CASE_ASSIGNED.value
    ]
    return card


async def _failures_reach(running: RunningGateway, number: str, count: int) -> NotificationRecord:
    return await wait_until(lambda: (card := _card(running, number)).failures >= count and card, timeout=30)


async def test_a_card_survives_a_fifteen_minute_outage(gateway: RunningGateway, clock_file: Path) -> None:
    """The old notifier gave up after ten network failures — about nine minutes of backoff."""
    await register(gateway, "wang_li")
    await gateway.control.fail("sendMessage", 502, "Bad Gateway", chat_id=WANG, times=14)
    case = await open_case_now(gateway)
    # Each retry is scheduled on Hemu's clock: move it past every backoff, 14 × 5 min in all.
    for failures in range(1, 15):
        await _failures_reach(gateway, case.number, failures)
        advance(clock_file, minutes=5)
    card = await latest(gateway, WANG, 2)
    assert case.number in card["text"]
    sent = await wait_until(lambda: (c := _card(gateway, case.number)).status is OutboxStatus.SENT and c)
    assert sent.failures == 14


async def test_given_up_at_the_deadline_the_supervisor_is_told(
    gateway: RunningGateway, clock_file: Path
) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "zhou_jian")
    await gateway.control.fail("sendMessage", 502, "Bad Gateway", chat_id=WANG, times=10_000)
    case = await open_case_now(gateway)
    first = await _failures_reach(gateway, case.number, 1)
    assert first.give_up_at is not None and first.status is OutboxStatus.PENDING
    hours = gateway.gateway.settings.policy.delivery.give_up_after_hours
    advance(clock_file, hours=hours, minutes=1)
    await wait_until(lambda: _card(gateway, case.number).status is OutboxStatus.FAILED, timeout=30)
    alert = await latest(gateway, SUPERVISOR, 2)  # the /register answer, then the alert
    assert case.number in alert["text"] and "未能送达" in alert["text"]
    assert gateway.store.outbox.counts()["failed"] == 1


async def test_a_stopping_gateway_hands_its_claim_back(gateway: RunningGateway) -> None:
    """Shutdown used to cancel a batch and leave its rows claimed for the whole lease."""
    await register(gateway, "wang_li")
    gateway.gateway.notifier.stopping.set()  # the loop sends nothing more; deliver_once still claims
    case = await open_case_now(gateway)
    assert await notifier.deliver_once(gateway.application, gateway.gateway) >= 1
    card = _card(gateway, case.number)
    assert card.status is OutboxStatus.PENDING and card.next_attempt_at <= hemu_clock.now()
    assert gateway.store.outbox.claim(hemu_clock.now(), notifier.LEASE, 50)  # due at once for the next


async def test_a_crashed_gateways_claim_frees_within_the_lease(tmp_path: Path, clock_file: Path) -> None:
    """A gateway killed after claiming: the next one sends the card once the lease is over — 90 s, not
    the ten minutes that used to eat most of an urgent promise."""
    async with running_gateway(tmp_path, env={"HEMU_NOTIFY_INTERVAL": "60"}) as running:
        await register(running, "wang_li")
        case = await open_case_now(running)
        lease = notifier.lease(running.gateway)
        claimed = running.store.outbox.claim(hemu_clock.now(), lease, 50)  # and then "dies"
        assert [n.id for n in claimed] == [_card(running, case.number).id]
        advance(clock_file, seconds=lease.total_seconds() + 1)
        notifier.wake(running.gateway)
        await latest(running, WANG, 2)
    assert lease.total_seconds() <= 120


async def test_a_card_telegram_refuses_arrives_as_the_minimal_card(gateway: RunningGateway) -> None:
    """A refused card used to be marked failed at once: the officer never heard of the case."""
    await register(gateway, "wang_li")
    await gateway.control.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=WANG)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)
    assert case.number in card["text"] and f"/case {case.number}" in card["text"]
    sent = await wait_until(lambda: (c := _card(gateway, case.number)).status is OutboxStatus.SENT and c)
    assert sent.failures == 0


async def test_a_card_for_an_officer_without_a_chat_is_reported_to_the_supervisor(
    gateway: RunningGateway,
) -> None:
    await register(gateway, "zhou_jian")
    case = await open_case_now(gateway)  # Wang Li has never registered
    alert = await latest(gateway, SUPERVISOR, 2)
    assert case.number in alert["text"] and "王丽" in alert["text"]
    assert _card(gateway, case.number).status is OutboxStatus.DROPPED


async def test_flood_control_holds_the_whole_chat_not_only_the_refused_message(
    gateway: RunningGateway,
) -> None:
    """Telegram's retry_after is for the chat: the old notifier went on sending that chat's other cards
    a second later (found by make chaos)."""
    await register(gateway, "wang_li")
    await gateway.control.fail("sendMessage", 429, "Too Many Requests", retry_after=3, chat_id=WANG)
    first = await open_case_now(gateway)
    second = await open_case_now(gateway, category="report_pet_dispute", summary="A dog barks all day")
    await latest(gateway, WANG, 3)  # both cards, in the end
    calls = [
        c
        for c in await gateway.control.calls("sendMessage")
        if c["params"].get("chat_id") in (WANG, str(WANG))
    ]
    refused = next(c for c in calls if c["error_code"] == 429)
    after = [c for c in calls if c["at"] > refused["at"]]
    assert after and all(c["at"] - refused["at"] >= 2.9 for c in after)
    assert {first.number, second.number} <= {
        n for c in after for n in (first.number, second.number) if n in c["params"]["text"]
    }
