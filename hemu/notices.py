"""Notices to residents that more than one part of the domain queues (the desk and the promise watcher)."""

from __future__ import annotations

from typing import Any

from hemu import parties
from hemu.store import CASE_UPDATE, CaseRecord, Notification


def tell_resident(case: CaseRecord, event: str, **values: Any) -> list[Notification]:
    """The resident's ``case_update``; nothing for a resident who asked to be forgotten."""
    if case.is_erased:
        return []
    payload = {"number": case.number, "event": event, **values}
    return [Notification(parties.resident(case.resident_id), CASE_UPDATE, payload)]
