"""Reading cases: one case, its audit log, a resident's or an officer's cases, the officers' loads, and
what the promise watcher looks at. Reads go through the store's reader engine (on SQLite a pool that
never waits for a writer's lock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine, Row

from hemu.cases import CaseState, normalise_case_number
from hemu.store.errors import CaseNotFound
from hemu.store.mappers import case_record, event_record
from hemu.store.records import ACTIVE_VALUES, AWAITING_VALUES, CaseRecord, EventRecord
from hemu.store.tables import case_events, cases
from hemu.times import require_aware


def case_row(conn: Connection, number: str, lock: bool = False) -> Row:
    query = select(cases).where(cases.c.number == number)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise CaseNotFound(number)
    return row


def officer_loads(conn: Connection) -> Dict[str, int]:
    rows = conn.execute(
        select(cases.c.officer_id, func.count())
        .where(cases.c.state.in_(ACTIVE_VALUES))
        .group_by(cases.c.officer_id)
    ).all()
    return {officer_id: count for officer_id, count in rows}


class CaseQueries:
    """The read side of :class:`~hemu.store.Store` (a base class of it)."""

    _reader: Engine

    # ---------------------------------------------------------------- promise watcher
    #
    # What the watcher reads; what it writes goes through :meth:`record`.

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
            return officer_loads(conn)

    def _case_list(self, query: Any, limit: int | None = None) -> List[CaseRecord]:
        query = query.order_by(cases.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reader.connect() as conn:
            return [case_record(row) for row in conn.execute(query)]
