"""Shared by the desk tests: the standard report (a noise complaint in Binhe, Wang Li's area) and what a
case's outbox says."""

from __future__ import annotations

from typing import Any

from hemu.desk import Desk, Report


def report(**values: Any) -> Report:
    defaults: dict[str, Any] = {
        "resident_id": "42",
        "language": "zh",
        "category": "report_noise",
        "summary": "楼上半夜拖椅子",
        "area_id": "binhe",
        "harm": "none",
    }
    return Report(**{**defaults, **values})


def told(desk: Desk, number: str, since: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    """(recipient, kind, payload) of the case's notifications, from the ``since``-th on."""
    return [(n.recipient, n.kind, dict(n.payload)) for n in desk.store.outbox.notifications(number)[since:]]
