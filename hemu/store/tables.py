"""The store's tables (SQLAlchemy Core). The schema itself is created only by the Alembic migrations in
``migrations/``; a test checks that they produce exactly these tables.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from hemu.cases import CaseState, Priority
from hemu.store.records import InboundStatus, OutboxStatus

# Explicit constraint names so the migration and these tables agree on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones: it would store an aware value's wall-clock time and silently drop the
    offset, so everything is converted to UTC first. Naive values are refused: a promise time that is
    off by eight hours is worse than an error.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a timezone-aware time")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _one_of(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("resident_id", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("area_id", String(64)),
    Column("area_text", Text),
    Column("parties", Text),
    Column("duration", Text),
    Column("harm", Text),
    Column("risk_flags", JSON, nullable=False),
    Column("contact_consent", Boolean, nullable=False),
    Column("contact", Text),
    Column("officer_id", String(64), nullable=False),
    Column("promise_due_at", UTCDateTime(), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("first_response_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("resolution_note", Text),
    Column("rating", Integer),
    Column("rating_comment", Text),
    Column("version", Integer, nullable=False),
    # The promise watcher's bookkeeping (migration 0002): when the current promise was made (the reminder
    # falls at a share of promise_set_at → promise_due_at), whether its officer was reminded, the
    # escalation level the current promise has reached (breaches; a hand-over or reopening starts it
    # again, the audit log keeps every breach), and whether the resident got the follow-up question.
    Column("promise_set_at", UTCDateTime(), nullable=False),
    Column("reminded_at", UTCDateTime()),
    Column("breaches", Integer, nullable=False, server_default=text("0")),
    Column("followed_up_at", UTCDateTime()),
    # Whether the FIRST promise was kept, fixed at the first response or the first breach: later
    # hand-overs and reopenings give new promises, and must not rewrite the statistics.
    Column("promise_kept", Boolean),
    UniqueConstraint("number"),
    UniqueConstraint("year", "seq"),
    CheckConstraint(_one_of("priority", Priority), name="priority"),
    CheckConstraint(_one_of("state", CaseState), name="state"),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
    Index(None, "state", "officer_id"),
    Index(None, "officer_id"),
    Index(None, "resident_id", "category"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16)),
    Column("reason", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "case_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    # Set by claim_notifications, cleared when the sender reports back: the claim already counted the
    # attempt, so mark_sent/mark_failed after a claim must not count it again.
    Column("claimed_at", UTCDateTime()),
    # Network failures in a row (flood-control waits are not failures), and the moment the notifier
    # stops retrying and tells the supervisor instead (NULL on rows older than migration 0005).
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("give_up_at", UTCDateTime()),
    CheckConstraint(_one_of("status", OutboxStatus), name="status"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "case_id"),
)

# Residents' messages the gateway could not hand to Rasa (down, restarting): kept here rather than in
# memory so a gateway restart loses none, and replayed in order before the resident's next message.
inbound = Table(
    "inbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender", String(64), nullable=False),
    # Telegram chat ids need more than 32 bits.
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime()),
    # Rasa's replies, kept before they are sent: after a crash they are sent, Rasa is not asked again.
    Column("answers", JSON),
    # "chat:message" of the Telegram message: the same update delivered twice is kept once.
    Column("source", String(64)),
    # The gateway handing it to Rasa, until when: with several gateways only one works on a resident.
    Column("owner", String(32)),
    Column("lease_until", UTCDateTime()),
    CheckConstraint(_one_of("status", InboundStatus), name="status"),
    Index(None, "status", "id"),
    Index(None, "sender", "status"),
    Index("uq_inbound_sender_source", "sender", "source", unique=True),
)

# The resident messages (Telegram updates) that already changed a case, written in the same transaction
# as the change: the same message replayed after a Rasa timeout opens nothing and adds nothing twice.
handled_messages = Table(
    "handled_messages",
    metadata,
    Column("resident_id", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("case_number", String(32), nullable=False),
    Column("opened", Boolean, nullable=False),
    Column("handled_at", UTCDateTime(), nullable=False),
)

# Telegram updates the gateway has fetched but not finished handling, written before Telegram is told they
# arrived (the next getUpdates offset, the webhook's 200): a gateway killed in between hands them to the
# next gateway instead of losing them. A row is deleted once its update was handled.
received_updates = Table(
    "received_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    # How many gateways started with it unhandled: one that kills every gateway is set aside after a few.
    Column("restarts", Integer, nullable=False),
)

# An officer pressed "Resolve" and the gateway waits for the note (the officer's next text): kept here, not
# in the gateway's memory, so a gateway restart between the question and the answer loses neither.
pending_notes = Table(
    "pending_notes",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("case_number", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("message_id", BigInteger),
    Column("asked_at", UTCDateTime(), nullable=False),
)

# Telegram messages an officer was sent about a case (ids only): /forget edits each to "details removed".
officer_messages = Table(
    "officer_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("officer_id", String(64), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
    UniqueConstraint("chat_id", "message_id"),
    Index(None, "case_id"),
)

# What this database is for ("purpose": "station" or "sandbox"), see hemu.store.purpose.
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

case_counters = Table(
    "case_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
)

officer_accounts = Table(
    "officer_accounts",
    metadata,
    Column("officer_id", String(64), primary_key=True),
    # Telegram chat ids need more than 32 bits.
    Column("telegram_chat_id", BigInteger),
    Column("active", Boolean, nullable=False),
    Column("linked_at", UTCDateTime()),
    Column("deactivated_at", UTCDateTime()),
    # The officer's Telegram app language at /register ("zh", "en"), None for any other; the roster's
    # language outranks it (bot/languages.py).
    Column("language", String(8)),
    UniqueConstraint("telegram_chat_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("officer_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("used_by_chat_id", BigInteger),
    Column("revoked_at", UTCDateTime()),
    UniqueConstraint("code_hash"),
)
