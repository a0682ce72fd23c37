"""What the store refuses, with messages a person can act on (``InvalidTransition`` lives in hemu.cases)."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own refusals, so callers can catch them apart from driver errors."""


class CaseNotFound(StoreError, LookupError):
    def __init__(self, number: str) -> None:
        super().__init__(f"there is no case {number}")
        self.number = number


class ConcurrentUpdate(StoreError):
    """Someone else changed the case first; the caller should re-read it and decide again."""

    def __init__(self, number: str, expected: int | None, actual: int | None) -> None:
        if expected is None:
            message = f"case {number} kept changing under us; try again"
        else:
            message = (
                f"case {number} was changed by someone else (version {actual}, you had version {expected}); "
                "look at it again before changing it"
            )
        super().__init__(message)
        self.number = number
        self.expected = expected
        self.actual = actual


class InviteError(StoreError, ValueError):
    """An invite code that cannot link this chat; the message can be shown to the person who sent it.

    ``reason`` (unknown, used, revoked, expired, deactivated, linked_elsewhere, chat_taken) lets a chat
    front end answer in the officer's language instead of matching English words.
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class NotificationNotFound(StoreError, LookupError):
    def __init__(self, notification_id: int) -> None:
        super().__init__(f"there is no notification {notification_id} in the outbox")
        self.notification_id = notification_id


class OutboxError(StoreError, ValueError):
    """A notification asked to change status in a way its current status does not allow."""
