"""Hemu's one rule about time: every moment is timezone-aware; a naive datetime is refused, not guessed."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def require_aware(value: datetime, name: str) -> datetime:
    """The instant in UTC; a naive datetime has no instant, and guessing its zone hides bugs."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive time {value.isoformat()}")
    return value.astimezone(timezone.utc)


def station_minutes(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-12-04 09:30`` on the station's clock, as the admin command line prints times; "" for None."""
    if moment is None:
        return ""
    return require_aware(moment, "moment").astimezone(tz).strftime("%Y-%m-%d %H:%M")
