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
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

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
    Assignment,
    CaseRecord,
    EventRecord,
    NewCase,
    Notification,
    NotificationRecord,
    OfficerAccount,
    OutboxStatus,
)
from hemu.store.tables import case_counters, case_events, cases, invites, officer_accounts, outbox
from hemu.times import require_aware

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Notify = Sequence[Notification] | Callable[[CaseRecord], Sequence[Notification]]

# Fields a state change may set besides the state itself.
TRANSITION_CHANGES = frozenset({"resolution_note", "rating", "rating_comment"})
# A re-read after a lost optimistic race locks the row, so one retry normally settles it.
MAX_ATTEMPTS = 4
_ACTIVE_VALUES = tuple(sorted(state.value for state in ACTIVE_STATES))
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
        with self.engine.begin() as connection:
            db.take_migration_lock(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

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
            assigned = Notification(f"officer:{officer_id}", "case_assigned", {"number": number})
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
        **changes: Any,
    ) -> CaseRecord:
        """Move a case to ``target`` (see hemu.cases for what is allowed), recording who and why.

        ``changes`` may set ``resolution_note``, ``rating`` (1–5) and ``rating_comment``. Reopening clears
        ``resolved_at``/``closed_at`` (the events keep the history); a rating stays until it is replaced.
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
        rating = changes.get("rating")
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise ValueError(f"a rating must be a whole number from 1 to 5, got {rating!r}")
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            check_transition(row.number, row.state, target)
            values: Dict[str, Any] = {"state": target.value, **changes}
            # Resolving without a word first still answered the resident: it counts as the first response.
            responded = (CaseState.ACKNOWLEDGED, CaseState.CONTACTED, CaseState.RESOLVED)
            if target in responded and row.first_response_at is None:
                values["first_response_at"] = now
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
                "detail": _jsonable(dict(changes), "changes"),
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
        if not isinstance(assignment, Assignment):
            raise TypeError(f"hand_over needs an Assignment, got {type(assignment).__name__}")
        officer_id = _text(assignment.officer_id, "assignment.officer_id")
        due_at = require_aware(assignment.due_at, "assignment.due_at")
        now = require_aware(now, "now")
        _text(actor, "actor")

        def plan(row: Row) -> _Change:
            check_transition(row.number, row.state, CaseState.HANDED_OVER)
            values = {
                "state": CaseState.HANDED_OVER.value,
                "officer_id": officer_id,
                "promise_due_at": due_at,
            }
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
            payload = {"number": row.number, "from_officer": row.officer_id}
            assigned = Notification(f"officer:{officer_id}", "case_assigned", payload)
            return _Change(values, [event], [assigned])

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
                f"officer:{row.officer_id}",
                "case_update",
                {"number": row.number, "event": "details_added", "text": text},
            )
            return _Change({}, [event], [update_])

        return self._change_case(number, now, expected_version, plan, notify)

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

    def mark_sent(self, notification_id: int, now: datetime) -> NotificationRecord:
        now = require_aware(now, "now")
        return self._set_outbox(
            notification_id,
            "marked sent",
            (OutboxStatus.PENDING, OutboxStatus.FAILED),
            status=OutboxStatus.SENT.value,
            sent_at=now,
            updated_at=now,
            attempts=outbox.c.attempts + 1,
        )

    def mark_failed(
        self, notification_id: int, now: datetime, error: str, retry_at: datetime | None
    ) -> NotificationRecord:
        """Count a failed attempt; try again at ``retry_at``, or never when it is None."""
        now = require_aware(now, "now")
        values: Dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error, "updated_at": now}
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
                raise InviteError(f"officer {officer_id} is deactivated; reactivate them before inviting")
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
                raise InviteError(f"this invite code is not known; check it for typos or {ask}")
            if invite.used_at is not None:
                raise InviteError(f"this invite code has already been used; {ask}")
            if now >= invite.expires_at:
                raise InviteError(
                    f"this invite code expired at {invite.expires_at:%Y-%m-%d %H:%M} UTC; {ask}"
                )
            officer_id = invite.officer_id
            account = self._account_row(conn, officer_id, lock=True)
            if account is not None and not account.active:
                raise InviteError(f"officer {officer_id}'s account is deactivated; ask the station admin")
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
                        "each officer needs their own chat"
                    )
                conn.execute(
                    update(officer_accounts)
                    .where(officer_accounts.c.officer_id == holder.officer_id)
                    .values(telegram_chat_id=None, linked_at=None)
                )
            try:
                self._upsert_account(conn, officer_id, telegram_chat_id=chat_id, linked_at=now)
            except IntegrityError as error:
                raise InviteError("this Telegram chat was just linked to another officer") from error
            claimed = conn.execute(
                update(invites)
                .where(invites.c.id == invite.id, invites.c.used_at.is_(None))
                .values(used_at=now, used_by_chat_id=chat_id)
            ).rowcount
            if claimed != 1:
                raise InviteError(f"this invite code has already been used; {ask}")
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
