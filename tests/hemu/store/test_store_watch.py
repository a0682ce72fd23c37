"""The promise watcher's writes: each is decided on the current row, so repeating one (or two watchers
racing) changes nothing the second time — on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from hemu.case import Case, Change
from hemu.cases import CaseState
from hemu.store import Assignment, CaseRecord, Store
from tests.hemu.store.support import DUE, NOW, assign_to, new_case, open_case
from tests.hemu.store.test_store_concurrency import WRITERS, run_together

LATER = DUE + timedelta(hours=2)


def record_reminder(store: Store, number: str, due_at: datetime, now: datetime) -> CaseRecord | None:
    return store.record(number, now, lambda case: case.remind(due_at, now, timezone.utc))


def record_breach(
    store: Store, number: str, old: datetime, new: datetime, now: datetime, officer_id: str | None = None
) -> CaseRecord | None:
    def plan(case: Case) -> Change | None:
        return case.break_promise(old, new, now, officer_id, [("wang_li", "assigned")], timezone.utc)

    return store.record(number, now, plan)


def record_follow_up(store: Store, number: str, now: datetime) -> CaseRecord | None:
    return store.record(number, now, lambda case: case.follow_up(now))


def test_awaiting_response_lists_running_promises_earliest_first(store: Store) -> None:
    late = open_case(store)
    soon = store.open_case(new_case(), assign_to("x", NOW + timedelta(hours=1)), NOW, "resident:42")
    answered = open_case(store)
    store.transition(answered.number, "contacted", NOW, "officer:wang_li")
    # Acknowledged is not answered: its promise of contact still runs.
    acknowledged = store.open_case(new_case(), assign_to("x", DUE + timedelta(hours=1)), NOW, "resident:42")
    store.transition(acknowledged.number, "acknowledged", NOW, "officer:x")
    assert [case.number for case in store.awaiting_response()] == [
        soon.number,
        late.number,
        acknowledged.number,
    ]
    assert all(case.awaits_response for case in store.awaiting_response())


def test_a_reminder_is_recorded_once_and_only_for_the_promise_it_was_for(store: Store) -> None:
    case = open_case(store)
    assert record_reminder(store, case.number, DUE + timedelta(minutes=1), NOW) is None
    first = record_reminder(store, case.number, DUE, NOW)
    assert first is not None and first.reminded_at == NOW and first.version == case.version
    assert record_reminder(store, case.number, DUE, NOW) is None
    assert [n.kind for n in store.outbox.notifications(case.number)].count("promise_reminder") == 1
    assert store.events(case.number)[-1].kind == "reminded"
    # A hand-over is a new promise: its reminder is due afresh.
    moved = store.hand_over(case.number, Assignment("zhao_min", LATER), NOW, "admin", "")
    assert (moved.reminded_at, moved.promise_set_at) == (None, NOW)
    assert record_reminder(store, case.number, LATER, NOW) is not None


def test_a_breach_is_recorded_once_with_its_renewed_promise(store: Store) -> None:
    case = open_case(store)
    record_reminder(store, case.number, DUE, NOW)
    renewed = record_breach(store, case.number, DUE, LATER, DUE)
    assert renewed is not None
    assert (renewed.promise_due_at, renewed.promise_set_at, renewed.reminded_at) == (LATER, DUE, None)
    assert (renewed.breaches, renewed.promise_kept, renewed.version) == (1, False, case.version)
    assert record_breach(store, case.number, DUE, LATER + timedelta(hours=1), DUE) is None
    assert store.get(case.number).promise_due_at == LATER
    assert [n.kind for n in store.outbox.notifications(case.number)].count("promise_broken") == 1
    detail = store.events(case.number)[-1].detail
    assert (detail["old_due"], detail["new_due"], detail["breaches"]) == (
        DUE.isoformat(),
        LATER.isoformat(),
        1,
    )
    # The officer answers after the renewal: the first promise stays broken in the statistics.
    answered = store.transition(case.number, "contacted", LATER, "officer:wang_li")
    assert answered.promise_kept is False
    assert record_breach(store, case.number, LATER, LATER + timedelta(hours=2), LATER) is None


def test_a_breach_computed_for_another_officer_is_not_recorded(store: Store) -> None:
    case = open_case(store)
    assert record_breach(store, case.number, DUE, LATER, DUE, officer_id="zhao_min") is None
    assert store.get(case.number).breaches == 0


def test_racing_watchers_record_one_breach(store: Store, make_store: Callable[[], Store]) -> None:
    case = open_case(store)

    def breach(index: int, writer: Store) -> bool:
        new_due = LATER + timedelta(minutes=index)
        return record_breach(writer, case.number, DUE, new_due, DUE) is not None

    results = run_together([make_store() for _ in range(WRITERS)], breach)
    assert results.count(True) == 1, results
    assert store.get(case.number).breaches == 1
    assert [n.kind for n in store.outbox.notifications(case.number)].count("promise_broken") == 1


def test_follow_up_once_for_rated_closed_cases(store: Store, make_store: Callable[[], Store]) -> None:
    closed = open_case(store)
    store.transition(closed.number, "resolved", NOW, "officer:wang_li", resolution_note="ok")
    store.transition(closed.number, CaseState.CLOSED, NOW, "resident:42", rating=5)
    cancelled = open_case(store)
    store.transition(cancelled.number, "cancelled", NOW, "resident:42")
    assert [c.number for c in store.follow_up_candidates(NOW - timedelta(days=1))] == [closed.number]
    assert store.follow_up_candidates(NOW + timedelta(seconds=1)) == []
    assert record_follow_up(store, cancelled.number, NOW) is None

    results = run_together(
        [make_store() for _ in range(4)],
        lambda _i, writer: record_follow_up(writer, closed.number, NOW) is not None,
    )
    assert results.count(True) == 1
    assert store.follow_up_candidates(NOW - timedelta(days=1)) == []
    assert [n.kind for n in store.outbox.notifications(closed.number)].count("follow_up") == 1
    assert store.record_follow_up_answer(closed.number, False, NOW, "resident:42") is not None
    assert store.record_follow_up_answer(closed.number, False, NOW, "resident:42") is None
