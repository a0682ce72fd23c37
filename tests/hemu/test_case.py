"""The case's rules on their own, without a database: what each change sets, records and tells."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemu.case import Case
from hemu.cases import CaseState, InvalidTransition, Priority
from hemu.store.records import CaseRecord

OPENED = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
DUE = OPENED + timedelta(hours=2)


def record(**values: object) -> CaseRecord:
    base = CaseRecord(
        id=1,
        number="HM-2026-000001",
        year=2026,
        seq=1,
        category="report_noise",
        priority=Priority.NORMAL,
        state=CaseState.OPEN,
        language="zh",
        resident_id="42",
        summary="楼上半夜拖椅子",
        area_id="binhe",
        area_text=None,
        parties=None,
        duration=None,
        harm=None,
        risk_flags=(),
        contact_consent=False,
        contact=None,
        officer_id="wang_li",
        promise_due_at=DUE,
        opened_at=OPENED,
        updated_at=OPENED,
        first_response_at=None,
        resolved_at=None,
        closed_at=None,
        resolution_note=None,
        rating=None,
        rating_comment=None,
        version=1,
        promise_set_at=OPENED,
        reminded_at=None,
        breaches=0,
        followed_up_at=None,
        promise_kept=None,
    )
    return replace(base, **values)


def test_the_first_answer_in_time_keeps_the_promise_and_counts_as_first_response() -> None:
    at = DUE - timedelta(minutes=1)
    change = Case(record()).move_to(CaseState.ACKNOWLEDGED, at, "officer:wang_li", "", {}, {})
    assert change.values == {"state": "acknowledged", "first_response_at": at, "promise_kept": True}
    assert [event["kind"] for event in change.events] == ["state_changed"]


def test_resolving_without_a_word_first_still_answered_the_resident_but_late_is_late() -> None:
    late = DUE + timedelta(minutes=1)
    change = Case(record()).move_to(
        CaseState.RESOLVED, late, "officer:wang_li", "", {"resolution_note": "谈过"}, {}
    )
    assert change.values["first_response_at"] == late and change.values["promise_kept"] is False
    assert change.values["resolved_at"] == late
    assert change.events[0]["detail"] == {"resolution_note": "谈过"}


def test_a_breach_recorded_first_is_not_undone_by_a_late_answer() -> None:
    broken = record(promise_kept=False, breaches=1)
    change = Case(broken).move_to(
        CaseState.CONTACTED, DUE + timedelta(hours=3), "officer:wang_li", "", {}, {}
    )
    assert "promise_kept" not in change.values


def test_withdrawn_after_the_promise_lapsed_counts_as_broken() -> None:
    change = Case(record()).move_to(
        CaseState.CANCELLED, DUE + timedelta(minutes=5), "resident:42", "", {}, {}
    )
    assert change.values["promise_kept"] is False
    before = Case(record()).move_to(
        CaseState.CANCELLED, DUE - timedelta(minutes=5), "resident:42", "", {}, {}
    )
    assert "promise_kept" not in before.values


def test_a_hand_over_gives_the_new_officer_the_card_and_a_fresh_promise() -> None:
    new_due = DUE + timedelta(hours=5)
    change = Case(record()).hand_to(
        "zhang_wei", new_due, DUE + timedelta(hours=1), "officer:wang_li", "", "area"
    )
    assert change.values["officer_id"] == "zhang_wei" and change.values["promise_due_at"] == new_due
    assert change.values["promise_kept"] is False  # the first promise lapsed unanswered: settled, not hidden
    [card] = change.notifications
    assert (card.recipient, card.kind, dict(card.payload)) == (
        "officer:zhang_wei",
        "case_assigned",
        {"number": "HM-2026-000001", "from_officer": "wang_li"},
    )


def test_details_go_to_the_assigned_officer_and_not_onto_a_closed_case() -> None:
    change = Case(record()).add_details("他又来了", "resident:42")
    assert [(n.recipient, dict(n.payload)["event"]) for n in change.notifications] == [
        ("officer:wang_li", "details_added")
    ]
    with pytest.raises(InvalidTransition):
        Case(record(state=CaseState.CLOSED)).add_details("又来了", "resident:42")


def test_the_watchers_bookkeeping_happens_once_and_only_on_the_promise_it_saw() -> None:
    case = Case(record())
    reminded = case.remind(DUE, DUE - timedelta(minutes=30))
    assert reminded is not None and case.remind(DUE + timedelta(hours=1), DUE) is None
    assert Case(record(reminded_at=DUE)).remind(DUE, DUE) is None
    renewed = DUE + timedelta(hours=2)
    broken = case.break_promise(DUE, renewed, DUE, officer_id="wang_li")
    assert broken is not None and broken.values["breaches"] == 1 and broken.values["promise_kept"] is False
    assert case.break_promise(DUE, renewed, DUE, officer_id="zhang_wei") is None  # not theirs any more
    assert Case(record(promise_due_at=renewed)).break_promise(DUE, renewed, DUE, None) is None
    assert case.follow_up(DUE) is None  # only closed cases are followed up
    closed = Case(record(state=CaseState.CLOSED, rating=5))
    assert closed.follow_up(DUE) is not None
    assert Case(record(state=CaseState.CLOSED, followed_up_at=DUE)).follow_up(DUE) is None


@given(
    kept=st.booleans(),
    minutes=st.integers(min_value=-600, max_value=6000),
    target=st.sampled_from([CaseState.CONTACTED, CaseState.RESOLVED, CaseState.CANCELLED]),
)
def test_a_settled_promise_is_never_settled_again(kept: bool, minutes: int, target: CaseState) -> None:
    """Whether the first promise was kept is decided once (first response, breach or withdrawal)."""
    settled = record(
        promise_kept=kept, first_response_at=OPENED + timedelta(minutes=5), state=CaseState.ACKNOWLEDGED
    )
    at = DUE + timedelta(minutes=minutes)
    change = Case(settled).move_to(target, at, "officer:wang_li", "", {}, {})
    assert "promise_kept" not in change.values and "first_response_at" not in change.values
    handed = Case(settled).hand_to("zhang_wei", at + timedelta(hours=1), at, "system", "", "roster")
    assert "promise_kept" not in handed.values
