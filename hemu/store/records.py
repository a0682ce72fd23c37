"""What goes into the store and what comes out: frozen dataclasses, never database rows.

Records are plain copies taken inside the transaction that read them, so callers (actions, the bot) can
keep them as long as they like without holding a session or seeing half-committed state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from hemu.cases import ACTIVE_STATES, CaseState, Priority


class OutboxStatus(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True)
class NewCase:
    """A report the resident asked an officer to take up; ``summary`` is in their own words."""

    category: str
    priority: Priority
    language: str
    resident_id: str
    summary: str
    area_id: str | None = None
    area_text: str | None = None
    parties: str | None = None
    duration: str | None = None
    harm: str | None = None
    risk_flags: tuple[str, ...] = ()
    contact_consent: bool = False
    contact: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", Priority(self.priority))
        object.__setattr__(self, "risk_flags", tuple(self.risk_flags))
        for name in ("category", "language", "resident_id", "summary"):
            if not str(getattr(self, name) or "").strip():
                raise ValueError(f"a new case needs a {name}")
        # Contact details reach the officer only with consent (SPEC §4): refuse, don't store them quietly.
        if self.contact and not self.contact_consent:
            raise ValueError("contact details given without the resident's consent to be contacted")


@dataclass(frozen=True)
class Assignment:
    """Who takes a case and by when they promise to respond; ``reason`` goes to the audit log."""

    officer_id: str
    due_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Notification:
    """A message to send once the change that causes it is committed; ``payload`` must be JSON."""

    recipient: str
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseRecord:
    id: int
    number: str
    year: int
    seq: int
    category: str
    priority: Priority
    state: CaseState
    language: str
    resident_id: str
    summary: str
    area_id: str | None
    area_text: str | None
    parties: str | None
    duration: str | None
    harm: str | None
    risk_flags: tuple[str, ...]
    contact_consent: bool
    contact: str | None
    officer_id: str
    promise_due_at: datetime
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_note: str | None
    rating: int | None
    rating_comment: str | None
    version: int

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def is_overdue(self, now: datetime) -> bool:
        """The promise is broken: the case still waits for work and its due time has passed."""
        return self.is_active and now > self.promise_due_at


@dataclass(frozen=True)
class EventRecord:
    id: int
    case_id: int
    at: datetime
    actor: str
    kind: str
    from_state: CaseState | None
    to_state: CaseState | None
    reason: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class NotificationRecord:
    id: int
    case_id: int | None
    created_at: datetime
    updated_at: datetime
    recipient: str
    kind: str
    payload: Mapping[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class OfficerAccount:
    officer_id: str
    telegram_chat_id: int | None
    active: bool
    linked_at: datetime | None
    deactivated_at: datetime | None
