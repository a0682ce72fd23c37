"""The case desk: what happens when a resident's matter becomes a case, in one place for the Rasa actions
and the Telegram gateway alike.

It turns a report into a case with a priority, an officer chosen from the roster and an honest promise
(:mod:`hemu.assignment`, :mod:`hemu.promise`), all written by the store in one transaction together with
the audit log and the officer's notification. Adapters only translate to and from chat messages.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from hemu.assignment import assign
from hemu.cases import CaseState, InvalidTransition, Priority
from hemu.roster import Officer
from hemu.settings import Settings
from hemu.store import Assignment, CaseNotFound, CaseRecord, NewCase, Notification, Store
from hemu.times import require_aware
from hemu.workcal import WorkCalendar

log = logging.getLogger(__name__)

# The category of an urgent case opened from a danger message before any dispute was described.
DANGER_CATEGORY = "danger"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Report:
    """What the resident told the intake conversation; the desk decides everything else (the fields are
    :class:`~hemu.store.NewCase`'s but the priority)."""

    resident_id: str
    language: str
    category: str
    summary: str
    area_id: str | None = None
    area_text: str | None = None
    parties: str | None = None
    duration: str | None = None
    harm: str | None = None
    risk_flags: tuple[str, ...] = ()
    contact_consent: bool = False
    contact: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A case the resident now has: newly opened, or an existing one their new details were added to."""

    case: CaseRecord
    officer: Officer
    opened: bool
    rule: str = ""
    reason: str = ""


class CaseRefused(ValueError):
    """A resident asked for something on a case they may not do (not theirs, already closed, …)."""

    def __init__(self, reason: str, number: str, state: str | None = None) -> None:
        super().__init__(f"{number}: {reason}")
        self.reason = reason
        self.number = number
        self.state = state


class Desk:
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
        return frozenset(
            account.officer_id for account in self.store.officer_accounts() if not account.active
        )

    def priority_for(self, report: Report) -> Priority:
        return self.settings.policy.priority_for(
            report.category, report.harm, list(report.risk_flags), report.summary
        )

    def open_case(self, report: Report, priority: Priority | None = None) -> Outcome:
        """Opens and assigns a case — or, when the resident already has one open about the same thing,
        adds the new details to it so the officer sees one case, not two."""
        chosen = priority or self.priority_for(report)
        now = self.now()
        existing = self._case_to_extend(report, chosen)
        if existing is not None:
            updated = self.store.add_details(
                existing.number, self._details_text(report), now, actor=f"resident:{report.resident_id}"
            )
            return Outcome(case=updated, officer=self.officer(updated.officer_id), opened=False)

        inactive = self.inactive_officers()
        decided: dict[str, str] = {}

        def decide(loads: Mapping[str, int]) -> Assignment:
            decision = assign(
                self.settings.roster,
                self.settings.policy,
                report.area_id,
                chosen,
                now,
                loads,
                self.calendar,
                self.tz,
                inactive,
            )
            decided.update(rule=decision.rule, reason=decision.reason)
            return Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason)

        fields = asdict(report)
        if not report.contact_consent:
            fields["contact"] = None  # never stored without the resident's consent
        case = self.store.open_case(
            NewCase(priority=chosen, **fields),
            decide,
            now,
            actor=f"resident:{report.resident_id}",
            year_tz=self.tz,
        )
        log.info(
            "case %s opened: %s, %s (%s)", case.number, chosen.value, case.officer_id, decided.get("rule")
        )
        return Outcome(
            case=case,
            officer=self.officer(case.officer_id),
            opened=True,
            rule=decided.get("rule", ""),
            reason=decided.get("reason", ""),
        )

    def _case_to_extend(self, report: Report, priority: Priority) -> CaseRecord | None:
        if priority is Priority.URGENT:
            # A second danger message belongs on the urgent case already paged, whatever its category.
            urgent = [
                case
                for case in self.store.cases_for_resident(report.resident_id, active_only=True)
                if case.priority is Priority.URGENT
            ]
            if urgent:
                return urgent[0]  # newest first
        return self.store.active_case_in_category(report.resident_id, report.category)

    @staticmethod
    def _details_text(report: Report) -> str:
        parts = [report.summary]
        parts += [value for value in (report.area_text, report.parties, report.duration) if value]
        if report.risk_flags:
            parts.append("risk: " + ", ".join(report.risk_flags))
        return " | ".join(part for part in parts if part)

    def hand_over(self, number: str, actor: str, why: str, exclude: frozenset[str] = frozenset()) -> Outcome:
        """Gives a case to the officer the roster would choose now (never one in ``exclude``), with a
        fresh promise; the new officer gets the case card through the outbox."""
        case = self.store.get(number)
        if case is None:
            raise CaseNotFound(number)
        now = self.now()
        loads = self.store.loads()
        decision = assign(
            self.settings.roster,
            self.settings.policy,
            case.area_id,
            case.priority,
            now,
            loads,
            self.calendar,
            self.tz,
            self.inactive_officers() | exclude | {case.officer_id},
        )
        updated = self.store.hand_over(
            number,
            Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason),
            now,
            actor=actor,
            reason=why,
            # The new officer gets the case card from the store; the resident must hear whose case it is now.
            notify=[
                Notification(
                    recipient=f"resident:{case.resident_id}",
                    kind="case_update",
                    payload={"number": number, "event": "handed_over", "officer_id": decision.officer.id},
                )
            ],
        )
        return Outcome(
            case=updated, officer=decision.officer, opened=False, rule=decision.rule, reason=decision.reason
        )

    def deactivate_officer(self, officer_id: str, actor: str) -> list[Outcome]:
        """Switches an officer off and hands each of their active cases to whoever the roster picks now,
        so no resident is left waiting on someone who has left."""
        self.officer(officer_id)  # KeyError for an unknown id, before anything changes
        self.store.deactivate_officer(officer_id, self.now())
        moved = []
        for case in self.store.cases(officer_id=officer_id, active_only=True):
            moved.append(self.hand_over(case.number, actor, f"{officer_id} deactivated"))
        return moved

    def resident_cases(self, resident_id: str) -> list[CaseRecord]:
        """The resident's cases, active ones first, newest first within each group."""
        # The store lists newest first and sorting is stable, so only "active first" needs saying.
        return sorted(self.store.cases_for_resident(resident_id), key=lambda case: not case.is_active)

    def cancel(self, resident_id: str, number: str) -> CaseRecord:
        """The resident withdraws their case; the officer is told through the outbox."""
        case = self.store.get(number)
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        if not case.is_active:
            raise CaseRefused("not_active", number, case.state)
        try:
            return self.store.transition(
                number,
                CaseState.CANCELLED,
                self.now(),
                actor=f"resident:{resident_id}",
                reason="cancelled by the resident",
                notify=[
                    Notification(
                        recipient=f"officer:{case.officer_id}",
                        kind="case_update",
                        payload={"number": number, "event": "cancelled_by_resident"},
                    )
                ],
            )
        except (InvalidTransition, CaseNotFound) as error:
            raise CaseRefused("not_active", number, case.state) from error
