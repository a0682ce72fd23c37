"""The case store: every change to a case is one transaction that also writes its audit events and the
notifications it causes (the outbox), so a crash between "changed" and "told" loses nothing.

Concurrency model, the same on both backends:
  * case numbers come from a counter row bumped with ``UPDATE … SET last_seq = last_seq + 1``; the row lock
    it takes (SQLite: the whole database, via ``BEGIN IMMEDIATE``) also serialises concurrent ``open_case``
    calls, so the officers' loads read after it are exact and numbers never repeat or skip;
  * case changes are optimistic: ``UPDATE … WHERE id = ? AND version = ?``. A caller that passes
    ``expected_version`` (an officer pressing a button on an old card) gets :class:`ConcurrentUpdate` when
    someone else got there first; otherwise the store re-reads the case (locking it this time) and applies
    the change to what is really there, so no update is lost and the state rules see the current state.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, OperationalError

from hemu import parties
from hemu.cases import (
    ACTIVE_STATES,
    CaseState,
    InvalidTransition,
    Priority,
    check_transition,
    format_case_number,
    is_active,
    normalise_case_number,
)
from hemu.store import db
from hemu.store.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    InviteError,
    NotificationNotFound,
    OutboxError,
)
from hemu.store.records import (
    AWAITING_RESPONSE,
    ERASED_PREFIX,
    ERASED_TEXT,
    Assignment,
    CaseRecord,
    CaseStatistics,
    EventRecord,
    InboundRecord,
    InboundStatus,
    NewCase,
    Notification,
    NotificationRecord,
    OfficerAccount,
    OutboxStatus,
)
from hemu.store.tables import (
    case_counters,
    case_events,
    cases,
    inbound,
    invites,
    officer_accounts,
    outbox,
)
from hemu.times import require_aware

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Notify = Sequence[Notification] | Callable[[CaseRecord], Sequence[Notification]]

# Fields a state change may set besides the state itself.
TRANSITION_CHANGES = frozenset({"resolution_note", "rating", "rating_comment"})
# A re-read after a lost optimistic race locks the row, so one retry normally settles it.
MAX_ATTEMPTS = 4
MIGRATE_ATTEMPTS = 5
_ACTIVE_VALUES = tuple(sorted(state.value for state in ACTIVE_STATES))
_AWAITING_VALUES = tuple(sorted(state.value for state in AWAITING_RESPONSE))
# Keys of event details and notification payloads that carry what a resident or an officer wrote about
# the resident; forget_resident() replaces their values.
PERSONAL_KEYS = frozenset({"text", "comment", "rating_comment", "resolution_note", "note"})
# Typed from a phone: no 0/o, 1/l/i to confuse; 31^10 ≈ 8·10^14 codes, and each lives only days.
INVITE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
INVITE_LENGTH = 10


@dataclass
class _Change:
    values: Dict[str, Any]
    events: List[Dict[str, Any]]
    notifications: List[Notification] = field(default_factory=list)


def _jsonable(value: Any, what: str) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be JSON-serialisable: {error}") from error
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty text")
    return value


def _lapsed(row: Row, now: datetime) -> bool:
    """The first promise ran out unanswered and nothing has recorded that yet (see ``promise_kept``)."""
    return row.first_response_at is None and row.promise_kept is None and now >= row.promise_due_at


def check_rating(rating: Any) -> None:
    """A rating is a whole number from 1 to 5 (not True, not 2.5): one rule for the store and the desk."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValueError(f"a rating must be a whole number from 1 to 5, got {rating!r}")


def _check_changes(changes: Mapping[str, Any]) -> None:
    """A rating among a case change's ``changes``; None is allowed there (it sets no rating)."""
    if changes.get("rating") is not None:
        check_rating(changes["rating"])


def _checked_assignment(assignment: Any, verb: str) -> tuple[str, datetime]:
    """The officer and due time of ``assignment``, checked before anything is read or written."""
    if not isinstance(assignment, Assignment):
        raise TypeError(f"{verb} needs an Assignment, got {type(assignment).__name__}")
    return (
        _text(assignment.officer_id, "assignment.officer_id"),
        require_aware(assignment.due_at, "assignment.due_at"),
    )


def _new_promise(row: Row, officer_id: str, due_at: datetime, now: datetime) -> Dict[str, Any]:
    """The values that give the case to ``officer_id`` with a promise made now (hand-over, reopening): a
    new officer, a new promise, the reminder counted afresh. A first promise that already lapsed
    unanswered is settled as broken here, so the new one cannot hide it (see ``promise_kept``)."""
    values: Dict[str, Any] = {
        "officer_id": officer_id,
        "promise_due_at": due_at,
        "promise_set_at": now,
        "reminded_at": None,
    }
    if _lapsed(row, now):
        values["promise_kept"] = False
    return values


def _case_card(row: Row, officer_id: str) -> Notification:
    """The case card for the officer who now has the case; ``from_officer`` says whose it was."""
    return Notification(
        parties.officer(officer_id), "case_assigned", {"number": row.number, "from_officer": row.officer_id}
    )


