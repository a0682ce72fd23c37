"""What the desk is given and what it answers: a resident's report, the outcome of a change, and
the refusals callers turn into messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hemu.roster import Officer
from hemu.store import CaseRecord


@dataclass(frozen=True)
class Report:
    """What the resident told the intake conversation; the desk decides everything else (the fields are
    :class:`~hemu.store.NewCase`'s but the priority)."""

    resident_id: str
    language: str
    category: str
    summary: str
    area_id: str | None = None
    area_text: str | None = None
    parties: str | None = None
    duration: str | None = None
    harm: str | None = None
    risk_flags: tuple[str, ...] = ()
    contact_consent: bool = False
    contact: str | None = None
    # The resident said this is not the matter of their open case in the same category: a new case.
    new_matter: bool = False
    # The Telegram message it came from (the gateway's ``hemu_source``): the same message reaching the
    # desk twice (a replay after a timeout) changes nothing the second time.
    source: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A case the resident now has: newly opened, or an existing one their new details were added to."""

    case: CaseRecord
    officer: Officer
    opened: bool
    rule: str = ""
    reason: str = ""
    # The resident's daily urgent-page limit held back a new page: the words went onto ``case`` as
    # details (its officer is told) and its promise is not renewed, so callers must not quote it.
    held_back: bool = False


@dataclass(frozen=True)
class ActResult:
    """The case after an officer's button; ``changed`` is False when it was already in that state (a
    second press, or two devices), so the gateway can answer without telling anyone twice."""

    case: CaseRecord
    changed: bool


@dataclass(frozen=True)
class RateResult:
    """The case after the resident's rating; ``reopened`` when a low rating sent it to the supervisor."""

    case: CaseRecord
    reopened: bool


class NotAllowed(PermissionError):
    """An officer tried to change a case that is neither theirs nor theirs to supervise."""

    def __init__(self, officer_id: str, number: str) -> None:
        super().__init__(f"officer {officer_id!r} may not change case {number}")
        self.officer_id = officer_id
        self.number = number


class CaseRefused(ValueError):
    """A resident asked for something on a case they may not do (not theirs, already closed, …)."""

    def __init__(self, reason: str, number: str, state: str | None = None) -> None:
        super().__init__(f"{number}: {reason}")
        self.reason = reason
        self.number = number
        self.state = state


class LimitReached(Exception):
    """A resident reached a daily limit of ``config/policy.yml`` (``resident_limits``); nothing was opened.

    Never raised for a report carrying danger. ``again_at`` is when the next station day starts.
    """

    def __init__(self, limit: str, allowed: int, again_at: datetime) -> None:
        super().__init__(f"{limit}: {allowed} reached; again from {again_at.isoformat()}")
        self.limit = limit
        self.allowed = allowed
        self.again_at = again_at
