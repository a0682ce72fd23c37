"""Checks on values before they are written: one rule each for every part of the store."""

from __future__ import annotations

import json
from typing import Any


def jsonable(value: Any, what: str) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be JSON-serialisable: {error}") from error
    return value


def nonempty(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty text")
    return value


def chat_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"chat_id must be an int, got {type(value).__name__}")
    return value


def check_rating(rating: Any) -> None:
    """A rating is a whole number from 1 to 5 (not True, not 2.5): one rule for the store and the desk."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValueError(f"a rating must be a whole number from 1 to 5, got {rating!r}")
