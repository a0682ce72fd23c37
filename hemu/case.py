"""A case and its rules: what each change does to it, which events record it and who is told.

Every change to a case is decided here, on the case as it is now, and returned as a :class:`Change`
(the values to set, the audit events, the notices). The store only loads the case, applies the change
in one transaction with its events and notices, and retries on a lost race; it decides nothing. So
"when does a promise count as kept?", "what is the first response?" and "who gets the card after a
hand-over?" each have one answer, in this file.

The promise is first contact with the resident (README, "What a promise is"): an officer pressing
"acknowledge" has the case but has not answered the resident, so the promise, its reminder and its
breach go on until "contacted" (or "resolved", which answered them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Iterable, Mapping

from hemu import parties
from hemu.cases import CaseState, InvalidTransition, check_transition, is_active
from hemu.kinds import CardReason, EventKind, NoticeKind, Update
from hemu.store.records import AWAITING_RESPONSE, CaseRecord, NewCase, Notification

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

    # ---------------------------------------------------------------- changes people make

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

    # ---------------------------------------------------------------- what officers and residents do
    #
    # The changes above with the notices each act causes. A resident's own press (a rating, "it came
    # back") is answered by the gateway at once, with the officer and the promise: no notice repeats it.

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

    def _rated(self, officer_id: str, rating: int, comment: str | None) -> Notification:
        values: dict[str, Any] = {"rating": rating}
        if comment:
            values["comment"] = comment
        return self._tell_officer(officer_id, Update.RATED, **values)

    # ---------------------------------------------------------------- the promise watcher's bookkeeping
    #
    # Each returns None (nothing to write) unless the case is still what the watcher computed from, so a
    # second watcher, or a second run, does nothing.

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
    ) -> Change | None:
        """The promise due at ``old_due`` broken and renewed as ``new_due`` — unless it is no longer the
        case's promise, or (``officer_id`` given) the case is no longer that officer's: ``new_due`` was
        computed on their duty time. Each officer in ``escalate_to`` (id, role: assigned, backup,
        supervisor) is told, and the resident hears the new time and who keeps it.

        ``hand_to``: an urgent case does not wait for the officer who missed it — it goes at once to
        ``hand_to`` (on duty now, ``why_them`` says why), who gets the case card; the case is handed over
        and its version moves on, so the old officer's card can no longer act on it."""
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
        }
        keeper = case.officer_id
        card: list[Notification] = []
        if hand_to is not None and hand_to != case.officer_id:
            check_transition(case.number, case.state, CaseState.HANDED_OVER)
            values.update(
                {"officer_id": hand_to, "state": CaseState.HANDED_OVER.value, "version": case.version + 1}
            )
            detail.update({"to_officer": hand_to, "assignment_reason": why_them})
            keeper = hand_to
            card.append(
                Notification(
                    parties.officer(hand_to),
                    NoticeKind.CASE_ASSIGNED,
                    {
                        "number": case.number,
                        "from_officer": case.officer_id,
                        "reason": CardReason.URGENT_BREACH,
                    },
                )
            )
        event = {"actor": "system", "kind": EventKind.PROMISE_BROKEN, "detail": detail}
        payload = {
            "number": case.number,
            "officer_id": case.officer_id,
            "old_due": old_due.astimezone(tz).isoformat(),
            "new_due": new_due.astimezone(tz).isoformat(),
        }
        told = card + [
            Notification(parties.officer(told_id), NoticeKind.PROMISE_BROKEN, {**payload, "role": role})
            for told_id, role in escalate_to
            if told_id != keeper or keeper == case.officer_id  # a new keeper gets the card instead
        ]
        told += self._tell_resident(Update.PROMISE_BROKEN, officer_id=keeper, new_due=payload["new_due"])
        return Change(values, [event], told)

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
