"""Officers act on their cases, residents rate them: permissions, double presses, stale cards, what
everyone is told."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hemu.cases import CaseState, InvalidTransition
from hemu.desk import ActResult, CaseRefused, Desk, NotAllowed, RateResult
from hemu.settings import load_settings
from hemu.store import CaseNotFound, CaseRecord, ConcurrentUpdate, Store
from tests.conftest import REPO_ROOT, Clock
from tests.hemu.desk_support import report, told

SHANGHAI = ZoneInfo("Asia/Shanghai")


def count(desk: Desk, number: str) -> tuple[int, int]:
    return len(desk.store.events(number)), len(desk.store.outbox.notifications(number))


@pytest.fixture
def case(case_desk: Desk) -> CaseRecord:
    opened = case_desk.open_case(report()).case
    assert opened.officer_id == "wang_li"
    return opened


def resolved(desk: Desk, clock: Clock, case: CaseRecord) -> CaseRecord:
    desk.officer_act(case.number, "wang_li", "acknowledge")
    clock.advance(hours=1)
    return desk.officer_act(case.number, "wang_li", "resolve", note="双方已调解").case


# ---------------------------------------------------------------- officer buttons


def test_the_assigned_officer_acknowledges_and_the_resident_hears(case_desk: Desk, case, clock) -> None:
    clock.advance(minutes=20)
    before = len(case_desk.store.outbox.notifications(case.number))
    result = case_desk.officer_act(case.number, "wang_li", "acknowledge", expected_version=case.version)
    assert isinstance(result, ActResult) and result.changed
    assert result.case.state is CaseState.ACKNOWLEDGED
    # The officer has the case; the resident has not been contacted, so the promise still runs.
    assert result.case.first_response_at is None and result.case.promise_kept is None
    assert result.case.awaits_response
    assert told(case_desk, case.number, before) == [
        (
            "resident:42",
            "case_update",
            {"number": case.number, "event": "acknowledged", "officer_id": "wang_li"},
        )
    ]
    event = case_desk.store.events(case.number)[-1]
    assert (event.actor, event.to_state, event.detail["officer_id"]) == (
        "officer:wang_li",
        CaseState.ACKNOWLEDGED,
        "wang_li",
    )


def test_a_double_press_changes_nothing_the_second_time(case_desk: Desk, case) -> None:
    first = case_desk.officer_act(case.number, "wang_li", "acknowledge", expected_version=1)
    counts = count(case_desk, case.number)
    # The second press carries the card's old version: still no error, just nothing to do.
    again = case_desk.officer_act(case.number, "wang_li", "acknowledge", expected_version=1)
    assert (again.changed, again.case) == (False, first.case)
    assert count(case_desk, case.number) == counts


def test_a_stale_card_is_refused(case_desk: Desk, case) -> None:
    case_desk.officer_act(case.number, "wang_li", "acknowledge", expected_version=1)
    with pytest.raises(ConcurrentUpdate):
        case_desk.officer_act(case.number, "wang_li", "contacted", expected_version=1)
    assert case_desk.store.get(case.number).state is CaseState.ACKNOWLEDGED


def test_only_the_assigned_officer_or_the_supervisor(case_desk: Desk, case) -> None:
    counts = count(case_desk, case.number)
    for stranger in ("zhao_min", "nobody", "wang_li "):
        with pytest.raises(NotAllowed) as refused:
            case_desk.officer_act(case.number, stranger, "acknowledge")
        assert isinstance(refused.value, PermissionError) and refused.value.officer_id == stranger
    with pytest.raises(NotAllowed):
        case_desk.hand_over_to(case.number, "zhao_min", None)
    assert count(case_desk, case.number) == counts
    result = case_desk.officer_act(case.number, "zhou_jian", "contacted")
    assert result.changed and result.case.officer_id == "wang_li"  # the supervisor acts, the case stays
    assert case_desk.store.events(case.number)[-1].actor == "officer:zhou_jian"


def test_a_deactivated_officer_may_no_longer_act(case_desk: Desk, case) -> None:
    case_desk.store.officers.deactivate("wang_li", case_desk.now())
    with pytest.raises(NotAllowed):
        case_desk.officer_act(case.number, "wang_li", "acknowledge")


def test_resolving_needs_a_note_and_tells_the_resident(case_desk: Desk, case) -> None:
    for note in (None, "", "   "):
        with pytest.raises(ValueError, match="needs a note"):
            case_desk.officer_act(case.number, "wang_li", "resolve", note=note)
    result = case_desk.officer_act(case.number, "wang_li", "resolve", note=" 已当面调解 ")
    assert (result.case.state, result.case.resolution_note) == (CaseState.RESOLVED, "已当面调解")
    assert result.case.first_response_at is not None  # resolving answered the resident too
    assert told(case_desk, case.number)[-1][2] == {
        "number": case.number,
        "event": "resolved",
        "officer_id": "wang_li",
    }


def test_steps_the_state_does_not_allow_are_refused(case_desk: Desk, case) -> None:
    case_desk.officer_act(case.number, "wang_li", "contacted", note="电话联系了")
    assert case_desk.store.events(case.number)[-1].detail["note"] == "电话联系了"
    with pytest.raises(InvalidTransition):
        case_desk.officer_act(case.number, "wang_li", "acknowledge")
    with pytest.raises(ValueError, match="unknown officer action"):
        case_desk.officer_act(case.number, "wang_li", "close")
    with pytest.raises(CaseNotFound):
        case_desk.officer_act("HM-2026-000999", "wang_li", "acknowledge")


# ---------------------------------------------------------------- hand-over


def test_hand_over_to_a_chosen_officer_with_their_promise(case_desk: Desk, case, clock) -> None:
    clock.advance(hours=1)
    before = len(case_desk.store.outbox.notifications(case.number))
    moved = case_desk.hand_over_to(case.number, "wang_li", "zhao_min", expected_version=1)
    assert (moved.case.officer_id, moved.case.state, moved.officer.id) == (
        "zhao_min",
        CaseState.HANDED_OVER,
        "zhao_min",
    )
    # Within 24 hours of Wednesday 11:00, ending while Zhao Min (12:00–20:00) works: Wednesday 20:00.
    assert moved.case.promise_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 2, 20, 0, tzinfo=SHANGHAI)
    assert moved.case.promise_set_at == clock.moment and moved.case.reminded_at is None
    due = moved.case.promise_due_at.astimezone(SHANGHAI).isoformat()
    assert told(case_desk, case.number, before) == [
        ("officer:zhao_min", "case_assigned", {"number": case.number, "from_officer": "wang_li"}),
        (
            "resident:42",
            "case_update",
            {"number": case.number, "event": "handed_over", "officer_id": "zhao_min", "due_at": due},
        ),
    ]
    counts = count(case_desk, case.number)
    # Wang Li presses the same button again on the old card: done already, not "not allowed".
    again = case_desk.hand_over_to(case.number, "wang_li", "zhao_min", expected_version=1)
    assert (again.case, again.rule) == (moved.case, "unchanged")
    assert count(case_desk, case.number) == counts
    with pytest.raises(NotAllowed):  # but it is no longer Wang Li's case to act on
        case_desk.officer_act(case.number, "wang_li", "acknowledge")


def test_hand_over_to_whoever_the_roster_picks(case_desk: Desk, case) -> None:
    moved = case_desk.hand_over_to(case.number, "zhou_jian", None, expected_version=1)
    assert moved.case.officer_id not in ("wang_li", "zhou_jian")
    assert moved.case.state is CaseState.HANDED_OVER
    with pytest.raises(ConcurrentUpdate):
        case_desk.hand_over_to(case.number, moved.case.officer_id, None, expected_version=1)


def test_hand_over_to_someone_who_cannot_take_it(case_desk: Desk, case) -> None:
    case_desk.store.officers.deactivate("zhao_min", case_desk.now())
    for target in ("zhao_min", "nobody"):
        with pytest.raises(ValueError, match="not an active officer"):
            case_desk.hand_over_to(case.number, "wang_li", target)
    assert case_desk.store.get(case.number).officer_id == "wang_li"


# ---------------------------------------------------------------- ratings


def test_a_good_rating_closes_the_case(case_desk: Desk, case, clock) -> None:
    resolved(case_desk, clock, case)
    before = len(case_desk.store.outbox.notifications(case.number))
    result = case_desk.rate("42", case.number, 5)
    assert isinstance(result, RateResult) and not result.reopened
    assert (result.case.state, result.case.rating, result.case.closed_at) == (
        CaseState.CLOSED,
        5,
        clock.moment,
    )
    # The resident is answered by the gateway when they press; nothing queued for them repeats it.
    assert told(case_desk, case.number, before) == [
        ("officer:wang_li", "case_update", {"number": case.number, "event": "rated", "rating": 5}),
    ]
    counts = count(case_desk, case.number)
    for rating in (5, 1):  # a second press, even of another button
        with pytest.raises(CaseRefused) as refused:
            case_desk.rate("42", case.number, rating)
        assert refused.value.reason == "already_rated"
    assert count(case_desk, case.number) == counts


def test_a_low_rating_reopens_the_case_to_the_supervisor(case_desk: Desk, case, clock) -> None:
    resolved(case_desk, clock, case)
    clock.advance(hours=1)  # Wednesday 12:00
    before = len(case_desk.store.outbox.notifications(case.number))
    result = case_desk.rate("42", case.number, 1, comment="根本没解决")
    assert result.reopened
    reopened = result.case
    assert (reopened.state, reopened.officer_id, reopened.rating, reopened.rating_comment) == (
        CaseState.REOPENED,
        "zhou_jian",
        1,
        "根本没解决",
    )
    # A fresh promise within 24 hours of Wednesday 12:00, the supervisor (08:30–17:30) on duty then.
    assert reopened.promise_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
    assert (reopened.promise_set_at, reopened.resolved_at, reopened.closed_at) == (clock.moment, None, None)
    assert told(case_desk, case.number, before) == [
        (
            "officer:zhou_jian",
            "case_assigned",
            {"number": case.number, "from_officer": "wang_li", "reason": "low_rating", "rating": 1},
        ),
        (
            "officer:wang_li",
            "case_update",
            {"number": case.number, "event": "rated", "rating": 1, "comment": "根本没解决"},
        ),
    ]  # the resident's press is answered by the gateway at once, with the supervisor and the promise
    with pytest.raises(CaseRefused) as refused:
        case_desk.rate("42", case.number, 1)
    assert refused.value.reason == "already_rated"
    # The supervisor works it and resolves it again: now the resident may rate once more.
    case_desk.officer_act(case.number, "zhou_jian", "contacted")
    case_desk.officer_act(case.number, "zhou_jian", "resolve", note="所长上门处理")
    assert case_desk.rate("42", case.number, 4).case.state is CaseState.CLOSED


def test_only_the_residents_own_resolved_case_can_be_rated(case_desk: Desk, case, clock) -> None:
    with pytest.raises(CaseRefused) as early:
        case_desk.rate("42", case.number, 5)
    assert early.value.reason == "not_resolved"
    resolved(case_desk, clock, case)
    for resident, number in (("43", case.number), ("42", "HM-2026-000999"), ("42", "nonsense")):
        with pytest.raises(CaseRefused) as refused:
            case_desk.rate(resident, number, 5)
        assert refused.value.reason == "not_found"
    for bad in (0, 6, 2.5, True):
        with pytest.raises(ValueError, match="whole number"):
            case_desk.rate("42", case.number, bad)  # type: ignore[arg-type]
    assert case_desk.store.get(case.number).state is CaseState.RESOLVED


def test_a_comment_after_the_rating_reaches_the_officers(case_desk: Desk, case, clock) -> None:
    with pytest.raises(CaseRefused) as unrated:
        case_desk.add_rating_comment("42", case.number, "谢谢")
    assert unrated.value.reason == "not_rated"
    resolved(case_desk, clock, case)
    case_desk.rate("42", case.number, 2)
    before = len(case_desk.store.outbox.notifications(case.number))
    updated = case_desk.add_rating_comment("42", case.number, " 态度不好 ")
    assert (updated.rating_comment, updated.rating, updated.state) == ("态度不好", 2, CaseState.REOPENED)
    payload = {"number": case.number, "event": "rated", "rating": 2, "comment": "态度不好"}
    assert told(case_desk, case.number, before) == [
        ("officer:wang_li", "case_update", payload),  # the officer who was rated
        ("officer:zhou_jian", "case_update", payload),  # and the supervisor who has the case now
    ]
    with pytest.raises(CaseRefused):
        case_desk.add_rating_comment("43", case.number, "x")
    with pytest.raises(ValueError, match="say something"):
        case_desk.add_rating_comment("42", case.number, "  ")


def test_a_new_desk_on_the_same_database_carries_on(case_desk: Desk, case, clock, tmp_path: Path) -> None:
    case_desk.officer_act(case.number, "wang_li", "acknowledge")
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    restarted = Desk(load_settings(REPO_ROOT / "config"), store, clock=clock)
    again = restarted.officer_act(case.number, "wang_li", "acknowledge", expected_version=1)
    assert not again.changed
    restarted.officer_act(case.number, "wang_li", "resolve", note="好了", expected_version=again.case.version)
    assert restarted.rate("42", case.number, 3).case.state is CaseState.CLOSED
    assert case_desk.store.get(case.number).rating == 3
    store.close()


def test_two_devices_pressing_at_once_tell_the_resident_once(
    case_desk: Desk, case, clock, tmp_path: Path
) -> None:
    desks = [case_desk] + [
        Desk(
            load_settings(REPO_ROOT / "config"),
            Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}"),
            clock=clock,
        )
        for _ in range(3)
    ]
    barrier = threading.Barrier(len(desks))
    results: list[Any] = [None] * len(desks)

    def press(index: int) -> None:
        barrier.wait()
        results[index] = desks[index].officer_act(case.number, "wang_li", "acknowledge", expected_version=1)

    threads = [threading.Thread(target=press, args=(index,)) for index in range(len(desks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result.changed for result in results) == [False, False, False, True]
    updates = [n for n in case_desk.store.outbox.notifications(case.number) if n.recipient == "resident:42"]
    assert [n.payload["event"] for n in updates] == ["acknowledged"]
    for desk in desks[1:]:
        desk.store.close()
