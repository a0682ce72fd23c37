"""Telegram updates fetched but not yet handled (migration 0006, table ``received_updates``).

Telegram forgets an update once the gateway acknowledges it (the next getUpdates offset, or the webhook's
200), and PTB acknowledges as soon as the update is in its queue — before any handler has journalled the
message. A gateway killed in that gap lost the message for good. The gateway now writes each update here
before it is acknowledged and deletes it once handled; the next gateway handles whatever is left.

Handling twice is safe where it matters: a resident's message is journalled once by its Telegram id
(:mod:`.inbound`), a case change once per message (:mod:`.handled`). A command or a button press left
here by a crash may be answered twice (at least once, as README says).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, List, Mapping

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hemu.store import db
from hemu.store.checks import jsonable
from hemu.store.tables import received_updates
from hemu.times import require_aware

log = logging.getLogger(__name__)

# A gateway that died this many times with an update unhandled: the update is set aside (logged by id),
# so one update that crashes the gateway cannot keep every later one from being handled.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class Received:
    update_id: int
    payload: dict[str, Any]
    restarts: int


class ReceivedUpdates:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    def keep(self, update_id: int, chat_id: int | None, payload: Mapping[str, Any], now: datetime) -> bool:
        """Journal an update before it is acknowledged; False when it is journalled already (Telegram
        sending it again, or the restart handing it back)."""
        if isinstance(update_id, bool) or not isinstance(update_id, int):
            raise TypeError(f"update_id must be an int, got {type(update_id).__name__}")
        values = {
            "update_id": update_id,
            "chat_id": chat_id,
            "payload": jsonable(dict(payload), "payload"),
            "received_at": require_aware(now, "now"),
            "restarts": 0,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(received_updates).values(**values))
        except IntegrityError:
            return False
        return True

    def done(self, update_id: int) -> bool:
        """The update was handled: nothing of it needs to survive a crash any more."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    delete(received_updates).where(received_updates.c.update_id == update_id)
                ).rowcount
                == 1
            )

    def left_over(self) -> List[Received]:
        """At a gateway's start: the updates an earlier gateway fetched but never finished, oldest first,
        each counted as one more restart. Those that outlived ``MAX_RESTARTS`` gateways are set aside
        (deleted, logged by id) instead of being returned."""
        with self.engine.begin() as conn:
            conn.execute(update(received_updates).values(restarts=received_updates.c.restarts + 1))
            rows = conn.execute(select(received_updates).order_by(received_updates.c.update_id)).all()
            poisoned = [row.update_id for row in rows if row.restarts > MAX_RESTARTS]
            if poisoned:
                log.error(
                    "updates %s were unhandled by %d gateways in a row: set aside", poisoned, MAX_RESTARTS
                )
                conn.execute(delete(received_updates).where(received_updates.c.update_id.in_(poisoned)))
        return [
            Received(row.update_id, dict(row.payload), row.restarts)
            for row in rows
            if row.restarts <= MAX_RESTARTS
        ]

    def count(self) -> int:
        """How many updates wait in the journal: counted by the database, since a backlog can be long."""
        with self._reader.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(received_updates)).scalar_one())


__all__ = ["MAX_RESTARTS", "Received", "ReceivedUpdates"]
