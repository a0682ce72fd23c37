"""What officers and residents do, as the changes they make plus the notices each act causes. A
resident's own press (a rating, "it came back") is answered by the gateway at once, with the officer and
the promise: no notice repeats it."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from hemu import parties
from hemu.case.base import Change
from hemu.case.changes import CaseChanges
from hemu.cases import CaseState
from hemu.kinds import CardReason, Update


class CaseActs(CaseChanges):
    def officer_moves(
        self, target: CaseState, officer_id: str, reason: str, note: str | None, now: datetime
    ) -> Change:
        """An officer's card button. The resident hears it from the officer who pressed (the supervisor may
        act on someone else's case); a resolution's note is the case's, any other note the event's."""
        changes: dict[str, Any] = {"resolution_note": note} if target is CaseState.RESOLVED else {}
        detail = {"officer_id": officer_id}
        if note is not None and target is not CaseState.RESOLVED:
            detail["note"] = note
        change = self.move_to(target, now, parties.officer(officer_id), reason, changes, detail)
        change.notifications += self._tell_resident(Update(target.value), officer_id=officer_id)
        return change

    def hand_over(
        self,
        officer_id: str,
        due_at: datetime,
        now: datetime,
        actor: str,
        reason: str,
        why_them: str,
        tz: tzinfo,
    ) -> Change:
        """:meth:`hand_to`, and the resident hears who has their case now and by when (station time)."""
        change = self.hand_to(officer_id, due_at, now, actor, reason, why_them)
        change.notifications += self._tell_resident(
            Update.HANDED_OVER, officer_id=officer_id, due_at=due_at.astimezone(tz).isoformat()
        )
        return change

    def withdraw(self, now: datetime) -> Change:
        """The resident withdraws the case; the officer is told."""
        actor = parties.resident(self.record.resident_id)
        change = self.move_to(CaseState.CANCELLED, now, actor, "cancelled by the resident", {}, {})
        change.notifications.append(self._tell_officer(self.record.officer_id, Update.CANCELLED_BY_RESIDENT))
        return change

    def close_rated(self, rating: int, comment: str | None, now: datetime) -> Change:
        """A rating above the low mark closes the case; the officer reads their rating."""
        case = self.record
        change = self.move_to(
            CaseState.CLOSED,
            now,
            parties.resident(case.resident_id),
            f"rated {rating}",
            {"rating": rating, "rating_comment": comment},
            {"officer_id": case.officer_id},
        )
        change.notifications.append(self._rated(case.officer_id, rating, comment))
        return change

    def reopen_rated(
        self,
        rating: int,
        comment: str | None,
        officer_id: str,
        due_at: datetime,
        why_them: str,
        now: datetime,
    ) -> Change:
        """A low rating reopens the case to ``officer_id`` (the supervisor); the rated officer reads it."""
        case = self.record
        change = self.reopen_to(
            officer_id,
            due_at,
            now,
            parties.resident(case.resident_id),
            f"rated {rating}",
            why_them,
            {"rating": rating, "rating_comment": comment},
            {"officer_id": case.officer_id},
            self._card_for(officer_id, CardReason.LOW_RATING, rating=rating),
        )
        change.notifications.append(self._rated(case.officer_id, rating, comment))
        return change

    def came_back(self, officer_id: str, due_at: datetime, why_them: str, now: datetime) -> Change:
        """The resident says the problem came back: reopened to ``officer_id``, who is told why."""
        case = self.record
        change = self.reopen_to(
            officer_id,
            due_at,
            now,
            parties.resident(case.resident_id),
            "the resident says the problem came back",
            why_them,
            {},
            {},
            self._card_for(officer_id, CardReason.CAME_BACK),
        )
        change.notifications.append(self._tell_officer(officer_id, Update.FOLLOW_UP_CAME_BACK))
        return change
