"""A resident's right to be forgotten (``/forget``): their personal data erased everywhere the store
keeps it, the anonymised figures kept."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Sequence

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy import case as case_when
from sqlalchemy.engine import Connection, Engine, Row

from hemu import parties
from hemu.cases import CaseState
from hemu.kinds import EventKind
from hemu.store import db
from hemu.store.audit import add_event
from hemu.store.checks import nonempty
from hemu.store.inbound import reset_row
from hemu.store.officer_messages import queue_erasure
from hemu.store.records import (
    ERASED_PREFIX,
    ERASED_TEXT,
    RETENTION_SOURCE,
    InboundStatus,
    OutboxStatus,
)
from hemu.store.tables import (
    case_events,
    cases,
    handled_messages,
    inbound,
    officer_messages,
    outbox,
    received_updates,
)
from hemu.times import require_aware

log = logging.getLogger(__name__)

# Keys of event details and notification payloads that carry what a resident or an officer wrote about
# the resident; forget_resident() replaces their values.
PERSONAL_KEYS = frozenset({"text", "comment", "rating_comment", "resolution_note", "note"})


def scrub(values: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy with what people wrote about the resident replaced (see :data:`PERSONAL_KEYS`)."""
    return {
        key: (ERASED_TEXT if key in PERSONAL_KEYS and value is not None else value)
        for key, value in values.items()
    }


class Privacy:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    def forget_resident(self, resident_id: str, now: datetime) -> int:
        """Erase the resident's personal data; returns how many of their cases were anonymised.

        What they and officers wrote about them is replaced (summary, place, parties, duration, contact,
        added details, rating comment, resolution note; in the audit log and in notifications too), their
        id becomes ``erased:`` + 12 hex digits of a salted hash (the cases stay together, but nobody can
        recompute it from a Telegram id), their pending notifications and queued messages are dropped.
        Category, priority, area, times, states, rating and promise figures stay: the statistics are
        kept, anonymised (SPEC §4). Each case gets a ``forgotten`` event. Updates of theirs still in the
        gateway's journal are deleted, and every message officers were sent about their cases is queued
        to be edited to a "details removed" version (:mod:`hemu.store.officer_messages`).
        """
        nonempty(resident_id, "resident_id")
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
            _erase_details(conn, rows, now, {"resident_id": erased_id})
            if case_ids:
                conn.execute(
                    update(case_events)
                    .where(case_events.c.case_id.in_(case_ids), case_events.c.actor == recipient)
                    .values(actor=erased_recipient)
                )
                for row in rows:
                    add_event(conn, row.id, now, actor=erased_recipient, kind=EventKind.FORGOTTEN)
            for message in conn.execute(select(outbox).where(outbox.c.recipient == recipient)).all():
                values: Dict[str, Any] = {
                    "payload": scrub(message.payload or {}),
                    "recipient": erased_recipient,
                }
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
                # Rasa's journalled answers read their words back (the recap: place, phone); the source
                # names their chat.
                .values(sender=erased_id, chat_id=0, text=ERASED_TEXT, metadata={}, answers=None, source=None)
            )
            # Which Telegram message changed which case: kept (a replay must still add nothing twice),
            # under the erased id. Updates still waiting in the journal hold their words: gone.
            conn.execute(
                update(handled_messages)
                .where(handled_messages.c.resident_id == resident_id)
                .values(resident_id=erased_id)
            )
            if resident_id.lstrip("-").isdigit():  # a private chat's id is its person's id
                conn.execute(delete(received_updates).where(received_updates.c.chat_id == int(resident_id)))
        return len(case_ids)

    def expire(self, now: datetime, keep: timedelta, limit: int = 200) -> list[str]:
        """The retention rule (``retention`` in config/policy.yml): cases over (closed or cancelled) for
        longer than ``keep`` lose their personal details as with /forget — the resident keeps their id, so
        a later /forget still finds the cases — and delivered or dropped messages older than ``keep``
        lose their texts. At most ``limit`` cases a call (the watcher calls it every sweep); their
        numbers. Each case gets a ``details_expired`` event.

        Rasa keeps a conversation too (its tracker store), which the store cannot reach: when a
        resident's last word or last case passes ``keep`` here and nothing of theirs is newer or still
        being worked, a reset of that conversation is queued (:data:`RESET_MARK`) for the gateway's
        replay loop — once, since what triggers it is erased in the same transaction."""
        now = require_aware(now, "now")
        cutoff = now - keep
        over = or_(
            and_(cases.c.state == CaseState.CLOSED.value, cases.c.closed_at < cutoff),
            and_(cases.c.state == CaseState.CANCELLED.value, cases.c.updated_at < cutoff),
        )
        due_cases = exists().where(over, cases.c.summary != ERASED_TEXT)
        expiring_texts = and_(
            inbound.c.status.in_([InboundStatus.DELIVERED.value, InboundStatus.DROPPED.value]),
            inbound.c.created_at < cutoff,
            inbound.c.text != ERASED_TEXT,
        )
        with self._reader.connect() as conn:  # every sweep asks: one read, not SQLite's write lock each time
            if not conn.execute(select(or_(due_cases, exists().where(expiring_texts)))).scalar():
                return []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(cases)
                .where(over, cases.c.summary != ERASED_TEXT)
                .order_by(cases.c.id)
                .limit(limit)
                .with_for_update()
            ).all()
            # Whose conversations may have gone quiet: the writers of the texts expiring now (not of the
            # rule's own resets) and the residents of the cases expiring now.
            writers = conn.execute(
                select(inbound.c.sender)
                .distinct()
                .where(
                    expiring_texts,
                    or_(inbound.c.source.is_(None), ~inbound.c.source.startswith(RETENTION_SOURCE)),
                )
            ).scalars()
            quiet = sorted({*writers, *(row.resident_id for row in rows)})
            _erase_details(conn, rows, now, {})
            for row in rows:
                add_event(conn, row.id, now, actor=parties.SYSTEM, kind=EventKind.DETAILS_EXPIRED)
            conn.execute(
                update(inbound).where(expiring_texts).values(text=ERASED_TEXT, metadata={}, answers=None)
            )
            resets = sum(_reset_if_quiet(conn, sender, cutoff, now) for sender in quiet)
        if resets:
            log.info("retention: %d residents' conversations in Rasa queued for erasing", resets)
        return [row.number for row in rows]


