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
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Mapping

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import OperationalError

from hemu.case import Case, Change
from hemu.cases import CaseState, normalise_case_number
from hemu.kinds import EventKind
from hemu.store import db
from hemu.store.audit import add_event
from hemu.store.case_queries import CaseQueries, case_row, officer_loads
from hemu.store.checks import check_rating, jsonable, nonempty
from hemu.store.errors import ConcurrentUpdate
from hemu.store.handled import HandledMessages, record_handled
from hemu.store.inbound import InboundQueue
from hemu.store.mappers import case_record
from hemu.store.officer_messages import OfficerMessages
from hemu.store.officers import OfficerAccounts
from hemu.store.opening import CaseOpening, Notify, next_case_seq
from hemu.store.outbox import Outbox, add_notifications
from hemu.store.pending_notes import PendingNotes
from hemu.store.privacy import Privacy
from hemu.store.received import ReceivedUpdates
from hemu.store.records import Assignment, CaseRecord, NewCase
from hemu.store.report_facts import ReportFacts
from hemu.store.tables import case_events, cases
from hemu.times import require_aware

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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


class Store(CaseQueries):
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
        self.received = ReceivedUpdates(engine)
        self.handled = HandledMessages(engine)
        self.officers = OfficerAccounts(engine)
        self.pending_notes = PendingNotes(engine)
        self.officer_messages = OfficerMessages(engine)
        self.privacy = Privacy(engine)
        self.report_facts = ReportFacts(engine)

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
            seq = next_case_seq(conn, year)
            opening = CaseOpening(conn, now, year, seq, officer_loads(conn))
            yield opening
            if opening.added is None:  # rolls the number back: numbers never skip
                raise RuntimeError(f"case number {opening.number} was allocated but no case was added")

    def change(
        self,
        number: str,
        now: datetime,
        plan: Callable[[Case], Change],
        expected_version: int | None = None,
    ) -> CaseRecord:
        """One change to a case, decided by ``plan`` (a :class:`~hemu.case.Case` method) on the case as it
        is, and written with its events and notices in one transaction. A caller that passes
        ``expected_version`` (an officer pressing a button on an old card) gets ConcurrentUpdate when
        someone else got there first; otherwise a lost race re-reads the case, locked, and plans again."""
        return self._change_case(number, require_aware(now, "now"), expected_version, plan, ())

    def record(self, number: str, now: datetime, plan: Callable[[Case], Change | None]) -> CaseRecord | None:
        """Bookkeeping decided on the locked, current row (the promise watcher's reminders, breaches and
        follow-ups): ``plan`` returns None to do nothing, so a second watcher, or a second run, does
        nothing. The version stays: nothing an officer decides on has changed, their card stays valid."""
        canonical = normalise_case_number(number)
        now = require_aware(now, "now")
        with self.engine.begin() as conn:
            row = case_row(conn, canonical, lock=True)
            change = plan(Case(case_record(row)))
            if change is None:
                return None
            conn.execute(update(cases).where(cases.c.id == row.id).values(**change.values))
            return self._record_change(conn, row, canonical, now, change, ())

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
        source: tuple[str, str] | None = None,
    ) -> CaseRecord:
        """Record what the resident adds later; the assigned officer gets a ``case_update``.
        ``source``: (resident id, message) that said it, recorded with the change (:mod:`.handled`).

        The summary stays as first written (it is what the officer's card showed); the additions are
        ``details_added`` events, read with :meth:`events`. Allowed while the case is active or resolved
        (the resident may still answer before rating); a closed or cancelled case takes no more details.
        """
        text = nonempty(text, "text")
        now = require_aware(now, "now")
        nonempty(actor, "actor")

        def plan(case: Case) -> Change:
            return case.add_details(text, actor)

        def handled(conn: Connection, case: CaseRecord) -> None:
            if source is not None:
                record_handled(conn, source[0], source[1], case.number, False, now)

        return self._change_case(number, now, expected_version, plan, notify, handled)

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

    def record_follow_up_answer(
        self, number: str, came_back: bool, now: datetime, actor: str
    ) -> CaseRecord | None:
        """Log the resident's answer to the follow-up question once; None when it was already logged."""
        now = require_aware(now, "now")
        nonempty(actor, "actor")
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            row = case_row(conn, canonical, lock=True)
            answered = conn.execute(
                select(func.count())
                .select_from(case_events)
                .where(
                    case_events.c.case_id == row.id, case_events.c.kind == EventKind.FOLLOW_UP_ANSWERED.value
                )
            ).scalar_one()
            if answered:
                return None
            add_event(
                conn,
                row.id,
                now,
                actor=actor,
                kind=EventKind.FOLLOW_UP_ANSWERED,
                detail={"came_back": came_back},
            )
            return case_record(row)

    # ---------------------------------------------------------------- internals

    def _change_case(
        self,
        number: str,
        now: datetime,
        expected_version: int | None,
        plan: Callable[[Case], Change],
        notify: Notify,
        also: Callable[[Connection, CaseRecord], None] | None = None,
    ) -> CaseRecord:
        canonical = normalise_case_number(number)
        with self.engine.begin() as conn:
            for attempt in range(MAX_ATTEMPTS):
                row = case_row(conn, canonical, lock=attempt > 0)
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
            record = self._record_change(conn, row, canonical, now, change, notify)
            if also is not None:
                also(conn, record)
            return record

    def _record_change(
        self, conn: Connection, row: Row, canonical: str, now: datetime, change: Change, notify: Notify
    ) -> CaseRecord:
        """The rest of a case change, in its transaction: its events, then its notices."""
        for event in change.events:
            add_event(conn, row.id, now, **event)
        add_notifications(conn, row.id, now, [*change.notifications, *notify])
        return case_record(case_row(conn, canonical))
