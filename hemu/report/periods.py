"""Report periods on the station's clock.

A period is a half-open range of station-local calendar days, [first day 00:00, day after the last
00:00). The boundaries are computed as local midnights and only then turned into instants, so a week
that contains a daylight-saving change is 167 or 169 hours long, and a case opened at 23:59 local time
belongs to that day whatever the UTC date says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterator

from hemu.times import require_aware


class PeriodError(ValueError):
    """A period a person typed that means nothing (the message says what would)."""


@dataclass(frozen=True)
class Period:
    """Station-local days ``first`` … ``last`` (both included) in the station's zone ``tz``."""

    first: date
    last: date
    tz: tzinfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError(f"a period cannot end ({self.last}) before it starts ({self.first})")

    @property
    def start(self) -> datetime:
        """The first instant of the period (local midnight of ``first``), in UTC."""
        return _midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after the period (local midnight after ``last``), in UTC."""
        return _midnight(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return self.start <= require_aware(moment, "moment") < self.end

    def previous(self) -> Period:
        """The period of the same length just before: last week for a week, the month before for a
        calendar month."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            last = self.first - timedelta(days=1)
            return Period(last.replace(day=1), last, self.tz)
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.tz)

    def weeks(self) -> Iterator[Period]:
        """The Monday–Sunday weeks that overlap the period, clipped to it (the trend's points)."""
        monday = self.first - timedelta(days=self.first.weekday())
        while monday <= self.last:
            yield Period(max(monday, self.first), min(monday + timedelta(days=6), self.last), self.tz)
            monday += timedelta(days=7)

    def label(self) -> str:
        return (
            self.first.isoformat()
            if self.days == 1
            else f"{self.first.isoformat()} – {self.last.isoformat()}"
        )


def _midnight(day: date, tz: tzinfo) -> datetime:
    # A zone whose clocks jump at midnight has no 00:00 that day; fold=0 takes the offset before the jump,
    # which is the earliest instant that is already that local day.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def week_of(moment: datetime, tz: tzinfo) -> Period:
    """The Monday–Sunday week (station time) that contains ``moment``."""
    today = require_aware(moment, "moment").astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return Period(monday, monday + timedelta(days=6), tz)


def month_of(moment: datetime, tz: tzinfo) -> Period:
    today = require_aware(moment, "moment").astimezone(tz).date()
    return _month(today.year, today.month, tz)


def _month(year: int, month: int, tz: tzinfo) -> Period:
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return Period(first, after - timedelta(days=1), tz)


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*(?:\.\.|~|–|—|to)\s*(\d{4}-\d{1,2}-\d{1,2})$")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(_padded(text.strip()))
    except ValueError:
        raise PeriodError(f"{text.strip()!r} is not a day; write it as 2026-11-30") from None


def _padded(text: str) -> str:
    parts = text.split("-")
    if len(parts) != 3:
        return text
    return f"{parts[0]}-{parts[1].zfill(2)}-{parts[2].zfill(2)}"


def parse_period(text: str, now: datetime, tz: tzinfo) -> Period:
    """What an officer may write after /stats, in either language: ``week`` / 本周 (this week so far),
    ``last-week`` / 上周, ``month`` / 本月, ``last-month`` / 上月, ``2026-11``, ``2026-11-01..2026-11-15``, or
    nothing (this week). PeriodError for anything else."""
    words = " ".join(text.lower().split())
    this_week, this_month = week_of(now, tz), month_of(now, tz)
    named = {
        "": this_week,
        "week": this_week,
        "本周": this_week,
        "last-week": this_week.previous(),
        "lastweek": this_week.previous(),
        "上周": this_week.previous(),
        "month": this_month,
        "本月": this_month,
        "last-month": this_month.previous(),
        "lastmonth": this_month.previous(),
        "上月": this_month.previous(),
    }
    if words in named:
        return named[words]
    month = _MONTH.match(words)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise PeriodError(f"{words!r}: a month is 1–12")
        return _month(year, number, tz)
    span = _RANGE.match(words)
    if span:
        return Period(parse_day(span.group(1)), parse_day(span.group(2)), tz)
    try:
        day = parse_day(words)
    except PeriodError:
        raise PeriodError(
            f"{text.strip()!r} is not a period: write week, last-week, month, last-month, 2026-11 "
            "or 2026-11-01..2026-11-15"
        ) from None
    return Period(day, day, tz)


__all__ = ["Period", "PeriodError", "month_of", "parse_day", "parse_period", "week_of"]
