"""The case store (SPEC §3): cases, their audit log, the notification outbox and officer accounts.

SQLite file ``var/hemu.sqlite3`` by default, PostgreSQL through ``DATABASE_URL``. Callers get frozen
records, never database rows; every change is one transaction together with its events and outbox rows.
"""

from __future__ import annotations

from hemu.cases import InvalidTransition
from hemu.store.db import create_engine, database_url, var_dir
from hemu.store.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    InviteError,
    NotificationNotFound,
    OutboxError,
    StoreError,
)
from hemu.store.records import (
    Assignment,
    CaseRecord,
    EventRecord,
    NewCase,
    Notification,
    NotificationRecord,
    OfficerAccount,
    OutboxStatus,
)
from hemu.store.repository import Notify, Store

__all__ = [
    "Assignment",
    "CaseNotFound",
    "CaseRecord",
    "ConcurrentUpdate",
    "EventRecord",
    "InvalidTransition",
    "InviteError",
    "NewCase",
    "Notification",
    "NotificationNotFound",
    "NotificationRecord",
    "Notify",
    "OfficerAccount",
    "OutboxError",
    "OutboxStatus",
    "Store",
    "StoreError",
    "create_engine",
    "database_url",
    "var_dir",
]
