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

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, OperationalError

from hemu import parties
from hemu.case import Case, Change
from hemu.cases import (
    CaseState,
    format_case_number,
    normalise_case_number,
)
from hemu.store import db
from hemu.store.audit import add_event
from hemu.store.checks import check_rating, jsonable, nonempty
from hemu.store.errors import (
    CaseNotFound,
    ConcurrentUpdate,
)
from hemu.store.inbound import InboundQueue
from hemu.store.mappers import case_record, event_record
from hemu.store.officers import OfficerAccounts
from hemu.store.outbox import Outbox, add_notifications
from hemu.store.privacy import Privacy
from hemu.store.records import (
    ACTIVE_VALUES,
    AWAITING_VALUES,
    CASE_ASSIGNED,
    Assignment,
    CaseRecord,
    EventRecord,
    NewCase,
    Notification,
)
from hemu.store.statistics import Statistics
from hemu.store.tables import (
    case_counters,
    case_events,
    cases,
)
from hemu.times import require_aware

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Notify = Sequence[Notification] | Callable[[CaseRecord], Sequence[Notification]]

# Fields a state change may set besides the state itself.
TRANSITION_CHANGES = frozenset({"resolution_note", "rating", "rating_comment"})
# A re-read after a lost optimistic race locks the row, so one retry normally settles it.
MAX_ATTEMPTS = 4
MIGRATE_ATTEMPTS = 5


def _check_changes(changes: Mapping[str, Any]) -> None:
    """A rating among a case change's ``changes``; None is allowed there (it sets no rating)."""
    if changes.get("rating") is not None:
        check_rating(changes["rating"])


def _checked_assignment(assignment: Any, verb: str) -> tuple[str, datetime]:
    """The officer and due time of ``assignment``, checked before anything is read or written."""
    if not isinstance(assignment, Assignment):
        raise TypeError(f"{verb} needs an Assignment, got {type(assignment).__name__}")
    return (
        nonempty(assignment.officer_id, "assignment.officer_id"),
        require_aware(assignment.due_at, "assignment.due_at"),
    )


@dataclass
class CaseOpening:
    """One case being opened inside :meth:`Store.opening`'s transaction."""

    store: Store
    conn: Connection
    now: datetime
    year: int
    seq: int
    loads: Mapping[str, int]
    added: CaseRecord | None = None

    @property
    def number(self) -> str:
        return format_case_number(self.year, self.seq)

    def add(self, new: NewCase, assignment: Assignment, actor: str, notify: Notify = ()) -> CaseRecord:
        """Records the case with its officer and promise, its two events and the officer's case card."""
        if not isinstance(new, NewCase):
            raise TypeError(f"open_case needs a NewCase, got {type(new).__name__}")
        if not isinstance(assignment, Assignment):
            raise TypeError(f"assign must return an Assignment, got {type(assignment).__name__}")
        if self.added is not None:
            raise RuntimeError(f"case {self.added.number} was already added in this opening")
        nonempty(actor, "actor")
        officer_id = nonempty(assignment.officer_id, "assignment.officer_id")
        due_at = require_aware(assignment.due_at, "assignment.due_at")
        conn, now, year, seq, number = self.conn, self.now, self.year, self.seq, self.number
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
        add_event(
            conn,
            case_id,
            now,
            actor=actor,
            kind="opened",
            to_state=CaseState.OPEN,
            detail={"number": number, "category": new.category, "priority": new.priority.value},
        )
        # The roster chose the officer, not the person who opened the case.
        add_event(
            conn,
            case_id,
            now,
            actor="system",
            kind="assigned",
            reason=assignment.reason,
            detail={"officer_id": officer_id, "due_at": due_at.isoformat()},
        )
        record = case_record(self.store._case_row(conn, number))
        assigned = Notification(parties.officer(officer_id), CASE_ASSIGNED, {"number": number})
        add_notifications(conn, case_id, now, [assigned, *Store._extra(notify, record)])
        self.added = record
        return record


