from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemu.config import CalendarSettings, load_station
from hemu.duty import duty_periods, on_duty, shifts_on
from hemu.policy import ResponseTime, load_policy
from hemu.promise import NoDutyTime, promise_due, remind_time
from hemu.roster import WEEKDAYS, Officer, load_roster
from hemu.workcal import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
ROSTER = load_roster()
POLICY = load_policy()
CHINA = WorkCalendar(load_station().calendar)
TICK = timedelta(microseconds=1)


def officer(*shifts: dict[str, Any], officer_id: str = "test") -> Officer:
    names = {"name": {"zh": "测试", "en": "Test"}, "title": {"zh": "民警", "en": "Officer"}}
    return Officer.parse_obj({"id": officer_id, **names, "duty": shifts})


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# The duty-time clock (``counted_in: duty_time``), which a station may still choose for a priority.
DUTY_TIME = {
    "high": ResponseTime(hours=2),
    "normal": ResponseTime(hours=24),
    "urgent": POLICY.response_times["urgent"],  # type: ignore[index]
    "low": POLICY.response_times["low"],  # type: ignore[index]
}


def due(priority: str, officer_id: str, opened_at: datetime) -> datetime:
    return promise_due(DUTY_TIME[priority], ROSTER.get(officer_id), opened_at, CHINA, SHANGHAI)


def promised(priority: str, officer_id: str, opened_at: datetime) -> datetime:
    """The station's policy: high and normal are wall-clock promises due while the officer works."""
    response = POLICY.response_times[priority]  # type: ignore[index]
    return promise_due(response, ROSTER.get(officer_id), opened_at, CHINA, SHANGHAI, POLICY.keeper_duty)


class TestWallClockOnDuty:
    """README, "What a promise is": the resident's promise is wall-clock time, due while its officer works."""

    def test_a_normal_report_is_within_24_hours_not_five_days(self) -> None:
        # Opened Friday 18:00: the weekend officer works Saturday 08:00-20:00, on duty when 24 hours end.
        assert promised("normal", "sun_wei", sh(2026, 12, 4, 18)) == sh(2026, 12, 5, 18)
        # Opened Wednesday 18:00: Thursday's shift ends 17:30, inside the 24 hours.
        assert promised("normal", "wang_li", sh(2026, 12, 2, 18)) == sh(2026, 12, 3, 17, 30)
        # Opened Wednesday 10:00: on duty at Thursday 10:00, so exactly 24 hours.
        assert promised("normal", "wang_li", sh(2026, 12, 2, 10)) == sh(2026, 12, 3, 10)

    def test_a_high_case_is_within_two_hours_when_the_officer_works_them(self) -> None:
        assert promised("high", "wang_li", sh(2026, 12, 2, 10)) == sh(2026, 12, 2, 12)
        # The area officer's shift starts in 12 minutes: 108 of the 120 minutes are hers.
        assert promised("high", "wang_li", sh(2026, 12, 2, 8, 18)) == sh(2026, 12, 2, 10, 18)
        # Only 30 minutes of her shift left (less than half the window): her own duty time, not 17:30.
        assert promised("high", "wang_li", sh(2026, 12, 4, 17)) == sh(2026, 12, 7, 10)

    def test_the_promise_ends_while_the_officer_is_on_duty(self) -> None:
        # 16:30 + 2 h = 18:30, after her 17:30 end; one hour of duty is enough: due 17:30.
        assert promised("high", "wang_li", sh(2026, 12, 2, 16, 30)) == sh(2026, 12, 2, 17, 30)


