"""Which resident messages already changed a case (migration 0005, table ``handled_messages``).

The gateway journals every message and looks in Rasa's tracker before replaying one, but a message can
still reach the actions twice (Rasa finishing a turn the gateway had given up on, Telegram delivering an
update again). The row is written in the same transaction as the case change it caused, so the desk can
answer the second time with the case the first one opened — never a second case, a second card or the
same details twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from hemu.store import db
from hemu.store.checks import nonempty
from hemu.store.tables import handled_messages
from hemu.times import require_aware


@dataclass(frozen=True)
class Handled:
    case_number: str
    opened: bool
    handled_at: datetime


def record_handled(
    conn: Connection, resident_id: str, source: str, case_number: str, opened: bool, now: datetime
) -> None:
    """In the transaction of the change: a second writer of the same message fails on the primary key
    and its whole change rolls back."""
    conn.execute(
        insert(handled_messages).values(
            resident_id=nonempty(resident_id, "resident_id"),
            source=nonempty(source, "source")[:64],
            case_number=case_number,
            opened=opened,
            handled_at=require_aware(now, "now"),
        )
    )


class HandledMessages:
    def __init__(self, engine: Engine) -> None:
        self._reader = db.reader(engine)

    def get(self, resident_id: str, source: str) -> Handled | None:
        query = select(handled_messages).where(
            handled_messages.c.resident_id == resident_id, handled_messages.c.source == source[:64]
        )
        with self._reader.connect() as conn:
            row = conn.execute(query).first()
        return Handled(row.case_number, bool(row.opened), row.handled_at) if row else None
