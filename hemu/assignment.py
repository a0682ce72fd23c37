"""Who takes a new case: the roster's answer to "responsible for the area and on duty → backup on duty →
least-loaded officer on duty → supervisor; urgent cases go to an on-duty officer whatever the area".

The chain prefers the officer who knows the place, then the one the roster names to stand in for them,
and only then anyone who is working; the supervisor is the last resort so they are not buried in
routine cases. An urgent case must reach someone who is on duty now, so for urgent cases the supervisor
joins the on-duty pool when they are working. Every choice carries the rule that made it and a sentence
for the audit log, so "why did Zhao Min get my case?" has an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import AbstractSet, Callable, List, Mapping, Sequence

from hemu.cases import Priority
from hemu.duty import Calendar, next_duty_start, on_duty, on_duty_throughout
from hemu.policy import Policy
from hemu.promise import promise_due
from hemu.roster import Officer, Roster
from hemu.times import require_aware

AREA_ON_DUTY = "area_on_duty"
BACKUP_ON_DUTY = "backup_on_duty"
LEAST_LOADED_ON_DUTY = "least_loaded_on_duty"
SUPERVISOR = "supervisor"
# Only when the supervisor is switched off too: the officer whose duty starts soonest.
NEXT_ON_DUTY = "next_on_duty"
RULES = (AREA_ON_DUTY, BACKUP_ON_DUTY, LEAST_LOADED_ON_DUTY, SUPERVISOR, NEXT_ON_DUTY)


class NoOfficerAvailable(LookupError):
    """Every officer is inactive or has no duty at all: nobody can be promised to the resident."""


@dataclass(frozen=True)
class Choice:
    officer: Officer
    rule: str
    reason: str


@dataclass(frozen=True)
class Decision:
    officer: Officer
    rule: str
    reason: str
    due_at: datetime


def _cases(count: int) -> str:
    return f"{count} open case" if count == 1 else f"{count} open cases"


def _least_loaded(candidates: Sequence[Officer], loads: Mapping[str, int]) -> Officer:
    # min() keeps the first of equals, so ties go to the officer listed first in the roster.
    return min(candidates, key=lambda officer: loads.get(officer.id, 0))


def choose_officer(
    roster: Roster,
    area_id: str | None,
    priority: Priority,
    at: datetime,
    loads: Mapping[str, int],
    calendar: Calendar,
    tz: tzinfo,
    inactive: AbstractSet[str] = frozenset(),
    until: datetime | None = None,
) -> Choice:
    """The officer for a case opened at ``at`` in ``area_id`` (None when the place is unknown).

    ``until``: prefer officers still on duty then (an urgent promise's due time), so an urgent case
    does not go to someone whose shift ends before it falls due; only when nobody on duty stays that
    long do the on-duty steps consider everyone on duty now.

    ``loads`` maps officer id to open cases (missing: none). Officers marked ``active: false`` or listed
    in ``inactive`` are never chosen, the supervisor included. The supervisor takes part in the area
    and backup steps only where the roster explicitly names them (as serving the area, or as a backup),
    and in the general on-duty step only for urgent cases. When even the supervisor is unavailable the
    case goes to the officer whose duty starts soonest (rule ``next_on_duty``); when no active officer has
    any duty, :class:`NoOfficerAvailable` is raised.
    """
    require_aware(at, "at")
    urgent = Priority(priority) is Priority.URGENT
    eligible = [officer for officer in roster.officers if officer.active and officer.id not in inactive]
    duty_cache: dict[str, bool] = {}
    through_cache: dict[str, bool] = {}

    def is_on_duty(officer: Officer) -> bool:
        if officer.id not in duty_cache:
            duty_cache[officer.id] = on_duty(officer, at, calendar, tz)
        return duty_cache[officer.id]

    def stays_on_duty(officer: Officer) -> bool:
        assert until is not None  # only asked when there is an until
        if officer.id not in through_cache:
            through_cache[officer.id] = on_duty_throughout(officer, at, until, calendar, tz)
        return through_cache[officer.id]

    for working_check in (stays_on_duty, is_on_duty) if until is not None else (is_on_duty,):
        choice = _on_duty_steps(roster, area_id, urgent, eligible, loads, working_check)
        if choice is not None:
            return choice
    return _last_resort(roster, eligible, at, calendar, tz)


def _on_duty_steps(
    roster: Roster,
    area_id: str | None,
    urgent: bool,
    eligible: List[Officer],
    loads: Mapping[str, int],
    is_on_duty: Callable[[Officer], bool],
) -> Choice | None:
    """Area officer on duty → their backup on duty → least-loaded on duty (the supervisor only for
    urgent cases); None when nobody passes ``is_on_duty``."""

    def pick(candidates: List[Officer], reason: Callable[[Officer], str], rule: str) -> Choice | None:
        working = [officer for officer in candidates if is_on_duty(officer)]
        if not working:
            return None
        chosen = _least_loaded(working, loads)
        return Choice(officer=chosen, rule=rule, reason=reason(chosen))

    if area_id is not None:
        serving = [officer for officer in roster.officers if area_id in officer.areas]
        choice = pick(
            [officer for officer in eligible if area_id in officer.areas],
            lambda o: f"{o.name.en} serves {area_id} and is on duty ({_cases(loads.get(o.id, 0))})",
            AREA_ON_DUTY,
        )
        if choice is not None:
            return choice
        backup_ids = {officer.backup for officer in serving if officer.backup}
        choice = pick(
            [officer for officer in eligible if officer.id in backup_ids],
            lambda o: (
                f"no officer of {area_id} on duty; backup {o.name.en} is ({_cases(loads.get(o.id, 0))})"
            ),
            BACKUP_ON_DUTY,
        )
        if choice is not None:
            return choice

    pool = [officer for officer in eligible if urgent or officer.id != roster.supervisor]
    where = f"no officer of {area_id} or their backup on duty" if area_id else "the area is unknown"
    return pick(
        pool,
        lambda o: f"{where}; {o.name.en} is on duty with the fewest cases ({_cases(loads.get(o.id, 0))})",
        LEAST_LOADED_ON_DUTY,
    )


def _last_resort(
    roster: Roster, eligible: List[Officer], at: datetime, calendar: Calendar, tz: tzinfo
) -> Choice:
    """Nobody on duty: the supervisor, else whoever is back on duty first."""
    supervisor = roster.supervisor_officer
    if any(officer.id == supervisor.id for officer in eligible):
        return Choice(officer=supervisor, rule=SUPERVISOR, reason="nobody on duty; the supervisor takes it")

    soonest: tuple[datetime, Officer] | None = None
    for officer in eligible:
        start = next_duty_start(officer, at, calendar, tz)
        if start is not None and (soonest is None or start < soonest[0]):
            soonest = (start, officer)
    if soonest is None:
        raise NoOfficerAvailable(
            f"no active officer has any duty after {at.isoformat()} and the supervisor "
            f"{roster.supervisor!r} is unavailable"
        )
    start, officer = soonest
    return Choice(
        officer=officer,
        rule=NEXT_ON_DUTY,
        reason=(
            f"nobody on duty and the supervisor is unavailable; {officer.name.en} is the first back on duty, "
            f"at {start.astimezone(tz).strftime('%Y-%m-%d %H:%M')}"
        ),
    )


def urgent_until(policy: Policy, priority: Priority, at: datetime) -> datetime | None:
    """When an urgent promise made at ``at`` falls due (its officer should still be on duty then); None
    for other priorities and for a response not counted on the wall clock."""
    response = policy.response_time(priority)
    if Priority(priority) is not Priority.URGENT or response.counted_in != "wall_clock":
        return None
    return require_aware(at, "at") + response.duration if response.duration else None


def assign(
    roster: Roster,
    policy: Policy,
    area_id: str | None,
    priority: Priority,
    at: datetime,
    loads: Mapping[str, int],
    calendar: Calendar,
    tz: tzinfo,
    inactive: AbstractSet[str] = frozenset(),
) -> Decision:
    """Chooses the officer and computes their promise on their own duty time (see :func:`promise_due`).
    An urgent (wall-clock) promise prefers an officer whose shift lasts until it falls due."""
    until = urgent_until(policy, priority, at)
    choice = choose_officer(roster, area_id, priority, at, loads, calendar, tz, inactive, until)
    due = promise_due(policy.response_time(priority), choice.officer, at, calendar, tz)
    return Decision(officer=choice.officer, rule=choice.rule, reason=choice.reason, due_at=due)


__all__ = [
    "AREA_ON_DUTY",
    "BACKUP_ON_DUTY",
    "LEAST_LOADED_ON_DUTY",
    "NEXT_ON_DUTY",
    "RULES",
    "SUPERVISOR",
    "Choice",
    "Decision",
    "NoOfficerAvailable",
    "assign",
    "choose_officer",
    "urgent_until",
]
