"""The life of a case, as plain rules: which state may follow which, and what a case number looks like.

Kept free of any database so the rules can be read in one place and tested exhaustively; the store
(``hemu.store``) calls :func:`check_transition` inside its transaction, so a refused change never
touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from typing import Mapping


class Priority(str, Enum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class CaseState(str, Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    HANDED_OVER = "handed_over"
    CANCELLED = "cancelled"


# A case still waiting for (more) work: it counts towards its officer's load, and the resident sees it open.
ACTIVE_STATES: frozenset[CaseState] = frozenset(
    {CaseState.OPEN, CaseState.ACKNOWLEDGED, CaseState.CONTACTED, CaseState.REOPENED, CaseState.HANDED_OVER}
)

# Before anyone has answered, an officer may still acknowledge; once they made contact, going back to
# "acknowledged" would hide that contact from the resident and from the statistics.
_FROM_START = frozenset(
    {
        CaseState.ACKNOWLEDGED,
        CaseState.CONTACTED,
        CaseState.RESOLVED,
        CaseState.HANDED_OVER,
        CaseState.CANCELLED,
    }
)
TRANSITIONS: Mapping[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: _FROM_START,
    CaseState.HANDED_OVER: _FROM_START,
    CaseState.REOPENED: _FROM_START,
    CaseState.ACKNOWLEDGED: frozenset(
        {CaseState.CONTACTED, CaseState.RESOLVED, CaseState.HANDED_OVER, CaseState.CANCELLED}
    ),
    CaseState.CONTACTED: frozenset({CaseState.RESOLVED, CaseState.HANDED_OVER, CaseState.CANCELLED}),
    CaseState.RESOLVED: frozenset({CaseState.CLOSED, CaseState.REOPENED}),
    CaseState.CLOSED: frozenset({CaseState.REOPENED}),
    CaseState.CANCELLED: frozenset(),
}

NUMBER_PREFIX = "HM"
MAX_SEQ = 999_999
# Residents and officers type numbers from a phone: full-width characters (NFKC folds them), any case,
# spaces and the dashes a Chinese keyboard produces are all accepted; leading zeros may be left out.
_NUMBER_PATTERN = r"HM\s*[-‐‑‒–—_]\s*(\d{4})\s*[-‐‑‒–—_]\s*(\d{1,6})"
_NUMBER = re.compile(rf"^{_NUMBER_PATTERN}$", re.IGNORECASE)
_NUMBER_IN_TEXT = re.compile(rf"(?<![A-Za-z]){_NUMBER_PATTERN}(?!\d)", re.IGNORECASE)


class InvalidTransition(ValueError):
    """A change the case's current state does not allow; the message is meant for the person who tried."""

    def __init__(
        self, message: str, *, number: str, current: CaseState, target: CaseState | None = None
    ) -> None:
        super().__init__(message)
        self.number = number
        self.current = current
        self.target = target


def is_active(state: CaseState | str) -> bool:
    return CaseState(state) in ACTIVE_STATES


def can_transition(current: CaseState | str, target: CaseState | str) -> bool:
    return CaseState(target) in TRANSITIONS[CaseState(current)]


def check_transition(number: str, current: CaseState | str, target: CaseState | str) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is allowed (staying put is not)."""
    current, target = CaseState(current), CaseState(target)
    if target in TRANSITIONS[current]:
        return
    allowed = sorted(state.value for state in TRANSITIONS[current])
    hint = f" (it can be: {', '.join(allowed)})" if allowed else " and can no longer change"
    raise InvalidTransition(
        f"case {number} is {current.value}; it cannot be {target.value}{hint}",
        number=number,
        current=current,
        target=target,
    )


def format_case_number(year: int, seq: int) -> str:
    if not 1000 <= year <= 9999:
        raise ValueError(f"case number year must have four digits, got {year}")
    if not 1 <= seq <= MAX_SEQ:
        raise ValueError(f"case number sequence must be between 1 and {MAX_SEQ}, got {seq}")
    return f"{NUMBER_PREFIX}-{year:04d}-{seq:06d}"


def parse_case_number(text: str) -> tuple[int, int]:
    """``(year, seq)`` from a case number as a person may type it; ValueError when it is not one."""
    match = _NUMBER.match(unicodedata.normalize("NFKC", text or "").strip())
    if not match or int(match.group(1)) < 1000 or int(match.group(2)) == 0:
        raise ValueError(f"{text!r} is not a case number (expected something like HM-2026-000123)")
    return int(match.group(1)), int(match.group(2))


def normalise_case_number(text: str) -> str:
    """The canonical spelling of a typed case number (``hm-2026-12`` → ``HM-2026-000012``)."""
    return format_case_number(*parse_case_number(text))


def find_case_number(text: str) -> str | None:
    """The first case number written inside a message ("取消 hm－2026－000123"), canonical; else None."""
    for match in _NUMBER_IN_TEXT.finditer(unicodedata.normalize("NFKC", text or "")):
        try:
            return normalise_case_number(match.group(0))
        except ValueError:
            continue
    return None
