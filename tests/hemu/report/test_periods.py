"""Report periods are station-local days: midnights on the station's clock, daylight saving included,
and what officers may type after /stats."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemu.report.periods import Period, PeriodError, month_of, parse_period, week_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# Saturday 5 December 2026, 10:00 in Shanghai.
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)


def test_a_day_starts_at_local_midnight() -> None:
    day = Period(date(2026, 12, 1), date(2026, 12, 1), SHANGHAI)
    assert day.start == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert day.end == datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)
    assert day.contains(datetime(2026, 12, 1, 23, 59, 59, tzinfo=SHANGHAI))
    assert not day.contains(datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI))
    assert day.contains(datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI))
    assert not day.contains(None)


def test_weeks_with_a_clock_change_are_an_hour_short_or_long() -> None:
    spring = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)  # clocks forward Sunday 29 March
    autumn = Period(date(2026, 10, 19), date(2026, 10, 25), BERLIN)  # back on Sunday 25 October
    assert spring.end - spring.start == timedelta(hours=167)
    assert autumn.end - autumn.start == timedelta(hours=169)
    # 00:30 on Monday after the spring change is already the next week (UTC+2 now, not +1).
    assert not spring.contains(datetime(2026, 3, 30, 0, 30, tzinfo=BERLIN))
    assert spring.contains(datetime(2026, 3, 29, 23, 59, tzinfo=BERLIN))


def test_previous_period() -> None:
    week = Period(date(2026, 11, 30), date(2026, 12, 6), SHANGHAI)
    assert week.previous() == Period(date(2026, 11, 23), date(2026, 11, 29), SHANGHAI)
    march = Period(date(2026, 3, 1), date(2026, 3, 31), SHANGHAI)
    assert march.previous() == Period(date(2026, 2, 1), date(2026, 2, 28), SHANGHAI)
    span = Period(date(2026, 11, 10), date(2026, 11, 14), SHANGHAI)
    assert span.previous() == Period(date(2026, 11, 5), date(2026, 11, 9), SHANGHAI)


def test_weeks_are_monday_to_sunday_clipped_to_the_period() -> None:
    november = Period(date(2026, 11, 1), date(2026, 11, 30), SHANGHAI)
    weeks = list(november.weeks())
    assert weeks[0] == Period(date(2026, 11, 1), date(2026, 11, 1), SHANGHAI)  # a Sunday
    assert weeks[1] == Period(date(2026, 11, 2), date(2026, 11, 8), SHANGHAI)
    assert weeks[-1] == Period(date(2026, 11, 30), date(2026, 11, 30), SHANGHAI)
    assert sum(week.days for week in weeks) == 30


@pytest.mark.parametrize(
    ("typed", "first", "last"),
    [
        ("", date(2026, 11, 30), date(2026, 12, 6)),
        ("week", date(2026, 11, 30), date(2026, 12, 6)),
        ("上周", date(2026, 11, 23), date(2026, 11, 29)),
        ("Last-Week", date(2026, 11, 23), date(2026, 11, 29)),
        ("本月", date(2026, 12, 1), date(2026, 12, 31)),
        ("last-month", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-2", date(2026, 2, 1), date(2026, 2, 28)),
        ("2026-11-01..2026-11-15", date(2026, 11, 1), date(2026, 11, 15)),
        ("2026-11-1 ~ 2026-11-5", date(2026, 11, 1), date(2026, 11, 5)),
        ("2026-11-03", date(2026, 11, 3), date(2026, 11, 3)),
    ],
)
def test_what_an_officer_may_type(typed: str, first: date, last: date) -> None:
    assert parse_period(typed, NOW, SHANGHAI) == Period(first, last, SHANGHAI)


@pytest.mark.parametrize("typed", ["yesterday-ish", "2026-13", "2026-11-31", "2026-11-10..2026-11-01", "<b>"])
def test_nonsense_is_refused_with_what_would_do(typed: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(typed, NOW, SHANGHAI)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(BERLIN))
)
def test_every_moment_is_in_its_own_week_and_month(moment: datetime) -> None:
    week, month = week_of(moment, BERLIN), month_of(moment, BERLIN)
    assert week.contains(moment) and month.contains(moment)
    assert week.first.weekday() == 0 and week.days == 7
    assert not week.previous().contains(moment) and week.previous().end == week.start
