"""The promise watcher's bookkeeping: a reminder, a breach with its renewed promise (and, for an urgent
case, its new keeper), the follow-up question. Each returns None (nothing to write) unless the case is
still what the watcher computed from, so a second watcher, or a second run, does nothing."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Iterable

from hemu import parties
from hemu.case.base import CaseBase, Change
from hemu.cases import CaseState, Priority, check_transition
from hemu.kinds import CardReason, EventKind, NoticeKind, Update
from hemu.store.records import AWAITING_RESPONSE, Notification


class WatcherBookkeeping(CaseBase):
    def remind(self, due_at: datetime, now: datetime, tz: tzinfo) -> Change | None:
        """The assigned officer is reminded, once, of the promise due at ``due_at``."""
        case = self.record
        if (
            self.state not in AWAITING_RESPONSE
            or case.promise_due_at != due_at
            or case.reminded_at is not None
        ):
            return None
        event = {
            "actor": "system",
            "kind": EventKind.REMINDED,
            "detail": {"officer_id": case.officer_id, "due_at": due_at.isoformat()},
        }
        reminder = Notification(
            parties.officer(case.officer_id),
            NoticeKind.PROMISE_REMINDER,
            {"number": case.number, "due_at": due_at.astimezone(tz).isoformat()},
        )
        return Change({"reminded_at": now}, [event], [reminder])

    def break_promise(
        self,
        old_due: datetime,
        new_due: datetime,
        now: datetime,
        officer_id: str | None,
        escalate_to: Iterable[tuple[str, str]],
        tz: tzinfo,
        hand_to: str | None = None,
        why_them: str = "",
        level: int = 1,
        levels: int = 1,
        call: bool = False,
    ) -> Change | None:
        """The promise due at ``old_due`` broken and renewed as ``new_due`` — unless it is no longer the
        case's promise, or (``officer_id`` given) the case is no longer that officer's: ``new_due`` was
        computed on their duty time. Each officer in ``escalate_to`` (id, role: assigned, backup,
        supervisor, on_duty) is told — escalation ``level`` of ``levels``, with the station's call list
        when ``call`` — and the resident hears the new time and who keeps it.

        ``hand_to``: the case does not wait for an officer who cannot keep the new promise — it goes at
        once to ``hand_to`` (``why_them`` says why), who gets the case card; the case is handed over and
        its version moves on, so the old officer's card can no longer act on it."""
        if now < old_due:
            raise ValueError(f"the promise due at {old_due.isoformat()} cannot be broken before then")
        if new_due <= now:
            raise ValueError(f"a renewed promise must lie in the future, got {new_due.isoformat()}")
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
        detail: dict[str, Any] = {
            "officer_id": case.officer_id,
            "old_due": old_due.isoformat(),
            "new_due": new_due.isoformat(),
            "breaches": case.breaches + 1,
            "level": level,
        }
        # The new keeper gets the card (and not the breach message the others get).
        new_keeper = hand_to if hand_to is not None and hand_to != case.officer_id else None
        card: list[Notification] = []
        if new_keeper is not None:
            check_transition(case.number, case.state, CaseState.HANDED_OVER)
            values.update(
                {"officer_id": new_keeper, "state": CaseState.HANDED_OVER.value, "version": case.version + 1}
            )
            detail.update({"to_officer": new_keeper, "assignment_reason": why_them})
            urgent = case.priority is Priority.URGENT
            card.append(self._card_for(new_keeper, CardReason.URGENT_BREACH if urgent else CardReason.BREACH))
        event = {"actor": "system", "kind": EventKind.PROMISE_BROKEN, "detail": detail}
        payload = {
            "number": case.number,
            "officer_id": case.officer_id,
            "old_due": old_due.astimezone(tz).isoformat(),
            "new_due": new_due.astimezone(tz).isoformat(),
            "level": level,
            "levels": levels,
            "call": call,
        }
        told = card + [
            Notification(parties.officer(told_id), NoticeKind.PROMISE_BROKEN, {**payload, "role": role})
            for told_id, role in escalate_to
            if told_id != new_keeper
        ]
        keeper = new_keeper or case.officer_id
        told += self._tell_resident(Update.PROMISE_BROKEN, officer_id=keeper, new_due=payload["new_due"])
        return Change(values, [event], told)

    def run_out(self, old_due: datetime, now: datetime, levels: int) -> Change | None:
        """The promise made at the last escalation level broke too: no new promise and no more messages
        about this case (it is in the supervisor's daily summary); the resident is told, once, that
        the station knows and that they will be contacted as soon as possible."""
        case = self.record
        if now < old_due:
            raise ValueError(f"the promise due at {old_due.isoformat()} cannot be broken before then")
        if self.state not in AWAITING_RESPONSE or case.promise_due_at != old_due or case.breaches != levels:
            return None
        detail = {
            "officer_id": case.officer_id,
            "old_due": old_due.isoformat(),
            "breaches": case.breaches + 1,
        }
        event = {"actor": "system", "kind": EventKind.ESCALATION_RAN_OUT, "detail": detail}
        values = {"breaches": case.breaches + 1, "reminded_at": now, "updated_at": now}
        return Change(values, [event], self._tell_resident(Update.STILL_WAITING, officer_id=case.officer_id))

    def follow_up(self, now: datetime) -> Change | None:
        """Asked once how things are, a week after closing (nobody to ask after ``/forget``)."""
        case = self.record
        if self.state is not CaseState.CLOSED or case.followed_up_at is not None:
            return None
        question = (
            []
            if case.is_erased
            else [
                Notification(
                    parties.resident(case.resident_id), NoticeKind.FOLLOW_UP, {"number": case.number}
                )
            ]
        )
        return Change(
            {"followed_up_at": now},
            [{"actor": "system", "kind": EventKind.FOLLOWED_UP, "detail": {}}],
            question,
        )
