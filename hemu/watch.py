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
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import AbstractSet, Dict, List

from hemu import parties
from hemu.assignment import STAYS, WORKING_RULES, Decision, assign, keeper_check
from hemu.case import Case, Change
from hemu.cases import Priority
from hemu.duty import on_duty
from hemu.kinds import NoticeKind
from hemu.promise import PromiseClock
from hemu.settings import Settings
from hemu.store import CaseRecord, Notification, Store

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
    summarised: List[str] = field(default_factory=list)  # listed in today's daily summary
    expired: List[str] = field(default_factory=list)  # personal details erased by the retention rule
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
    levels = len(settings.policy.escalation.levels)
    ran_out: List[CaseRecord] = []
    for case in store.awaiting_response():
        if case.breaches > levels:  # past every level: in the daily summary, not messaged again
            ran_out.append(case)
            continue
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

    try:
        summarised, next_summary = _daily_summary(store, settings, ran_out, now)
    except Exception:  # noqa: BLE001 - the summary must not stop reminders and breaches next sweep
        log.exception("watch: the daily summary could not be written")
        summarised, next_summary = [], None
    if next_summary is not None:
        upcoming.append(next_summary)
    try:  # the retention rule: residents' words of cases long over (config/policy.yml `retention`)
        expired = store.privacy.expire(now, timedelta(days=settings.policy.retention.personal_details_days))
    except Exception:  # noqa: BLE001 - as above: next sweep
        log.exception("watch: the retention rule could not run")
        expired = []
    if expired:
        log.info("watch: personal details expired for %s", expired)
    later = [moment for moment in upcoming if moment > now]
    result = WatchReport(
        reminded=reminded,
        breached=breached,
        followed_up=followed_up,
        summarised=summarised,
        expired=expired,
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
    """Record the broken promise at its escalation level (README, "What a promise is"): those the level
    names are told, once, and the resident gets a new promise — kept by an officer who can keep it
    (:func:`renewal_keeper`). Past the last level the case runs out: no new promise, no more messages,
    the supervisor's daily summary lists it."""
    escalation = settings.policy.escalation
    levels = len(escalation.levels)
    level = escalation.level(case.breaches + 1)
    old_due, officer_id = case.promise_due_at, case.officer_id
    if level is None:
        return store.record(case.number, now, lambda current: current.run_out(old_due, now, levels))
    inactive = store.officers.switched_off()
    decision = renewal_keeper(store, settings, promises, case, now, inactive)
    hand_to = decision.officer.id if decision.officer.id != case.officer_id else None
    told = _told(level.tell, settings, promises, case, now, inactive)

    def plan(current: Case) -> Change | None:
        return current.break_promise(
            old_due,
            decision.due_at,
            now,
            officer_id,
            told,
            promises.tz,
            hand_to=hand_to,
            why_them=f"promise broken; {decision.reason}",
            level=case.breaches + 1,
            levels=levels,
            call=level.call_list,
        )

    return store.record(case.number, now, plan)


def _told(
    roles: List[str],
    settings: Settings,
    promises: PromiseClock,
    case: CaseRecord,
    now: datetime,
    inactive: AbstractSet[str],
) -> List[tuple[str, str]]:
    """The officers an escalation level tells, each once with the first role that names them."""
    roster = settings.roster
    told: Dict[str, str] = {}
    for role in roles:
        if role == "assigned":
            ids = [case.officer_id]
        elif role == "backup":
            officer = roster.officer(case.officer_id)
            ids = [officer.backup] if officer is not None and officer.backup else []
        elif role == "supervisor":
            ids = [roster.supervisor]
        else:  # on_duty
            ids = [
                officer.id
                for officer in roster.active_officers()
                if officer.id not in inactive and on_duty(officer, now, promises.calendar, promises.tz)
            ]
        for officer_id in ids:
            told.setdefault(officer_id, role)
    return list(told.items())


def renewal_keeper(
    store: Store,
    settings: Settings,
    promises: PromiseClock,
    case: CaseRecord,
    now: datetime,
    inactive: AbstractSet[str],
) -> Decision:
    """Who keeps the renewed promise, and by when. An urgent case stays urgent: a new urgent promise, at
    once with an officer on duty for all of it other than the one who missed it (the duty officer, then
    anyone, then the supervisor) — else the same officer while still on duty — else the roster's last
    resort; never counted in an off-duty officer's hours. Any other case is renewed with
    the policy's ``breach_priority``, staying with its officer if they can keep that promise, else going
    to whoever the roster's chain finds can."""
    policy = settings.policy
    urgent = case.priority is Priority.URGENT
    priority = Priority.URGENT if urgent else policy.breach_priority
    decision = assign(
        settings.roster,
        policy,
        None if urgent else case.area_id,  # urgent: whoever is on duty now, duty officer first
        priority,
        now,
        store.loads(),
        promises.calendar,
        promises.tz,
        {*inactive, case.officer_id} if urgent else inactive,
        prefer=None if urgent else case.officer_id,
    )
    if not urgent:
        return decision
    # Someone else on duty for the whole new promise; else the same officer if they are; else someone
    # else on duty now; else the same officer if on duty now; else the roster's last resort.
    keeps = keeper_check(policy, priority, now, promises.calendar, promises.tz)
    current = settings.roster.officer(case.officer_id)
    if current is None or not current.active or current.id in inactive:
        return decision
    if keeps is not None and keeps(decision.officer):
        return decision
    if (keeps is None or not keeps(current)) and (
        decision.rule in WORKING_RULES or not on_duty(current, now, promises.calendar, promises.tz)
    ):
        return decision
    due = promises.due(current, policy.response_time(priority), now)
    return Decision(
        current, STAYS, "nobody else is on duty for the new promise, the same officer keeps it", due
    )


def summary_moment(settings: Settings, now: datetime) -> datetime:
    """Today's daily summary time at the station (in UTC terms, daylight saving included)."""
    tz = settings.station.station.tz
    at = settings.policy.escalation.daily_summary_at
    return datetime.combine(now.astimezone(tz).date(), at, tzinfo=tz).astimezone(timezone.utc)


def _daily_summary(
    store: Store, settings: Settings, waiting: List[CaseRecord], now: datetime
) -> tuple[List[str], datetime | None]:
    """One message a day to the supervisor listing the cases past every escalation level (instead of a
    message per case per breach); the cases it listed if it was written now, and when the next is due."""
    if not waiting:
        return [], None
    today = summary_moment(settings, now)
    if now < today:
        return [], today
    # Midday tomorrow is tomorrow's local date whatever the clocks do tonight.
    tomorrow = summary_moment(settings, today + timedelta(days=1, hours=12))
    # A case joins the summary the morning after it ran out (its last promise is when that happened):
    # the last level's messages went out only hours before.
    listed = [case.number for case in waiting if case.promise_due_at <= today]
    if not listed:
        return [], tomorrow
    notice = Notification(
        parties.officer(settings.roster.supervisor),
        NoticeKind.DAILY_SUMMARY,
        {"numbers": listed, "at": now.isoformat()},
    )
    return (listed if store.outbox.add_once(notice, since=today, now=now) else []), tomorrow


__all__ = [
    "FOLLOW_UP_AFTER",
    "FOLLOW_UP_UNTIL",
    "WatchReport",
    "reminder_moment",
    "renewal_keeper",
    "summary_moment",
    "sweep",
]
