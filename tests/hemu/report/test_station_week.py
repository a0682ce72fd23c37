"""The week of :mod:`tests.hemu.report.station_week` in the report's figures — satisfaction, first promises
kept, first-response times, open cases — and the same figures after a resident is forgotten."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hemu.desk import Desk
from hemu.report import Figures, Period, StationReport, station_report
from hemu.store import ERASED_PREFIX, ERASED_TEXT, OutboxStatus
from tests.conftest import Clock
from tests.hemu.report.station_week import at, report, station_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = Period(date(2026, 11, 30), date(2026, 12, 6), SHANGHAI)


def week_report(desk: Desk, clock: Clock, now: datetime | None = None) -> StationReport:
    return station_report(desk.store, WEEK, now or clock.moment)


def test_no_cases_no_rates(case_desk: Desk, clock: Clock) -> None:
    empty = week_report(case_desk, clock)
    assert empty.total == Figures() == empty.previous
    assert (empty.total.satisfaction_rate, empty.total.promise_kept_rate, empty.total.settle_rate) == (
        None,
    ) * 3
    assert (empty.by_category, empty.by_area, empty.by_officer, empty.waits) == ({}, {}, {}, ())


def test_the_numbers_of_a_week(case_desk: Desk, clock: Clock) -> None:
    opened = station_week(case_desk, clock)
    total = week_report(case_desk, clock).total
    assert (total.rated, total.satisfied, total.satisfaction_rate) == (2, 1, 0.5)
    # Due: happy, unhappy (answered in time), late (answered late), ignored + waiting (broken). Not the
    # withdrawn one: cancelled before its promise fell due. Kept: happy and unhappy.
    assert (total.promises_due, total.promises_kept, total.promise_kept_rate) == (5, 2, 0.4)
    # First contacts: 30 min, 2 h, 59 h (Wednesday 10:00 → Friday 21:00): the median is 2 h.
    assert total.first_response.median == timedelta(hours=2)
    open_now = week_report(case_desk, clock)
    assert {name: f.open_at_end for name, f in open_now.by_category.items() if f.open_at_end} == {
        "report_pet_dispute": 1,
        "report_property_damage": 1,
        "report_shared_space": 2,
    }
    assert {name: f.open_at_end for name, f in open_now.by_area.items() if f.open_at_end} == {
        "binhe": 2,
        "liuan": 1,
        "unknown": 1,
    }
    assert total.open_at_end == 4
    assert case_desk.store.get(opened["ignored"]).breaches == 1


def test_a_renewed_or_reopened_promise_does_not_rewrite_the_first_one(case_desk: Desk, clock: Clock) -> None:
    number = case_desk.open_case(report("r")).case.number
    clock.moment = at(4, 17)  # late, and no watcher ran: the promise was still broken
    case_desk.hand_over_to(number, "wang_li", "zhao_min")  # a fresh promise for Zhao Min…
    case_desk.officer_act(number, "zhao_min", "acknowledge")  # …kept, but the resident's first was not
    total = week_report(case_desk, clock).total
    assert (total.promises_due, total.promises_kept) == (1, 0)


def test_promises_not_yet_due_are_not_counted(case_desk: Desk, clock: Clock) -> None:
    case_desk.open_case(report("r"))
    assert week_report(case_desk, clock).total.promises_due == 0
    clock.moment = at(3, 10)
    total = week_report(case_desk, clock).total
    assert (total.promises_due, total.promises_kept) == (1, 0)
    assert week_report(case_desk, clock, now=at(3, 9)).total.promises_due == 0


def test_forgetting_keeps_the_report(case_desk: Desk, clock: Clock) -> None:
    opened = station_week(case_desk, clock)
    case_desk.store.inbound.add("happy", 1001, "还在吗", {"language": "zh"}, clock.moment)
    before = week_report(case_desk, clock)
    assert case_desk.forget_resident("happy") == 1
    assert week_report(case_desk, clock) == before
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


def test_a_weeks_trend_reaches_back_eight_weeks(case_desk: Desk, clock: Clock) -> None:
    station_week(case_desk, clock)
    week = week_report(case_desk, clock)
    assert [span.first for span, _ in week.trend][-1] == date(2026, 11, 30)
    assert len(week.trend) == 8 and all(span.days == 7 for span, _ in week.trend)
    assert week.trend[-1][1] == week.total and week.weeks == ((WEEK, week.total),)
    assert all(figures == Figures() for _, figures in week.trend[:-1])
