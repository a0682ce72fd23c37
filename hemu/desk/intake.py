"""A resident's report becomes a case: its priority, a new case with an officer and a promise, or new
details on the case the resident already has about the same thing."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Iterable

from hemu import parties
from hemu.cases import Priority
from hemu.desk.base import DeskBase
from hemu.desk.results import Outcome, Report
from hemu.store import Assignment, CaseRecord, NewCase

log = logging.getLogger(__name__)


# The category of an urgent case opened from a danger message before any dispute was described.
DANGER_CATEGORY = "danger"


class Intake(DeskBase):
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
                existing.number, self._details_text(report), now, actor=parties.resident(report.resident_id)
            )
            return Outcome(case=updated, officer=self.officer(updated.officer_id), opened=False)

        inactive = self.inactive_officers()
        fields = asdict(report)
        del fields["new_matter"]
        if not report.contact_consent:
            fields["contact"] = None  # never stored without the resident's consent
        # One unit of work: the number, then the loads as they are now, the roster's choice, the case.
        with self.store.opening(now, year_tz=self.tz) as opening:
            decision = self._choose(report.area_id, chosen, now, opening.loads, inactive)
            case = opening.add(
                NewCase(priority=chosen, **fields),
                Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason),
                actor=parties.resident(report.resident_id),
            )
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
        if report.new_matter:
            return None
        return self.store.active_case_in_category(report.resident_id, report.category)

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
