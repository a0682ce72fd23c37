"""The response-time clock: by when the assigned officer promises to contact the resident.

A promise is only honest if the officer can keep it, and only useful if the resident can rely on it.
So a promise is wall-clock time ("within 24 hours") that ends while its officer is on duty: a case
opened at 18:00 for an officer working 08:30–17:30 is promised for 17:30 tomorrow, not 18:00 when
nobody works (``counted_in: wall_clock_on_duty``); urgent ones are exactly their minutes, day or night.
Everything is computed in UTC from the duty periods of :mod:`hemu.duty`, so nights, weekends,
holidays, make-up working days and daylight-saving changes all fall out of the same walk."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo

from hemu.duty import DUTY_HORIZON, ONE_DAY, UTC, Calendar, duty_periods, shifts_from, shifts_on
from hemu.policy import KeeperDuty, ResponseTime
from hemu.roster import Officer
from hemu.times import require_aware

log = logging.getLogger(__name__)


class NoDutyTime(ValueError):
    """The officer has no duty in which the promise could run: a roster mistake, not a resident's problem."""


class PromiseClock:
    """The station's promise arithmetic: one calendar and one time zone for every promise made, whether
    the desk makes it (a case opened, handed over, reopened) or the watcher renews a broken one."""

    def __init__(self, calendar: Calendar, tz: tzinfo, keeper: KeeperDuty | None = None) -> None:
        self.calendar = calendar
        self.tz = tz
        self.keeper = keeper or KeeperDuty()

    def due(self, officer: Officer | None, response: ResponseTime, start: datetime) -> datetime:
        """By when ``officer`` can answer, counted from ``start`` (:func:`due_or_wall_clock`)."""
        return due_or_wall_clock(response, officer, start, self.calendar, self.tz, self.keeper)

    def iso(self, moment: datetime) -> str:
        """A time as notifications carry it: ISO 8601 in the station's time zone."""
        return moment.astimezone(self.tz).isoformat()


def due_or_wall_clock(
    response: ResponseTime,
    officer: Officer | None,
    start: datetime,
    calendar: Calendar,
    tz: tzinfo,
    keeper: KeeperDuty | None = None,
) -> datetime:
    """:func:`promise_due`, or the plain wall-clock amount when the officer has no duty to count on
    (a roster mistake must not leave a resident without a time, nor stop the watcher)."""
    if officer is not None:
        try:
            return promise_due(response, officer, start, calendar, tz, keeper)
        except NoDutyTime:
            log.warning("officer %s has no duty time; promise counted on the wall clock", officer.id)
    amount = response.duration or timedelta(days=response.working_days or 1)
    return (require_aware(start, "start") + amount).astimezone(tz)


def promise_due(
    response: ResponseTime,
    officer: Officer,
    opened_at: datetime,
    calendar: Calendar,
    tz: tzinfo,
    keeper: KeeperDuty | None = None,
) -> datetime:
    """When the promise for a case opened at ``opened_at`` falls due, in the station timezone.

    - ``counted_in: wall_clock``: ``opened_at`` + the duration, night or day.
    - ``counted_in: wall_clock_on_duty``: at most ``opened_at`` + the duration, pulled in to the end of
      the officer's last duty inside that window so that they are on duty when it falls due — when they
      are on duty for enough of it (``keeper``, see :class:`~hemu.policy.KeeperDuty`); otherwise counted
      in their duty time, so a promise is never one they cannot keep (:mod:`hemu.assignment` chooses
      officers who have enough, so this is for an officer named by hand, or nobody on duty at all).
    - ``counted_in: duty_time``: the duration is consumed only while the officer is on duty; a case
      opened outside their duty starts counting when their next shift starts.
    - ``working_days: N``: counted in the officer's own duty days — the local dates on which one of their
      shifts starts (station working days for a ``working_days`` shift, weekends and holidays for a
      weekend officer). The promise is the end of their last shift starting on the N-th such day after
      the opening day; the opening day itself never counts. Counting the officer's days rather than the
      station's keeps the promise theirs to keep: a weekend officer given a "3 working days" case is not
      promised Sunday evening while a weekday colleague would be promised Wednesday.

    Raises :class:`NoDutyTime` when the officer has no duty within the horizon to count on.
    """
    opened_utc = require_aware(opened_at, "opened_at")
    if response.working_days is not None:
        due = _working_days_due(response.working_days, officer, opened_utc, calendar, tz)
    else:
        duration = response.duration
        assert duration is not None  # ResponseTime guarantees minutes or hours here
        if response.counted_in == "wall_clock":
            due = opened_utc + duration
        elif response.counted_in == "wall_clock_on_duty":
            needed = (keeper or KeeperDuty()).needed(duration)
            due = on_duty_within(duration, needed, officer, opened_utc, calendar, tz)
        else:
            due = _duty_time_due(duration, officer, opened_utc, calendar, tz)
    return due.astimezone(tz)


