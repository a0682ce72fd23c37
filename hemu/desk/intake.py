"""A resident's report becomes a case: its priority, a new case with an officer and a promise, or new
details on the case the resident already has about the same thing."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Iterable

from hemu import parties
from hemu.cases import InvalidTransition, Priority
from hemu.desk.base import DeskBase
from hemu.desk.limits import OpenedToday, StationDay, case_for_held_back_page
from hemu.desk.results import LimitReached, Outcome, Report
from hemu.store import Assignment, CaseRecord, NewCase

log = logging.getLogger(__name__)


# The category of an urgent case opened from a danger message before any dispute was described.
DANGER_CATEGORY = "danger"


class _OpenedMeanwhile(Exception):
    """Another opening committed the case this report goes onto while this one waited for the counter."""

    def __init__(self, case: CaseRecord) -> None:
        super().__init__(case.number)
        self.case = case


class Intake(DeskBase):
    def priority_for(self, report: Report) -> Priority:
        return self.settings.policy.priority_for(
            report.category, report.harm, list(report.risk_flags), report.summary
        )

    def open_case(self, report: Report, priority: Priority | None = None) -> Outcome:
        """Opens and assigns a case — or, when the resident already has one open about the same thing,
        adds the new details to it so the officer sees one case, not two.

        Every path that opens a case comes here (the actions, the gateway's own danger answer), so the
        resident's daily limits are kept here once (:meth:`_within_limits`): past the case limit a report
        is refused with :class:`LimitReached`; past the urgent-page limit a danger message goes onto an
        existing case as details (``Outcome.held_back``). A report carrying danger is never refused.
        """
        earlier = self._handled_before(report)
        if earlier is not None:
            return earlier
        chosen = priority or self.priority_for(report)
        now = self.now()
        existing = self._case_to_extend(report, chosen)
        if existing is not None:
            return self._extend(existing, report, now)
        instead = self._within_limits(report, chosen, now)
        if instead is not None:
            try:
                return self._extend(instead, report, now, held_back=True)
            except InvalidTransition:  # closed since it was read: danger must still reach someone
                log.warning(
                    "case %s closed meanwhile; paging for %s after all", instead.number, report.resident_id
                )

        inactive = self.inactive_officers()
        fields = asdict(report)
        del fields["new_matter"], fields["source"]
        if not report.contact_consent:
            fields["contact"] = None  # never stored without the resident's consent
        # One unit of work: the number, then the loads as they are now, the roster's choice, the case.
        try:
            with self.store.opening(now, year_tz=self.tz) as opening:
                # Looked for again under the counter's lock, which serialises openings: two danger
                # messages of one resident answered at the same moment (the gateway's page and Rasa's
                # safety flow, or two messages waiting for their turn) must make one urgent case, not two.
                meanwhile = self._extendable(opening.active_cases_of(report.resident_id), report, chosen)
                if meanwhile is not None:
                    raise _OpenedMeanwhile(meanwhile)  # rolls the number back
                decision = self._choose(report.area_id, chosen, now, opening.loads, inactive)
                officer, due_at = decision.officer.id, decision.due_at
                case = opening.add(
                    NewCase(priority=chosen, **fields),
                    Assignment(officer_id=officer, due_at=due_at, reason=decision.reason),
                    actor=parties.resident(report.resident_id),
                )
                if report.source:
                    opening.handled(report.resident_id, report.source)
        except _OpenedMeanwhile as opened:
            log.info("case %s opened meanwhile for %s: extended", opened.case.number, report.resident_id)
            return self._extend(opened.case, report, now)
        log.info("case %s opened: %s, %s (%s)", case.number, chosen.value, case.officer_id, decision.rule)
        return Outcome(
            case=case,
            officer=self.officer(case.officer_id),
            opened=True,
            rule=decision.rule,
            reason=decision.reason,
        )

    def open_urgent_case(self, resident_id: str, language: str, said: str, risks: Iterable[str]) -> Outcome:
        """An urgent case for a danger message no conversation is taking up now: the gateway screened it
        itself (a rating comment, an edited message, a message kept while Rasa is down), and an officer on
        duty must be paged at once, not when Rasa is back. As with every danger message, it goes onto the
        resident's open urgent case when there is one (:meth:`open_case`)."""
        flags = tuple(sorted(set(risks)))
        if not flags:
            raise ValueError("an urgent case needs the danger that was found in the message")
        if not said.strip():
            raise ValueError("an urgent case needs the resident's words")
        report = Report(
            resident_id=resident_id,
            language=language,
            category=DANGER_CATEGORY,
            summary=said.strip(),
            risk_flags=flags,
        )
        return self.open_case(report, priority=Priority.URGENT)

    def _handled_before(self, report: Report) -> Outcome | None:
        """The outcome the same message had the first time, when it has already been through here."""
        if not report.source:
            return None
        handled = self.store.handled.get(report.resident_id, report.source)
        case = self.store.get(handled.case_number) if handled else None
        if handled is None or case is None:
            return None
        log.info(
            "message %s of %s was handled before (case %s)", report.source, report.resident_id, case.number
        )
        return Outcome(case=case, officer=self.officer(case.officer_id), opened=handled.opened)

    def _extend(self, case: CaseRecord, report: Report, now: datetime, held_back: bool = False) -> Outcome:
        source = (report.resident_id, report.source) if report.source else None
        updated = self.store.add_details(
            case.number,
            self._details_text(report),
            now,
            actor=parties.resident(report.resident_id),
            source=source,
        )
        return Outcome(
            case=updated, officer=self.officer(updated.officer_id), opened=False, held_back=held_back
        )

    def _within_limits(self, report: Report, priority: Priority, now: datetime) -> CaseRecord | None:
        """The resident's daily limits, checked before a new case is opened (None: open it).

        Past ``urgent_pages_per_day`` an urgent report does not page again: the case its words go onto
        instead is returned, so the officer still reads them and the resident still gets the safety reply
        from whoever called. When no case can take details any more, it pages after all: danger never
        lands nowhere. Past ``cases_per_day`` a report is refused — unless it carries danger.
        """
        limits = self.settings.policy.resident_limits
        day = StationDay.around(now, self.tz)
        mine = self.store.cases_for_resident(report.resident_id)
        today = OpenedToday.count(mine, day)
        if priority is Priority.URGENT:
            if today.pages < limits.urgent_pages_per_day:
                return None
            instead = case_for_held_back_page(mine)
            # Ids only: logs never hold what residents wrote (SPEC §9).
            log.warning(
                "urgent-page limit (%d a day) reached for %s: %s",
                limits.urgent_pages_per_day,
                report.resident_id,
                f"details onto {instead.number}" if instead else "no case takes details, paging anyway",
            )
            return instead
        if report.risk_flags or today.cases < limits.cases_per_day:
            return None
        log.info("case limit (%d a day) reached for %s", limits.cases_per_day, report.resident_id)
        raise LimitReached("cases_per_day", limits.cases_per_day, day.next_start)

    def _case_to_extend(self, report: Report, priority: Priority) -> CaseRecord | None:
        active = self.store.cases_for_resident(report.resident_id, active_only=True)
        return self._extendable(active, report, priority)

    @staticmethod
    def _extendable(active: list[CaseRecord], report: Report, priority: Priority) -> CaseRecord | None:
        """Of the resident's active cases (newest first), the one this report goes onto, if any."""
        if priority is Priority.URGENT:
            # A second danger message belongs on the urgent case already paged, whatever its category.
            urgent = [case for case in active if case.priority is Priority.URGENT]
            if urgent:
                return urgent[0]
        if report.new_matter:
            return None
        return next((case for case in active if case.category == report.category), None)

    def open_case_about(self, resident_id: str, category: str) -> CaseRecord | None:
        """The resident's open case of this kind, so a new report can ask "is this the same matter?"."""
        return self.store.active_case_in_category(resident_id, category)

    @staticmethod
    def _details_text(report: Report) -> str:
        parts = [report.summary]
        parts += [value for value in (report.area_text, report.parties, report.duration) if value]
        if report.risk_flags:
            parts.append("risk: " + ", ".join(report.risk_flags))
        return " | ".join(part for part in parts if part)

    def resident_cases(self, resident_id: str) -> list[CaseRecord]:
        """The resident's cases, active ones first, newest first within each group."""
        # The store lists newest first and sorting is stable, so only "active first" needs saying.
        return sorted(self.store.cases_for_resident(resident_id), key=lambda case: not case.is_active)
