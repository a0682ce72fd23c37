from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hemu.config import CalendarSettings, load_station
from hemu.duty import duty_periods, next_duty_start, on_duty
from hemu.roster import Officer, load_roster
from hemu.workcal import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
ROSTER = load_roster()
CHINA = WorkCalendar(load_station().calendar)
GERMANY = WorkCalendar(CalendarSettings(country="DE"))


def officer(*shifts: dict[str, Any]) -> Officer:
    names = {"name": {"zh": "测试", "en": "Test"}, "title": {"zh": "民警", "en": "Officer"}}
    return Officer.parse_obj({"id": "test", **names, "duty": shifts})


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def hours(periods: list[tuple[datetime, datetime]]) -> float:
    """Real elapsed hours: subtracting datetimes that share a ZoneInfo would use wall-clock time."""
    return sum((end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1) for start, end in periods)


class TestNightShifts:
    liu_yang = ROSTER.get("liu_yang")  # every day 20:00 → 08:30

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            (sh(2026, 12, 2, 23), True),
            (sh(2026, 12, 3, 3), True),
            (sh(2026, 12, 3, 8, 29), True),
            (sh(2026, 12, 3, 8, 30), False),
            (sh(2026, 12, 3, 12), False),
            (sh(2026, 12, 3, 20), True),
        ],
    )
    def test_on_duty_through_the_night(self, at: datetime, expected: bool) -> None:
        assert on_duty(self.liu_yang, at, CHINA, SHANGHAI) is expected

    def test_duty_periods_are_clipped_to_the_window(self) -> None:
        periods = duty_periods(self.liu_yang, sh(2026, 12, 2), sh(2026, 12, 4), CHINA, SHANGHAI)
        assert periods == [
            (sh(2026, 12, 2), sh(2026, 12, 2, 8, 30)),
            (sh(2026, 12, 2, 20), sh(2026, 12, 3, 8, 30)),
            (sh(2026, 12, 3, 20), sh(2026, 12, 4)),
        ]
        assert all(start.tzinfo is SHANGHAI for start, _ in periods)

    def test_a_night_shift_follows_the_rule_of_the_day_it_starts(self) -> None:
        friday_night = officer({"days": ["fri"], "from": "20:00", "to": "08:30"})
        assert on_duty(friday_night, sh(2026, 12, 5, 3), CHINA, SHANGHAI)  # Saturday early morning
        assert not on_duty(friday_night, sh(2026, 12, 4, 3), CHINA, SHANGHAI)  # Friday early morning

    def test_a_working_day_night_shift_runs_into_the_holiday_but_does_not_start_on_it(self) -> None:
        nights = officer({"days": "working_days", "from": "22:00", "to": "06:00"})
        assert on_duty(nights, sh(2026, 10, 1, 3), CHINA, SHANGHAI)  # started on 30 September
        assert not on_duty(nights, sh(2026, 10, 1, 23), CHINA, SHANGHAI)

    def test_touching_shifts_are_one_period(self) -> None:
        both = officer(
            {"days": "every_day", "from": "20:00", "to": "08:30"},
            {"days": "working_days", "from": "08:30", "to": "20:00"},
        )
        periods = duty_periods(both, sh(2026, 12, 2, 12), sh(2026, 12, 5, 12), CHINA, SHANGHAI)
        # Wednesday noon to Saturday 08:30 without a break, then Saturday night.
        assert periods == [(sh(2026, 12, 2, 12), sh(2026, 12, 5, 8, 30))]

    def test_a_shift_from_midnight_to_midnight_lasts_all_day(self) -> None:
        always = officer({"days": "every_day", "from": "00:00", "to": "24:00"})
        assert duty_periods(always, sh(2026, 12, 2, 5), sh(2026, 12, 9, 5), CHINA, SHANGHAI) == [
            (sh(2026, 12, 2, 5), sh(2026, 12, 9, 5))
        ]


class TestCalendarDays:
    wang_li = ROSTER.get("wang_li")  # working days 08:30 → 17:30
    sun_wei = ROSTER.get("sun_wei")  # non-working days 08:00 → 20:00

    def test_on_a_holiday_the_weekend_officer_works(self) -> None:
        national_day = sh(2026, 10, 1, 10)  # a Thursday
        assert not on_duty(self.wang_li, national_day, CHINA, SHANGHAI)
        assert on_duty(self.sun_wei, national_day, CHINA, SHANGHAI)

    @pytest.mark.parametrize("saturday", [sh(2026, 10, 10, 10), sh(2026, 2, 14, 10)])
    def test_on_a_make_up_saturday_the_weekday_officer_works(self, saturday: datetime) -> None:
        assert on_duty(self.wang_li, saturday, CHINA, SHANGHAI)
        assert not on_duty(self.sun_wei, saturday, CHINA, SHANGHAI)

    def test_named_weekdays_ignore_holidays(self) -> None:
        mondays = officer({"days": ["mon"], "from": "09:00", "to": "12:00"})
        assert on_duty(mondays, sh(2026, 10, 5, 10), CHINA, SHANGHAI)  # a Monday in the National Day week

    def test_duty_hours_over_the_national_day_week(self) -> None:
        week = (sh(2026, 9, 28), sh(2026, 10, 12))
        # 28-30 September, 8-9 October and the make-up Saturday 10 October; 1-7 October and Sunday 11 are off.
        assert hours(duty_periods(self.wang_li, *week, CHINA, SHANGHAI)) == 9 * 6
        assert hours(duty_periods(self.sun_wei, *week, CHINA, SHANGHAI)) == 12 * 8


