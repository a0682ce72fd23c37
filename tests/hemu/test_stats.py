"""Station statistics: satisfaction, first promises kept, first-response times, open cases — and the
same numbers after a resident is forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hemu.desk import Desk, Report
from hemu.stats import Stats
from hemu.store import ERASED_PREFIX, ERASED_TEXT, OutboxStatus
from tests.conftest import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def report(resident: str, **values: Any) -> Report:
    defaults: dict[str, Any] = {
        "resident_id": resident,
        "language": "zh",
        "category": "report_noise",
        "summary": f"{resident} 楼上半夜拖椅子",
        "area_id": "binhe",
        "area_text": "滨河小区3栋",
        "parties": "楼上邻居",
        "duration": "两个月",
        "harm": "none",
        "contact_consent": True,
        "contact": "138 0000 0000",
    }
    return Report(**{**defaults, **values})


def test_no_cases_no_rates(case_desk: Desk) -> None:
    assert case_desk.stats() == Stats(
        rated=0,
        satisfied=0,
        satisfaction_rate=None,
        promises_due=0,
        promises_kept=0,
        promise_kept_rate=None,
        median_first_contact=None,
        open_by_category={},
        open_by_area={},
        open_total=0,
    )


def station_week(desk: Desk, clock: Clock) -> dict[str, str]:
    """Six cases opened Wednesday 10:00 (due within 24 hours), each ending differently."""
    opened = {
        name: desk.open_case(report(name, **extra)).case.number
        for name, extra in {
            "happy": {},
            "unhappy": {"category": "report_pet_dispute", "area_id": None},
            "ignored": {"category": "report_shared_space"},
            "waiting": {"category": "report_shared_space", "area_id": "liuan"},
            "withdrawn": {},
            "late": {"category": "report_property_damage"},
        }.items()
    }
    assert all(at(2, 10) < desk.store.get(n).promise_due_at <= at(3, 10) for n in opened.values())
    clock.advance(minutes=30)
    desk.officer_act(opened["happy"], desk.store.get(opened["happy"]).officer_id, "acknowledge")
    desk.officer_act(opened["happy"], desk.store.get(opened["happy"]).officer_id, "resolve", note="好了")
    desk.rate("happy", opened["happy"], 5, comment="谢谢王警官")
    clock.advance(minutes=90)
    unhappy = desk.store.get(opened["unhappy"])
    desk.officer_act(opened["unhappy"], unhappy.officer_id, "resolve", note="劝了")
    desk.rate("unhappy", opened["unhappy"], 2)  # reopened to the supervisor: still open
    desk.cancel("withdrawn", opened["withdrawn"])
    clock.moment = at(4, 21)  # every first promise has fallen due
    desk.officer_act(opened["late"], desk.store.get(opened["late"]).officer_id, "contacted")
    desk.watch()  # breaks "ignored" and "waiting"
    clock.moment = at(5, 10)
    return opened


def test_the_numbers_of_a_week(case_desk: Desk, clock: Clock) -> None:
    opened = station_week(case_desk, clock)
    stats = case_desk.stats()
    assert (stats.rated, stats.satisfied, stats.satisfaction_rate) == (2, 1, 0.5)
    # Due: happy, unhappy (answered in time), late (answered late), ignored + waiting (broken). Not the
    # withdrawn one: cancelled before its promise fell due. Kept: happy and unhappy.
    assert (stats.promises_due, stats.promises_kept, stats.promise_kept_rate) == (5, 2, 0.4)
    # First contacts: 30 min, 2 h, 59 h (Wednesday 10:00 → Friday 21:00): the median is 2 h.
    assert stats.median_first_contact == timedelta(hours=2)
    assert stats.open_by_category == {
        "report_pet_dispute": 1,
        "report_property_damage": 1,
        "report_shared_space": 2,
    }
    assert stats.open_by_area == {"binhe": 2, "liuan": 1, "unknown": 1}
    assert stats.open_total == 4
    assert case_desk.store.get(opened["ignored"]).breaches == 1


def test_a_renewed_or_reopened_promise_does_not_rewrite_the_first_one(case_desk: Desk, clock: Clock) -> None:
    number = case_desk.open_case(report("r")).case.number
    clock.moment = at(4, 17)  # late, and no watcher ran: the promise was still broken
    case_desk.hand_over_to(number, "wang_li", "zhao_min")  # a fresh promise for Zhao Min…
    case_desk.officer_act(number, "zhao_min", "acknowledge")  # …kept, but the resident's first was not
    stats = case_desk.stats()
    assert (stats.promises_due, stats.promises_kept) == (1, 0)


def test_promises_not_yet_due_are_not_counted(case_desk: Desk, clock: Clock) -> None:
    case_desk.open_case(report("r"))
    assert case_desk.stats().promises_due == 0
    clock.moment = at(3, 10)
    assert (case_desk.stats().promises_due, case_desk.stats().promises_kept) == (1, 0)
    assert case_desk.stats(now=at(3, 9)).promises_due == 0


def test_forgetting_keeps_the_statistics(case_desk: Desk, clock: Clock) -> None:
    opened = station_week(case_desk, clock)
    case_desk.store.inbound.add("happy", 1001, "还在吗", {"language": "zh"}, clock.moment)
    before = case_desk.stats()
    assert case_desk.forget_resident("happy") == 1
    assert case_desk.stats() == before
    case = case_desk.store.get(opened["happy"])
    assert case.resident_id.startswith(ERASED_PREFIX) and len(case.resident_id) == len(ERASED_PREFIX) + 12
    assert (case.summary, case.area_text, case.parties, case.duration, case.contact) == (
        ERASED_TEXT,
        None,
        None,
        None,
        None,
    )
    assert (case.rating_comment, case.resolution_note, case.rating) == (ERASED_TEXT, ERASED_TEXT, 5)
    assert (case.category, case.area_id, case.first_response_at) == ("report_noise", "binhe", at(2, 10, 30))
    assert case_desk.resident_cases("happy") == []
    everything = repr(case_desk.store.events(case.number)) + repr(
        case_desk.store.outbox.notifications(case.number)
    )
    for personal in ("谢谢王警官", "好了", "resident:happy", "happy 楼上"):
        assert personal not in everything
    (message,) = case_desk.store.inbound.messages(case.resident_id)
    assert (message.status.value, message.text) == ("dropped", ERASED_TEXT)
    assert not case_desk.store.inbound.has_pending("happy")
    assert case_desk.forget_resident("happy") == 0


def test_forgetting_withdraws_open_cases_and_drops_what_was_not_sent(case_desk: Desk, clock: Clock) -> None:
    number = case_desk.open_case(report("gone")).case.number
    case_desk.officer_act(number, "wang_li", "acknowledge")  # a resident notification, not yet sent
    other = case_desk.open_case(report("stays")).case.number
    assert case_desk.forget_resident("gone") == 1
    case = case_desk.store.get(number)
    assert case.state.value == "cancelled"
    sent = [
        (n.recipient, n.kind, n.payload.get("event"), n.status)
        for n in case_desk.store.outbox.notifications(number)
    ]
    assert ("officer:wang_li", "case_update", "cancelled_by_resident", OutboxStatus.PENDING) in sent
    resident = [row for row in sent if row[0].startswith("resident:")]
    assert resident and all(status is OutboxStatus.DROPPED for *_, status in resident)
    assert all(row[0] == f"resident:{case.resident_id}" for row in resident)
    assert case_desk.store.get(other).summary == "stays 楼上半夜拖椅子"
    assert [e.kind for e in case_desk.store.events(number)][-1] == "forgotten"