def _reset_if_quiet(conn: Connection, sender: str, cutoff: datetime, now: datetime) -> bool:
    """Queues the erasing of ``sender``'s conversation in Rasa when they have written nothing since
    ``cutoff``, nothing of theirs waits to reach Rasa and none of their cases still holds details (being
    worked, or over for less than the rule's time): the conversation goes with the last of them."""
    if sender.startswith(ERASED_PREFIX):  # forgotten: /forget reset the conversation already
        return False
    newer = exists().where(
        inbound.c.sender == sender,
        or_(inbound.c.created_at >= cutoff, inbound.c.status == InboundStatus.PENDING.value),
    )
    kept = exists().where(cases.c.resident_id == sender, cases.c.summary != ERASED_TEXT)
    if conn.execute(select(or_(newer, kept))).scalar():
        return False
    chat_id = conn.execute(
        select(inbound.c.chat_id)
        .where(inbound.c.sender == sender, inbound.c.chat_id != 0)
        .order_by(inbound.c.id.desc())
        .limit(1)
    ).scalar()
    if chat_id is None:
        if not sender.lstrip("-").isdigit():
            return False
        chat_id = int(sender)  # a private chat's id is its person's id
    conn.execute(
        insert(inbound).values(**reset_row(sender, chat_id, now, f"{RETENTION_SOURCE}{now:%Y%m%dT%H%M%S%f}"))
    )
    return True


def _erase_details(conn: Connection, rows: Sequence[Row], now: datetime, values: Mapping[str, Any]) -> None:
    """The personal details of these cases, gone everywhere the store keeps them (the case row, its audit
    log, its notifications, the officers' Telegram copies); ``values`` are further columns to set."""
    for row in rows:
        conn.execute(
            update(cases)
            .where(cases.c.id == row.id)
            .values(
                summary=ERASED_TEXT,
                area_text=None,
                parties=None,
                duration=None,
                contact=None,
                rating_comment=ERASED_TEXT if row.rating_comment is not None else None,
                resolution_note=ERASED_TEXT if row.resolution_note is not None else None,
                updated_at=now,
                version=row.version + 1,
                **values,
            )
        )
    case_ids = [row.id for row in rows]
    if not case_ids:
        return
    for event in conn.execute(select(case_events).where(case_events.c.case_id.in_(case_ids))).all():
        conn.execute(
            update(case_events).where(case_events.c.id == event.id).values(detail=scrub(event.detail or {}))
        )
    for message in conn.execute(select(outbox).where(outbox.c.case_id.in_(case_ids))).all():
        conn.execute(
            update(outbox).where(outbox.c.id == message.id).values(payload=scrub(message.payload or {}))
        )
    # The officers' copies: each message about these cases is edited to "details removed".
    queue_erasure(conn, case_ids, now)


@dataclass(frozen=True)
class Held:
    """What the store holds of residents, for ``python -m hemu privacy report`` (counts and dates only)."""

    cases_with_details: int  # not yet erased (forgotten or expired)
    active_with_details: int
    over_with_details: int  # closed or cancelled, waiting for the retention rule
    erased: int
    oldest_over: datetime | None  # when the oldest case still holding details was over
    inbound_texts: int  # residents' messages whose text is still kept
    oldest_inbound: datetime | None
    journalled_updates: int  # Telegram updates not yet handled (with their words)
    officer_copies: int  # messages in officers' chats about cases (edited on /forget or expiry)


def held(engine: Engine) -> Held:
    over = cases.c.state.in_([CaseState.CLOSED.value, CaseState.CANCELLED.value])
    over_at = case_when(
        (cases.c.state == CaseState.CLOSED.value, cases.c.closed_at), else_=cases.c.updated_at
    )
    kept = cases.c.summary != ERASED_TEXT
    texts = inbound.c.text != ERASED_TEXT
    with db.reader(engine).connect() as conn:

        def one(query: Any) -> Any:
            return conn.execute(query).scalar()

        return Held(
            cases_with_details=one(select(func.count()).select_from(cases).where(kept)) or 0,
            active_with_details=one(select(func.count()).select_from(cases).where(kept, ~over)) or 0,
            over_with_details=one(select(func.count()).select_from(cases).where(kept, over)) or 0,
            erased=one(select(func.count()).select_from(cases).where(~kept)) or 0,
            oldest_over=one(select(func.min(over_at)).where(kept, over)),
            inbound_texts=one(select(func.count()).select_from(inbound).where(texts)) or 0,
            oldest_inbound=one(select(func.min(inbound.c.created_at)).where(texts)),
            journalled_updates=one(select(func.count()).select_from(received_updates)) or 0,
            officer_copies=one(select(func.count()).select_from(officer_messages)) or 0,
        )