def _scrub(values: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy with what people wrote about the resident replaced (see :data:`PERSONAL_KEYS`)."""
    return {
        key: (ERASED_TEXT if key in PERSONAL_KEYS and value is not None else value)
        for key, value in values.items()
    }


def _count_attempt() -> Any:
    """attempts + 1, unless claim_notifications already counted this attempt."""
    return case((outbox.c.claimed_at.is_(None), outbox.c.attempts + 1), else_=outbox.c.attempts)


def _normalise_code(code: str) -> str:
    return re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", code or "")).lower()


def _hash_code(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


_CASE_FIELDS = tuple(f.name for f in fields(CaseRecord))


def _case_record(row: Row) -> CaseRecord:
    values = {name: row._mapping[name] for name in _CASE_FIELDS}
    values["priority"] = Priority(values["priority"])
    values["state"] = CaseState(values["state"])
    values["risk_flags"] = tuple(values["risk_flags"] or ())
    values["contact_consent"] = bool(values["contact_consent"])
    if values["promise_kept"] is not None:
        values["promise_kept"] = bool(values["promise_kept"])
    return CaseRecord(**values)


def _event_record(row: Row) -> EventRecord:
    return EventRecord(
        id=row.id,
        case_id=row.case_id,
        at=row.at,
        actor=row.actor,
        kind=row.kind,
        from_state=CaseState(row.from_state) if row.from_state else None,
        to_state=CaseState(row.to_state) if row.to_state else None,
        reason=row.reason,
        detail=dict(row.detail or {}),
    )


def _notification_record(row: Row) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        case_id=row.case_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        recipient=row.recipient,
        kind=row.kind,
        payload=dict(row.payload or {}),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


def _inbound_record(row: Row) -> InboundRecord:
    values = row._mapping
    return InboundRecord(
        id=values["id"],
        sender=values["sender"],
        chat_id=values["chat_id"],
        text=values["text"],
        metadata=dict(values["metadata"] or {}),
        created_at=values["created_at"],
        attempts=values["attempts"],
        status=InboundStatus(values["status"]),
        last_error=values["last_error"],
        delivered_at=values["delivered_at"],
    )


def _account_record(row: Row) -> OfficerAccount:
    return OfficerAccount(
        officer_id=row.officer_id,
        telegram_chat_id=row.telegram_chat_id,
        active=bool(row.active),
        linked_at=row.linked_at,
        deactivated_at=row.deactivated_at,
    )


class Store:
    """The case store on one engine; cheap to share between threads (the engine pools connections)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{db.READ_ONLY: True})

    @classmethod
    def from_url(cls, url: str | None = None) -> Store:
        """A store for ``url``, else ``DATABASE_URL``, else ``var/hemu.sqlite3``."""
        return cls(db.create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- schema

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when several processes start at once."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        for attempt in range(MIGRATE_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    db.take_migration_lock(connection)
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                return
            except OperationalError as error:
                # SQLite answers "database is locked" at once, without waiting out busy_timeout, when
                # processes starting together (action server and gateway) race to create a fresh file
                # or switch it to WAL. The transaction rolled back whole; try again a little later.
                if self.dialect != "sqlite" or "locked" not in str(error) or attempt + 1 == MIGRATE_ATTEMPTS:
                    raise
                time.sleep(0.2 * (attempt + 1))

    # ---------------------------------------------------------------- cases: changes

    def open_case(
        self,
        new: NewCase,
        assign: Callable[[Mapping[str, int]], Assignment],
        now: datetime,
        actor: str,
        notify: Notify = (),
        *,
        year_tz: tzinfo = timezone.utc,
    ) -> CaseRecord:
        """Number, assign and record a new case; the assigned officer's notification is always queued.

        ``assign`` gets the officers' current loads (active cases per officer; officers without any are
        absent) read inside the transaction, after the number is allocated: that allocation serialises
        concurrent openings, so two cases opened at once never both see the same officer as idle.
        If anything fails the whole transaction, including the number, is rolled back.
        """
        if not isinstance(new, NewCase):
            raise TypeError(f"open_case needs a NewCase, got {type(new).__name__}")
        now = require_aware(now, "now")
        _text(actor, "actor")
        year = now.astimezone(year_tz).year
        with self.engine.begin() as conn:
            seq = self._next_seq(conn, year)
            number = format_case_number(year, seq)
            assignment = assign(self._loads(conn))
            if not isinstance(assignment, Assignment):
                raise TypeError(f"assign must return an Assignment, got {type(assignment).__name__}")
            officer_id = _text(assignment.officer_id, "assignment.officer_id")
            due_at = require_aware(assignment.due_at, "assignment.due_at")
            case_id = conn.execute(
                insert(cases).values(
                    number=number,
                    year=year,
                    seq=seq,
                    category=new.category,
                    priority=new.priority.value,
                    state=CaseState.OPEN.value,
                    language=new.language,
                    resident_id=new.resident_id,
                    summary=new.summary,
                    area_id=new.area_id,
                    area_text=new.area_text,
                    parties=new.parties,
                    duration=new.duration,
                    harm=new.harm,
                    risk_flags=list(new.risk_flags),
                    contact_consent=new.contact_consent,
                    contact=new.contact,
                    officer_id=officer_id,
                    promise_due_at=due_at,
                    promise_set_at=now,
                    breaches=0,
                    opened_at=now,
                    updated_at=now,
                    version=1,
                )
            ).inserted_primary_key[0]
            self._add_event(
                conn,
                case_id,
                now,
                actor=actor,
                kind="opened",
                to_state=CaseState.OPEN,
                detail={"number": number, "category": new.category, "priority": new.priority.value},
            )
            # The roster chose the officer, not the person who opened the case.
            self._add_event(
                conn,
                case_id,
                now,
                actor="system",
                kind="assigned",
                reason=assignment.reason,
                detail={"officer_id": officer_id, "due_at": due_at.isoformat()},
            )
            record = _case_record(self._case_row(conn, number))
            assigned = Notification(parties.officer(officer_id), "case_assigned", {"number": number})
            self._add_notifications(conn, case_id, now, [assigned, *self._extra(notify, record)])
        return record

    def transition(
        self,
        number: str,
        target: CaseState | str,
        now: datetime,
        actor: str,
        reason: str = "",
        notify: Notify = (),
        expected_version: int | None = None,
        detail: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> CaseRecord:
        """Move a case to ``target`` (see hemu.cases for what is allowed), recording who and why.

        ``changes`` may set ``resolution_note``, ``rating`` (1–5) and ``rating_comment``. Reopening clears
        ``resolved_at``/``closed_at`` (the events keep the history); a rating stays until it is replaced.
        ``detail`` adds to the audit event's detail (e.g. which officer a rating was for).
        """
        target = CaseState(target)
        if target is CaseState.HANDED_OVER:
            raise ValueError("use hand_over() to hand a case over: it needs the new officer and promise")
        unknown = set(changes) - TRANSITION_CHANGES
        if unknown:
            raise TypeError(
                f"transition() cannot change {', '.join(sorted(unknown))}; "
                f"it can change {', '.join(sorted(TRANSITION_CHANGES))}"
            )
        _check_changes(changes)
        now = require_aware(now, "now")
        _text(actor, "actor")
        extra = _jsonable(dict(detail or {}), "detail")

        def plan(row: Row) -> _Change:
            check_transition(row.number, row.state, target)
            values: Dict[str, Any] = {"state": target.value, **changes}
            # Resolving without a word first still answered the resident: it counts as the first response.
            responded = (CaseState.ACKNOWLEDGED, CaseState.CONTACTED, CaseState.RESOLVED)
            if target in responded and row.first_response_at is None:
                values["first_response_at"] = now
                if row.promise_kept is None:  # a breach recorded first already settled it
                    values["promise_kept"] = now <= row.promise_due_at
            elif target is CaseState.CANCELLED and _lapsed(row, now):
                values["promise_kept"] = False  # withdrawn after the promise lapsed unanswered
            if target is CaseState.RESOLVED:
                values["resolved_at"] = now
            elif target is CaseState.CLOSED:
                values["closed_at"] = now
            elif target is CaseState.REOPENED:
                values["resolved_at"] = values["closed_at"] = None
            event = {
                "actor": actor,
                "kind": "state_changed",
                "from_state": CaseState(row.state),
                "to_state": target,
                "reason": reason,
                "detail": {**_jsonable(dict(changes), "changes"), **extra},
            }
            return _Change(values, [event])

        return self._change_case(number, now, expected_version, plan, notify)

    def hand_over(
        self,
        number: str,
        assignment: Assignment,
        now: datetime,
        actor: str,
        reason: str,
        notify: Notify = (),
        expected_version: int | None = None,
    ) -> CaseRecord:
        """Give the case to another officer (or the same one) with a new promise; they are notified."""
        officer_id, due_at = _checked_assignment(assignment, "hand_over")
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            check_transition(row.number, row.state, CaseState.HANDED_OVER)
            values = {"state": CaseState.HANDED_OVER.value, **_new_promise(row, officer_id, due_at, now)}
            event = {
                "actor": actor,
                "kind": "handed_over",
                "from_state": CaseState(row.state),
                "to_state": CaseState.HANDED_OVER,
                "reason": reason or assignment.reason,
                "detail": {
                    "from_officer": row.officer_id,
                    "to_officer": officer_id,
                    "due_at": due_at.isoformat(),
                    "assignment_reason": assignment.reason,
                },
            }
            return _Change(values, [event], [_case_card(row, officer_id)])

        return self._change_case(number, now, expected_version, plan, notify)

    def add_details(
        self,
        number: str,
        text: str,
        now: datetime,
        actor: str,
        notify: Notify = (),
        expected_version: int | None = None,
    ) -> CaseRecord:
        """Record what the resident adds later; the assigned officer gets a ``case_update``.

        The summary stays as first written (it is what the officer's card showed); the additions are
        ``details_added`` events, read with :meth:`events`. Allowed while the case is active or resolved
        (the resident may still answer before rating); a closed or cancelled case takes no more details.
        """
        text = _text(text, "text")
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            state = CaseState(row.state)
            if not (is_active(state) or state is CaseState.RESOLVED):
                raise InvalidTransition(
                    f"case {row.number} is {state.value}; details can no longer be added to it",
                    number=row.number,
                    current=state,
                )
            event = {"actor": actor, "kind": "details_added", "detail": {"text": text}}
            update_ = Notification(
                parties.officer(row.officer_id),
                "case_update",
                {"number": row.number, "event": "details_added", "text": text},
            )
            return _Change({}, [event], [update_])

        return self._change_case(number, now, expected_version, plan, notify)

    def resident_says_safe(self, number: str, now: datetime, actor: str) -> CaseRecord:
        """The resident of a danger case says they are safe now: an event, and the officer is told.

        The case stays as it is: a tap on a phone (perhaps not the resident's own hand) must not withdraw
        an urgent case; the officer checks and decides."""
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            if not is_active(CaseState(row.state)):
                raise InvalidTransition(
                    f"case {row.number} is {row.state}; it is no longer open",
                    number=row.number,
                    current=CaseState(row.state),
                )
            event = {"actor": actor, "kind": "resident_says_safe", "detail": {}}
            update_ = Notification(
                parties.officer(row.officer_id),
                "case_update",
                {"number": row.number, "event": "resident_says_safe"},
            )
            return _Change({}, [event], [update_])

        return self._change_case(number, now, None, plan, ())

    def reopen(
        self,
        number: str,
        assignment: Assignment,
        now: datetime,
        actor: str,
        reason: str,
        notify: Notify = (),
        expected_version: int | None = None,
        detail: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> CaseRecord:
        """Reopen a resolved or closed case and give it to ``assignment``'s officer with a new promise, in
        one step: a reopened case must never sit unassigned or with the old, long-past promise.

        ``changes`` may set ``rating`` and ``rating_comment`` (a low rating is what reopens it). The
        officer gets the case card (``case_assigned``) like after a hand-over.
        """
        officer_id, due_at = _checked_assignment(assignment, "reopen")
        unknown = set(changes) - {"rating", "rating_comment"}
        if unknown:
            raise TypeError(f"reopen() cannot change {', '.join(sorted(unknown))}")
        _check_changes(changes)
        now = require_aware(now, "now")
        _text(actor, "actor")
        extra = _jsonable(dict(detail or {}), "detail")

        def plan(row: Row) -> _Change:
            check_transition(row.number, row.state, CaseState.REOPENED)
            values = {
                "state": CaseState.REOPENED.value,
                **_new_promise(row, officer_id, due_at, now),
                "resolved_at": None,
                "closed_at": None,
                **changes,
            }
            reopened = {
                "actor": actor,
                "kind": "state_changed",
                "from_state": CaseState(row.state),
                "to_state": CaseState.REOPENED,
                "reason": reason,
                "detail": {**_jsonable(dict(changes), "changes"), **extra},
            }
            assigned = {
                "actor": "system",
                "kind": "assigned",
                "reason": assignment.reason,
                "detail": {
                    "from_officer": row.officer_id,
                    "officer_id": officer_id,
                    "due_at": due_at.isoformat(),
                },
            }
            return _Change(values, [reopened, assigned], [_case_card(row, officer_id)])

        return self._change_case(number, now, expected_version, plan, notify)

    def set_rating_comment(
        self, number: str, comment: str, now: datetime, actor: str, notify: Notify = ()
    ) -> CaseRecord:
        """Add the comment the resident wrote after rating; only a rated case takes one."""
        comment = _text(comment, "comment")
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            if row.rating is None:
                raise InvalidTransition(
                    f"case {row.number} has not been rated; a comment belongs to a rating",
                    number=row.number,
                    current=CaseState(row.state),
                )
            event = {"actor": actor, "kind": "rating_comment", "detail": {"comment": comment}}
            return _Change({"rating_comment": comment}, [event])

        return self._change_case(number, now, None, plan, notify)

    # ---------------------------------------------------------------- promise watcher
    #
    # These changes are bookkeeping, not decisions: they take the row lock, check that the case is still
    # what the watcher computed from (so a second watcher, or a second run, does nothing), and leave the
    # version alone so an officer's card stays valid for its buttons.

    def awaiting_response(self) -> List[CaseRecord]:
        """Cases whose promise is still running (see :data:`AWAITING_RESPONSE`), earliest due first."""
        query = (
            select(cases)
            .where(cases.c.state.in_(_AWAITING_VALUES))
            .order_by(cases.c.promise_due_at, cases.c.id)
        )
        with self._reader.connect() as conn:
            return [_case_record(row) for row in conn.execute(query)]

    def follow_up_candidates(self, closed_since: datetime) -> List[CaseRecord]:
        """Rated, closed cases closed at or after ``closed_since`` that have not had the follow-up
        question yet, earliest closed first (due or not: the watcher also needs the next one's time)."""
        closed_since = require_aware(closed_since, "closed_since")
        query = (
            select(cases)
            .where(
                cases.c.state == CaseState.CLOSED.value,
                cases.c.rating.is_not(None),
                cases.c.followed_up_at.is_(None),
                cases.c.closed_at >= closed_since,
            )
            .order_by(cases.c.closed_at, cases.c.id)
        )
        with self._reader.connect() as conn:
            return [_case_record(row) for row in conn.execute(query)]

    def record_reminder(
        self, number: str, due_at: datetime, now: datetime, notify: Notify = ()
    ) -> CaseRecord | None:
        """Note that the officer was reminded of the promise due at ``due_at``; None (and nothing
        written) when that promise is no longer the case's, or its officer was already reminded."""
        due_at = require_aware(due_at, "due_at")
        now = require_aware(now, "now")

        def plan(row: Row) -> _Change | None:
            if (
                row.state not in _AWAITING_VALUES
                or row.promise_due_at != due_at
                or row.reminded_at is not None
            ):
                return None
            event = {
                "actor": "system",
                "kind": "reminded",
                "detail": {"officer_id": row.officer_id, "due_at": due_at.isoformat()},
            }
            return _Change({"reminded_at": now}, [event])

        return self._guarded_change(number, now, plan, notify)

    def record_breach(
        self,
        number: str,
        old_due: datetime,
        new_due: datetime,
        now: datetime,
        notify: Notify = (),
        officer_id: str | None = None,
    ) -> CaseRecord | None:
        """Record that the promise due at ``old_due`` was broken and renew it as ``new_due``.

        Idempotent against ``old_due``: when the case's promise is no longer ``old_due`` (renewed by
        another watcher, handed over, answered) nothing is written and None is returned, so two
        watchers never both tell the resident. ``officer_id``, when given, must also still be the
        case's officer: ``new_due`` was computed on their duty time.
        """
        old_due = require_aware(old_due, "old_due")
        new_due = require_aware(new_due, "new_due")
        now = require_aware(now, "now")
        if now < old_due:
            raise ValueError(f"the promise due at {old_due.isoformat()} cannot be broken before then")
        if new_due <= now:
            raise ValueError(f"a renewed promise must lie in the future, got {new_due.isoformat()}")

        def plan(row: Row) -> _Change | None:
            if row.state not in _AWAITING_VALUES or row.promise_due_at != old_due:
                return None
            if officer_id is not None and row.officer_id != officer_id:
                return None
            values: Dict[str, Any] = {
                "promise_due_at": new_due,
                "promise_set_at": now,
                "reminded_at": None,
                "breaches": row.breaches + 1,
                "updated_at": now,
            }
            if row.promise_kept is None:
                values["promise_kept"] = False
            event = {
                "actor": "system",
                "kind": "promise_broken",
                "detail": {
                    "officer_id": row.officer_id,
                    "old_due": old_due.isoformat(),
                    "new_due": new_due.isoformat(),
                    "breaches": row.breaches + 1,
                },
            }
            return _Change(values, [event])

        return self._guarded_change(number, now, plan, notify)

    def record_follow_up(self, number: str, now: datetime, notify: Notify = ()) -> CaseRecord | None:
        """Note that the resident was asked how things are now; None when the case is no longer closed
        or was already followed up (each closed case is asked once)."""
        now = require_aware(now, "now")

        def plan(row: Row) -> _Change | None:
            if row.state != CaseState.CLOSED.value or row.followed_up_at is not None:
                return None
            event = {"actor": "system", "kind": "followed_up", "detail": {}}
            return _Change({"followed_up_at": now}, [event])

        return self._guarded_change(number, now, plan, notify)

    def record_follow_up_answer(
        self, number: str, came_back: bool, now: datetime, actor: str
    ) -> CaseRecord | None:
        """Log the resident's answer to the follow-up question once; None when it was already logged."""
        now = require_aware(now, "now")
        _text(actor, "actor")
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            row = self._case_row(conn, canonical, lock=True)
            answered = conn.execute(
                select(func.count())
                .select_from(case_events)
                .where(case_events.c.case_id == row.id, case_events.c.kind == "follow_up_answered")
            ).scalar_one()
            if answered:
                return None
            self._add_event(
                conn, row.id, now, actor=actor, kind="follow_up_answered", detail={"came_back": came_back}
            )
            return _case_record(row)

    # ---------------------------------------------------------------- cases: queries

    def get(self, number: str) -> CaseRecord | None:
        """The case, or None when there is none; ValueError when ``number`` is not a case number at all."""
        canonical = normalise_case_number(number)
        with self._reader.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.number == canonical)).first()
        return _case_record(row) if row else None

    def events(self, number: str) -> List[EventRecord]:
        """The case's audit log, oldest first; CaseNotFound when there is no such case (not an empty log)."""
        canonical = normalise_case_number(number)
        with self._reader.connect() as conn:
            case_id = conn.execute(select(cases.c.id).where(cases.c.number == canonical)).scalar()
            if case_id is None:
                raise CaseNotFound(canonical)
            rows = conn.execute(
                select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
            ).all()
        return [_event_record(row) for row in rows]

    def cases_for_resident(self, resident_id: str, active_only: bool = False) -> List[CaseRecord]:
        """The resident's cases, newest first."""
        query = select(cases).where(cases.c.resident_id == resident_id)
        if active_only:
            query = query.where(cases.c.state.in_(_ACTIVE_VALUES))
        return self._case_list(query)

    def active_case_in_category(self, resident_id: str, category: str) -> CaseRecord | None:
        """The resident's newest active case of this kind, so a repeated report can join it."""
        query = select(cases).where(
            cases.c.resident_id == resident_id,
            cases.c.category == category,
            cases.c.state.in_(_ACTIVE_VALUES),
        )
        found = self._case_list(query, limit=1)
        return found[0] if found else None

    def cases(
        self,
        state: CaseState | str | None = None,
        officer_id: str | None = None,
        active_only: bool = False,
        limit: int | None = None,
    ) -> List[CaseRecord]:
        """Cases matching every given filter, newest first."""
        query = select(cases)
        if state is not None:
            query = query.where(cases.c.state == CaseState(state).value)
        if officer_id is not None:
            query = query.where(cases.c.officer_id == officer_id)
        if active_only:
            query = query.where(cases.c.state.in_(_ACTIVE_VALUES))
        return self._case_list(query, limit=limit)

    def loads(self) -> Dict[str, int]:
        """Active cases per officer; officers with none are absent."""
        with self._reader.connect() as conn:
            return self._loads(conn)

    # ---------------------------------------------------------------- outbox

    def pending_notifications(self, now: datetime, limit: int = 100) -> List[NotificationRecord]:
        """Notifications due for (another) attempt, oldest first."""
        now = require_aware(now, "now")
        query = (
            select(outbox)
            .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._reader.connect() as conn:
            return [_notification_record(row) for row in conn.execute(query)]

    def notifications(
        self, number: str | None = None, status: OutboxStatus | str | None = None
    ) -> List[NotificationRecord]:
        """The outbox (for one case, or in one status), oldest first: for admins and tests."""
        query = select(outbox).order_by(outbox.c.id)
        if status is not None:
            query = query.where(outbox.c.status == OutboxStatus(status).value)
        if number is not None:
            canonical = normalise_case_number(number)
            query = query.join(cases, cases.c.id == outbox.c.case_id).where(cases.c.number == canonical)
        with self._reader.connect() as conn:
            return [_notification_record(row) for row in conn.execute(query)]

    def claim_notifications(
        self, now: datetime, lease: timedelta, limit: int = 50
    ) -> List[NotificationRecord]:
        """Take up to ``limit`` due notifications for sending, oldest first.

        Each is pushed to ``next_attempt_at = now + lease`` with its attempt counted, in the same
        transaction that selected it, so another sender (or this one after a crash and restart) cannot
        take it again inside the lease. The sender then reports with :meth:`mark_sent`,
        :meth:`mark_failed` or :meth:`drop`; a sender that dies silently just lets the lease run out.
        PostgreSQL skips rows another sender has locked; SQLite's BEGIN IMMEDIATE serialises claims.
        """
        now = require_aware(now, "now")
        if lease <= timedelta(0):
            raise ValueError(f"a claim must last for some time, got {lease}")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = (
            select(outbox.c.id)
            .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        # Most polls find nothing: look first without the write lock a claim needs (SQLite takes the
        # whole database for it), so a notifier polling several times a second never slows a writer.
        # Unordered: whether anything is due is one probe of the (status, next_attempt_at) index.
        with self._reader.connect() as conn:
            if conn.execute(query.order_by(None).limit(1)).first() is None:
                return []
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            ids = conn.execute(query).scalars().all()
            if not ids:
                return []
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(
                    next_attempt_at=now + lease,
                    attempts=outbox.c.attempts + 1,
                    claimed_at=now,
                    updated_at=now,
                )
            )
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).all()
        return [_notification_record(row) for row in rows]

    def mark_sent(self, notification_id: int, now: datetime) -> NotificationRecord:
        now = require_aware(now, "now")
        return self._set_outbox(
            notification_id,
            "marked sent",
            (OutboxStatus.PENDING, OutboxStatus.FAILED),
            status=OutboxStatus.SENT.value,
            sent_at=now,
            updated_at=now,
            attempts=_count_attempt(),
            claimed_at=None,
        )

    def mark_failed(
        self, notification_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> NotificationRecord:
        """Count a failed attempt; try again at ``retry_at``, or never when it is None."""
        now = require_aware(now, "now")
        values: Dict[str, Any] = {
            "attempts": _count_attempt(),
            "last_error": error,
            "updated_at": now,
            "claimed_at": None,
        }
        if retry_at is None:
            values["status"] = OutboxStatus.FAILED.value
        else:
            values["next_attempt_at"] = require_aware(retry_at, "retry_at")
        return self._set_outbox(notification_id, "marked failed", (OutboxStatus.PENDING,), **values)

    def drop(self, notification_id: int, now: datetime, reason: str) -> NotificationRecord:
        """Give up on a notification on purpose (e.g. the recipient has no chat); ``reason`` is kept."""
        now = require_aware(now, "now")
        return self._set_outbox(
            notification_id,
            "dropped",
            (OutboxStatus.PENDING, OutboxStatus.FAILED),
            status=OutboxStatus.DROPPED.value,
            last_error=reason,
            updated_at=now,
            claimed_at=None,
        )

    # ---------------------------------------------------------------- inbound queue

    def queue_inbound(
        self, sender: str, chat_id: int, text: str, metadata: Mapping[str, Any], now: datetime
    ) -> int:
        """Keep a resident's message Rasa could not take; returns its id. Replayed oldest first."""
        _text(sender, "sender")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise TypeError(f"chat_id must be an int, got {type(chat_id).__name__}")
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        now = require_aware(now, "now")
        with self.engine.begin() as conn:
            return conn.execute(
                insert(inbound).values(
                    sender=sender,
                    chat_id=chat_id,
                    text=text,
                    metadata=_jsonable(dict(metadata or {}), "metadata"),
                    created_at=now,
                    status=InboundStatus.PENDING.value,
                    attempts=0,
                )
            ).inserted_primary_key[0]

    def pending_inbound(self, limit: int = 100, sender: str | None = None) -> List[InboundRecord]:
        """Messages still to hand to Rasa (of one sender), oldest first: the order they were written."""
        query = (
            select(inbound)
            .where(inbound.c.status == InboundStatus.PENDING.value)
            .order_by(inbound.c.id)
            .limit(limit)
        )
        if sender is not None:
            query = query.where(inbound.c.sender == sender)
        with self._reader.connect() as conn:
            return [_inbound_record(row) for row in conn.execute(query)]

    def has_pending_inbound(self, sender: str) -> bool:
        """Whether this resident has messages waiting: a new one must queue behind them, not overtake."""
        query = select(inbound.c.id).where(
            inbound.c.sender == sender, inbound.c.status == InboundStatus.PENDING.value
        )
        with self._reader.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def inbound_messages(self, sender: str | None = None) -> List[InboundRecord]:
        """Every queued message (of one sender), oldest first, whatever its status: for admins and tests."""
        query = select(inbound).order_by(inbound.c.id)
        if sender is not None:
            query = query.where(inbound.c.sender == sender)
        with self._reader.connect() as conn:
            return [_inbound_record(row) for row in conn.execute(query)]

    def mark_inbound_delivered(self, inbound_id: int, now: datetime) -> bool:
        """Rasa took the message. False when it was not pending any more (delivered twice, or dropped
        because the resident asked to be forgotten meanwhile): nothing to do then."""
        now = require_aware(now, "now")
        return self._set_inbound(
            inbound_id,
            status=InboundStatus.DELIVERED.value,
            delivered_at=now,
            attempts=inbound.c.attempts + 1,
        )

    def mark_inbound_attempt(self, inbound_id: int, now: datetime, error: str) -> bool:
        """Count a failed delivery; the message stays pending. False when it is no longer pending."""
        require_aware(now, "now")
        return self._set_inbound(inbound_id, attempts=inbound.c.attempts + 1, last_error=str(error))

    def drop_inbound(self, inbound_id: int, now: datetime, reason: str) -> bool:
        """Give up on a message on purpose (too old, too many attempts); ``reason`` is kept."""
        require_aware(now, "now")
        return self._set_inbound(inbound_id, status=InboundStatus.DROPPED.value, last_error=str(reason))

    def _set_inbound(self, inbound_id: int, **values: Any) -> bool:
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(inbound)
                    .where(inbound.c.id == inbound_id, inbound.c.status == InboundStatus.PENDING.value)
                    .values(**values)
                ).rowcount
                == 1
            )

    # ---------------------------------------------------------------- privacy and statistics

    def forget_resident(self, resident_id: str, now: datetime) -> int:
        """Erase the resident's personal data; returns how many of their cases were anonymised.

        What they and officers wrote about them is replaced (summary, place, parties, duration, contact,
        added details, rating comment, resolution note; in the audit log and in notifications too), their
        id becomes ``erased:`` + 12 hex digits of a salted hash (the cases stay together, but nobody can
        recompute it from a Telegram id), their pending notifications and queued messages are dropped.
        Category, priority, area, times, states, rating and promise figures stay: the statistics are
        kept, anonymised (SPEC §4). Each case gets a ``forgotten`` event.
        """
        _text(resident_id, "resident_id")
        now = require_aware(now, "now")
        salt = secrets.token_hex(16)
        erased_id = ERASED_PREFIX + hashlib.sha256(f"{salt}:{resident_id}".encode()).hexdigest()[:12]
        recipient = parties.resident(resident_id)
        erased_recipient = parties.resident(erased_id)
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(cases).where(cases.c.resident_id == resident_id).with_for_update()
            ).all()
            case_ids = [row.id for row in rows]
            for row in rows:
                conn.execute(
                    update(cases)
                    .where(cases.c.id == row.id)
                    .values(
                        resident_id=erased_id,
                        summary=ERASED_TEXT,
                        area_text=None,
                        parties=None,
                        duration=None,
                        contact=None,
                        rating_comment=ERASED_TEXT if row.rating_comment is not None else None,
                        resolution_note=ERASED_TEXT if row.resolution_note is not None else None,
                        updated_at=now,
                        version=row.version + 1,
                    )
                )
            if case_ids:
                for event in conn.execute(
                    select(case_events).where(case_events.c.case_id.in_(case_ids))
                ).all():
                    conn.execute(
                        update(case_events)
                        .where(case_events.c.id == event.id)
                        .values(
                            actor=erased_recipient if event.actor == recipient else event.actor,
                            detail=_scrub(event.detail or {}),
                        )
                    )
                for row in rows:
                    self._add_event(conn, row.id, now, actor=erased_recipient, kind="forgotten")
            touches = outbox.c.recipient == recipient
            if case_ids:
                touches = touches | outbox.c.case_id.in_(case_ids)
            for message in conn.execute(select(outbox).where(touches)).all():
                values: Dict[str, Any] = {"payload": _scrub(message.payload or {})}
                if message.recipient == recipient:
                    values["recipient"] = erased_recipient
                    if message.status == OutboxStatus.PENDING.value:
                        values.update(
                            status=OutboxStatus.DROPPED.value,
                            last_error="the resident asked to be forgotten",
                            updated_at=now,
                            claimed_at=None,
                        )
                conn.execute(update(outbox).where(outbox.c.id == message.id).values(**values))
            conn.execute(
                update(inbound)
                .where(inbound.c.sender == resident_id, inbound.c.status == InboundStatus.PENDING.value)
                .values(status=InboundStatus.DROPPED.value, last_error="the resident asked to be forgotten")
            )
            conn.execute(
                update(inbound)
                .where(inbound.c.sender == resident_id)
                .values(sender=erased_id, chat_id=0, text=ERASED_TEXT, metadata={})
            )
        return len(case_ids)

    def statistics(self, now: datetime, satisfied_from: int = 4) -> CaseStatistics:
        """The figures behind the station statistics, in one read transaction.

        ``satisfied`` counts ratings of ``satisfied_from`` or more. A first promise counts as due once
        it was settled (first response or breach, see ``promise_kept``) or has passed while the case
        still waits; a case cancelled before anyone answered or the promise fell due never counts.
        """
        now = require_aware(now, "now")
        satisfied = func.sum(case((cases.c.rating >= satisfied_from, 1), else_=0))
        kept = func.sum(case((cases.c.promise_kept.is_(True), 1), else_=0))
        settled_or_late = (cases.c.promise_kept.is_not(None)) | (
            cases.c.state.in_(_AWAITING_VALUES) & (cases.c.promise_due_at <= now)
        )
        with self._reader.connect() as conn:
            rated, satisfied_count = conn.execute(
                select(func.count(cases.c.rating), satisfied).where(cases.c.rating.is_not(None))
            ).one()
            due, kept_count = conn.execute(select(func.count(), kept).where(settled_or_late)).one()
            responses = conn.execute(
                select(cases.c.opened_at, cases.c.first_response_at).where(
                    cases.c.first_response_at.is_not(None)
                )
            ).all()
            groups = conn.execute(
                select(cases.c.category, cases.c.area_id, func.count())
                .where(cases.c.state.in_(_ACTIVE_VALUES))
                .group_by(cases.c.category, cases.c.area_id)
                .order_by(cases.c.category, cases.c.area_id)
            ).all()
        return CaseStatistics(
            rated=int(rated or 0),
            satisfied=int(satisfied_count or 0),
            promises_due=int(due or 0),
            promises_kept=int(kept_count or 0),
            responses=tuple((opened, first) for opened, first in responses),
            open_groups=tuple((category, area, int(count)) for category, area, count in groups),
        )

    # ---------------------------------------------------------------- officers

    def create_invite(self, officer_id: str, now: datetime, ttl: timedelta) -> str:
        """A one-time code that links the officer's Telegram chat; only its hash is stored."""
        _text(officer_id, "officer_id")
        now = require_aware(now, "now")
        if ttl <= timedelta(0):
            raise ValueError(f"an invite must live for some time, got {ttl}")
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        with self.engine.begin() as conn:
            account = self._account_row(conn, officer_id)
            if account is not None and not account.active:
                raise InviteError(
                    f"officer {officer_id} is deactivated; reactivate them before inviting", "deactivated"
                )
            conn.execute(
                insert(invites).values(
                    code_hash=_hash_code(code), officer_id=officer_id, created_at=now, expires_at=now + ttl
                )
            )
        return code

    def redeem_invite(self, code: str, chat_id: int, now: datetime) -> str:
        """Link ``chat_id`` to the invited officer and return their id; InviteError says why not.

        One chat per officer: a new chat replaces the officer's old one. A chat already linked to another
        active officer is refused; one left behind by a deactivated officer is taken over.
        """
        now = require_aware(now, "now")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise TypeError(f"chat_id must be an int, got {type(chat_id).__name__}")
        ask = "ask the station admin for a new code"
        with self.engine.begin() as conn:
            invite = conn.execute(
                select(invites).where(invites.c.code_hash == _hash_code(code)).with_for_update()
            ).first()
            if invite is None:
                raise InviteError(f"this invite code is not known; check it for typos or {ask}", "unknown")
            if invite.used_at is not None:
                raise InviteError(f"this invite code has already been used; {ask}", "used")
            if now >= invite.expires_at:
                raise InviteError(
                    f"this invite code expired at {invite.expires_at:%Y-%m-%d %H:%M} UTC; {ask}", "expired"
                )
            officer_id = invite.officer_id
            account = self._account_row(conn, officer_id, lock=True)
            if account is not None and not account.active:
                raise InviteError(
                    f"officer {officer_id}'s account is deactivated; ask the station admin", "deactivated"
                )
            holder = conn.execute(
                select(officer_accounts).where(
                    officer_accounts.c.telegram_chat_id == chat_id,
                    officer_accounts.c.officer_id != officer_id,
                )
            ).first()
            if holder is not None:
                if holder.active:
                    raise InviteError(
                        f"this Telegram chat is already linked to officer {holder.officer_id}; "
                        "each officer needs their own chat",
                        "chat_taken",
                    )
                conn.execute(
                    update(officer_accounts)
                    .where(officer_accounts.c.officer_id == holder.officer_id)
                    .values(telegram_chat_id=None, linked_at=None)
                )
            try:
                self._upsert_account(conn, officer_id, telegram_chat_id=chat_id, linked_at=now)
            except IntegrityError as error:
                raise InviteError(
                    "this Telegram chat was just linked to another officer", "chat_taken"
                ) from error
            claimed = conn.execute(
                update(invites)
                .where(invites.c.id == invite.id, invites.c.used_at.is_(None))
                .values(used_at=now, used_by_chat_id=chat_id)
            ).rowcount
            if claimed != 1:
                raise InviteError(f"this invite code has already been used; {ask}", "used")
        return officer_id

    def officer_accounts(self) -> List[OfficerAccount]:
        with self._reader.connect() as conn:
            rows = conn.execute(select(officer_accounts).order_by(officer_accounts.c.officer_id)).all()
        return [_account_record(row) for row in rows]

    def officer_for_chat(self, chat_id: int) -> str | None:
        """The active officer linked to this chat; None for residents and for deactivated officers."""
        with self._reader.connect() as conn:
            return conn.execute(
                select(officer_accounts.c.officer_id).where(
                    officer_accounts.c.telegram_chat_id == chat_id, officer_accounts.c.active.is_(True)
                )
            ).scalar()

    def chat_for_officer(self, officer_id: str) -> int | None:
        """Where to reach the officer; None when unlinked or deactivated (they must not get case details)."""
        with self._reader.connect() as conn:
            return conn.execute(
                select(officer_accounts.c.telegram_chat_id).where(
                    officer_accounts.c.officer_id == officer_id, officer_accounts.c.active.is_(True)
                )
            ).scalar()

    def deactivate_officer(self, officer_id: str, now: datetime) -> None:
        """Lock the officer out; their chat link is kept so reactivating needs no new invite."""
        _text(officer_id, "officer_id")
        now = require_aware(now, "now")
        with self.engine.begin() as conn:
            account = self._account_row(conn, officer_id, lock=True)
            if account is not None and not account.active:
                return
            self._upsert_account(conn, officer_id, active=False, deactivated_at=now)

    def reactivate_officer(self, officer_id: str, now: datetime | None = None) -> None:
        """Let the officer back in; ``now`` is only checked (for symmetry with deactivate), not stored."""
        if now is not None:
            require_aware(now, "now")
        with self.engine.begin() as conn:
            conn.execute(
                update(officer_accounts)
                .where(officer_accounts.c.officer_id == officer_id)
                .values(active=True, deactivated_at=None)
            )

    def is_officer_active(self, officer_id: str) -> bool:
        """Officers are active unless deactivated: the roster, not this table, says who exists."""
        with self._reader.connect() as conn:
            active = conn.execute(
                select(officer_accounts.c.active).where(officer_accounts.c.officer_id == officer_id)
            ).scalar()
        return active is None or bool(active)

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _next_seq(conn: Connection, year: int) -> int:
        for _ in range(MAX_ATTEMPTS):
            bumped = conn.execute(
                update(case_counters)
                .where(case_counters.c.year == year)
                .values(last_seq=case_counters.c.last_seq + 1)
            ).rowcount
            if bumped == 1:
                query = select(case_counters.c.last_seq).where(case_counters.c.year == year)
                return conn.execute(query).scalar_one()
            try:
                # First case of the year. Another process may insert the row at the same moment: the
                # savepoint keeps our transaction usable (PostgreSQL aborts it otherwise) and we bump theirs.
                with conn.begin_nested():
                    conn.execute(insert(case_counters).values(year=year, last_seq=1))
                return 1
            except IntegrityError:
                continue
        raise RuntimeError(f"could not allocate a case number for {year}")

    @staticmethod
    def _loads(conn: Connection) -> Dict[str, int]:
        rows = conn.execute(
            select(cases.c.officer_id, func.count())
            .where(cases.c.state.in_(_ACTIVE_VALUES))
            .group_by(cases.c.officer_id)
        ).all()
        return {officer_id: count for officer_id, count in rows}

    @staticmethod
    def _case_row(conn: Connection, number: str, lock: bool = False) -> Row:
        query = select(cases).where(cases.c.number == number)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise CaseNotFound(number)
        return row

    def _case_list(self, query: Any, limit: int | None = None) -> List[CaseRecord]:
        query = query.order_by(cases.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reader.connect() as conn:
            return [_case_record(row) for row in conn.execute(query)]

    def _change_case(
        self,
        number: str,
        now: datetime,
        expected_version: int | None,
        plan: Callable[[Row], _Change],
        notify: Notify,
    ) -> CaseRecord:
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            for attempt in range(MAX_ATTEMPTS):
                row = self._case_row(conn, canonical, lock=attempt > 0)
                if expected_version is not None and row.version != expected_version:
                    raise ConcurrentUpdate(canonical, expected_version, row.version)
                change = plan(row)
                updated = conn.execute(
                    update(cases)
                    .where(cases.c.id == row.id, cases.c.version == row.version)
                    .values(**change.values, updated_at=now, version=row.version + 1)
                ).rowcount
                if updated == 1:
                    break
                if expected_version is not None:
                    raise ConcurrentUpdate(canonical, expected_version, None)
            else:
                raise ConcurrentUpdate(canonical, None, None)
            return self._record_change(conn, row, canonical, now, change, notify)

    def _guarded_change(
        self,
        number: str,
        now: datetime,
        plan: Callable[[Row], _Change | None],
        notify: Notify,
    ) -> CaseRecord | None:
        """A bookkeeping change decided on the locked, current row; ``plan`` returns None to do nothing.

        Unlike :meth:`_change_case` it keeps the version: nothing an officer decides on has changed.
        """
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            row = self._case_row(conn, canonical, lock=True)
            change = plan(row)
            if change is None:
                return None
            conn.execute(update(cases).where(cases.c.id == row.id).values(**change.values))
            return self._record_change(conn, row, canonical, now, change, notify)

    def _record_change(
        self, conn: Connection, row: Row, canonical: str, now: datetime, change: _Change, notify: Notify
    ) -> CaseRecord:
        """The rest of a case change, in its transaction: its events, then its notifications, which may
        be built from the changed case (``notify`` as a callable)."""
        for event in change.events:
            self._add_event(conn, row.id, now, **event)
        record = _case_record(self._case_row(conn, canonical))
        self._add_notifications(conn, row.id, now, [*change.notifications, *self._extra(notify, record)])
        return record

    @staticmethod
    def _add_event(
        conn: Connection,
        case_id: int,
        at: datetime,
        *,
        actor: str,
        kind: str,
        from_state: CaseState | None = None,
        to_state: CaseState | None = None,
        reason: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        conn.execute(
            insert(case_events).values(
                case_id=case_id,
                at=at,
                actor=actor,
                kind=kind,
                from_state=from_state.value if from_state else None,
                to_state=to_state.value if to_state else None,
                reason=reason or "",
                detail=_jsonable(dict(detail or {}), "event detail"),
            )
        )

    @staticmethod
    def _extra(notify: Notify, record: CaseRecord) -> List[Notification]:
        return list(notify(record) if callable(notify) else notify)

    @staticmethod
    def _add_notifications(
        conn: Connection, case_id: int | None, now: datetime, notifications: Iterable[Notification]
    ) -> None:
        rows = []
        for notification in notifications:
            if not isinstance(notification, Notification):
                raise TypeError(f"expected a Notification, got {type(notification).__name__}")
            rows.append(
                {
                    "case_id": case_id,
                    "created_at": now,
                    "updated_at": now,
                    "recipient": _text(notification.recipient, "notification recipient"),
                    "kind": _text(notification.kind, "notification kind"),
                    "payload": _jsonable(dict(notification.payload), "notification payload"),
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
        if rows:
            conn.execute(insert(outbox), rows)

    def _set_outbox(
        self, notification_id: int, verb: str, allowed: Sequence[OutboxStatus], **values: Any
    ) -> NotificationRecord:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(outbox)
                .where(outbox.c.id == notification_id, outbox.c.status.in_([s.value for s in allowed]))
                .values(**values)
            ).rowcount
            row = conn.execute(select(outbox).where(outbox.c.id == notification_id)).first()
            if row is None:
                raise NotificationNotFound(notification_id)
            if changed != 1:
                raise OutboxError(f"notification {notification_id} is {row.status}; it cannot be {verb}")
        return _notification_record(row)

    @staticmethod
    def _account_row(conn: Connection, officer_id: str, lock: bool = False) -> Row | None:
        query = select(officer_accounts).where(officer_accounts.c.officer_id == officer_id)
        return conn.execute(query.with_for_update() if lock else query).first()

    @staticmethod
    def _upsert_account(conn: Connection, officer_id: str, **values: Any) -> None:
        error: IntegrityError | None = None
        for _ in range(MAX_ATTEMPTS):
            where = officer_accounts.c.officer_id == officer_id
            if conn.execute(update(officer_accounts).where(where).values(**values)).rowcount == 1:
                return
            try:
                with conn.begin_nested():
                    row = {"active": True, **values, "officer_id": officer_id}
                    conn.execute(insert(officer_accounts).values(row))
                return
            except IntegrityError as caught:
                error = caught
        assert error is not None
        raise error
