"""The resolution note the gateway is waiting for (migration 0006, table ``pending_notes``).

An officer presses "Resolve"; the gateway asks for a note and takes the officer's next text as it. The
question lived in the gateway's memory, so a restart in between turned the note into "use the buttons".
One row per officer chat; a new "Resolve" replaces the old question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from hemu.store import db
from hemu.store.checks import nonempty
from hemu.store.tables import pending_notes
from hemu.times import require_aware


@dataclass(frozen=True)
class PendingNote:
    case_number: str
    version: int
    message_id: int | None  # the card to update once resolved (None: the press came without one)
    asked_at: datetime


class PendingNotes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    def ask(
        self, chat_id: int, case_number: str, version: int, message_id: int | None, now: datetime
    ) -> None:
        values = {
            "chat_id": chat_id,
            "case_number": nonempty(case_number, "case_number"),
            "version": version,
            "message_id": message_id,
            "asked_at": require_aware(now, "now"),
        }
        with self.engine.begin() as conn:
            conn.execute(delete(pending_notes).where(pending_notes.c.chat_id == chat_id))
            conn.execute(insert(pending_notes).values(**values))

    def get(self, chat_id: int) -> PendingNote | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(pending_notes).where(pending_notes.c.chat_id == chat_id)).first()
        return _note(row) if row is not None else None

    def take(self, chat_id: int) -> PendingNote | None:
        """The question, answered or cancelled: returned once, then gone."""
        with self.engine.begin() as conn:
            row = conn.execute(select(pending_notes).where(pending_notes.c.chat_id == chat_id)).first()
            if row is None:
                return None
            taken = conn.execute(delete(pending_notes).where(pending_notes.c.chat_id == chat_id)).rowcount
        # Two texts at once in one chat: only the one that deleted the row gets the question.
        return _note(row) if taken == 1 else None


def _note(row: object) -> PendingNote:
    return PendingNote(
        case_number=row.case_number,  # type: ignore[attr-defined]
        version=row.version,  # type: ignore[attr-defined]
        message_id=row.message_id,  # type: ignore[attr-defined]
        asked_at=row.asked_at,  # type: ignore[attr-defined]
    )


__all__ = ["PendingNote", "PendingNotes"]
