"""The names the store writes and the gateway reads back: what a notice asks to be sent, what happened to
a case in a ``case_update``, and what the audit log records.

They are stored as plain text (the outbox's ``kind``, the payload's ``event``, the audit log's
``kind``), so a renamed member is a data migration, not a refactoring. Being ``str`` enums, members
compare equal to the stored text: ``record.kind == NoticeKind.FOLLOW_UP`` works on what was read back.
One list each, so a typo fails where it is written, not hours later when a notice is dropped unsent.
"""

from __future__ import annotations

from enum import Enum


class NoticeKind(str, Enum):
    """What a notification asks the gateway to send (``Notification.kind``); bot.notifier renders each."""

    CASE_ASSIGNED = "case_assigned"  # the case card, to the officer who now has the case
    CASE_UPDATE = "case_update"  # something happened to the case (an :class:`Update`)
    PROMISE_REMINDER = "promise_reminder"  # to the assigned officer, before the promise falls due
    PROMISE_BROKEN = "promise_broken"  # to those an escalation level tells (payload "role", "level")
    DAILY_SUMMARY = "daily_summary"  # to the supervisor: cases past every escalation level (no case)
    # To the supervisor on Monday mornings: last week's report, a chart and five lines (payload "first",
    # "last": the week's station-local days; no case).
    WEEKLY_DIGEST = "weekly_digest"
    FOLLOW_UP = "follow_up"  # a week after closing: has the problem come back? (to the resident)
    # The gateway's own words to a resident that could not be sent at once (payload "text", HTML) —
    # a safety reply above all: retried by the notifier like a card instead of given up after a try.
    RESIDENT_REPLY = "resident_reply"
    # To the supervisor: a notification was given up at its deadline, or its officer cannot be reached
    # (payload "notification", "kind", "recipient", "number", "why").
    DELIVERY_FAILED = "delivery_failed"
    # To an officer: a message of theirs about a case whose resident asked to be forgotten is edited to a
    # "details removed" version (payload "number", "chat_id", "message_id").
    DETAILS_ERASED = "details_erased"


class Update(str, Enum):
    """What happened to a case, in a ``case_update`` notice (its payload's ``event``)."""

    # To the resident: an officer answered, someone new has the case, or the promise broke.
    ACKNOWLEDGED = "acknowledged"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    HANDED_OVER = "handed_over"
    PROMISE_BROKEN = "promise_broken"
    STILL_WAITING = "still_waiting"  # past the last escalation level: no new time, the station knows
    # To officers: what the resident did.
    DETAILS_ADDED = "details_added"
    CANCELLED_BY_RESIDENT = "cancelled_by_resident"
    RESIDENT_SAYS_SAFE = "resident_says_safe"
    RATED = "rated"
    FOLLOW_UP_CAME_BACK = "follow_up_came_back"


class CardReason(str, Enum):
    """Why a case card goes to an officer other than by opening or a hand-over (its payload's ``reason``)."""

    URGENT_BREACH = "urgent_breach"  # an urgent promise broke: the case is theirs now, on duty
    BREACH = "breach"  # a promise broke and its officer cannot keep the new one: the case is theirs now
    LOW_RATING = "low_rating"  # the resident rated the handling 1–2 (payload "rating"): the supervisor's now
    CAME_BACK = "came_back"  # the resident says the problem came back a week after closing


class EventKind(str, Enum):
    """What the audit log records about a case (``EventRecord.kind``)."""

    OPENED = "opened"
    ASSIGNED = "assigned"
    STATE_CHANGED = "state_changed"
    HANDED_OVER = "handed_over"
    DETAILS_ADDED = "details_added"
    RESIDENT_SAYS_SAFE = "resident_says_safe"
    RATING_COMMENT = "rating_comment"
    REMINDED = "reminded"
    PROMISE_BROKEN = "promise_broken"
    ESCALATION_RAN_OUT = "escalation_ran_out"
    FOLLOWED_UP = "followed_up"
    FOLLOW_UP_ANSWERED = "follow_up_answered"
    FORGOTTEN = "forgotten"
    DETAILS_EXPIRED = "details_expired"  # the retention rule erased the case's personal details


__all__ = ["CardReason", "EventKind", "NoticeKind", "Update"]
