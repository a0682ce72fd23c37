"""The audit log: every change to a case leaves an event, written in the change's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from hemu.cases import CaseState
from hemu.kinds import EventKind
from hemu.store.checks import jsonable
from hemu.store.tables import case_events


def add_event(
    conn: Connection,
    case_id: int,
    at: datetime,
    *,
    actor: str,
    kind: EventKind | str,
    from_state: CaseState | None = None,
    to_state: CaseState | None = None,
    reason: str = "",
    detail: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(case_events).values(
            case_id=case_id,
            at=at,
            actor=actor,
            kind=EventKind(kind).value,  # a misspelt kind fails here, not in a report a month later
            from_state=from_state.value if from_state else None,
            to_state=to_state.value if to_state else None,
            reason=reason or "",
            detail=jsonable(dict(detail or {}), "event detail"),
        )
    )
