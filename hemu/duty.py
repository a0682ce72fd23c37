"""When an officer is on duty, in real time.

Shifts are written in local wall-clock time (``08:30``–``17:30``) on days that follow the station
calendar, but promises are measured in elapsed time. So each shift is placed on its local day with
``datetime.combine(day, time, tzinfo=tz)`` and everything after that is done in UTC: in a zone with
daylight saving time a night shift is an hour shorter or longer on the night the clocks change, and
comparing two datetimes that share a ``ZoneInfo`` would silently use wall-clock arithmetic.

A shift belongs to the day it starts: a Friday 20:00→08:30 night shift follows Friday's day rule even
though most of it falls on Saturday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterator, List, Protocol, Tuple

from hemu.roster import WEEKDAYS, Officer, Shift
from hemu.times import require_aware

UTC = timezone.utc
# How far ahead we look for an officer's next shift before calling their roster entry a mistake.
DUTY_HORIZON = timedelta(days=60)
ONE_DAY = timedelta(days=1)

Period = Tuple[datetime, datetime]


class Calendar(Protocol):
    def is_working_day(self, day: date) -> bool: ...


def shift_applies(shift: Shift, day: date, calendar: Calendar) -> bool:
    days = shift.days
    if days == "every_day":
        return True
    if days == "working_days":
        return calendar.is_working_day(day)
    if days == "non_working_days":
        return not calendar.is_working_day(day)
    return WEEKDAYS[day.weekday()] in days


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def shifts_on(officer: Officer, day: date, calendar: Calendar, tz: tzinfo) -> List[Period]:
    """The officer's shifts that start on local ``day``, in UTC, sorted by start.

    A clock time skipped when the clocks go forward reads as the same time after the change (PEP 495),
    so a shift starting at 02:15 that night starts at 03:15; one that would then end before it starts
    (02:30 → 03:00) does not happen that night rather than getting a negative length.
    """
    periods: List[Period] = []
    for shift in officer.duty:
        if not shift_applies(shift, day, calendar):
            continue
        start = _at(day, shift.start, tz)
        end = _at(day + ONE_DAY if shift.crosses_midnight else day, shift.end, tz)
        if end > start:
            periods.append((start, end))
    periods.sort()
    return periods


def _local_day(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def _merge(periods: List[Period]) -> List[Period]:
    merged: List[Period] = []
    for start, end in sorted(periods):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def duty_periods(
    officer: Officer, start: datetime, end: datetime, calendar: Calendar, tz: tzinfo
) -> List[Tuple[datetime, datetime]]:
    """The officer's duty time inside [start, end), as sorted periods in the station timezone.

    Shifts that overlap or touch (a night shift ending 08:30 and a day shift starting 08:30) are one
    period, so the caller sees continuous duty as continuous. To measure a period, subtract after
    ``.astimezone(timezone.utc)``: Python subtracts two datetimes sharing a ``ZoneInfo`` by wall clock.
    """
    start_utc = require_aware(start, "start")
    end_utc = require_aware(end, "end")
    if end_utc <= start_utc:
        return []
    candidates: List[Period] = []
    day = _local_day(start_utc, tz) - ONE_DAY  # yesterday's night shift may still be running
    last_day = _local_day(end_utc, tz)
    while day <= last_day:
        candidates.extend(shifts_on(officer, day, calendar, tz))
        day += ONE_DAY
    clipped = [(max(s, start_utc), min(e, end_utc)) for s, e in candidates if e > start_utc and s < end_utc]
    return [(s.astimezone(tz), e.astimezone(tz)) for s, e in _merge(clipped)]


def on_duty(officer: Officer, at: datetime, calendar: Calendar, tz: tzinfo) -> bool:
    """Whether the officer is on duty at ``at`` (a shift includes its start and excludes its end)."""
    at_utc = require_aware(at, "at")
    day = _local_day(at_utc, tz)
    for shift_day in (day - ONE_DAY, day):
        for start, end in shifts_on(officer, shift_day, calendar, tz):
            if start <= at_utc < end:
                return True
    return False


def on_duty_throughout(
    officer: Officer, start: datetime, end: datetime, calendar: Calendar, tz: tzinfo
) -> bool:
    """Whether the officer is on duty for all of [start, end): an urgent promise must not fall due after
    its officer's shift has ended."""
    periods = duty_periods(officer, start, end, calendar, tz)
    return len(periods) == 1 and periods[0][0] <= start and periods[0][1] >= end


def next_duty_start(
    officer: Officer, at: datetime, calendar: Calendar, tz: tzinfo, horizon: timedelta = DUTY_HORIZON
) -> datetime | None:
    """The first moment at or after ``at`` when the officer is on duty — ``at`` itself if they are on
    duty then — in the station timezone; None when they have no duty within ``horizon``.
    """
    at_utc = require_aware(at, "at")
    limit = at_utc + horizon
    day = _local_day(at_utc, tz) - ONE_DAY  # yesterday's night shift may still be running
    last_day = _local_day(limit, tz)
    while day <= last_day:
        for start, end in shifts_on(officer, day, calendar, tz):
            if end > at_utc:
                return max(start, at_utc).astimezone(tz) if start <= limit else None
        day += ONE_DAY
    return None


def shifts_from(
    officer: Officer, start: datetime, calendar: Calendar, tz: tzinfo, horizon: timedelta = DUTY_HORIZON
) -> Iterator[Period]:
    """The officer's shifts (UTC, unmerged, in start order) that end after ``start``, for walking
    forward in time.

    Stops once no shift begins within ``horizon`` of the end of the previous one (or of ``start``), so a
    walk over a roster in which the officer never works again ends instead of looping; a walk over an
    officer who is always on duty never runs dry, and the caller decides when it has seen enough.
    """
    start_utc = require_aware(start, "start")
    reached = start_utc
    day = _local_day(start_utc, tz) - ONE_DAY
    while _at(day, time(0), tz) <= reached + horizon:
        for shift_start, shift_end in shifts_on(officer, day, calendar, tz):
            if shift_end <= start_utc:
                continue
            if shift_start > reached + horizon:
                return
            reached = max(reached, shift_end)
            yield shift_start, shift_end
        day += ONE_DAY


__all__ = [
    "DUTY_HORIZON",
    "Calendar",
    "duty_periods",
    "next_duty_start",
    "on_duty",
    "shifts_from",
    "shifts_on",
]
