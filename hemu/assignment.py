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
from hemu.promise import due_or_wall_clock, duty_within
from hemu.roster import Officer, Roster
from hemu.times import require_aware

AREA_ON_DUTY = "area_on_duty"
BACKUP_ON_DUTY = "backup_on_duty"
LEAST_LOADED_ON_DUTY = "least_loaded_on_duty"
SUPERVISOR = "supervisor"
DUTY_OFFICER_ON_DUTY = "duty_officer_on_duty"
# Urgent cases only, after every other officer: the supervisor, on duty.
SUPERVISOR_ON_DUTY = "supervisor_on_duty"
# Only when the supervisor is switched off too: the officer whose duty starts soonest.
NEXT_ON_DUTY = "next_on_duty"
# A renewed promise stays with the officer who has the case, when they can keep it.
STAYS = "stays"
RULES = (
    AREA_ON_DUTY,
    BACKUP_ON_DUTY,
    DUTY_OFFICER_ON_DUTY,
    LEAST_LOADED_ON_DUTY,
    SUPERVISOR_ON_DUTY,
    SUPERVISOR,
    NEXT_ON_DUTY,
    STAYS,
)
# The rules that found someone able to work on the case (not a last resort).
WORKING_RULES = (
    AREA_ON_DUTY,
    BACKUP_ON_DUTY,
    DUTY_OFFICER_ON_DUTY,
    LEAST_LOADED_ON_DUTY,
    SUPERVISOR_ON_DUTY,
    STAYS,
)


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
    keeps: Callable[[Officer], bool] | None = None,
    prefer: str | None = None,
) -> Choice:
    """The officer for a case opened at ``at`` in ``area_id`` (None when the place is unknown).

    ``keeps``: whether an officer can keep the promise to be made (:func:`keeper_check`: on duty for
    enough of its window). The chain is walked with it first, so the area officer whose shift starts in
    twelve minutes is chosen over a backup on duty now, and nobody whose shift ends minutes later is
    chosen; only when nobody passes it is the chain walked again with "on duty now". ``prefer``: an
    officer who keeps the case if they pass ``keeps`` (a renewed promise stays with its officer).

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
    keeps_cache: dict[str, bool] = {}

    def is_on_duty(officer: Officer) -> bool:
        if officer.id not in duty_cache:
            duty_cache[officer.id] = on_duty(officer, at, calendar, tz)
        return duty_cache[officer.id]

    def can_keep(officer: Officer) -> bool:
        assert keeps is not None  # only asked when there is a check
        if officer.id not in keeps_cache:
            keeps_cache[officer.id] = keeps(officer)
        return keeps_cache[officer.id]

    if prefer is not None and keeps is not None:
        kept = next((officer for officer in eligible if officer.id == prefer), None)
        if kept is not None and can_keep(kept):
            return Choice(officer=kept, rule=STAYS, reason=f"{kept.name.en} can keep the new promise")
    checks = [(can_keep, "is on duty for the promise")] if keeps is not None else []
    for working_check, working in [*checks, (is_on_duty, "is on duty")]:
        choice = _on_duty_steps(roster, area_id, urgent, eligible, loads, working_check, working)
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
    working: str = "is on duty",
) -> Choice | None:
    """Area officer → their backup → the duty officer → the least-loaded other officer → (urgent cases
    only) the supervisor, each passing ``is_on_duty``; None when nobody does. The supervisor takes part
    in the area, backup and duty officer steps only where the roster names them so."""

    def pick(candidates: List[Officer], reason: Callable[[Officer], str], rule: str) -> Choice | None:
        available = [officer for officer in candidates if is_on_duty(officer)]
        if not available:
            return None
        chosen = _least_loaded(available, loads)
        return Choice(officer=chosen, rule=rule, reason=reason(chosen))

    if area_id is not None:
        serving = [officer for officer in roster.officers if area_id in officer.areas]
        choice = pick(
            [officer for officer in eligible if area_id in officer.areas],
            lambda o: f"{o.name.en} serves {area_id} and {working} ({_cases(loads.get(o.id, 0))})",
            AREA_ON_DUTY,
        )
        if choice is not None:
            return choice
        backup_ids = {officer.backup for officer in serving if officer.backup}
        choice = pick(
            [officer for officer in eligible if officer.id in backup_ids],
            lambda o: (
                f"no officer of {area_id} {working}; "
                f"backup {o.name.en} {working} ({_cases(loads.get(o.id, 0))})"
            ),
            BACKUP_ON_DUTY,
        )
        if choice is not None:
            return choice

    where = f"no officer of {area_id} or their backup {working}" if area_id else "the area is unknown"
    choice = pick(
        [officer for officer in eligible if officer.duty_officer],
        lambda o: f"{where}; duty officer {o.name.en} {working} ({_cases(loads.get(o.id, 0))})",
        DUTY_OFFICER_ON_DUTY,
    )
    if choice is not None:
        return choice
    choice = pick(
        [officer for officer in eligible if officer.id != roster.supervisor],
        lambda o: f"{where}; {o.name.en} {working} with the fewest cases ({_cases(loads.get(o.id, 0))})",
        LEAST_LOADED_ON_DUTY,
    )
    if choice is not None or not urgent:
        return choice
    return pick(
        [officer for officer in eligible if officer.id == roster.supervisor],
        lambda o: f"{where}; nobody else {working}: the supervisor {o.name.en} takes the urgent case",
        SUPERVISOR_ON_DUTY,
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


def keeper_check(
    policy: Policy, priority: Priority, at: datetime, calendar: Calendar, tz: tzinfo
) -> Callable[[Officer], bool] | None:
    """Who can keep a promise of ``priority`` made at ``at`` (README, "What a promise is"): for an urgent
    (wall-clock) one, an officer on duty for all of it; for a ``wall_clock_on_duty`` one, an officer on
    duty for enough of its window (``keeper_duty``). None for promises counted in the officer's own
    time (``duty_time``, ``working_days``): those are theirs by construction."""
    response = policy.response_time(priority)
    duration = response.duration
    if duration is None or response.counted_in == "duty_time":
        return None
    start = require_aware(at, "at")
    end = start + duration
    if response.counted_in == "wall_clock":
        return lambda officer: on_duty_throughout(officer, start, end, calendar, tz)
    needed = policy.keeper_duty.needed(duration)
    return lambda officer: duty_within(officer, start, end, calendar, tz) >= needed


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
    prefer: str | None = None,
) -> Decision:
    """Chooses the officer who can keep the promise (:func:`keeper_check`) and computes it for them
    (:func:`~hemu.promise.promise_due`)."""
    keeps = keeper_check(policy, priority, at, calendar, tz)
    choice = choose_officer(roster, area_id, priority, at, loads, calendar, tz, inactive, keeps, prefer)
    response = policy.response_time(priority)
    due = due_or_wall_clock(response, choice.officer, at, calendar, tz, policy.keeper_duty)
    return Decision(officer=choice.officer, rule=choice.rule, reason=choice.reason, due_at=due)


__all__ = [
    "AREA_ON_DUTY",
    "BACKUP_ON_DUTY",
    "DUTY_OFFICER_ON_DUTY",
    "LEAST_LOADED_ON_DUTY",
    "NEXT_ON_DUTY",
    "RULES",
    "STAYS",
    "SUPERVISOR",
    "SUPERVISOR_ON_DUTY",
    "WORKING_RULES",
    "Choice",
    "Decision",
    "NoOfficerAvailable",
    "assign",
    "choose_officer",
    "keeper_check",
]
