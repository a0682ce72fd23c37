"""The case's rules on their own, without a database: what each change sets, records and tells."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemu.case import Case, Change
from hemu.cases import CaseState, InvalidTransition, Priority
from hemu.store.records import CaseRecord

UTC = timezone.utc
OPENED = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
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


def test_first_contact_in_time_keeps_the_promise_and_counts_as_first_response() -> None:
    at = DUE - timedelta(minutes=1)
    change = Case(record()).move_to(CaseState.CONTACTED, at, "officer:wang_li", "", {}, {})
    assert change.values == {"state": "contacted", "first_response_at": at, "promise_kept": True}
    assert [event["kind"] for event in change.events] == ["state_changed"]


def test_acknowledging_is_not_an_answer_the_promise_of_contact_runs_on() -> None:
    at = DUE - timedelta(minutes=30)
    acknowledged = Case(record()).move_to(CaseState.ACKNOWLEDGED, at, "officer:wang_li", "", {}, {})
    assert acknowledged.values == {"state": "acknowledged"}  # neither a first response nor a kept promise
    case = Case(record(state=CaseState.ACKNOWLEDGED))
    assert case.remind(DUE, at, UTC) is not None  # the watcher still reminds …
    renewed = case.break_promise(
        DUE, DUE + timedelta(hours=2), DUE, "wang_li", [("wang_li", "assigned")], UTC
    )
    assert renewed is not None and renewed.values["promise_kept"] is False  # … and the breach counts
    contacted = Case(record(state=CaseState.ACKNOWLEDGED)).move_to(
        CaseState.CONTACTED, DUE + timedelta(minutes=5), "officer:wang_li", "", {}, {}
    )
    assert contacted.values["promise_kept"] is False  # contact after the promised time: broken


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
    reminded = case.remind(DUE, DUE - timedelta(minutes=30), UTC)
    assert reminded is not None and case.remind(DUE + timedelta(hours=1), DUE, UTC) is None
    assert Case(record(reminded_at=DUE)).remind(DUE, DUE, UTC) is None
    renewed = DUE + timedelta(hours=2)
    told = [("wang_li", "assigned")]
    broken = case.break_promise(DUE, renewed, DUE, "wang_li", told, UTC)
    assert broken is not None and broken.values["breaches"] == 1 and broken.values["promise_kept"] is False
    assert case.break_promise(DUE, renewed, DUE, "zhang_wei", told, UTC) is None  # not theirs any more
    assert Case(record(promise_due_at=renewed)).break_promise(DUE, renewed, DUE, None, told, UTC) is None
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


# ---------------------------------------------------------------- who each act tells


def told(change: Change) -> list[tuple[str, str, str | None]]:
    """(recipient, kind, the case_update's event) of each notice a change writes."""
    return [(n.recipient, n.kind, dict(n.payload).get("event")) for n in change.notifications]


def test_an_officers_button_tells_the_resident_who_pressed_it() -> None:
    at = DUE - timedelta(minutes=5)
    change = Case(record()).officer_moves(CaseState.CONTACTED, "li_ming", "contacted pressed", "电话", at)
    assert told(change) == [("resident:42", "case_update", "contacted")]
    assert change.notifications[0].payload["officer_id"] == "li_ming"  # the supervisor, not the assignee
    assert change.events[0]["detail"] == {"officer_id": "li_ming", "note": "电话"}
    resolved = Case(record()).officer_moves(CaseState.RESOLVED, "wang_li", "resolve pressed", "谈妥", at)
    assert resolved.values["resolution_note"] == "谈妥" and "note" not in resolved.events[0]["detail"]
    erased = Case(record(resident_id="erased:0123456789ab"))
    assert erased.officer_moves(CaseState.CONTACTED, "wang_li", "", None, at).notifications == []


def test_a_hand_over_tells_the_new_officer_and_the_resident_in_station_time() -> None:
    station = ZoneInfo("Asia/Shanghai")
    new_due = DUE + timedelta(hours=5)
    change = Case(record()).hand_over(
        "zhang_wei", new_due, DUE, "officer:wang_li", "off duty", "area", station
    )
    assert told(change) == [
        ("officer:zhang_wei", "case_assigned", None),
        ("resident:42", "case_update", "handed_over"),
    ]
    assert change.notifications[1].payload["due_at"] == new_due.astimezone(station).isoformat()
    assert change.notifications[1].payload["officer_id"] == "zhang_wei"


def test_what_the_resident_does_is_told_to_the_officers_who_must_know() -> None:
    now = DUE - timedelta(minutes=1)
    assert told(Case(record()).withdraw(now)) == [("officer:wang_li", "case_update", "cancelled_by_resident")]
    resolved = record(state=CaseState.RESOLVED, first_response_at=OPENED)
    closed = Case(resolved).close_rated(5, "谢谢", now)
    assert closed.values["state"] == "closed" and closed.values["rating"] == 5
    assert told(closed) == [("officer:wang_li", "case_update", "rated")]
    assert closed.notifications[0].payload["comment"] == "谢谢"
    reopened = Case(resolved).reopen_rated(1, None, "li_ming", DUE + timedelta(hours=2), "supervisor", now)
    assert reopened.values["officer_id"] == "li_ming"
    # The supervisor gets the card, the rated officer their rating; the resident's own press is answered
    # by the gateway at once, so nothing is queued for them.
    assert told(reopened) == [
        ("officer:li_ming", "case_assigned", None),
        ("officer:wang_li", "case_update", "rated"),
    ]
    assert "comment" not in reopened.notifications[1].payload
    # The supervisor's card says why it is theirs: not "handed over by Wang Li" but a low rating.
    assert (reopened.notifications[0].payload["reason"], reopened.notifications[0].payload["rating"]) == (
        "low_rating",
        1,
    )
    back = Case(record(state=CaseState.CLOSED)).came_back("zhang_wei", DUE + timedelta(days=1), "area", now)
    assert told(back) == [
        ("officer:zhang_wei", "case_assigned", None),
        ("officer:zhang_wei", "case_update", "follow_up_came_back"),
    ]
    assert back.notifications[0].payload["reason"] == "came_back"


def test_a_rating_comment_reaches_the_rated_officer_and_whoever_has_the_case_once_each() -> None:
    rated = record(state=CaseState.REOPENED, rating=1, officer_id="li_ming")
    change = Case(rated).comment_rating("太慢了", "resident:42", rated_officer="wang_li")
    assert [n.recipient for n in change.notifications] == ["officer:wang_li", "officer:li_ming"]
    same = Case(record(state=CaseState.CLOSED, rating=4)).comment_rating("好", "resident:42", "wang_li")
    assert [n.recipient for n in same.notifications] == ["officer:wang_li"]
    with pytest.raises(InvalidTransition):
        Case(record()).comment_rating("好", "resident:42", "wang_li")


def test_a_breach_tells_everyone_named_once_and_the_resident_the_new_time() -> None:
    renewed = DUE + timedelta(hours=2)
    escalate = [("wang_li", "assigned"), ("zhang_wei", "backup"), ("li_ming", "supervisor")]
    change = Case(record()).break_promise(DUE, renewed, DUE, "wang_li", escalate, UTC)
    assert change is not None
    assert [(n.recipient, dict(n.payload).get("role")) for n in change.notifications] == [
        ("officer:wang_li", "assigned"),
        ("officer:zhang_wei", "backup"),
        ("officer:li_ming", "supervisor"),
        ("resident:42", None),
    ]
    assert change.notifications[-1].payload["new_due"] == renewed.isoformat()
    with pytest.raises(ValueError):
        Case(record()).break_promise(DUE, renewed, DUE - timedelta(seconds=1), None, escalate, UTC)
    with pytest.raises(ValueError):
        Case(record()).break_promise(DUE, DUE, DUE, None, escalate, UTC)


def test_the_follow_up_question_goes_to_the_resident_unless_they_were_forgotten() -> None:
    closed = Case(record(state=CaseState.CLOSED, rating=5)).follow_up(DUE)
    assert closed is not None and told(closed) == [("resident:42", "follow_up", None)]
    forgotten = Case(record(state=CaseState.CLOSED, rating=5, resident_id="erased:0123456789ab"))
    change = forgotten.follow_up(DUE)
    assert change is not None and change.notifications == [] and change.values == {"followed_up_at": DUE}
