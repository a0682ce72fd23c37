"""The Telegram messages officers hold about each case (migration 0009, table ``officer_messages``).

Only ids: which officer's chat, which message, which case. They are what /forget needs to reach the
resident's words in officers' chats: :func:`queue_erasure` turns each into an outbox notice that edits the
message to a "details removed" version, and forgets the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from hemu import parties
from hemu.kinds import NoticeKind
from hemu.store import checks
from hemu.store.outbox import add_notifications
from hemu.store.records import Notification
from hemu.store.tables import cases, officer_messages
from hemu.times import require_aware


class OfficerMessages:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def keep(self, number: str, officer_id: str, chat_id: int, message_id: int, now: datetime) -> None:
        """Records one message about case ``number`` in an officer's chat; the same message twice (an
        edit, a resend after a crash) is one row. A case that no longer exists is not recorded."""
        now = require_aware(now, "now")
        checks.chat_id(chat_id)
        with self.engine.begin() as conn:
            case_id = conn.execute(select(cases.c.id).where(cases.c.number == number)).scalar()
            if case_id is None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(officer_messages).values(
                            case_id=case_id,
                            officer_id=officer_id,
                            chat_id=chat_id,
                            message_id=message_id,
                            sent_at=now,
                        )
                    )
            except IntegrityError:
                pass  # already recorded

    def count(self, number: str) -> int:
        with self.engine.connect() as conn:
            query = (
                select(officer_messages.c.id)
                .join(cases, cases.c.id == officer_messages.c.case_id)
                .where(cases.c.number == number)
            )
            return len(conn.execute(query).all())


def queue_erasure(conn: Connection, case_ids: Sequence[int], now: datetime) -> int:
    """Inside /forget's transaction: a DETAILS_ERASED notice for every officer message about these cases,
    the rows deleted; how many were queued."""
    if not case_ids:
        return 0
    rows = conn.execute(
        select(officer_messages, cases.c.number)
        .join(cases, cases.c.id == officer_messages.c.case_id)
        .where(officer_messages.c.case_id.in_(case_ids))
    ).all()
    for row in rows:
        notice = Notification(
            recipient=parties.officer(row.officer_id),
            kind=NoticeKind.DETAILS_ERASED.value,
            payload={"number": row.number, "chat_id": row.chat_id, "message_id": row.message_id},
        )
        add_notifications(conn, row.case_id, now, [notice])
    conn.execute(delete(officer_messages).where(officer_messages.c.case_id.in_(case_ids)))
    return len(rows)
