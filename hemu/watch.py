"""The promise watcher (SPEC §4): reminds officers before a promise falls due, renews a broken promise
honestly, and asks residents a week after closing whether the problem has come back.

Everything is derived from the store on each sweep — no timers live in memory — so a restarted gateway
carries on where the old one stopped, and two gateways sweeping at once do not repeat each other: every
step is written with a check, inside its transaction, that the case is still what the sweep saw
(:meth:`~hemu.store.Store.record` with :class:`~hemu.case.Case`'s ``remind``, ``break_promise`` and
``follow_up``). A sweep reads with
two queries however many cases are open; only the cases that need something cost a write each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import List

from hemu.assignment import AREA_ON_DUTY, BACKUP_ON_DUTY, LEAST_LOADED_ON_DUTY, choose_officer, urgent_until
from hemu.case import Case, Change
from hemu.cases import Priority
from hemu.duty import on_duty
from hemu.promise import PromiseClock
from hemu.roster import Officer
from hemu.settings import Settings
from hemu.store import CaseRecord, Store

log = logging.getLogger(__name__)

# A rated, closed case is followed up this long after it was closed.
FOLLOW_UP_AFTER = timedelta(days=7)
# ... but not when the watcher has not run for weeks: a question about a case closed this long ago
# would confuse more than help.
FOLLOW_UP_UNTIL = timedelta(days=30)


@dataclass(frozen=True)
class WatchReport:
    """What one sweep did (case numbers), and when something will next be due, so the caller can sleep
    until then (None: nothing is scheduled; a new case or a rating will change that, so keep polling)."""

    reminded: List[str] = field(default_factory=list)
    breached: List[str] = field(default_factory=list)
    followed_up: List[str] = field(default_factory=list)
    next_check: datetime | None = None


def reminder_moment(case: CaseRecord, share: float) -> datetime:
    """``share`` of the way from when the promise was made to when it falls due (wall time: a reminder
    must come before the promise breaks, whatever the officer's shifts)."""
    window = case.promise_due_at - case.promise_set_at
    if window <= timedelta(0):
        return case.promise_due_at
    return case.promise_set_at + window * share


def sweep(store: Store, settings: Settings, promises: PromiseClock, now: datetime) -> WatchReport:
    """One pass over the open promises and the closed cases awaiting their follow-up."""
    share = settings.policy.remind_at
    reminded: List[str] = []
    breached: List[str] = []
    followed_up: List[str] = []
    upcoming: List[datetime] = []
    for case in store.awaiting_response():
        try:
            if now >= case.promise_due_at:
                renewed = _renew(store, settings, promises, case, now)
                if renewed is not None:
                    breached.append(case.number)
                else:  # another watcher renewed it, or it changed meanwhile: plan from what is there now
                    renewed = store.get(case.number)
                if renewed is not None and renewed.awaits_response:
                    upcoming += [renewed.promise_due_at, reminder_moment(renewed, share)]
                continue
            upcoming.append(case.promise_due_at)
            if case.reminded_at is not None:
                continue
            moment = reminder_moment(case, share)
            if now < moment:
                upcoming.append(moment)
                continue
            remind = partial(Case.remind, due_at=case.promise_due_at, now=now, tz=promises.tz)
            if store.record(case.number, now, remind) is not None:
                reminded.append(case.number)
        except Exception:  # noqa: BLE001 - one broken case must not stop the watch over all the others
            log.exception("watch: case %s could not be handled", case.number)

    for case in store.follow_up_candidates(now - FOLLOW_UP_UNTIL):
        assert case.closed_at is not None  # follow_up_candidates only returns closed cases
        moment = case.closed_at + FOLLOW_UP_AFTER
        if now < moment:
            upcoming.append(moment)
            continue
        try:
            if store.record(case.number, now, lambda c: c.follow_up(now)) is not None:
                followed_up.append(case.number)
        except Exception:  # noqa: BLE001 - as above
            log.exception("watch: follow-up of case %s failed", case.number)

    later = [moment for moment in upcoming if moment > now]
    result = WatchReport(
        reminded=reminded,
        breached=breached,
        followed_up=followed_up,
        next_check=min(later).astimezone(promises.tz) if later else None,
    )
    if result.reminded or result.breached or result.followed_up:
        log.info(
            "watch: reminded %s, breached %s, followed up %s",
            result.reminded,
            result.breached,
            result.followed_up,
        )
    return result


def _renew(
    store: Store, settings: Settings, promises: PromiseClock, case: CaseRecord, now: datetime
) -> CaseRecord | None:
    """Record the broken promise with a new one; the officer, their backup and the supervisor are told,
    each once. A normal promise is renewed with the policy's breach priority on the assigned officer's
    duty time. An urgent one stays urgent (README, "What a promise is"): a new urgent promise, kept by
    whoever is on duty now (:func:`urgent_keeper`), never counted in an off-duty officer's hours."""
    policy = settings.policy
    roster = settings.roster
    officer = roster.officer(case.officer_id)
    hand_to: Officer | None = None
    why = ""
    if case.priority is Priority.URGENT:
        keeper, why = urgent_keeper(store, settings, promises, case, now)
        hand_to = keeper if keeper.id != case.officer_id else None
        new_due = promises.due(keeper, policy.response_time(Priority.URGENT), now)
    else:
        new_due = promises.due(officer, policy.response_time(policy.breach_priority), now)
    told: dict[str, str] = {case.officer_id: "assigned"}
    if officer is not None and officer.backup and officer.backup not in told:
        told[officer.backup] = "backup"
    if roster.supervisor not in told:
        told[roster.supervisor] = "supervisor"
    old_due, officer_id = case.promise_due_at, case.officer_id
    to = hand_to.id if hand_to is not None else None

    def plan(current: Case) -> Change | None:
        return current.break_promise(
            old_due, new_due, now, officer_id, told.items(), promises.tz, hand_to=to, why_them=why
        )

    return store.record(case.number, now, plan)


def urgent_keeper(
    store: Store, settings: Settings, promises: PromiseClock, case: CaseRecord, now: datetime
) -> tuple[Officer, str]:
    """Who keeps an urgent case whose promise just broke: an officer on duty now other than the one who
    missed it (the area's, their backup, then anyone on duty, the supervisor included) — else the same
    officer while they are still on duty — else the roster's last resort (the supervisor, or whoever is
    back on duty first). The reason goes to the audit log."""
    inactive = store.officers.switched_off()
    others = choose_officer(
        settings.roster,
        case.area_id,
        Priority.URGENT,
        now,
        store.loads(),
        promises.calendar,
        promises.tz,
        inactive | {case.officer_id},
        until=urgent_until(settings.policy, Priority.URGENT, now),
    )
    if others.rule in (AREA_ON_DUTY, BACKUP_ON_DUTY, LEAST_LOADED_ON_DUTY):
        return others.officer, f"urgent promise broken; {others.reason}"
    current = settings.roster.officer(case.officer_id)
    working = current is not None and on_duty(current, now, promises.calendar, promises.tz)
    if current is not None and working and current.id not in inactive:
        return current, "urgent promise broken; nobody else is on duty, the same officer keeps it"
    return others.officer, f"urgent promise broken; {others.reason}"


__all__ = ["FOLLOW_UP_AFTER", "FOLLOW_UP_UNTIL", "WatchReport", "reminder_moment", "sweep", "urgent_keeper"]
