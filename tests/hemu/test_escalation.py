"""Escalation levels (README, "What a promise is"): each level of a broken promise is sent once, to the
people config/policy.yml names for it; past the last level nobody is messaged about the case again
and the supervisor gets one summary a day instead. The old watcher told the officer, the backup and
the supervisor every two hours, forever."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hemu.cases import CaseState
from hemu.desk import Desk
from hemu.kinds import NoticeKind
from hemu.store import OutboxStatus
from tests.conftest import Clock
from tests.hemu.desk_support import report

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def broken_to(desk: Desk, number: str, since: int) -> list[tuple[str, str, int]]:
    """(recipient, role, level) of the breach messages from the ``since``-th notification on."""
    return [
        (n.recipient, n.payload["role"], n.payload["level"])
        for n in desk.store.outbox.notifications(number)[since:]
        if n.kind == NoticeKind.PROMISE_BROKEN
    ]


def summaries(desk: Desk) -> list[dict[str, object]]:
    return [
        {"to": n.recipient, **n.payload}
        for n in desk.store.outbox.notifications()
        if n.kind == NoticeKind.DAILY_SUMMARY
    ]


def test_each_level_once_then_a_daily_summary_instead_of_repeats(case_desk: Desk, clock: Clock) -> None:
    case = case_desk.open_case(report()).case  # Binhe, Wang Li, due Thursday 10:00
    number = case.number
    seen = 0

    def breach(moment: datetime) -> list[tuple[str, str, int]]:
        nonlocal seen
        clock.moment = moment
        assert case_desk.watch().breached == [number]
        told = broken_to(case_desk, number, seen)
        seen = len(case_desk.store.outbox.notifications(number))
        return told

    # Level 1: the officer and the backup. The renewed 2-hour promise stays with Wang Li (on duty).
    assert breach(at(3, 10)) == [("officer:wang_li", "assigned", 1), ("officer:zhao_min", "backup", 1)]
    # Level 2: the officer again and the supervisor.
    assert breach(at(3, 12)) == [("officer:wang_li", "assigned", 2), ("officer:zhou_jian", "supervisor", 2)]
    # Level 3: the supervisor and everyone on duty at 14:00, with the station's call list.
    third = breach(at(3, 14))
    assert third[0] == ("officer:zhou_jian", "supervisor", 3)
    assert {who for who, role, _ in third if role == "on_duty"} == {
        "officer:wang_li",
        "officer:zhao_min",
        "officer:chen_hao",
    }
    level_3 = case_desk.store.outbox.notifications(number)[-5:]
    calls = [n.payload["call"] for n in level_3 if "call" in n.payload]
    assert calls and all(calls)

    # The level-3 promise breaks too: the resident hears once that the station head knows; no officer
    # message, and the case is not renewed again.
    clock.moment = at(3, 16)
    case_desk.watch()
    waited = case_desk.store.get(number)
    assert (waited.breaches, waited.state) == (4, CaseState.OPEN)
    last = case_desk.store.outbox.notifications(number)[seen:]
    assert [(n.recipient, n.payload.get("event")) for n in last] == [("resident:42", "still_waiting")]
    seen = len(case_desk.store.outbox.notifications(number))

    # Days of sweeps: no case message at all, one summary each morning at 08:30 to the supervisor.
    moment = at(3, 16)
    while moment < at(6, 12):
        moment += timedelta(minutes=37)
        clock.moment = moment
        case_desk.watch()
    assert case_desk.store.outbox.notifications(number)[seen:] == []
    sent = summaries(case_desk)
    assert [s["to"] for s in sent] == ["officer:zhou_jian"] * 3  # Friday, Saturday, Sunday
    assert all(s["numbers"] == [number] for s in sent)
    assert [datetime.fromisoformat(str(s["at"])).astimezone(SHANGHAI).date().day for s in sent] == [4, 5, 6]

    # Contact ends it: no more summaries.
    case_desk.officer_act(number, "wang_li", "contacted")
    clock.moment = at(7, 9)
    case_desk.watch()
    assert len(summaries(case_desk)) == 3


def test_the_supervisor_is_not_flooded_by_a_busy_week(case_desk: Desk, clock: Clock) -> None:
    """Thirty cases nobody answers for a week: at most one message per case and level to the supervisor
    (levels 2 and 3) and one summary a day."""
    numbers = [case_desk.open_case(report(resident_id=str(r))).case.number for r in range(30)]
    moment = clock.moment
    while moment < at(9, 10):
        moment += timedelta(minutes=20)
        clock.moment = moment
        case_desk.watch()
    per_case = Counter()
    for number in numbers:
        for recipient, _role, level in broken_to(case_desk, number, 0):
            per_case[(number, recipient, level)] += 1
    assert max(per_case.values()) == 1
    supervisor = sum(1 for (_n, who, _l) in per_case if who == "officer:zhou_jian")
    assert supervisor == 2 * len(numbers)
    assert 6 <= len(summaries(case_desk)) <= 7  # one a morning
    assert all(case_desk.store.get(n).breaches == 4 for n in numbers)


def test_a_summary_with_every_case_answered_since_is_not_sent(case_desk: Desk, clock: Clock) -> None:
    """Rendered at send time: the gateway drops a summary whose cases were all answered meanwhile
    (tests/bot/test_escalation_notices.py); here: the store records it once per morning."""
    number = case_desk.open_case(report()).case.number
    for moment in (at(3, 10), at(3, 12), at(3, 14), at(3, 16), at(4, 8, 30), at(4, 8, 31)):
        clock.moment = moment
        case_desk.watch()
    assert len(summaries(case_desk)) == 1
    assert case_desk.store.outbox.notifications(status=OutboxStatus.PENDING)
    assert case_desk.store.get(number).breaches == 4


def test_a_case_past_every_level_handed_over_is_watched_again(case_desk: Desk, clock: Clock) -> None:
    """A person making a new promise starts the escalation again: left at "past the last level", the
    new officer's promise would break with nobody told."""
    number = case_desk.open_case(report()).case.number
    for moment in (at(3, 10), at(3, 12), at(3, 14), at(3, 16)):
        clock.moment = moment
        case_desk.watch()
    assert case_desk.store.get(number).breaches == 4
    clock.moment = at(3, 16, 30)
    moved = case_desk.hand_over_to(number, "zhou_jian", "zhao_min").case
    assert (moved.officer_id, moved.breaches) == ("zhao_min", 0)
    clock.moment = moved.promise_due_at + timedelta(minutes=1)
    assert case_desk.watch().breached == [number]
    assert broken_to(case_desk, number, 0)[-2:] == [
        ("officer:zhao_min", "assigned", 1),
        ("officer:wang_li", "backup", 1),
    ]
