"""Opening a case: the number from the year's counter, then the officers' loads, then the case with its
events and card, in one transaction (:meth:`hemu.store.Store.opening`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hemu.case import Case
from hemu.cases import CaseState, format_case_number
from hemu.store.audit import add_event
from hemu.store.case_queries import case_row
from hemu.store.checks import nonempty
from hemu.store.handled import record_handled
from hemu.store.mappers import case_record
from hemu.store.outbox import add_notifications
from hemu.store.records import ACTIVE_VALUES, Assignment, CaseRecord, NewCase, Notification
from hemu.store.tables import case_counters, cases
from hemu.times import require_aware

# Notices to write with a change besides those the case's own rules produce (hemu.case).
Notify = Sequence[Notification]
# A first case of the year races another process inserting the counter row: bump theirs.
SEQ_ATTEMPTS = 4


def next_case_seq(conn: Connection, year: int) -> int:
    """The next number of ``year``, taking the counter row's lock until the transaction ends."""
    for _ in range(SEQ_ATTEMPTS):
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


@dataclass
class CaseOpening:
    """One case being opened inside :meth:`Store.opening`'s transaction."""

    conn: Connection
    now: datetime
    year: int
    seq: int
    loads: Mapping[str, int]
    added: CaseRecord | None = None

    @property
    def number(self) -> str:
        return format_case_number(self.year, self.seq)

    def active_cases_of(self, resident_id: str) -> list[CaseRecord]:
        """The resident's active cases, newest first, as this transaction sees them: read after the
        counter's lock, they include a case another opening committed while this one waited for it."""
        query = (
            select(cases)
            .where(cases.c.resident_id == resident_id, cases.c.state.in_(ACTIVE_VALUES))
            .order_by(cases.c.id.desc())
        )
        return [case_record(row) for row in self.conn.execute(query)]

    def handled(self, resident_id: str, source: str) -> None:
        """The message that opened this case (:mod:`hemu.store.handled`), in the same transaction."""
        if self.added is None:
            raise RuntimeError("add the case before recording the message that opened it")
        record_handled(self.conn, resident_id, source, self.added.number, True, self.now)

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
        opened = Case.opened(number, new, officer_id, due_at, assignment.reason, actor)
        for event in opened.events:
            add_event(conn, case_id, now, **event)
        record = case_record(case_row(conn, number))
        add_notifications(conn, case_id, now, [*opened.notifications, *notify])
        self.added = record
        return record