class TestWorkedExamples:
    def test_friday_five_pm_high_case_is_due_monday_ten(self) -> None:
        # 30 minutes of Friday's shift are left, the other 90 run from Monday 08:30.
        assert due("high", "wang_li", sh(2026, 12, 4, 17)) == sh(2026, 12, 7, 10)

    def test_a_case_opened_at_two_in_the_morning_starts_counting_at_the_next_shift(self) -> None:
        assert due("high", "wang_li", sh(2026, 12, 2, 2)) == sh(2026, 12, 2, 10, 30)
        assert due("high", "liu_yang", sh(2026, 12, 2, 2)) == sh(2026, 12, 2, 4)
        # 24 duty hours at 9 a day: Wednesday, Thursday and 6 hours of Friday.
        assert due("normal", "wang_li", sh(2026, 12, 2, 2)) == sh(2026, 12, 4, 14, 30)

    def test_a_night_shift_counts_across_midnight(self) -> None:
        assert due("high", "liu_yang", sh(2026, 12, 2, 23, 30)) == sh(2026, 12, 3, 1, 30)
        # 08:00 Thursday: 30 minutes left of the night, the rest from 20:00.
        assert due("high", "liu_yang", sh(2026, 12, 3, 8)) == sh(2026, 12, 3, 21, 30)

    def test_urgent_cases_run_on_the_wall_clock(self) -> None:
        assert due("urgent", "wang_li", sh(2026, 12, 5, 3)) == sh(2026, 12, 5, 3, 15)

    def test_the_national_day_holiday_is_skipped(self) -> None:
        assert due("high", "wang_li", sh(2026, 9, 30, 17)) == sh(2026, 10, 8, 10)
        # The weekend officer works the holiday week: 2 hours on Thursday 1 October.
        assert due("high", "sun_wei", sh(2026, 9, 30, 17)) == sh(2026, 10, 1, 10)

    def test_the_2026_make_up_working_days_count(self) -> None:
        # Saturday 14 February is a working day before the Spring Festival.
        assert due("high", "wang_li", sh(2026, 2, 13, 17)) == sh(2026, 2, 14, 10)
        # Low: 3 working days after 30 September are 8, 9 and the make-up Saturday 10 October.
        assert due("low", "wang_li", sh(2026, 9, 30, 10)) == sh(2026, 10, 10, 17, 30)

    def test_working_days_are_the_officers_own_duty_days(self) -> None:
        # Thursday, Friday, Monday for a weekday officer: Monday at the end of the shift.
        assert due("low", "wang_li", sh(2026, 12, 2, 10)) == sh(2026, 12, 7, 17, 30)
        # The night officer's third night after Wednesday starts Saturday and ends Sunday morning.
        assert due("low", "liu_yang", sh(2026, 12, 2, 10)) == sh(2026, 12, 6, 8, 30)
        # The weekend officer's days after Saturday 5 December: Sunday 6, Saturday 12, Sunday 13.
        assert due("low", "sun_wei", sh(2026, 12, 5, 11)) == sh(2026, 12, 13, 20)
        # The opening day does not count, even when the case comes in at 00:01.
        assert due("low", "wang_li", sh(2026, 12, 7, 0, 1)) == sh(2026, 12, 10, 17, 30)

    def test_working_days_wait_for_the_officers_next_duty_day(self) -> None:
        sundays = officer({"days": ["sun"], "from": "09:00", "to": "10:00"})
        response = ResponseTime(working_days=1)
        assert promise_due(response, sundays, sh(2026, 12, 7, 10), CHINA, SHANGHAI) == sh(2026, 12, 13, 10)

    def test_working_days_for_an_officer_always_on_duty_end_at_the_deadline(self) -> None:
        always = officer({"days": "every_day", "from": "00:00", "to": "00:00"})
        response = ResponseTime(working_days=2)
        assert promise_due(response, always, sh(2026, 12, 2, 10), CHINA, SHANGHAI) == sh(2026, 12, 5)

    def test_duty_time_is_real_time_across_a_clock_change(self) -> None:
        nights = officer({"days": "every_day", "from": "20:00", "to": "08:00"})
        germany = WorkCalendar(CalendarSettings(country="DE"))
        opened = datetime(2026, 3, 28, 20, tzinfo=BERLIN)
        # The night of 28-29 March has 11 hours, so hour 12 is the first of the next night.
        assert promise_due(ResponseTime(hours=12), nights, opened, germany, BERLIN) == datetime(
            2026, 3, 29, 21, tzinfo=BERLIN
        )

    def test_the_answer_is_in_the_station_timezone(self) -> None:
        result = due("high", "wang_li", datetime(2026, 12, 2, 2, tzinfo=UTC))  # 10:00 in Shanghai
        assert result == sh(2026, 12, 2, 12)
        assert result.tzinfo is SHANGHAI

    def test_an_officer_without_duty_is_a_roster_problem_named_clearly(self) -> None:
        class NoDays:
            def is_working_day(self, day: date) -> bool:
                return True

        weekends = officer({"days": "non_working_days", "from": "09:00", "to": "17:00"}, officer_id="ghost")
        with pytest.raises(NoDutyTime, match="'ghost'.*roster.yml"):
            promise_due(ResponseTime(hours=2), weekends, sh(2026, 12, 2, 10), NoDays(), SHANGHAI)
        with pytest.raises(NoDutyTime):
            promise_due(ResponseTime(working_days=2), weekends, sh(2026, 12, 2, 10), NoDays(), SHANGHAI)

    def test_naive_opening_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            due("high", "wang_li", datetime(2026, 12, 2, 10))


