"""Small builders shared by the store tests: a new case, assignment callbacks, row counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import func, select

from hemu.cases import Priority
from hemu.store import Assignment, CaseRecord, NewCase, Store
from hemu.store.tables import metadata

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
DUE = NOW + timedelta(hours=4)

Assign = Callable[[Mapping[str, int]], Assignment]


def new_case(**overrides: Any) -> NewCase:
    values: dict[str, Any] = {
        "category": "report_noise",
        "priority": Priority.NORMAL,
        "language": "zh",
        "resident_id": "42",
        "summary": "楼上装修半年多了天天吵",
        "area_id": "liuan",
        "area_text": "柳岸花园5栋",
        "parties": "楼上邻居",
        "duration": "半年多了",
        "harm": "none",
        "risk_flags": (),
        "contact_consent": True,
        "contact": "138 0000 0000",
    }
    values.update(overrides)
    return NewCase(**values)


def assign_to(officer_id: str, due: datetime = DUE, reason: str = "area duty") -> Assign:
    return lambda _loads: Assignment(officer_id, due, reason)


def least_loaded(*officers: str) -> Assign:
    """Like the roster: the officer with the fewest active cases (ties by name)."""
    return lambda loads: Assignment(min(officers, key=lambda o: (loads.get(o, 0), o)), DUE, "least loaded")


def open_case(store: Store, now: datetime = NOW, officer: str = "wang_li", **overrides: Any) -> CaseRecord:
    return store.open_case(
        new_case(**overrides), assign_to(officer), now, f"resident:{overrides.get('resident_id', '42')}"
    )


def count_rows(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
