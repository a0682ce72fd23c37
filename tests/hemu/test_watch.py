"""The promise watcher: one reminder, one renewal per broken promise, one follow-up — however often and
from however many processes it runs, and from nothing but the store."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, List
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from hemu import watch
from hemu.cases import CaseState, Priority
from hemu.desk import Desk, WatchReport
from hemu.promise import NoDutyTime
from hemu.settings import load_settings
from hemu.store import ERASED_TEXT, Store
from hemu.watch import FOLLOW_UP_AFTER, FOLLOW_UP_UNTIL
from tests.conftest import REPO_ROOT, WEDNESDAY_10, Clock
from tests.hemu.desk_support import report
from tests.hemu.desk_support import told as kinds

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def second_desk(path: Path, clock: Clock) -> Desk:
    """Another process on the same database: its own engine, its own desk."""
    return Desk(load_settings(REPO_ROOT / "config"), Store.from_url(f"sqlite:///{path}"), clock=clock)


def test_reminder_once_then_breach_once_with_a_new_promise(case_desk: Desk, clock: Clock) -> None:
    case = case_desk.open_case(report()).case  # due Thursday 10:00, promise made Wednesday 10:00
    assert case.promise_set_at == WEDNESDAY_10 and case.breaches == 0
    # 75 % of the 24 hours from Wednesday 10:00 to Thursday 10:00: Thursday 04:00.
    quiet = case_desk.watch()
    assert quiet == WatchReport(next_check=at(3, 4))

    clock.moment = at(3, 4)
    before = len(case_desk.store.outbox.notifications(case.number))
    first = case_desk.watch()
    assert (first.reminded, first.breached, first.next_check) == ([case.number], [], at(3, 10))
    due = at(3, 10).isoformat()
    assert kinds(case_desk, case.number, before) == [
        ("officer:wang_li", "promise_reminder", {"number": case.number, "due_at": due})
    ]
    assert case_desk.watch().reminded == []  # once
    assert case_desk.store.get(case.number).reminded_at == clock.moment

    clock.moment = at(3, 10)
    before = len(case_desk.store.outbox.notifications(case.number))
    broken = case_desk.watch()
    assert broken.breached == [case.number] and broken.reminded == []
    renewed = case_desk.store.get(case.number)
    # High priority, 2 hours on the wall clock; Wang Li works them (08:30–17:30), so she keeps it.
    new_due = at(3, 12)
    assert (renewed.promise_due_at, renewed.promise_set_at, renewed.reminded_at) == (new_due, at(3, 10), None)
    assert (renewed.breaches, renewed.promise_kept, renewed.version) == (1, False, case.version)
    payload = {
        "number": case.number,
        "officer_id": "wang_li",
        "old_due": due,
        "new_due": new_due.isoformat(),
        "level": 1,
        "levels": 3,
        "call": False,
    }
    # Level 1 of the escalation: the officer and their backup; not yet the supervisor.
    assert kinds(case_desk, case.number, before) == [
        ("officer:wang_li", "promise_broken", {**payload, "role": "assigned"}),
        ("officer:zhao_min", "promise_broken", {**payload, "role": "backup"}),
        (
            "resident:42",
            "case_update",
            {
                "number": case.number,
                "event": "promise_broken",
                "officer_id": "wang_li",
                "new_due": new_due.isoformat(),
            },
        ),
    ]
    # The renewed promise gets its own reminder: 75 % of Thursday 10:00 → 12:00 is 11:30.
    assert broken.next_check == at(3, 11, 30)
    assert case_desk.watch() == WatchReport(next_check=at(3, 11, 30))
    assert [e.kind for e in case_desk.store.events(case.number)][-2:] == ["reminded", "promise_broken"]
    clock.moment = at(3, 11, 30)
    assert case_desk.watch().reminded == [case.number]


def test_answered_cases_are_left_alone(case_desk: Desk, clock: Clock) -> None:
    case = case_desk.open_case(report()).case
    case_desk.officer_act(case.number, "wang_li", "contacted")
    clock.moment = at(10, 10)
    assert case_desk.watch() == WatchReport()
    assert case_desk.store.get(case.number).breaches == 0


def test_an_acknowledged_case_is_reminded_and_broken_until_the_resident_is_contacted(
    case_desk: Desk, clock: Clock
) -> None:
    """Acknowledging is not contact: the reminder, the breach (to the officer, backup, supervisor and the
    resident) and the statistics treat an acknowledged case like one nobody has answered."""
    case = case_desk.open_case(report()).case
    clock.advance(minutes=5)
    case_desk.officer_act(case.number, "wang_li", "acknowledge")
    clock.moment = at(3, 5)
    assert case_desk.watch().reminded == [case.number]
    clock.moment = at(3, 11)
    assert case_desk.watch().breached == [case.number]
    broken = case_desk.store.get(case.number)
    assert (broken.state, broken.breaches, broken.promise_kept) == (CaseState.ACKNOWLEDGED, 1, False)
    told = [(n.recipient, n.kind) for n in case_desk.store.outbox.notifications(case.number)]
    assert ("resident:42", "case_update") in told and ("officer:wang_li", "promise_broken") in told
    assert (broken.promise_kept, broken.breaches) == (False, 1)  # the report counts it due, not kept
    case_desk.officer_act(case.number, "wang_li", "contacted")
    clock.moment = at(10, 10)
    assert case_desk.watch() == WatchReport()  # contacted: the watch is over


def urgent(case_desk: Desk, **values: Any) -> Any:
    return case_desk.open_case(
        report(category="danger", risk_flags=("violence",), **values), priority=Priority.URGENT
    ).case


def test_an_urgent_case_breaks_within_minutes_and_stays_urgent_with_someone_on_duty(
    case_desk: Desk, clock: Clock
) -> None:
    case = urgent(case_desk)
    assert case.officer_id == "wang_li"  # Binhe's officer, on duty Wednesday 10:00
    assert case_desk.watch().next_check == WEDNESDAY_10 + timedelta(minutes=11, seconds=15)
    clock.advance(minutes=11, seconds=15)
    assert case_desk.watch().reminded == [case.number]
    clock.advance(minutes=3, seconds=45)
    before = len(case_desk.store.outbox.notifications(case.number))
    assert case_desk.watch().breached == [case.number]
    renewed = case_desk.store.get(case.number)
    # Urgent stays urgent: 15 minutes on the wall clock, not the breach priority's 2 duty hours, and
    # kept by another officer on duty now (Binhe has no other; its backup starts at 12:00; Chen Hao
    # is on duty with the fewest cases).
    assert renewed.promise_due_at == clock.moment + timedelta(minutes=15)
    assert (renewed.officer_id, renewed.state, renewed.version) == ("chen_hao", CaseState.HANDED_OVER, 2)
    sent = kinds(case_desk, case.number, before)
    assert ("officer:chen_hao", "case_assigned") in [(r, k) for r, k, _ in sent]
    card = next(p for r, k, p in sent if k == "case_assigned")
    assert (card["from_officer"], card["reason"]) == ("wang_li", "urgent_breach")
    assert ("officer:wang_li", "promise_broken") in [(r, k) for r, k, _ in sent]
    resident = next(p for r, _k, p in sent if r == "resident:42")
    assert (resident["event"], resident["officer_id"]) == ("promise_broken", "chen_hao")
    event = case_desk.store.events(case.number)[-1]
    assert event.detail["to_officer"] == "chen_hao" and "promise broken" in event.detail["assignment_reason"]
    # The new keeper's promise is watched like the first.
    clock.advance(minutes=15)
    assert case_desk.watch().breached == [case.number]
    assert case_desk.store.get(case.number).breaches == 2


def test_an_urgent_case_never_goes_to_an_officer_whose_shift_ends_before_it_is_due(
    case_desk: Desk, clock: Clock
) -> None:
    clock.moment = at(2, 17, 20)  # Wang Li (Binhe) is on duty until 17:30; the promise is 17:35
    case = urgent(case_desk)
    assert case.officer_id == "zhao_min"  # Binhe's backup, on duty until 20:00
    assert case.promise_due_at == clock.moment + timedelta(minutes=15)


def test_an_urgent_breach_stays_with_the_only_officer_on_duty(case_desk: Desk, clock: Clock) -> None:
    clock.moment = at(2, 23, 0)  # only the night duty officer works
    case = urgent(case_desk)
    assert case.officer_id == "liu_yang"
    clock.moment = at(2, 23, 15)
    assert case_desk.watch().breached == [case.number]
    renewed = case_desk.store.get(case.number)
    assert (renewed.officer_id, renewed.promise_due_at) == ("liu_yang", clock.moment + timedelta(minutes=15))
    assert renewed.state is CaseState.OPEN


def test_a_late_watcher_breaches_without_a_stale_reminder(case_desk: Desk, clock: Clock) -> None:
    case = case_desk.open_case(report()).case
    clock.moment = at(4, 17)  # the gateway was down past both the reminder and the due time
    result = case_desk.watch()
    assert (result.reminded, result.breached) == ([], [case.number])
    assert [n.kind for n in case_desk.store.outbox.notifications(case.number)].count("promise_reminder") == 0


def test_an_officer_without_duty_gets_a_wall_clock_promise(
    case_desk: Desk, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_desk.open_case(report()).case
    clock.moment = at(4, 16, 30)

    def no_duty(*_args: Any) -> datetime:
        raise NoDutyTime("no shifts")

    monkeypatch.setattr("hemu.promise.promise_due", no_duty)
    assert case_desk.watch().breached == [case.number]
    assert case_desk.store.get(case.number).promise_due_at == clock.moment + timedelta(hours=2)


def test_two_watchers_on_one_database_breach_once(case_desk: Desk, clock: Clock, tmp_path: Path) -> None:
    numbers = [case_desk.open_case(report(resident_id=str(r))).case.number for r in range(5)]
    clock.moment = at(3, 10)
    others = [second_desk(tmp_path / "hemu.sqlite3", clock) for _ in range(3)]
    desks = [case_desk, *others]
    barrier = threading.Barrier(len(desks))
    reports: List[WatchReport] = [WatchReport()] * len(desks)

    def run(index: int) -> None:
        barrier.wait()
        reports[index] = desks[index].watch()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(desks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    breached = sorted(number for report in reports for number in report.breached)
    assert breached == sorted(numbers)
    for number in numbers:
        assert case_desk.store.get(number).breaches == 1
        sent = [n for n in case_desk.store.outbox.notifications(number) if n.kind == "promise_broken"]
        assert len(sent) == 2  # level 1: the officer and the backup
    # And every watcher, winner or not, knows when to look next (the renewed promises' reminders).
    assert {report.next_check for report in reports} == {at(3, 11, 30)}
    for desk in others:
        desk.store.close()


def test_a_restarted_watcher_continues_from_the_store(case_desk: Desk, clock: Clock, tmp_path: Path) -> None:
    case = case_desk.open_case(report()).case
    clock.moment = at(3, 4)
    assert case_desk.watch().reminded == [case.number]
    restarted = second_desk(tmp_path / "hemu.sqlite3", clock)
    assert restarted.watch().reminded == []  # the reminder is remembered in the store, not in memory
    clock.moment = at(3, 10, 1)
    assert restarted.watch().breached == [case.number]
    assert case_desk.watch().breached == []
    restarted.store.close()


def test_the_sweep_reads_with_three_queries_however_many_cases(case_desk: Desk, clock: Clock) -> None:
    """The open promises, the follow-ups, and whether the retention rule has anything to erase."""
    for resident in range(30):
        case_desk.open_case(report(resident_id=str(resident)))
    statements: List[str] = []

    @event.listens_for(case_desk.store.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    case_desk.watch()
    assert len(statements) == 3, statements


# ---------------------------------------------------------------- follow-up


def closed_case(desk: Desk, clock: Clock, resident: str = "42", rating: int = 5) -> str:
    number = desk.open_case(report(resident_id=resident)).case.number
    desk.officer_act(number, "wang_li", "acknowledge")
    desk.officer_act(number, "wang_li", "resolve", note="调解好了")
    desk.rate(resident, number, rating)
    return number


def test_one_follow_up_a_week_after_closing(case_desk: Desk, clock: Clock) -> None:
    number = closed_case(case_desk, clock)
    closed_at = case_desk.store.get(number).closed_at
    assert case_desk.watch().next_check == closed_at + FOLLOW_UP_AFTER
    clock.moment = closed_at + FOLLOW_UP_AFTER - timedelta(seconds=1)
    assert case_desk.watch().followed_up == []
    clock.advance(seconds=1)
    before = len(case_desk.store.outbox.notifications(number))
    assert case_desk.watch().followed_up == [number]
    assert kinds(case_desk, number, before) == [("resident:42", "follow_up", {"number": number})]
    assert case_desk.watch() == WatchReport()
    assert case_desk.store.get(number).followed_up_at == clock.moment


def test_the_sweep_erases_the_details_of_cases_long_over(case_desk: Desk, clock: Clock) -> None:
    number = closed_case(case_desk, clock)
    days = case_desk.settings.policy.retention.personal_details_days
    clock.moment = case_desk.store.get(number).closed_at + timedelta(days=days, seconds=1)
    assert case_desk.watch().expired == [number]
    assert case_desk.store.get(number).resolution_note == ERASED_TEXT
    assert case_desk.watch().expired == []


def test_no_follow_up_for_cancelled_or_long_forgotten_cases(case_desk: Desk, clock: Clock) -> None:
    cancelled = case_desk.open_case(report(resident_id="7")).case.number
    case_desk.cancel("7", cancelled)
    old = closed_case(case_desk, clock, resident="8")
    clock.moment = case_desk.store.get(old).closed_at + FOLLOW_UP_UNTIL + timedelta(minutes=1)
    assert case_desk.watch() == WatchReport()
    assert [n.kind for n in case_desk.store.outbox.notifications(old)].count("follow_up") == 0


def test_a_forgotten_resident_is_not_asked(case_desk: Desk, clock: Clock) -> None:
    number = closed_case(case_desk, clock)
    case_desk.forget_resident("42")
    clock.advance(days=8)
    assert case_desk.watch().followed_up == [number]  # marked done…
    assert [n.kind for n in case_desk.store.outbox.notifications(number)].count(
        "follow_up"
    ) == 0  # …nobody asked


def test_one_case_that_fails_does_not_stop_the_watch(
    case_desk: Desk, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = case_desk.open_case(report(resident_id="1")).case.number
    good = case_desk.open_case(report(resident_id="2")).case.number
    clock.moment = at(4, 16)
    renew = watch.renewal_keeper

    def failing(*args: Any) -> Any:
        if failing.calls == 0:  # type: ignore[attr-defined]
            failing.calls += 1  # type: ignore[attr-defined]
            raise RuntimeError("roster trouble")
        return renew(*args)

    failing.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(watch, "renewal_keeper", failing)
    assert case_desk.watch().breached == [good]
    assert case_desk.watch().breached == [bad]  # and the next sweep tries it again
