"""What every case rule shares: the case as it is now, its first promise, and who is told how (the
card, an officer's update, the resident's update)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from hemu import parties
from hemu.cases import CaseState
from hemu.kinds import CardReason, EventKind, NoticeKind, Update
from hemu.store.records import CaseRecord, Notification

# The first response is first contact: the officer reached the resident. Resolving without pressing
# "contacted" first still answered them; acknowledging did not (it only says the officer has the case).
RESPONDED = (CaseState.CONTACTED, CaseState.RESOLVED)


@dataclass
class Change:
    """What one change does: column values, audit events (``hemu.store.audit.add_event`` keywords) and
    the notifications it causes, all written in one transaction."""

    values: dict[str, Any]
    events: list[dict[str, Any]]
    notifications: list[Notification] = field(default_factory=list)


@dataclass(frozen=True)
class CaseBase:
    """A case as it is now; the rules are the subclasses' methods (:class:`hemu.case.Case`)."""

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
        a new officer, a new promise, the reminder counted afresh, and its escalation from level 1 again
        (``breaches`` counts the levels of the current promise; the audit log keeps every breach) — a
        case past every level that someone hands over or reopens is watched again, not left silent. A
        first promise that already lapsed unanswered is settled as broken here, so the new one cannot
        hide it."""
        values: dict[str, Any] = {
            "officer_id": officer_id,
            "promise_due_at": due_at,
            "promise_set_at": now,
            "reminded_at": None,
            "breaches": 0,
        }
        if self.lapsed(now):
            values["promise_kept"] = False
        return values

    # ---------------------------------------------------------------- who is told

    def _card_for(self, officer_id: str, reason: CardReason | None = None, **values: Any) -> Notification:
        """The case card for the officer who now has the case; ``from_officer`` says whose it was and
        ``reason`` why it is theirs when that is not a hand-over (a breach, a low rating, "it came back")."""
        payload: dict[str, Any] = {"number": self.record.number, "from_officer": self.record.officer_id}
        if reason is not None:
            payload.update(reason=reason, **values)
        return Notification(parties.officer(officer_id), NoticeKind.CASE_ASSIGNED, payload)

    def _tell_officer(self, officer_id: str, update: Update, **values: Any) -> Notification:
        return Notification(
            parties.officer(officer_id),
            NoticeKind.CASE_UPDATE,
            {"number": self.record.number, "event": update, **values},
        )

    def _tell_resident(self, update: Update, **values: Any) -> list[Notification]:
        """Nothing for a resident who asked to be forgotten: there is nobody left to tell."""
        case = self.record
        if case.is_erased:
            return []
        payload = {"number": case.number, "event": update, **values}
        return [Notification(parties.resident(case.resident_id), NoticeKind.CASE_UPDATE, payload)]

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
            "kind": EventKind.STATE_CHANGED,
            "from_state": self.state,
            "to_state": target,
            "reason": reason,
            "detail": {**changes, **detail},
        }

    def _rated(self, officer_id: str, rating: int, comment: str | None) -> Notification:
        values: dict[str, Any] = {"rating": rating}
        if comment:
            values["comment"] = comment
        return self._tell_officer(officer_id, Update.RATED, **values)
