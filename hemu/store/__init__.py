"""The case store (SPEC §3): cases, their audit log, the notification outbox, the inbound queue of
residents' messages waiting for Rasa, and officer accounts.

SQLite file ``var/hemu.sqlite3`` by default, PostgreSQL through ``DATABASE_URL``. Callers get frozen
records, never database rows; every change is one transaction together with its events and outbox rows.
"""

from __future__ import annotations

from hemu.cases import InvalidTransition
from hemu.store.checks import check_rating
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
    AWAITING_RESPONSE,
    ERASED_PREFIX,
    ERASED_TEXT,
    Assignment,
    CaseRecord,
    EventRecord,
    InboundRecord,
    InboundStatus,
    Invite,
    NewCase,
    Notification,
    NotificationRecord,
    OfficerAccount,
    OutboxStatus,
)
from hemu.store.repository import Notify, Store

__all__ = [
    "AWAITING_RESPONSE",
    "ERASED_PREFIX",
    "ERASED_TEXT",
    "Assignment",
    "CaseNotFound",
    "CaseRecord",
    "ConcurrentUpdate",
    "EventRecord",
    "InboundRecord",
    "InboundStatus",
    "InvalidTransition",
    "Invite",
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
    "check_rating",
    "create_engine",
    "database_url",
    "var_dir",
]
