"""A case and its rules: what each change does to it, which events record it and who is told.

Every change to a case is decided here, on the case as it is now, and returned as a :class:`Change`
(the values to set, the audit events, the notices). The store only loads the case, applies the change
in one transaction with its events and notices, and retries on a lost race; it decides nothing. So
"when does a promise count as kept?", "what is the first response?" and "who gets the card after a
hand-over?" each have one answer, in this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from hemu import parties
from hemu.cases import CaseState, InvalidTransition, check_transition, is_active
from hemu.store.records import AWAITING_RESPONSE, CASE_ASSIGNED, CASE_UPDATE, CaseRecord, Notification

# A first response: the officer answered the resident in some way. Resolving without a word first still
# answered them.
RESPONDED = (CaseState.ACKNOWLEDGED, CaseState.CONTACTED, CaseState.RESOLVED)


@dataclass
class Change:
    """What one change does: column values, audit events (``hemu.store.audit.add_event`` keywords) and
    the notifications it causes, all written in one transaction."""

    values: dict[str, Any]
    events: list[dict[str, Any]]
    notifications: list[Notification] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    record: CaseRecord

    @property
    def state(self) -> CaseState:
        return CaseState(self.record.state)

    # ---------------------------------------------------------------- promises

    def lapsed(self, now: datetime) -> bool:
        """The first promise ran out unanswered and nothing has recorded that yet (see ``promise_kept``)."""
        case = self.record
        return case.first_response_at is None and case.promise_kept is None and now >= case.promise_due_at

    def _new_promise(self, officer_id: str, due_at: datetime, now: datetime) -> dict[str, Any]:
        """The values that give the case to ``officer_id`` with a promise made now (hand-over, reopening):
        a new officer, a new promise, the reminder counted afresh. A first promise that already lapsed
        unanswered is settled as broken here, so the new one cannot hide it."""
        values: dict[str, Any] = {
            "officer_id": officer_id,
            "promise_due_at": due_at,
            "promise_set_at": now,
            "reminded_at": None,
        }
        if self.lapsed(now):
            values["promise_kept"] = False
        return values

    def _card_for(self, officer_id: str) -> Notification:
        """The case card for the officer who now has the case; ``from_officer`` says whose it was."""
        return Notification(
            parties.officer(officer_id),
            CASE_ASSIGNED,
            {"number": self.record.number, "from_officer": self.record.officer_id},
        )

    def _state_changed(
        self,
        target: CaseState,
        actor: str,
        reason: str,
        changes: Mapping[str, Any],
        detail: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The audit event of a state change: who, why, and the values it set."""
        return {
            "actor": actor,
            "kind": "state_changed",
            "from_state": self.state,
            "to_state": target,
            "reason": reason,
            "detail": {**changes, **detail},
        }

    # ---------------------------------------------------------------- changes people make

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
            "kind": "handed_over",
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
    ) -> Change:
        """Reopened and given to ``officer_id`` with a new promise in one step: a reopened case never sits
        unassigned or with its old, long-past promise. The officer gets the case card."""
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
            "kind": "assigned",
            "reason": why_them,
            "detail": {
                "from_officer": case.officer_id,
                "officer_id": officer_id,
                "due_at": due_at.isoformat(),
            },
        }
        return Change(values, [reopened, assigned], [self._card_for(officer_id)])

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
        event = {"actor": actor, "kind": "details_added", "detail": {"text": text}}
        told = Notification(
            parties.officer(case.officer_id),
            CASE_UPDATE,
            {"number": case.number, "event": "details_added", "text": text},
        )
        return Change({}, [event], [told])

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
        event = {"actor": actor, "kind": "resident_says_safe", "detail": {}}
        told = Notification(
            parties.officer(case.officer_id),
            CASE_UPDATE,
            {"number": case.number, "event": "resident_says_safe"},
        )
        return Change({}, [event], [told])

    def comment_rating(self, comment: str, actor: str) -> Change:
        """Only a rated case takes a comment: it belongs to a rating."""
        case = self.record
        if case.rating is None:
            raise InvalidTransition(
                f"case {case.number} has not been rated; a comment belongs to a rating",
                number=case.number,
                current=self.state,
            )
        event = {"actor": actor, "kind": "rating_comment", "detail": {"comment": comment}}
        return Change({"rating_comment": comment}, [event])

    # ---------------------------------------------------------------- the promise watcher's bookkeeping
    #
    # Each returns None (nothing to write) unless the case is still what the watcher computed from, so a
    # second watcher, or a second run, does nothing.

    def remind(self, due_at: datetime, now: datetime) -> Change | None:
        case = self.record
        if (
            self.state not in AWAITING_RESPONSE
            or case.promise_due_at != due_at
            or case.reminded_at is not None
        ):
            return None
        event = {
            "actor": "system",
            "kind": "reminded",
            "detail": {"officer_id": case.officer_id, "due_at": due_at.isoformat()},
        }
        return Change({"reminded_at": now}, [event])

    def break_promise(
        self, old_due: datetime, new_due: datetime, now: datetime, officer_id: str | None
    ) -> Change | None:
        """The promise due at ``old_due`` broken and renewed as ``new_due`` — unless it is no longer the
        case's promise, or (``officer_id`` given) the case is no longer that officer's: ``new_due`` was
        computed on their duty time."""
        case = self.record
        if self.state not in AWAITING_RESPONSE or case.promise_due_at != old_due:
            return None
        if officer_id is not None and case.officer_id != officer_id:
            return None
        values: dict[str, Any] = {
            "promise_due_at": new_due,
            "promise_set_at": now,
            "reminded_at": None,
            "breaches": case.breaches + 1,
            "updated_at": now,
        }
        if case.promise_kept is None:
            values["promise_kept"] = False
        event = {
            "actor": "system",
            "kind": "promise_broken",
            "detail": {
                "officer_id": case.officer_id,
                "old_due": old_due.isoformat(),
                "new_due": new_due.isoformat(),
                "breaches": case.breaches + 1,
            },
        }
        return Change(values, [event])

    def follow_up(self, now: datetime) -> Change | None:
        """Asked once how things are, a week after closing."""
        if self.state is not CaseState.CLOSED or self.record.followed_up_at is not None:
            return None
        return Change({"followed_up_at": now}, [{"actor": "system", "kind": "followed_up", "detail": {}}])
