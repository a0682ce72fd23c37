"""The desk: a report becomes one case with a priority, an officer and a promise — or joins the open one."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hemu.cases import CaseState, Priority
from hemu.desk import CaseRefused, Desk
from tests.hemu.desk_support import report, told

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_report_becomes_a_case_with_the_reason_for_its_officer_in_the_audit_log(case_desk: Desk) -> None:
    outcome = case_desk.open_case(report())
    assert outcome.opened and outcome.rule == "area_on_duty"
    case = outcome.case
    assert (case.priority, case.officer_id, case.state) == (Priority.NORMAL, "wang_li", CaseState.OPEN)
    # Within 24 hours on the wall clock (it used to be 24 hours of her duty, Friday 16:00): Wednesday
    # 10:00 + 24 h is Thursday 10:00, when Wang Li (08:30–17:30) is on duty.
    assert case.promise_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
    assigned = [event for event in case_desk.store.events(case.number) if event.kind == "assigned"]
    assert "Wang Li serves binhe and is on duty for the promise" in assigned[0].reason


def test_contact_is_kept_only_with_consent(case_desk: Desk) -> None:
    case = case_desk.open_case(report(contact_consent=False, contact="138 0000 1234")).case
    assert case.contact is None


def test_load_decides_between_two_officers_of_an_area(case_desk: Desk, clock) -> None:
    clock.moment = datetime(2026, 12, 2, 13, 0, tzinfo=SHANGHAI)  # Wang Li and Zhao Min both on duty
    first = case_desk.open_case(report(resident_id="1", area_id="liuan")).case
    second = case_desk.open_case(report(resident_id="2", area_id="liuan")).case
    assert {first.officer_id, second.officer_id} == {"wang_li", "zhao_min"}


def test_every_danger_message_goes_onto_the_one_urgent_case(case_desk: Desk) -> None:
    first = case_desk.open_case(report(category="danger", risk_flags=("violence",)), priority=Priority.URGENT)
    again = case_desk.open_case(report(category="report_spouse_conflict", risk_flags=("threat",)))
    assert first.opened and not again.opened and again.case.number == first.case.number
    assert first.case.promise_due_at - first.case.opened_at == timedelta(minutes=15)


def test_danger_caught_outside_the_conversation_pages_an_officer_on_one_urgent_case(case_desk: Desk) -> None:
    first = case_desk.open_urgent_case("42", "zh", "  他拿着菜刀在门口  ", {"weapon", "threat"})
    assert first.opened
    case = first.case
    assert (case.priority, case.category, case.summary) == (Priority.URGENT, "danger", "他拿着菜刀在门口")
    assert case.risk_flags == ("threat", "weapon") and case.area_id is None
    assert case.promise_due_at - case.opened_at == timedelta(minutes=15)
    cards = [n for n in case_desk.store.outbox.notifications(case.number) if n.kind == "case_assigned"]
    assert [n.recipient for n in cards] == [f"officer:{case.officer_id}"]
    # A second one, however it arrived, goes onto that case: one page, never two urgent cases.
    again = case_desk.open_urgent_case("42", "zh", "他还在砸门", ["violence"])
    assert not again.opened and again.case.number == case.number
    assert len(case_desk.store.cases_for_resident("42")) == 1


def test_an_urgent_case_needs_a_danger_and_words(case_desk: Desk) -> None:
    with pytest.raises(ValueError, match="danger"):
        case_desk.open_urgent_case("42", "en", "he is shouting", [])
    with pytest.raises(ValueError, match="words"):
        case_desk.open_urgent_case("42", "en", "  ", ["threat"])
    assert case_desk.store.cases() == []


def test_a_new_kind_of_dispute_is_a_new_case(case_desk: Desk) -> None:
    case_desk.open_case(report())
    other = case_desk.open_case(report(category="report_pet_dispute"))
    assert other.opened and len(case_desk.store.cases()) == 2


def test_hand_over_picks_someone_else_with_a_fresh_promise(case_desk: Desk, clock) -> None:
    case = case_desk.open_case(report()).case
    clock.advance(hours=1)
    moved = case_desk.hand_over(case.number, actor="officer:wang_li", why="on leave from tomorrow")
    assert moved.case.officer_id != "wang_li" and moved.case.state == CaseState.HANDED_OVER
    assert moved.case.promise_due_at > case_desk.now()
    told = [
        (n.recipient, n.kind, n.payload.get("event"))
        for n in case_desk.store.outbox.notifications(case.number)
    ]
    assert (f"officer:{moved.case.officer_id}", "case_assigned", None) in told
    assert ("resident:42", "case_update", "handed_over") in told


def test_only_the_resident_may_cancel_and_only_an_active_case(case_desk: Desk) -> None:
    case = case_desk.open_case(report()).case
    with pytest.raises(CaseRefused) as refused:
        case_desk.cancel("someone-else", case.number)
    assert refused.value.reason == "not_found"
    assert case_desk.cancel("42", case.number).state == CaseState.CANCELLED
    with pytest.raises(CaseRefused) as again:
        case_desk.cancel("42", case.number)
    assert (again.value.reason, again.value.state) == ("not_active", CaseState.CANCELLED)


def test_a_danger_case_is_not_withdrawn_the_officer_hears_the_resident_is_safe(case_desk: Desk) -> None:
    case = case_desk.open_urgent_case("42", "zh", "他拿着菜刀站在门口", ["weapon"]).case
    with pytest.raises(CaseRefused) as refused:
        case_desk.cancel("42", case.number)
    assert refused.value.reason == "danger"
    kept = case_desk.say_safe("42", case.number)
    assert kept.state == case.state and kept.is_active
    assert [e.kind for e in case_desk.store.events(case.number)][-1] == "resident_says_safe"
    assert told(case_desk, case.number)[-1] == (
        f"officer:{case.officer_id}",
        "case_update",
        {"number": case.number, "event": "resident_says_safe"},
    )
    with pytest.raises(CaseRefused):
        case_desk.say_safe("someone-else", case.number)


def test_a_clock_without_timezone_is_refused(case_desk: Desk, clock) -> None:
    clock.moment = datetime(2026, 12, 2, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        case_desk.open_case(report())
