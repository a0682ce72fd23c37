"""A resident's daily limits (``resident_limits`` in ``config/policy.yml``), counted from the cases they
already opened.

The count is read from the store, not kept in memory: the action server and the gateway open cases in
separate processes, and both must see one count that a restart does not reset. A day is the station's
calendar day, so the limits start again at midnight in the station's time zone, wherever the server is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from hemu.cases import CaseState, Priority
from hemu.store import CaseRecord
from hemu.times import require_aware


@dataclass(frozen=True)
class StationDay:
    """The station's calendar day around a moment: its first instant and the next day's first (aware)."""

    start: datetime
    next_start: datetime

    @classmethod
    def around(cls, moment: datetime, tz: ZoneInfo) -> StationDay:
        local = require_aware(moment, "moment").astimezone(tz)
        start = datetime.combine(local.date(), time(0), tzinfo=tz)
        next_start = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
        return cls(start=start, next_start=next_start)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.next_start


@dataclass(frozen=True)
class OpenedToday:
    """How many cases the resident opened this station day, and how many of them paged (urgent)."""

    cases: int
    pages: int

    @classmethod
    def count(cls, cases: Iterable[CaseRecord], day: StationDay) -> OpenedToday:
        today = [case for case in cases if day.holds(case.opened_at)]
        return cls(cases=len(today), pages=sum(case.priority is Priority.URGENT for case in today))


def takes_details(case: CaseRecord) -> bool:
    """Active and resolved cases take details (:meth:`hemu.case.CaseChanges.add_details`)."""
    return case.is_active or case.state is CaseState.RESOLVED


def case_for_held_back_page(cases: Sequence[CaseRecord]) -> CaseRecord | None:
    """Where a danger message goes when the urgent-page limit holds back its page: the resident's newest
    urgent case that can still take details, else their newest case that can; None when none can.

    ``cases`` newest first, as :meth:`hemu.store.Store.cases_for_resident` lists them.
    """
    open_to_details = [case for case in cases if takes_details(case)]
    urgent = [case for case in open_to_details if case.priority is Priority.URGENT]
    return (urgent or open_to_details or [None])[0]