class Store:
    """The case store on one engine; cheap to share between threads (the engine pools connections).

    Cases are this class's own aggregate; the outbox, the inbound queue, officer accounts, privacy and
    statistics are attributes (``store.outbox.claim(...)``), each its own small module.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)
        # The other aggregates on the same engine, each in its own module.
        self.outbox = Outbox(engine)
        self.inbound = InboundQueue(engine)
        self.officers = OfficerAccounts(engine)
        self.privacy = Privacy(engine)
        self.statistics = Statistics(engine)

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
        """Number, assign and record a new case in one step (:meth:`opening` for callers that decide the
        assignment themselves); ``assign`` gets the officers' loads read inside the transaction."""
        if not isinstance(new, NewCase):
            raise TypeError(f"open_case needs a NewCase, got {type(new).__name__}")
        nonempty(actor, "actor")
        with self.opening(now, year_tz=year_tz) as opening:
            return opening.add(new, assign(opening.loads), actor, notify)

    @contextmanager
    def opening(self, now: datetime, *, year_tz: tzinfo = timezone.utc) -> Iterator[CaseOpening]:
        """A unit of work for one new case: the number is allocated first, then the officers' current
        loads (active cases per officer; officers without any are absent) are read, for the caller to
        choose an officer from, and :meth:`CaseOpening.add` records the case. Everything commits when
        the block ends, or nothing does (the number included).

        Allocating the number takes the counter row's lock (SQLite: the database's), which serialises
        concurrent openings: two cases opened at once never both see the same officer as idle.
        """
        now = require_aware(now, "now")
        year = now.astimezone(year_tz).year
        with self.engine.begin() as conn:
            seq = self._next_seq(conn, year)
            opening = CaseOpening(self, conn, now, year, seq, self._loads(conn))
            yield opening
            if opening.added is None:  # rolls the number back: numbers never skip
                raise RuntimeError(f"case number {opening.number} was allocated but no case was added")

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
        nonempty(actor, "actor")
        extra = jsonable(dict(detail or {}), "detail")

        checked = jsonable(dict(changes), "changes")

        def plan(case: Case) -> Change:
            return case.move_to(target, now, actor, reason, checked, extra)

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
        nonempty(actor, "actor")

        def plan(case: Case) -> Change:
            return case.hand_to(officer_id, due_at, now, actor, reason, assignment.reason)

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
        text = nonempty(text, "text")
        now = require_aware(now, "now")
        nonempty(actor, "actor")

        def plan(case: Case) -> Change:
            return case.add_details(text, actor)

        return self._change_case(number, now, expected_version, plan, notify)

    def resident_says_safe(self, number: str, now: datetime, actor: str) -> CaseRecord:
        """The resident of a danger case says they are safe now: an event, and the officer is told.

        The case stays as it is: a tap on a phone (perhaps not the resident's own hand) must not withdraw
        an urgent case; the officer checks and decides."""
        now = require_aware(now, "now")
        nonempty(actor, "actor")

        def plan(case: Case) -> Change:
            return case.resident_says_safe(actor)

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
        nonempty(actor, "actor")
        extra = jsonable(dict(detail or {}), "detail")

        checked = jsonable(dict(changes), "changes")

        def plan(case: Case) -> Change:
            return case.reopen_to(officer_id, due_at, now, actor, reason, assignment.reason, checked, extra)

        return self._change_case(number, now, expected_version, plan, notify)

    def set_rating_comment(
        self, number: str, comment: str, now: datetime, actor: str, notify: Notify = ()
    ) -> CaseRecord:
        """Add the comment the resident wrote after rating; only a rated case takes one."""
        comment = nonempty(comment, "comment")
        now = require_aware(now, "now")
        nonempty(actor, "actor")

        def plan(case: Case) -> Change:
            return case.comment_rating(comment, actor)

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
            .where(cases.c.state.in_(AWAITING_VALUES))
            .order_by(cases.c.promise_due_at, cases.c.id)
        )
        with self._reader.connect() as conn:
            return [case_record(row) for row in conn.execute(query)]

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
            return [case_record(row) for row in conn.execute(query)]

    def record_reminder(
        self, number: str, due_at: datetime, now: datetime, notify: Notify = ()
    ) -> CaseRecord | None:
        """Note that the officer was reminded of the promise due at ``due_at``; None (and nothing
        written) when that promise is no longer the case's, or its officer was already reminded."""
        due_at = require_aware(due_at, "due_at")
        now = require_aware(now, "now")

        def plan(case: Case) -> Change | None:
            return case.remind(due_at, now)

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

        def plan(case: Case) -> Change | None:
            return case.break_promise(old_due, new_due, now, officer_id)

        return self._guarded_change(number, now, plan, notify)

    def record_follow_up(self, number: str, now: datetime, notify: Notify = ()) -> CaseRecord | None:
        """Note that the resident was asked how things are now; None when the case is no longer closed
        or was already followed up (each closed case is asked once)."""
        now = require_aware(now, "now")

        def plan(case: Case) -> Change | None:
            return case.follow_up(now)

        return self._guarded_change(number, now, plan, notify)

    def record_follow_up_answer(
        self, number: str, came_back: bool, now: datetime, actor: str
    ) -> CaseRecord | None:
        """Log the resident's answer to the follow-up question once; None when it was already logged."""
        now = require_aware(now, "now")
        nonempty(actor, "actor")
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
            add_event(
                conn, row.id, now, actor=actor, kind="follow_up_answered", detail={"came_back": came_back}
            )
            return case_record(row)

    # ---------------------------------------------------------------- cases: queries

    def get(self, number: str) -> CaseRecord | None:
        """The case, or None when there is none; ValueError when ``number`` is not a case number at all."""
        canonical = normalise_case_number(number)
        with self._reader.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.number == canonical)).first()
        return case_record(row) if row else None

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
        return [event_record(row) for row in rows]

    def cases_for_resident(self, resident_id: str, active_only: bool = False) -> List[CaseRecord]:
        """The resident's cases, newest first."""
        query = select(cases).where(cases.c.resident_id == resident_id)
        if active_only:
            query = query.where(cases.c.state.in_(ACTIVE_VALUES))
        return self._case_list(query)

    def active_case_in_category(self, resident_id: str, category: str) -> CaseRecord | None:
        """The resident's newest active case of this kind, so a repeated report can join it."""
        query = select(cases).where(
            cases.c.resident_id == resident_id,
            cases.c.category == category,
            cases.c.state.in_(ACTIVE_VALUES),
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
            query = query.where(cases.c.state.in_(ACTIVE_VALUES))
        return self._case_list(query, limit=limit)

    def loads(self) -> Dict[str, int]:
        """Active cases per officer; officers with none are absent."""
        with self._reader.connect() as conn:
            return self._loads(conn)

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
            .where(cases.c.state.in_(ACTIVE_VALUES))
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
            return [case_record(row) for row in conn.execute(query)]

    def _change_case(
        self,
        number: str,
        now: datetime,
        expected_version: int | None,
        plan: Callable[[Case], Change],
        notify: Notify,
    ) -> CaseRecord:
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            for attempt in range(MAX_ATTEMPTS):
                row = self._case_row(conn, canonical, lock=attempt > 0)
                if expected_version is not None and row.version != expected_version:
                    raise ConcurrentUpdate(canonical, expected_version, row.version)
                change = plan(Case(case_record(row)))
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
        plan: Callable[[Case], Change | None],
        notify: Notify,
    ) -> CaseRecord | None:
        """A bookkeeping change decided on the locked, current row; ``plan`` returns None to do nothing.

        Unlike :meth:`_change_case` it keeps the version: nothing an officer decides on has changed.
        """
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            row = self._case_row(conn, canonical, lock=True)
            change = plan(Case(case_record(row)))
            if change is None:
                return None
            conn.execute(update(cases).where(cases.c.id == row.id).values(**change.values))
            return self._record_change(conn, row, canonical, now, change, notify)

    def _record_change(
        self, conn: Connection, row: Row, canonical: str, now: datetime, change: Change, notify: Notify
    ) -> CaseRecord:
        """The rest of a case change, in its transaction: its events, then its notifications, which may
        be built from the changed case (``notify`` as a callable)."""
        for event in change.events:
            add_event(conn, row.id, now, **event)
        record = case_record(self._case_row(conn, canonical))
        add_notifications(conn, row.id, now, [*change.notifications, *self._extra(notify, record)])
        return record

    @staticmethod
    def _extra(notify: Notify, record: CaseRecord) -> List[Notification]:
        return list(notify(record) if callable(notify) else notify)
