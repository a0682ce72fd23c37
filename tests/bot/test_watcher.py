"""The promise watcher inside the gateway: a reminder before the promise falls due, and on a breach the
first escalation level (the officer and the backup) and the resident are each told once — all derived
from the store, so moving the shared clock (HEMU_CLOCK_FILE) is enough to see it happen."""

from __future__ import annotations

from pathlib import Path

from hemu.desk import WatchReport
from hemu.settings import load_settings
from hemu.store import OutboxStatus
from tests.auxil.gateway import RunningGateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    RESIDENT,
    advance,
    bot_messages,
    latest,
    open_case_now,
    register_all,
    resident_says_hello,
    wait_until,
)


async def _counts(gateway: RunningGateway, chats: list[int]) -> list[int]:
    return [len(await bot_messages(gateway, chat)) for chat in chats]


async def _swept_and_delivered(running: RunningGateway, number: str, sweeps: int = 3) -> None:
    """A positive signal instead of a pause: ``sweeps`` more watcher sweeps have finished, and nothing
    about the case is left in the outbox — whatever they queued has been sent."""
    desk = running.gateway.desk
    watch = desk.watch
    finished: list[WatchReport] = []

    def counted() -> WatchReport:
        report = watch()
        finished.append(report)
        return report

    desk.watch = counted  # type: ignore[method-assign]
    try:
        await wait_until(lambda: len(finished) >= sweeps)
    finally:
        del desk.watch  # the class's method again
    await wait_until(lambda: not running.store.outbox.notifications(number, status=OutboxStatus.PENDING))


async def test_reminder_then_breach_each_told_once(gateway: RunningGateway, clock_file: Path) -> None:
    await register_all(gateway)
    hello = await resident_says_hello(gateway)
    # A threat makes the case urgent: 15 minutes, counted on the wall clock.
    case = await open_case_now(gateway, risk_flags=("threat",))
    officer = case.officer_id
    roster = load_settings().roster
    backup = roster.get(officer).backup
    assert backup and backup != roster.supervisor
    chat, backup_chat, boss_chat = (
        OFFICER_CHATS[officer],
        OFFICER_CHATS[backup],
        OFFICER_CHATS[roster.supervisor],
    )
    await latest(gateway, chat, 2)  # welcome + card

    advance(clock_file, minutes=12)  # 80 % of the promise window
    reminder = await latest(gateway, chat, 3)
    assert case.number in reminder["text"] and "提醒" in reminder["text"]
    await _swept_and_delivered(gateway, case.number)  # several sweeps: still one reminder
    assert await _counts(gateway, [chat, backup_chat, boss_chat]) == [3, 1, 1]

    advance(clock_file, minutes=5)  # past due: escalation level 1, the officer and the backup
    assigned = await latest(gateway, chat, 4)
    assert case.number in assigned["text"] and "未能按承诺" in assigned["text"]
    assert "第 1 级" in assigned["text"]
    assert case.number in (await latest(gateway, backup_chat, 2))["text"]
    told = await latest(gateway, RESIDENT, hello + 1)
    assert "We're sorry" in told["text"] and case.number in told["text"] and "within" in told["text"]
    assert "escalated" in told["text"]
    renewed = gateway.store.get(case.number)
    assert renewed.promise_due_at > case.promise_due_at

    await _swept_and_delivered(gateway, case.number)
    # The supervisor hears nothing at level 1 (unless the urgent case is now theirs: the card).
    boss = 2 if renewed.officer_id == roster.supervisor else 1
    assert await _counts(gateway, [chat, backup_chat, boss_chat, RESIDENT]) == [4, 2, boss, hello + 1]


async def test_a_breach_while_the_gateway_was_down_is_caught_at_start(
    tmp_path: Path, clock_file: Path
) -> None:
    """Nothing lives in memory: a gateway started after the promise broke still raises the alarm."""
    from sandbox.server import LocalBotApi
    from tests.auxil.gateway import running_gateway

    api = LocalBotApi()
    await api.start()
    try:
        async with running_gateway(tmp_path, api=api) as first:
            await register_all(first)
            case = await open_case_now(first, risk_flags=("threat",))
            chat = OFFICER_CHATS[case.officer_id]
            await latest(first, chat, 2)
        advance(clock_file, minutes=30)
        async with running_gateway(tmp_path, api=api, store=first.store) as second:
            broken = await latest(second, chat, 3)
            assert case.number in broken["text"] and "未能按承诺" in broken["text"]
    finally:
        await api.stop()
