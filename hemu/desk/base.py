"""What every part of the desk shares: the station (settings, store, calendar, promise clock, clock), the
roster's choice, handing a case over, and the one permission rule for officers."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from hemu import clock
from hemu.assignment import Decision, assign
from hemu.cases import Priority
from hemu.desk.results import CaseRefused, NotAllowed, Outcome
from hemu.promise import PromiseClock
from hemu.roster import Officer
from hemu.settings import Settings
from hemu.store import Assignment, CaseNotFound, CaseRecord, Store
from hemu.times import require_aware
from hemu.watch import WatchReport, sweep
from hemu.workcal import WorkCalendar


def utc_now() -> datetime:
    """The deployment's clock (:mod:`hemu.clock`): system time unless a test or the sandbox shifted it."""
    return clock.now()


class DeskBase:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        calendar: WorkCalendar | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.calendar = calendar or WorkCalendar(settings.station.calendar)
        self.promises = PromiseClock(self.calendar, settings.station.station.tz, settings.policy.keeper_duty)
        self.clock = clock

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.station.station.tz

    def now(self) -> datetime:
        moment = self.clock()
        require_aware(moment, "the desk's clock")
        return moment

    def officer(self, officer_id: str) -> Officer:
        return self.settings.roster.get(officer_id)

    def inactive_officers(self) -> frozenset[str]:
        """Officers switched off with the admin command line (the roster's ``active: false`` is applied by
        the assignment itself); one query, as it runs on every case opened."""
        return self.store.officers.switched_off()

    def _choose(
        self,
        area_id: str | None,
        priority: Priority,
        now: datetime,
        loads: Mapping[str, int],
        unavailable: frozenset[str],
    ) -> Decision:
        """The roster's choice with this station's calendar and time zone (hemu.assignment decides)."""
        return assign(
            self.settings.roster,
            self.settings.policy,
            area_id,
            priority,
            now,
            loads,
            self.calendar,
            self.tz,
            unavailable,
        )

    def hand_over(
        self,
        number: str,
        actor: str,
        why: str,
        exclude: frozenset[str] = frozenset(),
        expected_version: int | None = None,
    ) -> Outcome:
        """Gives a case to the officer the roster would choose now (never one in ``exclude``), with a
        fresh promise; the new officer gets the case card through the outbox."""
        case = self._case(number)
        now = self.now()
        loads = self.store.loads()
        decision = self._choose(
            case.area_id, case.priority, now, loads, self.inactive_officers() | exclude | {case.officer_id}
        )
        updated = self._hand_over(
            case,
            Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason),
            now,
            actor,
            why,
            expected_version,
        )
        return Outcome(
            case=updated, officer=decision.officer, opened=False, rule=decision.rule, reason=decision.reason
        )

    def _hand_over(
        self,
        case: CaseRecord,
        assignment: Assignment,
        now: datetime,
        actor: str,
        why: str,
        expected_version: int | None,
    ) -> CaseRecord:
        return self.store.change(
            case.number,
            now,
            lambda current: current.hand_over(
                assignment.officer_id, assignment.due_at, now, actor, why, assignment.reason, self.tz
            ),
            expected_version,
        )

    def may_act(self, case: CaseRecord, officer_id: str) -> bool:
        """The one permission rule for officers' buttons and commands: the assigned officer and the
        station supervisor, each only while active (in the roster and not switched off with the admin
        command line). The gateway asks it before showing buttons; the desk before every change."""
        if officer_id == case.officer_id and self._is_active_officer(officer_id):
            return True
        return self._may_supervise(officer_id)

    def _check_officer(self, case: CaseRecord, officer_id: str) -> None:
        if not self.may_act(case, officer_id):
            raise NotAllowed(officer_id, case.number)

    def _may_supervise(self, officer_id: str) -> bool:
        return officer_id == self.settings.roster.supervisor and self._is_active_officer(officer_id)

    def _is_active_officer(self, officer_id: str) -> bool:
        officer = self.settings.roster.officer(officer_id)
        return officer is not None and officer.active and self.store.officers.is_active(officer_id)

    # ---------------------------------------------------------------- watcher, statistics

    def watch(self, now: datetime | None = None) -> WatchReport:
        """One promise-watcher sweep (see :mod:`hemu.watch`); safe to run often and from two processes."""
        moment = require_aware(now, "now") if now is not None else self.now()
        return sweep(self.store, self.settings, self.promises, moment)

    # ---------------------------------------------------------------- helpers

    def _case(self, number: str) -> CaseRecord:
        case = self.store.get(number)
        if case is None:
            raise CaseNotFound(number)
        return case

    def _own_case(self, resident_id: str, number: str) -> CaseRecord:
        try:
            case = self.store.get(number)
        except ValueError as error:
            raise CaseRefused("not_found", number) from error
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        return case
