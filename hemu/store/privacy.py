"""A resident's right to be forgotten (``/forget``): their personal data erased everywhere the store
keeps it, the anonymised figures kept."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, Dict, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from hemu import parties
from hemu.kinds import EventKind
from hemu.store.audit import add_event
from hemu.store.checks import nonempty
from hemu.store.officer_messages import queue_erasure
from hemu.store.records import ERASED_PREFIX, ERASED_TEXT, InboundStatus, OutboxStatus
from hemu.store.tables import case_events, cases, handled_messages, inbound, outbox, received_updates
from hemu.times import require_aware

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
                            detail=scrub(event.detail or {}),
                        )
                    )
                for row in rows:
                    add_event(conn, row.id, now, actor=erased_recipient, kind=EventKind.FORGOTTEN)
            touches = outbox.c.recipient == recipient
            if case_ids:
                touches = touches | outbox.c.case_id.in_(case_ids)
            for message in conn.execute(select(outbox).where(touches)).all():
                values: Dict[str, Any] = {"payload": scrub(message.payload or {})}
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
            # Which Telegram message changed which case: kept (a replay must still add nothing twice),
            # under the erased id. Updates still waiting in the journal hold their words: gone.
            conn.execute(
                update(handled_messages)
                .where(handled_messages.c.resident_id == resident_id)
                .values(resident_id=erased_id)
            )
            if resident_id.lstrip("-").isdigit():  # a private chat's id is its person's id
                conn.execute(delete(received_updates).where(received_updates.c.chat_id == int(resident_id)))
            # The officers' copies: each message about these cases is edited to "details removed".
            queue_erasure(conn, case_ids, now)
        return len(case_ids)