class TestRemindTime:
    def test_share_of_the_wall_time(self) -> None:
        assert remind_time(sh(2026, 12, 2, 10), sh(2026, 12, 2, 14), 0.75) == sh(2026, 12, 2, 13)
        assert remind_time(sh(2026, 12, 4, 17), sh(2026, 12, 7, 10), 0.5) == sh(2026, 12, 6, 1, 30)

    def test_bad_share_or_order_is_refused(self) -> None:
        with pytest.raises(ValueError):
            remind_time(sh(2026, 12, 2, 10), sh(2026, 12, 2, 14), 1.5)
        with pytest.raises(ValueError):
            remind_time(sh(2026, 12, 2, 14), sh(2026, 12, 2, 10), 0.5)


# ---- properties over generated rosters, opening times and response times ----

ZONES = [SHANGHAI, BERLIN, ZoneInfo("America/New_York"), UTC]
CALENDAR = WorkCalendar(
    CalendarSettings(country="CN", extra_holidays=[date(2026, 12, 2)], extra_working_days=[date(2027, 2, 20)])
)

clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
day_rules = st.one_of(
    st.sampled_from(["working_days", "non_working_days", "every_day"]),
    st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
)
shifts = st.fixed_dictionaries({"days": day_rules, "start": clock_times, "end": clock_times})
officers = st.lists(shifts, min_size=1, max_size=3).map(lambda duty: officer(*duty))
opening_times = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
duty_responses = st.one_of(
    st.builds(ResponseTime, minutes=st.integers(1, 7 * 24 * 60)),
    st.builds(ResponseTime, hours=st.integers(1, 72)),
)
wall_responses = st.one_of(
    st.builds(ResponseTime, minutes=st.integers(1, 7 * 24 * 60), counted_in=st.just("wall_clock")),
    st.builds(ResponseTime, hours=st.integers(1, 24 * 30), counted_in=st.just("wall_clock")),
)
working_day_responses = st.builds(ResponseTime, working_days=st.integers(1, 30))
PROPERTY = settings(max_examples=150, deadline=None)


def duty_time(person: Officer, start: datetime, end: datetime, tz: ZoneInfo) -> timedelta:
    """Exact (timedelta, not float seconds) and in real time: subtracting datetimes sharing a ZoneInfo
    would use wall-clock arithmetic."""
    periods = duty_periods(person, start, end, CALENDAR, tz)
    return sum((e.astimezone(UTC) - s.astimezone(UTC) for s, e in periods), timedelta())


@PROPERTY
@given(person=officers, opened=opening_times, response=duty_responses, tz=st.sampled_from(ZONES))
def test_duty_time_promise_consumes_exactly_the_duration_on_duty(
    person: Officer, opened: datetime, response: ResponseTime, tz: ZoneInfo
) -> None:
    result = promise_due(response, person, opened, CALENDAR, tz)
    assert result > opened
    assert result.tzinfo is tz
    assert response.duration is not None
    assert duty_time(person, opened, result, tz) == response.duration
    assert on_duty(person, result - TICK, CALENDAR, tz)
    assert promise_due(response, person, opened, WorkCalendar(CALENDAR.settings), tz) == result


@PROPERTY
@given(person=officers, opened=opening_times, response=wall_responses, tz=st.sampled_from(ZONES))
def test_wall_clock_promise_is_the_duration_later(
    person: Officer, opened: datetime, response: ResponseTime, tz: ZoneInfo
) -> None:
    result = promise_due(response, person, opened, CALENDAR, tz)
    assert result > opened
    assert result.astimezone(UTC) - opened == response.duration
    assert promise_due(response, person, opened, CALENDAR, tz) == result


@PROPERTY
@given(person=officers, opened=opening_times, response=working_day_responses, tz=st.sampled_from(ZONES))
def test_working_days_promise_ends_a_shift_of_the_nth_duty_day(
    person: Officer, opened: datetime, response: ResponseTime, tz: ZoneInfo
) -> None:
    result = promise_due(response, person, opened, CALENDAR, tz)
    assert result > opened
    assert on_duty(person, result - TICK, CALENDAR, tz)
    # The shift that ends at the promise, the local day it starts, and the duty days counted to get there.
    opening_day = opened.astimezone(tz).date()
    day = opening_day
    duty_days = []
    while not duty_days or duty_days[-1] < result.astimezone(tz).date():
        day += timedelta(days=1)
        if shifts_on(person, day, CALENDAR, tz):
            duty_days.append(day)
    ending_here = [
        start_day
        for start_day in duty_days[-2:]
        if result in [end for _, end in shifts_on(person, start_day, CALENDAR, tz)]
    ]
    assert ending_here, "the promise is the end of one of the officer's shifts"
    # Shifts of two days may end at the same moment: one of them is the N-th duty day's last shift.
    assert any(
        duty_days.index(start_day) + 1 == response.working_days
        and result == max(end for _, end in shifts_on(person, start_day, CALENDAR, tz))
        for start_day in ending_here
    )
    assert promise_due(response, person, opened, WorkCalendar(CALENDAR.settings), tz) == result
