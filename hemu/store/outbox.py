"""The outbox: notifications written in the same transaction as the change that causes them, then
claimed, sent and settled by the gateway's notifier (at least once, never lost on a crash)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Sequence

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from hemu.cases import normalise_case_number
from hemu.kinds import NoticeKind
from hemu.parties import Party
from hemu.store import db
from hemu.store.checks import jsonable, nonempty
from hemu.store.errors import NotificationNotFound, OutboxError
from hemu.store.mappers import notification_record
from hemu.store.records import Notification, NotificationRecord, OutboxStatus
from hemu.store.tables import cases, outbox
from hemu.times import require_aware


def add_notifications(
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
                "recipient": known_recipient(notification.recipient),
                "kind": known_kind(notification.kind),
                "payload": jsonable(dict(notification.payload), "notification payload"),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    if rows:
        conn.execute(insert(outbox), rows)


def known_kind(kind: str) -> str:
    """A kind the notifier can render: an unknown one would only be dropped at sending, long after the
    change that queued it was committed."""
    try:
        return NoticeKind(kind).value
    except ValueError:
        known = sorted(member.value for member in NoticeKind)
        raise ValueError(f"unknown notification kind {kind!r}; one of {known}") from None


def known_recipient(recipient: str) -> str:
    """An officer or a resident (:mod:`hemu.parties`): nobody else can be sent to."""
    if Party.parse(nonempty(recipient, "notification recipient")) is None:
        raise ValueError(f"a notification goes to officer:<id> or resident:<id>, not {recipient!r}")
    return recipient


def count_attempt() -> Any:
    """attempts + 1, unless claim_notifications already counted this attempt."""
    return case((outbox.c.claimed_at.is_(None), outbox.c.attempts + 1), else_=outbox.c.attempts)


class Outbox:
    """Reading and settling the outbox; writing to it is part of each case change
    (:func:`add_notifications`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def pending(self, now: datetime, limit: int = 100) -> List[NotificationRecord]:
        """Notifications due for (another) attempt, oldest first."""
        now = require_aware(now, "now")
        query = (
            select(outbox)
            .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._reader.connect() as conn:
            return [notification_record(row) for row in conn.execute(query)]

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
            return [notification_record(row) for row in conn.execute(query)]

    def add(self, notification: Notification, now: datetime, case_id: int | None = None) -> None:
        """Queue a notification that no case change causes (an alert about another one, a resident
        reply the gateway could not send at once)."""
        now = require_aware(now, "now")
        with self.engine.begin() as conn:
            add_notifications(conn, case_id, now, [notification])

    def add_once(self, notification: Notification, since: datetime, now: datetime) -> bool:
        """Queue a notification that belongs to no case (the supervisor's daily summary) unless one of
        the same kind went to the same recipient at or after ``since``; whether it was queued. Two
        watchers sweeping at once write it once: SQLite's BEGIN IMMEDIATE serialises them, PostgreSQL
        takes a transaction lock named after the kind."""
        since, now = require_aware(since, "since"), require_aware(now, "now")
        kind, recipient = known_kind(notification.kind), known_recipient(notification.recipient)
        earlier = select(outbox.c.id).where(
            outbox.c.kind == kind, outbox.c.recipient == recipient, outbox.c.created_at >= since
        )
        # The watcher asks on every sweep for the rest of the day: look without the write lock first.
        with self._reader.connect() as conn:
            if conn.execute(earlier).first() is not None:
                return False
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:kind))"), {"kind": kind})
            if conn.execute(earlier).first() is not None:
                return False
            add_notifications(conn, None, now, [notification])
        return True

    def claim(self, now: datetime, lease: timedelta, limit: int = 50) -> List[NotificationRecord]:
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
        return [notification_record(row) for row in rows]

    def mark_sent(self, notification_id: int, now: datetime) -> NotificationRecord:
        now = require_aware(now, "now")
        return self._set(
            notification_id,
            "marked sent",
            (OutboxStatus.PENDING, OutboxStatus.FAILED),
            status=OutboxStatus.SENT.value,
            sent_at=now,
            updated_at=now,
            attempts=count_attempt(),
            claimed_at=None,
        )

    def mark_failed(
        self,
        notification_id: int,
        now: datetime,
        error: str,
        retry_at: datetime | None,
        failures: int | None = None,
        give_up_at: datetime | None = None,
    ) -> NotificationRecord:
        """Count a failed attempt; try again at ``retry_at``, or never when it is None (given up).
        ``failures``: the network failures in a row now (None leaves the count); ``give_up_at``: the
        deadline the sender worked out, kept so every later attempt measures against the same one."""
        now = require_aware(now, "now")
        values: Dict[str, Any] = {
            "attempts": count_attempt(),
            "last_error": error,
            "updated_at": now,
            "claimed_at": None,
        }
        if failures is not None:
            values["failures"] = failures
        if give_up_at is not None:
            values["give_up_at"] = require_aware(give_up_at, "give_up_at")
        if retry_at is None:
            values["status"] = OutboxStatus.FAILED.value
        else:
            values["next_attempt_at"] = require_aware(retry_at, "retry_at")
        return self._set(notification_id, "marked failed", (OutboxStatus.PENDING,), **values)

    def drop(self, notification_id: int, now: datetime, reason: str) -> NotificationRecord:
        """Give up on a notification on purpose (e.g. the recipient has no chat); ``reason`` is kept."""
        now = require_aware(now, "now")
        return self._set(
            notification_id,
            "dropped",
            (OutboxStatus.PENDING, OutboxStatus.FAILED),
            status=OutboxStatus.DROPPED.value,
            last_error=reason,
            updated_at=now,
            claimed_at=None,
        )

    def release(self, notification_ids: Sequence[int], now: datetime) -> int:
        """Hand claimed notifications back unsent (the gateway is stopping, or the claim is too old to
        send on safely): due again at once for whoever polls next, instead of after the lease. Returns
        how many were still claimed."""
        now = require_aware(now, "now")
        if not notification_ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(list(notification_ids)),
                    outbox.c.status == OutboxStatus.PENDING.value,
                    outbox.c.claimed_at.is_not(None),
                )
                .values(next_attempt_at=now, claimed_at=None, updated_at=now)
            ).rowcount

    def requeue(self, notification_ids: Sequence[int], now: datetime, give_up_at: datetime) -> int:
        """Given-up or dropped notifications back into the queue (an admin fixed the cause): due now,
        with a fresh deadline and failure count. Returns how many were requeued."""
        now, give_up_at = require_aware(now, "now"), require_aware(give_up_at, "give_up_at")
        with self.engine.begin() as conn:
            return conn.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(list(notification_ids)),
                    outbox.c.status.in_([OutboxStatus.FAILED.value, OutboxStatus.DROPPED.value]),
                )
                .values(
                    status=OutboxStatus.PENDING.value,
                    next_attempt_at=now,
                    give_up_at=give_up_at,
                    failures=0,
                    claimed_at=None,
                    updated_at=now,
                    last_error=func.coalesce(outbox.c.last_error, "") + " [requeued]",
                )
            ).rowcount

    def counts(self) -> Dict[str, int]:
        """How many notifications are in each status: for /stats and ``python -m hemu outbox``."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self._reader.connect() as conn:
            found = {status: count for status, count in conn.execute(query)}
        return {status.value: found.get(status.value, 0) for status in OutboxStatus}

    def _set(
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
        return notification_record(row)
