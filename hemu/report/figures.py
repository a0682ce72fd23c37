"""The station report's figures, defined once here (README "Station report" repeats these words); the
Telegram digest, /stats, the HTML/PDF/CSV report and the sandbox's station tab all show what this computes.

A period is station-local days (:mod:`hemu.report.periods`). Figures are as known when the report is made
(``now``), and come in three kinds:

- **Cases opened in the period** (the period's cohort), followed to today: *opened* (by priority);
  *first response* = first contact (the officer marked the resident contacted, or resolved without it;
  acknowledging is not contact) minus opening, as elapsed time: median (the mean of the two middle waits
  when their number is even) and p90 (nearest rank) of the cases answered so far; *unanswered* = not
  contacted yet and not cancelled; *promises*: a case's first promise is *due* once it was settled
  (first contact or a breach) or has passed while the case still waits, and *kept* when first contact
  came in time with no breach; *settled* (化解) = resolved or closed today, of those not cancelled;
  *danger cases* = opened on a danger signal (risk flags, or urgent), with their own first response and
  promises.
- **What happened in the period**, whenever the case was opened: *resolved in the period* = cases
  resolved at least once in it; *ratings* given (every rating counts: a case rated low, reopened and
  rated again counts twice), *satisfied* = rated 4 or 5 (*satisfaction rate* = satisfied / rated); *low
  ratings* (1–2, which reopen the case to the supervisor) and what happened after, as of today: the next
  rating of that case (4–5 "satisfied later", 1–3 "unsatisfied later"), else its state now (resolved and
  awaiting a rating, being worked, cancelled, closed); *follow-ups*: the one-week question asked, and
  the answers given (the problem came back / it is settled).
- **Open at the period's end** (or now, for a period not over): cases in an active state at that moment
  (a case resolved and awaiting its rating is not open), by elapsed age since opening: under 1 day,
  1 to under 3, 3 to under 7, 7 days or more.

Every figure is broken down by category, by area (unknown when the resident named none) and by officer:
a cohort case counts for the officer who held it at first contact (or holds it now, unanswered), a rating
for the officer whose handling was rated, a follow-up for the officer holding the case when it was asked,
an open case for its officer at that moment. Cases of forgotten residents count like any other: nothing
here reads who the resident was or what they wrote.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

from hemu.cases import ACTIVE_STATES, CaseState
from hemu.report.periods import Period
from hemu.stats import LOW_RATING, SATISFIED_FROM, UNKNOWN_AREA
from hemu.store.records import AWAITING_RESPONSE
from hemu.store.report_facts import CaseFacts, EventFact
from hemu.times import require_aware

PRIORITIES = ("urgent", "high", "normal", "low")
TREND_WEEKS = 8
AGE_BUCKETS: Tuple[Tuple[str, timedelta | None], ...] = (
    ("under_1d", timedelta(days=1)),
    ("1_3d", timedelta(days=3)),
    ("3_7d", timedelta(days=7)),
    ("over_7d", None),
)
# What happened after a low rating, as of the report.
AFTER_LOW = ("satisfied_later", "unsatisfied_later", "awaiting_rating", "being_worked", "cancelled", "closed")
_ACTIVE = frozenset(state.value for state in ACTIVE_STATES)
_AWAITING = frozenset(state.value for state in AWAITING_RESPONSE)
_HOLDER_KINDS = frozenset({"assigned", "handed_over", "promise_broken"})


@dataclass(frozen=True)
class Waits:
    """Waits of the cases answered: median and p90 (nearest rank: the smallest wait that at least 90 %
    of them did not exceed); None when nothing was answered."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None

    @classmethod
    def of(cls, waits: Sequence[timedelta]) -> Waits:
        if not waits:
            return cls()
        ordered = sorted(waits)
        return cls(len(ordered), statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1])


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    opened: int = 0
    opened_by_priority: Dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    first_response: Waits = Waits()
    unanswered: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    settled: int = 0
    settle_base: int = 0
    resolved_in_period: int = 0
    danger_opened: int = 0
    danger_response: Waits = Waits()
    danger_promises_due: int = 0
    danger_promises_kept: int = 0
    rated: int = 0
    satisfied: int = 0
    low_ratings: int = 0
    after_low: Dict[str, int] = field(default_factory=dict)
    followed_up: int = 0
    came_back: int = 0
    stayed_settled: int = 0
    open_at_end: int = 0
    open_by_age: Dict[str, int] = field(default_factory=dict)
    oldest_open: timedelta | None = None

    @property
    def satisfaction_rate(self) -> float | None:
        return rate(self.satisfied, self.rated)

    @property
    def promise_kept_rate(self) -> float | None:
        return rate(self.promises_kept, self.promises_due)

    @property
    def settle_rate(self) -> float | None:
        return rate(self.settled, self.settle_base)


