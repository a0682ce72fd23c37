"""The station's working days: which dates count for ``working_days`` shifts and response times.

Chinese public holidays are not a fixed list: every year the State Council moves days around, and a
holiday week is paid for with make-up working days (调休) that fall on a Saturday or Sunday. Only
``chinese_calendar`` knows those, and only for the years it has been published for. Beyond that (and for
other countries) the ``holidays`` library gives the public holidays but no make-up days, so a weekend
is always taken as a day off; that guess is logged once per year and reported by :meth:`coverage_gaps`
so the admin can list the real make-up days in ``calendar.extra_working_days`` once they are announced.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Dict, FrozenSet, Iterable, List, Set, Tuple

import chinese_calendar

from hemu.config import CalendarSettings
from hemu.countries import days_off, is_supported_country
from hemu.errors import ConfigError

logger = logging.getLogger(__name__)

# Years already warned about, across calendars: tests and tools build several, the log needs one line.
_warned: Set[Tuple[str, int]] = set()


def _chinese_calendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Answers "is this a working day at the station?" from the country's calendar and the station's
    own exceptions (``extra_holidays`` / ``extra_working_days`` win over both libraries).

    Whole years are computed on first use and every answer is cached, because duty and promise
    calculations ask about the same few weeks thousands of times.
    """

    def __init__(self, settings: CalendarSettings) -> None:
        country = settings.country
        if not is_supported_country(country):
            raise ConfigError(f"calendar.country: {country!r} is not a country the holidays library knows")
        self.settings = settings
        self._country = country
        self._extra_holidays: FrozenSet[date] = frozenset(settings.extra_holidays)
        self._extra_working_days: FrozenSet[date] = frozenset(settings.extra_working_days)
        self._days_off: Dict[int, FrozenSet[date]] = {}
        self._answers: Dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        answer = self._answers.get(day)
        if answer is not None:
            return answer
        if isinstance(day, datetime):
            # A datetime's date depends on its timezone; the caller must decide which local day it means.
            raise TypeError("is_working_day takes a date, not a datetime")
        if day in self._extra_holidays:
            answer = False
        elif day in self._extra_working_days:
            answer = True
        else:
            answer = day not in self._year(day.year)
        self._answers[day] = answer
        return answer

    def coverage_gaps(self, years: Iterable[int]) -> List[int]:
        """Years in which make-up working days are unknown, so weekends are guessed to be days off."""
        return sorted({year for year in years if not self._knows_make_up_days(year)})

    def _knows_make_up_days(self, year: int) -> bool:
        return self._country == "CN" and _chinese_calendar_covers(year)

    def _year(self, year: int) -> FrozenSet[date]:
        days_off = self._days_off.get(year)
        if days_off is None:
            days_off = self._compute_days_off(year)
            self._days_off[year] = days_off
        return days_off

    def _compute_days_off(self, year: int) -> FrozenSet[date]:
        days = [
            date(year, 1, 1) + timedelta(days=n)
            for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
        ]
        if self._knows_make_up_days(year):
            return frozenset(day for day in days if not chinese_calendar.is_workday(day))
        if (self._country, year) not in _warned:
            _warned.add((self._country, year))
            logger.warning(
                "make-up working days of %s in %d are unknown: public holidays come from the holidays "
                "library and every weekend is taken as a day off; list the official make-up working days "
                "in calendar.extra_working_days of station.yml",
                self._country,
                year,
            )
        public, weekend = days_off(self._country, year)
        return frozenset(day for day in days if day.weekday() in weekend or day in public)


__all__ = ["WorkCalendar"]
