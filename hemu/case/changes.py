"""The changes themselves: opening, a state change, a hand-over, a reopening, details, "I'm safe", a
rating's comment — each with its values, audit events and the notices it always causes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from hemu import parties
from hemu.case.base import RESPONDED, CaseBase, Change
from hemu.cases import CaseState, InvalidTransition, check_transition, is_active
from hemu.kinds import EventKind, NoticeKind, Update
from hemu.store.records import NewCase, Notification


class CaseChanges(CaseBase):
    @staticmethod
    def opened(
        number: str, new: NewCase, officer_id: str, due_at: datetime, why_them: str, actor: str
    ) -> Change:
        """A new case's events (opened by ``actor``, assigned by the roster, not by whoever opened it) and
        the officer's case card; its values are the :class:`NewCase` itself."""
        opened = {
            "actor": actor,
            "kind": EventKind.OPENED,
            "to_state": CaseState.OPEN,
            "detail": {"number": number, "category": new.category, "priority": new.priority.value},
        }
        assigned = {
            "actor": "system",
            "kind": EventKind.ASSIGNED,
            "reason": why_them,
            "detail": {"officer_id": officer_id, "due_at": due_at.isoformat()},
        }
        card = Notification(parties.officer(officer_id), NoticeKind.CASE_ASSIGNED, {"number": number})
        return Change({}, [opened, assigned], [card])

    def move_to(
        self,
        target: CaseState,
        now: datetime,
        actor: str,
        reason: str,
        changes: Mapping[str, Any],
        detail: Mapping[str, Any],
    ) -> Change:
        """A state change (not a hand-over: that needs a new officer and promise, :meth:`hand_to`)."""
        case = self.record
        check_transition(case.number, case.state, target)
        values: dict[str, Any] = {"state": target.value, **changes}
        if target in RESPONDED and case.first_response_at is None:
            values["first_response_at"] = now
            if case.promise_kept is None:  # a breach recorded first already settled it
                values["promise_kept"] = now <= case.promise_due_at
        elif target is CaseState.CANCELLED and self.lapsed(now):
            values["promise_kept"] = False  # withdrawn after the promise lapsed unanswered
        if target is CaseState.RESOLVED:
            values["resolved_at"] = now
        elif target is CaseState.CLOSED:
            values["closed_at"] = now
        elif target is CaseState.REOPENED:
            values["resolved_at"] = values["closed_at"] = None
        return Change(values, [self._state_changed(target, actor, reason, changes, detail)])

    def hand_to(
        self, officer_id: str, due_at: datetime, now: datetime, actor: str, reason: str, why_them: str
    ) -> Change:
        """To another officer (or the same one) with a new promise; they get the case card."""
        case = self.record
        check_transition(case.number, case.state, CaseState.HANDED_OVER)
        values = {"state": CaseState.HANDED_OVER.value, **self._new_promise(officer_id, due_at, now)}
        event = {
            "actor": actor,
            "kind": EventKind.HANDED_OVER,
            "from_state": self.state,
            "to_state": CaseState.HANDED_OVER,
            "reason": reason or why_them,
            "detail": {
                "from_officer": case.officer_id,
                "to_officer": officer_id,
                "due_at": due_at.isoformat(),
                "assignment_reason": why_them,
            },
        }
        return Change(values, [event], [self._card_for(officer_id)])

    def reopen_to(
        self,
        officer_id: str,
        due_at: datetime,
        now: datetime,
        actor: str,
        reason: str,
        why_them: str,
        changes: Mapping[str, Any],
        detail: Mapping[str, Any],
        card: Notification | None = None,
    ) -> Change:
        """Reopened and given to ``officer_id`` with a new promise in one step: a reopened case never sits
        unassigned or with its old, long-past promise. The officer gets the case card (``card``: one that
        says why it came back)."""
        case = self.record
        check_transition(case.number, case.state, CaseState.REOPENED)
        values = {
            "state": CaseState.REOPENED.value,
            **self._new_promise(officer_id, due_at, now),
            "resolved_at": None,
            "closed_at": None,
            **changes,
        }
        reopened = self._state_changed(CaseState.REOPENED, actor, reason, changes, detail)
        assigned = {
            "actor": "system",
            "kind": EventKind.ASSIGNED,
            "reason": why_them,
            "detail": {
                "from_officer": case.officer_id,
                "officer_id": officer_id,
                "due_at": due_at.isoformat(),
            },
        }
        return Change(values, [reopened, assigned], [card or self._card_for(officer_id)])

    def add_details(self, text: str, actor: str) -> Change:
        """What the resident adds later; the assigned officer is told. The summary stays as first written
        (it is what the officer's card showed). Active and resolved cases take details (the resident may
        still answer before rating); closed and cancelled ones do not."""
        case = self.record
        if not (is_active(self.state) or self.state is CaseState.RESOLVED):
            raise InvalidTransition(
                f"case {case.number} is {self.state.value}; details can no longer be added to it",
                number=case.number,
                current=self.state,
            )
        event = {"actor": actor, "kind": EventKind.DETAILS_ADDED, "detail": {"text": text}}
        return Change({}, [event], [self._tell_officer(case.officer_id, Update.DETAILS_ADDED, text=text)])

    def resident_says_safe(self, actor: str) -> Change:
        """An event, and the officer is told; the case stays as it is: a tap on a phone (perhaps not the
        resident's own hand) must not withdraw an urgent case; the officer checks and decides."""
        case = self.record
        if not is_active(self.state):
            raise InvalidTransition(
                f"case {case.number} is {self.state.value}; it is no longer open",
                number=case.number,
                current=self.state,
            )
        event = {"actor": actor, "kind": EventKind.RESIDENT_SAYS_SAFE, "detail": {}}
        return Change({}, [event], [self._tell_officer(case.officer_id, Update.RESIDENT_SAYS_SAFE)])

    def comment_rating(self, comment: str, actor: str, rated_officer: str) -> Change:
        """Only a rated case takes a comment: it belongs to a rating. The officer the rating was for reads
        it, and whoever has the case now (after a low rating, the supervisor)."""
        case = self.record
        if case.rating is None:
            raise InvalidTransition(
                f"case {case.number} has not been rated; a comment belongs to a rating",
                number=case.number,
                current=self.state,
            )
        event = {"actor": actor, "kind": EventKind.RATING_COMMENT, "detail": {"comment": comment}}
        told = [
            self._rated(officer_id, case.rating, comment)
            for officer_id in dict.fromkeys([rated_officer, case.officer_id])
        ]
        return Change({"rating_comment": comment}, [event], told)
