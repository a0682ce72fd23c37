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

# What a forgotten resident's id becomes (``erased:`` + 12 hex digits): statistics keep the cases,
# nobody can tell whose they were.
ERASED_PREFIX = "erased:"
ERASED_TEXT = "[erased]"
# In a kept message's metadata: not a message but "erase this resident's conversation in Rasa" — queued by
# /forget when Rasa was away and by the retention rule; the gateway's replay loop carries it out.
RESET_MARK = "hemu_reset"
# The ``source`` of the retention rule's resets (+ when): never themselves a reason for another reset.
RETENTION_SOURCE = "retention:"


class OutboxStatus(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class InboundStatus(str, Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DROPPED = "dropped"


# Cases whose promise still waits to be kept: nobody has contacted the resident since the promise was
# made (opened, handed over to someone new, reopened). An acknowledged case still waits: acknowledging
# says the officer has it, not that the resident heard from them, so the watcher reminds and escalates
# it like an open one. Contacted cases (and resolved ones) have been answered.
AWAITING_RESPONSE: frozenset[CaseState] = frozenset(
    {CaseState.OPEN, CaseState.ACKNOWLEDGED, CaseState.HANDED_OVER, CaseState.REOPENED}
)


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


# The same sets as stored column values, for queries.
ACTIVE_VALUES = tuple(sorted(state.value for state in ACTIVE_STATES))
AWAITING_VALUES = tuple(sorted(state.value for state in AWAITING_RESPONSE))


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
    # First contact with the resident ("contacted", or "resolved" without it); acknowledging is not one.
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_note: str | None
    rating: int | None
    rating_comment: str | None
    version: int
    # When the current promise was made: opening, hand-over, reopening or a renewal after a breach.
    promise_set_at: datetime
    reminded_at: datetime | None
    # The escalation level the current promise has reached (0: not broken; past the policy's last level:
    # in the supervisor's daily summary); a hand-over or reopening starts again at 0.
    breaches: int
    followed_up_at: datetime | None
    # None until first contact or the first breach settles whether the first promise was kept.
    promise_kept: bool | None

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_danger(self) -> bool:
        """Opened on a danger signal: only the officer may close it (a resident's tap says "safe now")."""
        return bool(self.risk_flags) or self.priority is Priority.URGENT

    @property
    def awaits_response(self) -> bool:
        """The promise is still running: the promise watcher reminds and renews only these cases."""
        return self.state in AWAITING_RESPONSE

    @property
    def is_erased(self) -> bool:
        """The resident asked to be forgotten: there is nobody left to notify."""
        return self.resident_id.startswith(ERASED_PREFIX)

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
    failures: int = 0
    give_up_at: datetime | None = None


@dataclass(frozen=True)
class InboundRecord:
    """A resident's message waiting for Rasa; ``metadata`` is what the gateway sends along with it."""

    id: int
    sender: str
    chat_id: int
    text: str
    metadata: Mapping[str, Any]
    created_at: datetime
    attempts: int
    status: InboundStatus = InboundStatus.PENDING
    last_error: str | None = None
    delivered_at: datetime | None = None
    # Rasa's replies, once it answered; the message stays pending until they have been sent.
    answers: list[dict[str, Any]] | None = None
    source: str | None = None
    # The gateway working on it (several gateways: hemu/store/inbound.py, claim_sender).
    owner: str | None = None


@dataclass(frozen=True)
class OfficerAccount:
    officer_id: str
    telegram_chat_id: int | None
    active: bool
    linked_at: datetime | None
    deactivated_at: datetime | None
    # Their Telegram app's language at /register ("zh" or "en"), if it was one of ours.
    language: str | None = None


@dataclass(frozen=True)
class Invite:
    """An invite code as the admin sees it: never the code, which only its holder knows."""

    id: int
    officer_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by_chat_id: int | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        """``used``, ``revoked``, ``expired`` or ``valid`` — the first that applies."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "valid"