@dataclass(frozen=True)
class _Item:
    """One thing a figure counts (a case of the cohort, a rating, a follow-up, an open case) and the
    officer it counts for."""

    case: CaseFacts
    officer: str
    event: EventFact | None = None


@dataclass
class _Parts:
    cohort: List[_Item] = field(default_factory=list)
    resolved: List[_Item] = field(default_factory=list)
    ratings: List[_Item] = field(default_factory=list)
    asked: List[_Item] = field(default_factory=list)
    answers: List[_Item] = field(default_factory=list)
    open_at_end: List[_Item] = field(default_factory=list)

    def split(self, key: Callable[[_Item], str]) -> Dict[str, _Parts]:
        groups: Dict[str, _Parts] = defaultdict(_Parts)
        for name in ("cohort", "resolved", "ratings", "asked", "answers", "open_at_end"):
            for item in getattr(self, name):
                getattr(groups[key(item)], name).append(item)
        return dict(sorted(groups.items()))


def holder_at(case: CaseFacts, moment: datetime) -> str:
    """The officer who held the case at ``moment`` (its assignments and hand-overs until then)."""
    holder = None
    for event in case.events:
        if event.at > moment:
            break
        if event.kind in _HOLDER_KINDS and event.officer_id:
            holder = event.officer_id
    return holder or case.officer_id


def state_at(case: CaseFacts, moment: datetime) -> str | None:
    """The case's state at ``moment`` from its history; None before it was opened."""
    if case.opened_at > moment:
        return None
    state = CaseState.OPEN.value
    for event in case.events:
        if event.at > moment:
            break
        if event.to_state:
            state = event.to_state
    return state


def _promise_due(case: CaseFacts, now: datetime) -> bool:
    return case.promise_kept is not None or (case.state in _AWAITING and case.promise_due_at <= now)


def _after_low(case: CaseFacts, low: EventFact) -> str:
    for event in case.events:
        if event.at > low.at and event.rating is not None:
            return "satisfied_later" if event.rating >= SATISFIED_FROM else "unsatisfied_later"
    if case.state == CaseState.RESOLVED.value:
        return "awaiting_rating"
    if case.state in _ACTIVE:
        return "being_worked"
    return case.state if case.state in AFTER_LOW else "closed"


def _age_bucket(age: timedelta) -> str:
    for name, below in AGE_BUCKETS:
        if below is None or age < below:
            return name
    raise AssertionError("the last bucket has no upper bound")


def may_count(case: CaseFacts, period: Period, now: datetime) -> bool:
    """False for a case no figure of the period can count: opened after it, or over before it (and
    before ``now``) with nothing since — a year's report looks at each week, and most cases are long
    over by most weeks."""
    if case.opened_at >= period.end:
        return False
    over_before = case.events and case.events[-1].at < min(period.start, now)
    return not (over_before and case.state not in _ACTIVE)


def gather(cases: Iterable[CaseFacts], period: Period, now: datetime) -> _Parts:
    """Sorts what each case contributes to the period's figures (see the module's definitions)."""
    now = require_aware(now, "now")
    end_moment = min(period.end, now)
    parts = _Parts()
    for case in cases:
        if not may_count(case, period, now):
            continue
        if period.contains(case.opened_at):
            parts.cohort.append(_Item(case, holder_at(case, case.first_response_at or now)))
        resolved_here = False
        asked_at: datetime | None = None
        for event in case.events:
            if event.kind == "followed_up":
                asked_at = event.at
            if not period.contains(event.at):
                continue
            if event.to_state == CaseState.RESOLVED.value and not resolved_here:
                resolved_here = True
                parts.resolved.append(_Item(case, holder_at(case, event.at), event))
            if event.rating is not None:
                parts.ratings.append(_Item(case, event.officer_id or holder_at(case, event.at), event))
            if event.kind == "followed_up":
                parts.asked.append(_Item(case, holder_at(case, event.at), event))
            if event.kind == "follow_up_answered" and event.came_back is not None:
                parts.answers.append(_Item(case, holder_at(case, asked_at or event.at), event))
        if state_at(case, end_moment) in _ACTIVE:
            parts.open_at_end.append(_Item(case, holder_at(case, end_moment)))
    return parts


