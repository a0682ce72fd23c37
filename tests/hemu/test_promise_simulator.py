"""The promise simulator (issue 12): random rosters, shifts, holidays, time zones and clock jumps —
daylight-saving stations and overnight shifts included — and the invariants of README's "What a
promise is":

- every promise made falls due while its officer is on duty, unless nobody could keep it (an urgent
  case with nobody on duty for its 15 minutes: the escalation fires when it falls due);
- urgent promises are never longer than the urgent policy;
- no breach message is sent twice for the same level, and nothing after the last level;
- kept / broken is decided exactly once.

``make simulate`` runs it with many more worlds (HEMU_SIM_EXAMPLES) and prints what it covered.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hemu.assignment import keeper_check
from hemu.cases import Priority
from hemu.desk import Desk, Report
from hemu.kinds import NoticeKind
from hemu.policy import load_policy
from hemu.settings import Settings, load_settings
from hemu.store import Store
from tests.conftest import REPO_ROOT, Clock
from tests.hemu.promise_sim import AREAS, EXAMPLES, TALLY, anyone_throughout, on_duty_before, worlds

POLICY = load_policy(REPO_ROOT / "config")
LEVELS = len(POLICY.escalation.levels)
URGENT_WINDOW = POLICY.response_time(Priority.URGENT).duration
OPENINGS = 50


def explore(examples: int) -> settings:
    # Shrinking a failure in these worlds can take minutes; HEMU_SIM_SHRINK=0 reports it as found.
    phases = [
        phase for phase in Phase if os.environ.get("HEMU_SIM_SHRINK") != "0" or phase is not Phase.shrink
    ]
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), phases=phases
    )


@pytest.fixture(scope="module", autouse=True)
def report_tally() -> Iterator[None]:
    yield
    levels = ", ".join(
        f"level {k}: {v}" if k <= LEVELS else f"past the last level: {v}"
        for k, v in sorted(TALLY.breaches_by_level.items())
    )
    print(
        f"\npromise simulator: {TALLY.cases} cases, {TALLY.sweeps} sweeps, "
        f"{TALLY.fallbacks} promises nobody on duty could keep (escalated when due), "
        f"breaches by level ({levels}), {len(TALLY.violations)} invariant violations"
    )


def check_new_promise(
    roster: Any, calendar: Any, tz: Any, priority: Priority, area: str | None, at: datetime, decision: Any
) -> None:
    officer, due = decision.officer, decision.due_at
    assert due > at, f"a promise in the past: {due} for a case at {at}"
    if priority is Priority.URGENT:
        assert due - at == URGENT_WINDOW, f"urgent promise of {due - at}"
    keeps = keeper_check(POLICY, priority, at, calendar, tz)
    if keeps is None or keeps(officer):
        response = POLICY.response_time(priority)
        if response.counted_in != "duty_time" and response.duration is not None:
            assert due - at <= response.duration, f"{priority.value}: {due - at} is longer than the policy"
        assert on_duty_before(
            officer, due, calendar, tz
        ), f"{officer.id} is off duty at {due} ({priority.value})"
        return
    # Nobody the roster may give the case to can keep it: only then a fallback.
    backups = {o.backup for o in roster.officers if area in o.areas and o.backup}
    allowed = [
        o
        for o in roster.active_officers()
        if priority is Priority.URGENT
        or o.id != roster.supervisor
        or area in o.areas
        or o.id in backups
        or o.duty_officer
    ]
    able = [o.id for o in allowed if keeps(o)]
    assert not able, f"{officer.id} ({decision.rule}) chosen although {able} could keep the promise"
    TALLY.fallbacks += 1
    if priority is Priority.URGENT:
        assert not anyone_throughout(roster, at, due, calendar, tz)
    else:  # counted in the officer's own duty time: still due while they work
        assert on_duty_before(officer, due, calendar, tz), f"fallback {officer.id} off duty at {due}"


@explore(EXAMPLES * 8)
@given(world=worlds(), data=st.data())
def test_every_new_promise_is_one_its_officer_can_keep(world: Any, data: Any) -> None:
    from hemu.assignment import assign

    roster, calendar, tz, start = world
    loads: Dict[str, int] = {}
    for _ in range(OPENINGS):
        at = start + timedelta(minutes=data.draw(st.integers(0, 10 * 24 * 60)))
        priority = data.draw(st.sampled_from(list(Priority)))
        area = data.draw(st.sampled_from([*AREAS, None]))
        decision = assign(roster, POLICY, area, priority, at, loads, calendar, tz)
        check_new_promise(roster, calendar, tz, priority, area, at, decision)
        loads[decision.officer.id] = loads.get(decision.officer.id, 0) + 1
        TALLY.cases += 1


def settings_for(roster: Any, tz: Any) -> Settings:
    sample = load_settings(REPO_ROOT / "config")
    station = sample.station.copy(
        update={"station": sample.station.station.copy(update={"timezone": tz.key})}
    )
    return Settings(station=station, roster=roster, policy=POLICY)


def is_alarm(notice: Any) -> bool:
    """What the watcher sends about a late promise (not what officers' own acts send)."""
    if notice.kind in (NoticeKind.PROMISE_BROKEN, NoticeKind.PROMISE_REMINDER):
        return True
    if notice.kind == NoticeKind.CASE_ASSIGNED:
        return notice.payload.get("reason") in ("urgent_breach", "breach")
    return notice.payload.get("event") in ("promise_broken", "still_waiting")


class Watched:
    """What the invariants remember between sweeps."""

    def __init__(self) -> None:
        self.kept: Dict[str, bool] = {}
        self.ran_out_at: Dict[str, int] = {}

    def check(self, desk: Desk, now: datetime) -> None:
        roster, tz, calendar = desk.settings.roster, desk.tz, desk.calendar
        for case in desk.store.cases():
            notices = desk.store.outbox.notifications(case.number)
            per_level = Counter(
                (n.recipient, n.payload.get("level")) for n in notices if n.kind == NoticeKind.PROMISE_BROKEN
            )
            assert not per_level or max(per_level.values()) == 1, f"{case.number}: a level told twice"
            if case.promise_kept is not None:
                first = self.kept.setdefault(case.number, case.promise_kept)
                assert first == case.promise_kept, f"{case.number}: kept/broken decided twice"
            assert case.breaches <= LEVELS + 1
            if not case.awaits_response:
                self.ran_out_at.pop(case.number, None)
                continue
            if case.breaches > LEVELS:
                alarms = sum(1 for n in notices if is_alarm(n))
                seen = self.ran_out_at.setdefault(case.number, alarms)
                assert alarms == seen, f"{case.number}: alarms after the last escalation level"
                continue
            if case.promise_due_at <= now:
                continue  # broken; the next sweep escalates it
            officer = roster.get(case.officer_id)
            due, made = case.promise_due_at, case.promise_set_at
            if case.priority is Priority.URGENT:
                assert due - made <= URGENT_WINDOW, f"{case.number}: urgent promise of {due - made}"
                if not anyone_throughout(roster, made, due, calendar, tz):
                    continue  # nobody could keep it: escalated when it falls due
            assert on_duty_before(officer, due, calendar, tz), (
                f"{case.number} ({case.priority.value}, breaches {case.breaches}): {officer.id} off duty at "
                f"{due.astimezone(tz)} (made {made.astimezone(tz)})"
            )


@explore(max(EXAMPLES, 5))
@given(world=worlds(), data=st.data())
def test_the_watcher_keeps_every_invariant_over_random_weeks(world: Any, data: Any) -> None:
    roster, calendar, tz, start = world
    with tempfile.TemporaryDirectory() as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'sim.sqlite3'}")
        store.migrate()
        clock = Clock(start)
        desk = Desk(settings_for(roster, tz), store, calendar=calendar, clock=clock)
        watched = Watched()
        try:
            for step in range(60):
                action = data.draw(st.sampled_from(["open", "open", "wait", "wait", "act", "sweep"]))
                if action == "open":
                    priority = data.draw(st.sampled_from(list(Priority)))
                    report = Report(
                        resident_id=str(step),
                        language="zh",
                        category="report_noise",
                        summary="楼上噪音",
                        area_id=data.draw(st.sampled_from([*AREAS, None])),
                    )
                    desk.open_case(report, priority=priority)
                    TALLY.cases += 1
                elif action == "wait":
                    jump = data.draw(st.sampled_from([1, 7, 16, 45, 120, 300, 600, 1440, 3 * 1440]))
                    clock.advance(minutes=jump + data.draw(st.integers(0, 30)))
                elif action == "act":
                    waiting = [c for c in desk.store.awaiting_response()]
                    if waiting:
                        case = data.draw(st.sampled_from(waiting))
                        verb = data.draw(st.sampled_from(["acknowledge", "contacted", "resolve"]))
                        desk.officer_act(case.number, case.officer_id, verb, note="好了")
                for _ in range(data.draw(st.integers(1, 2))):  # a second sweep must change nothing
                    result = desk.watch()
                    TALLY.sweeps += 1
                    for number in result.breached:
                        level = desk.store.get(number).breaches
                        TALLY.breaches_by_level[level] = TALLY.breaches_by_level.get(level, 0) + 1
                watched.check(desk, clock.moment)
        finally:
            store.close()
