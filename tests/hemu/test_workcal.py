from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from hemu import workcal
from hemu.config import CalendarSettings
from hemu.errors import ConfigError
from hemu.workcal import WorkCalendar


@pytest.fixture
def china() -> WorkCalendar:
    return WorkCalendar(CalendarSettings(country="CN"))


@pytest.mark.parametrize("day", [date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 20), date(2026, 2, 23)])
def test_spring_festival_2026_weekdays_are_holidays(china: WorkCalendar, day: date) -> None:
    assert day.weekday() < 5
    assert not china.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28), date(2026, 10, 10), date(2026, 9, 20)])
def test_make_up_weekend_days_of_2026_are_working_days(china: WorkCalendar, day: date) -> None:
    assert day.weekday() >= 5
    assert china.is_working_day(day)


def test_ordinary_days(china: WorkCalendar) -> None:
    assert china.is_working_day(date(2026, 12, 2))  # a Wednesday
    assert not china.is_working_day(date(2026, 12, 5))  # a Saturday
    assert not china.is_working_day(date(2026, 10, 1))  # National Day


def test_a_year_beyond_chinese_calendar_falls_back_to_public_holidays_and_weekends(
    china: WorkCalendar, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workcal, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="hemu.workcal"):
        assert not china.is_working_day(date(2027, 1, 1))  # New Year's Day, a Friday
        assert not china.is_working_day(date(2027, 2, 8))  # Spring Festival, a Monday
        assert not china.is_working_day(date(2027, 1, 2))  # a Saturday: make-up days are unknown
        assert china.is_working_day(date(2027, 1, 4))
        WorkCalendar(CalendarSettings(country="CN")).is_working_day(date(2027, 3, 1))
    warnings = [record for record in caplog.records if "2027" in record.getMessage()]
    assert len(warnings) == 1
    assert "extra_working_days" in warnings[0].getMessage()


def test_coverage_gaps_name_the_years_without_make_up_days(china: WorkCalendar) -> None:
    assert china.coverage_gaps([2027, 2025, 2026, 2003, 2027]) == [2003, 2027]
    assert WorkCalendar(CalendarSettings(country="DE")).coverage_gaps([2026]) == [2026]


def test_station_exceptions_win_over_both_libraries() -> None:
    calendar = WorkCalendar(
        CalendarSettings(
            country="CN",
            extra_holidays=[date(2026, 12, 2), date(2027, 3, 3)],
            extra_working_days=[date(2026, 10, 1), date(2027, 1, 9)],
        )
    )
    assert not calendar.is_working_day(date(2026, 12, 2))
    assert not calendar.is_working_day(date(2027, 3, 3))
    assert calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2027, 1, 9))  # a make-up Saturday announced later


def test_other_countries_use_their_public_holidays() -> None:
    germany = WorkCalendar(CalendarSettings(country="DE"))
    assert not germany.is_working_day(date(2026, 12, 25))
    assert germany.is_working_day(date(2026, 12, 28))
    assert not germany.is_working_day(date(2026, 12, 27))


def test_an_unknown_country_is_a_config_error() -> None:
    # station.yml's validation refuses it first (tests/hemu/test_config.py); settings built in code are
    # checked again here.
    unchecked = CalendarSettings.construct(country="XX", extra_holidays=[], extra_working_days=[])
    with pytest.raises(ConfigError, match="calendar.country: 'XX'"):
        WorkCalendar(unchecked)


def test_a_datetime_is_refused_because_its_day_depends_on_the_timezone(china: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        china.is_working_day(datetime(2026, 12, 2, 10))