def figures_of(parts: _Parts, period: Period, now: datetime) -> Figures:
    end_moment = min(period.end, require_aware(now, "now"))
    cohort = [item.case for item in parts.cohort]
    live = [case for case in cohort if case.state != CaseState.CANCELLED.value]
    answered = [case for case in cohort if case.first_response_at is not None]
    danger = [case for case in cohort if case.danger]
    due = [case for case in cohort if _promise_due(case, now)]
    danger_due = [case for case in danger if _promise_due(case, now)]
    lows = [item for item in parts.ratings if item.event and item.event.rating <= LOW_RATING]  # type: ignore[operator]
    after = Counter(_after_low(item.case, item.event) for item in lows if item.event)
    ages = [end_moment - item.case.opened_at for item in parts.open_at_end]
    by_priority = Counter(case.priority for case in cohort)
    return Figures(
        opened=len(cohort),
        opened_by_priority={name: by_priority[name] for name in PRIORITIES if by_priority[name]},
        cancelled=len(cohort) - len(live),
        first_response=Waits.of([case.first_response_at - case.opened_at for case in answered]),  # type: ignore[operator]
        unanswered=sum(1 for case in live if case.first_response_at is None),
        promises_due=len(due),
        promises_kept=sum(1 for case in due if case.promise_kept),
        settled=sum(1 for case in live if case.state in (CaseState.RESOLVED.value, CaseState.CLOSED.value)),
        settle_base=len(live),
        resolved_in_period=len(parts.resolved),
        danger_opened=len(danger),
        danger_response=Waits.of(
            [case.first_response_at - case.opened_at for case in danger if case.first_response_at]
        ),
        danger_promises_due=len(danger_due),
        danger_promises_kept=sum(1 for case in danger_due if case.promise_kept),
        rated=len(parts.ratings),
        satisfied=sum(
            1 for item in parts.ratings if item.event and (item.event.rating or 0) >= SATISFIED_FROM
        ),
        low_ratings=len(lows),
        after_low={name: after[name] for name in AFTER_LOW if after[name]},
        followed_up=len(parts.asked),
        came_back=sum(1 for item in parts.answers if item.event and item.event.came_back),
        stayed_settled=sum(1 for item in parts.answers if item.event and item.event.came_back is False),
        open_at_end=len(ages),
        open_by_age=dict(Counter(_age_bucket(age) for age in ages)),
        oldest_open=max(ages) if ages else None,
    )


@dataclass(frozen=True)
class StationReport:
    """One report: the period's figures, the same period before (for week-on-week change), the trend
    week by week, and the breakdowns."""

    period: Period
    made_at: datetime
    total: Figures
    previous: Figures
    weeks: Tuple[Tuple[Period, Figures], ...]
    by_category: Dict[str, Figures]
    by_area: Dict[str, Figures]
    by_officer: Dict[str, Figures]
    # First-response waits of the period's cohort, for the distribution chart.
    waits: Tuple[timedelta, ...] = ()
    # The trend chart's weeks: the period's, and earlier ones up to TREND_WEEKS, so a week's digest
    # still shows where it stands.
    trend: Tuple[Tuple[Period, Figures], ...] = ()


def _trend_from(period: Period) -> date:
    last_monday = period.last - timedelta(days=period.last.weekday())
    return min(period.first, last_monday - timedelta(weeks=TREND_WEEKS - 1))


def earliest_shown(period: Period) -> datetime:
    """The first moment any part of the period's report looks at (the period before, the trend)."""
    first = min(period.previous().first, _trend_from(period))
    return Period(first, first, period.tz).start


def build(cases: Sequence[CaseFacts], period: Period, now: datetime) -> StationReport:
    parts = gather(cases, period, now)

    def split(key: Callable[[_Item], str]) -> Dict[str, Figures]:
        return {name: figures_of(group, period, now) for name, group in parts.split(key).items()}

    total = figures_of(parts, period, now)
    # Each span's figures once: a week's report is also its own week and the trend's last point.
    known: Dict[Period, Figures] = {period: total}

    def figures_for(span: Period) -> Figures:
        if span not in known:
            known[span] = figures_of(gather(cases, span, now), span, now)
        return known[span]

    def weekly(span: Period) -> Tuple[Tuple[Period, Figures], ...]:
        return tuple((week, figures_for(week)) for week in span.weeks())

    return StationReport(
        period=period,
        made_at=require_aware(now, "now"),
        total=total,
        previous=figures_for(period.previous()),
        weeks=weekly(period),
        by_category=split(lambda item: item.case.category),
        by_area=split(lambda item: item.case.area_id or UNKNOWN_AREA),
        by_officer=split(lambda item: item.officer),
        waits=tuple(
            sorted(
                item.case.first_response_at - item.case.opened_at
                for item in parts.cohort
                if item.case.first_response_at
            )
        ),
        trend=weekly(Period(_trend_from(period), period.last, period.tz)),
    )


__all__ = [
    "AFTER_LOW",
    "AGE_BUCKETS",
    "PRIORITIES",
    "Figures",
    "StationReport",
    "TREND_WEEKS",
    "Waits",
    "build",
    "earliest_shown",
    "figures_of",
    "gather",
    "holder_at",
    "rate",
    "state_at",
]