class TestNextDutyStart:
    wang_li = ROSTER.get("wang_li")

    def test_friday_evening_waits_for_monday(self) -> None:
        assert next_duty_start(self.wang_li, sh(2026, 12, 4, 18), CHINA, SHANGHAI) == sh(2026, 12, 7, 8, 30)

    def test_on_duty_now_means_now(self) -> None:
        at = sh(2026, 12, 2, 10, 15)
        assert next_duty_start(self.wang_li, at, CHINA, SHANGHAI) == at

    def test_the_holiday_week_is_skipped(self) -> None:
        assert next_duty_start(self.wang_li, sh(2026, 9, 30, 18), CHINA, SHANGHAI) == sh(2026, 10, 8, 8, 30)

    def test_none_beyond_the_horizon(self) -> None:
        mondays = officer({"days": ["mon"], "from": "09:00", "to": "12:00"})
        tuesday = sh(2026, 12, 1, 13)
        assert next_duty_start(mondays, tuesday, CHINA, SHANGHAI, horizon=timedelta(days=3)) is None
        assert next_duty_start(mondays, tuesday, CHINA, SHANGHAI) == sh(2026, 12, 7, 9)

    def test_the_answer_is_in_the_station_timezone_whatever_the_input(self) -> None:
        start = next_duty_start(self.wang_li, datetime(2026, 12, 4, 10, tzinfo=UTC), CHINA, SHANGHAI)
        assert start == sh(2026, 12, 7, 8, 30)
        assert start is not None and start.tzinfo is SHANGHAI


class TestDaylightSavingTime:
    nights = officer({"days": "every_day", "from": "20:00", "to": "08:00"})

    def test_the_spring_forward_night_is_an_hour_shorter(self) -> None:
        start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
        periods = duty_periods(self.nights, start, start + timedelta(days=1), GERMANY, BERLIN)
        assert hours(periods) == 11
        assert periods[0][1] == datetime(2026, 3, 29, 8, tzinfo=BERLIN)

    def test_the_fall_back_night_is_an_hour_longer(self) -> None:
        start = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
        assert hours(duty_periods(self.nights, start, start + timedelta(days=1), GERMANY, BERLIN)) == 13

    def test_on_duty_uses_real_time_around_the_change(self) -> None:
        # 07:30 local on 29 March is 05:30 UTC; the shift ends 08:00 CEST = 06:00 UTC.
        assert on_duty(self.nights, datetime(2026, 3, 29, 5, 59, tzinfo=UTC), GERMANY, BERLIN)
        assert not on_duty(self.nights, datetime(2026, 3, 29, 6, 0, tzinfo=UTC), GERMANY, BERLIN)

    def test_a_shift_in_the_skipped_hour_starts_once_the_clocks_have_gone_forward(self) -> None:
        early = officer({"days": ["sun"], "from": "02:15", "to": "02:45"})
        change = datetime(2026, 3, 29, tzinfo=BERLIN)
        periods = duty_periods(early, change, change + timedelta(days=1), GERMANY, BERLIN)
        start, end = datetime(2026, 3, 29, 3, 15, tzinfo=BERLIN), datetime(2026, 3, 29, 3, 45, tzinfo=BERLIN)
        assert periods == [(start, end)]
        assert hours(periods) == 0.5

    def test_a_shift_that_would_end_before_it_starts_is_left_out(self) -> None:
        # 02:30 does not exist on 29 March and reads as 03:30 CEST, after the 03:00 end.
        ghost = officer({"days": ["sun"], "from": "02:30", "to": "03:00"})
        change = datetime(2026, 3, 29, tzinfo=BERLIN)
        assert duty_periods(ghost, change, change + timedelta(days=1), GERMANY, BERLIN) == []
        week_later = change + timedelta(days=7)
        assert hours(duty_periods(ghost, week_later, week_later + timedelta(days=1), GERMANY, BERLIN)) == 0.5


def test_naive_datetimes_are_refused() -> None:
    wang_li = ROSTER.get("wang_li")
    with pytest.raises(ValueError, match="timezone-aware"):
        on_duty(wang_li, datetime(2026, 12, 2, 10), CHINA, SHANGHAI)
    with pytest.raises(ValueError, match="timezone-aware"):
        duty_periods(wang_li, datetime(2026, 12, 2), sh(2026, 12, 3), CHINA, SHANGHAI)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_duty_start(wang_li, datetime(2026, 12, 2, 10), CHINA, SHANGHAI)
