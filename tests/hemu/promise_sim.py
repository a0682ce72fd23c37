"""The promise simulator's worlds (issue 12): random rosters, shifts, holidays, time zones and clocks,
as hypothesis strategies, and the invariants every promise must hold in them.

Zones include daylight-saving stations (both hemispheres) and start dates near their clock changes;
shifts include overnight ones and 24-hour ones; calendars have random holidays and make-up days.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, FrozenSet, List
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from hemu.duty import on_duty, on_duty_throughout
from hemu.roster import WEEKDAYS, Officer, Roster

AREAS = ("binhe", "liuan", "xincun", "donghu", "laojie")
# Stations with and without daylight saving time, north and south.
ZONES = (
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Santiago",
)
# Days around which the clocks change in those zones in 2026 (and a plain December week).
CLOCK_CHANGES = (
    date(2026, 3, 8),  # United States, forward
    date(2026, 3, 29),  # European Union, forward
    date(2026, 4, 5),  # Australia and Chile, back
    date(2026, 9, 6),  # Chile, forward
    date(2026, 10, 4),  # Australia, forward
    date(2026, 10, 25),  # European Union, back
    date(2026, 11, 1),  # United States, back
    date(2026, 12, 2),
)
# How many random worlds each simulator test explores: `make simulate` raises it.
EXAMPLES = int(os.environ.get("HEMU_SIM_EXAMPLES", "25"))
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class RandomCalendar:
    """Monday to Friday, minus random holidays, plus random make-up working days."""

    holidays: FrozenSet[date] = frozenset()
    make_up: FrozenSet[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass
class Tally:
    """What a simulator run covered (printed by ``make simulate``)."""

    cases: int = 0
    sweeps: int = 0
    breaches_by_level: Dict[int, int] = field(default_factory=dict)
    fallbacks: int = 0
    violations: List[str] = field(default_factory=list)


TALLY = Tally()


@st.composite
def shifts(draw: Any) -> Dict[str, Any]:
    days = draw(
        st.one_of(
            st.sampled_from(["working_days", "non_working_days", "every_day"]),
            st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
        )
    )
    start = draw(st.integers(0, 47)) * 30
    length = draw(st.sampled_from([4, 6, 8, 9, 10, 12, 14, 24])) * 60
    end = (start + length) % (24 * 60)
    return {"days": days, "from": time(start // 60, start % 60), "to": time(end // 60, end % 60)}


@st.composite
def rosters(draw: Any) -> Roster:
    count = draw(st.integers(2, 6))
    ids = [f"o{index}" for index in range(count)]
    officers = []
    for officer_id in ids:
        others = [other for other in ids if other != officer_id]
        officers.append(
            {
                "id": officer_id,
                "name": {"zh": officer_id, "en": officer_id},
                "title": {"zh": "民警", "en": "Officer"},
                "areas": draw(st.lists(st.sampled_from(AREAS), max_size=3, unique=True)),
                "backup": draw(st.one_of(st.none(), st.sampled_from(others))),
                "duty_officer": draw(st.booleans()),
                "duty": draw(st.lists(shifts(), min_size=1, max_size=2)),
            }
        )
    return Roster.parse_obj({"supervisor": draw(st.sampled_from(ids)), "officers": officers})


@st.composite
def calendars(draw: Any, around: date) -> RandomCalendar:
    nearby = st.dates(min_value=around - timedelta(days=5), max_value=around + timedelta(days=20))
    holidays = draw(st.frozensets(nearby, max_size=6))
    make_up = draw(st.frozensets(nearby, max_size=2)) - holidays
    return RandomCalendar(holidays, make_up)


@st.composite
def worlds(draw: Any) -> tuple[Roster, RandomCalendar, ZoneInfo, datetime]:
    """A roster, a calendar, a station time zone and a start moment near a clock change."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    around = draw(st.sampled_from(CLOCK_CHANGES))
    minutes = draw(st.integers(-3 * 24 * 60, 2 * 24 * 60))
    start = datetime.combine(around, time(12), tzinfo=zone).astimezone(timezone.utc)
    return draw(rosters()), draw(calendars(around)), zone, start + timedelta(minutes=minutes)


def on_duty_before(officer: Officer, due: datetime, calendar: RandomCalendar, tz: ZoneInfo) -> bool:
    """On duty in the last second before ``due`` (a shift's end is not part of it). In UTC: a second
    before 03:00 on the night the clocks go forward is 01:59:59, not the wall clock's 02:59:59."""
    return on_duty(officer, due.astimezone(timezone.utc) - SECOND, calendar, tz)


def anyone_throughout(
    roster: Roster, start: datetime, end: datetime, calendar: RandomCalendar, tz: ZoneInfo
) -> bool:
    return any(on_duty_throughout(officer, start, end, calendar, tz) for officer in roster.active_officers())


__all__ = [
    "AREAS",
    "EXAMPLES",
    "TALLY",
    "RandomCalendar",
    "Tally",
    "anyone_throughout",
    "calendars",
    "on_duty_before",
    "rosters",
    "worlds",
]
