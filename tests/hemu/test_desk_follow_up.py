"""A week after closing the resident is asked whether the problem came back; "yes" reopens the case."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hemu.cases import CaseState
from hemu.desk import CaseRefused, Desk, Report
from tests.conftest import Clock
from tests.hemu.desk_support import told

SHANGHAI = ZoneInfo("Asia/Shanghai")


def followed_up(desk: Desk, clock: Clock) -> str:
    number = desk.open_case(
        Report(resident_id="42", language="zh", category="report_noise", summary="吵", area_id="binhe")
    ).case.number
    desk.officer_act(number, "wang_li", "acknowledge")
    desk.officer_act(number, "wang_li", "resolve", note="调解好了")
    desk.rate("42", number, 5)
    clock.moment = datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)  # a week later, Wednesday 10:00
    assert desk.watch().followed_up == [number]
    return number


def test_only_a_case_that_was_asked_about(case_desk: Desk, clock: Clock) -> None:
    number = case_desk.open_case(
        Report(resident_id="42", language="zh", category="report_noise", summary="吵", area_id="binhe")
    ).case.number
    with pytest.raises(CaseRefused) as refused:
        case_desk.follow_up_answer("42", number, came_back=True)
    assert refused.value.reason == "not_asked"
    with pytest.raises(CaseRefused) as stranger:
        case_desk.follow_up_answer("43", number, came_back=True)
    assert stranger.value.reason == "not_found"


def test_all_is_fine_is_only_noted(case_desk: Desk, clock: Clock) -> None:
    number = followed_up(case_desk, clock)
    before = len(case_desk.store.outbox.notifications(number))
    case = case_desk.follow_up_answer("42", number, came_back=False)
    assert case.state is CaseState.CLOSED
    case_desk.follow_up_answer("42", number, came_back=False)
    answers = [e for e in case_desk.store.events(number) if e.kind == "follow_up_answered"]
    assert [(e.actor, e.detail) for e in answers] == [("resident:42", {"came_back": False})]
    assert len(case_desk.store.outbox.notifications(number)) == before


def test_it_came_back_reopens_to_the_same_officer_with_a_new_promise(case_desk: Desk, clock: Clock) -> None:
    number = followed_up(case_desk, clock)
    before = len(case_desk.store.outbox.notifications(number))
    case = case_desk.follow_up_answer("42", number, came_back=True)
    assert (case.state, case.officer_id, case.promise_set_at) == (CaseState.REOPENED, "wang_li", clock.moment)
    # Normal priority, within 24 hours of Wednesday 10:00 again, Wang Li on duty then: Thursday 10:00.
    due = datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI)
    assert case.promise_due_at == due
    assert told(case_desk, number, before) == [
        (
            "officer:wang_li",
            "case_assigned",
            {"number": number, "from_officer": "wang_li", "reason": "came_back"},
        ),
        ("officer:wang_li", "case_update", {"number": number, "event": "follow_up_came_back"}),
    ]  # the resident's press is answered by the gateway at once; nothing queued repeats it
    counts = len(case_desk.store.outbox.notifications(number)), len(case_desk.store.events(number))
    again = case_desk.follow_up_answer("42", number, came_back=True)  # a double press
    assert again.version == case.version
    assert (len(case_desk.store.outbox.notifications(number)), len(case_desk.store.events(number))) == counts
    # The reopened case is watched like any other, but is not asked about a second time.
    assert case_desk.watch().next_check is not None


def test_it_came_back_to_an_officer_who_left(case_desk: Desk, clock: Clock) -> None:
    number = followed_up(case_desk, clock)
    case_desk.store.officers.deactivate("wang_li", clock.moment)
    case = case_desk.follow_up_answer("42", number, came_back=True)
    assert case.state is CaseState.REOPENED and case.officer_id != "wang_li"
    latest = case_desk.store.outbox.notifications(number)[-2:]
    assert [(n.recipient, n.kind) for n in latest] == [
        (f"officer:{case.officer_id}", "case_assigned"),
        (f"officer:{case.officer_id}", "case_update"),
    ]