def remind_time(opened_at: datetime, due: datetime, share: float) -> datetime:
    """The moment ``share`` of the wall time between opening and due has passed, in ``due``'s timezone.

    Wall time rather than duty time, because a reminder is for the officer to act on before the promise
    is broken, and it must never come after the due time.
    """
    opened_utc = require_aware(opened_at, "opened_at")
    due_utc = require_aware(due, "due")
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    if due_utc < opened_utc:
        raise ValueError("due is before opened_at")
    return (opened_utc + (due_utc - opened_utc) * share).astimezone(due.tzinfo)


def _no_duty(officer: Officer, opened_utc: datetime) -> NoDutyTime:
    return NoDutyTime(
        f"officer {officer.id!r} ({officer.name.en}) has no duty within {DUTY_HORIZON.days} days of "
        f"{opened_utc.isoformat()}: check their duty shifts in roster.yml"
    )


def on_duty_within(
    duration: timedelta,
    needed: timedelta,
    officer: Officer,
    opened_utc: datetime,
    calendar: Calendar,
    tz: tzinfo,
) -> datetime:
    """The wall-clock promise a resident can rely on ("within 24 hours"), due while its officer works:
    ``opened + duration`` if they are on duty then, else the end of their last shift before it — if
    they work at least ``needed`` of the window; else counted in their duty time."""
    periods = duty_periods(officer, opened_utc, opened_utc + duration, calendar, tz)
    if not periods or _worked(periods) < needed:
        return _duty_time_due(duration, officer, opened_utc, calendar, tz)
    return periods[-1][1].astimezone(UTC)


def duty_within(
    officer: Officer, start: datetime, end: datetime, calendar: Calendar, tz: tzinfo
) -> timedelta:
    """How much of [start, end) the officer is on duty."""
    return _worked(duty_periods(officer, start, end, calendar, tz))


def _worked(periods: list[tuple[datetime, datetime]]) -> timedelta:
    # In UTC: two datetimes sharing a ZoneInfo subtract by wall clock (hemu.duty).
    return sum((end.astimezone(UTC) - start.astimezone(UTC) for start, end in periods), timedelta(0))


def _duty_time_due(
    duration: timedelta, officer: Officer, opened_utc: datetime, calendar: Calendar, tz: tzinfo
) -> datetime:
    remaining = duration
    counted_to = opened_utc  # overlapping shifts must not count the same minutes twice
    for start, end in shifts_from(officer, opened_utc, calendar, tz):
        begin = max(start, counted_to)
        if end <= begin:
            continue
        if end - begin >= remaining:
            return begin + remaining
        remaining -= end - begin
        counted_to = end
    raise _no_duty(officer, opened_utc)


def _working_days_due(
    days: int, officer: Officer, opened_utc: datetime, calendar: Calendar, tz: tzinfo
) -> datetime:
    """The end of the last shift that starts on the officer's ``days``-th duty day after the opening day."""
    day: date = opened_utc.astimezone(tz).date()
    counted = 0
    # A gap longer than the horizon between two duty days means the roster gives this officer no duty.
    give_up = day + DUTY_HORIZON
    while day < give_up:
        day += ONE_DAY
        shifts = shifts_on(officer, day, calendar, tz)
        if not shifts:
            continue
        counted += 1
        if counted == days:
            return max(end for _, end in shifts)
        give_up = day + DUTY_HORIZON
    raise _no_duty(officer, opened_utc)


__all__ = ["NoDutyTime", "due_or_wall_clock", "duty_within", "on_duty_within", "promise_due", "remind_time"]
