"""What the station's report reads from the store: each case's figures and the moments of its history,
never a resident's words (no summary, contact, comment or note is selected, and an event's detail is
reduced to its rating, officer and follow-up answer right here, before anything else can see it).

Forgetting a resident erases their words and their id, not these columns, so their cases still count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from hemu.store import db
from hemu.store.records import ACTIVE_VALUES
from hemu.store.tables import case_events, cases
from hemu.times import require_aware

# The history a report needs: state changes (ratings ride on them), who held the case, the follow-up.
# A broken promise may hand the case to another officer too (detail "to_officer"; the watcher's renewal).
_KINDS = (
    "opened",
    "assigned",
    "state_changed",
    "handed_over",
    "promise_broken",
    "followed_up",
    "follow_up_answered",
)
_HANDING_KINDS = ("handed_over", "promise_broken")
_OFFICER_PREFIX = "officer:"


@dataclass(frozen=True)
class EventFact:
    """One moment of a case's history, words removed: ``officer_id`` is who holds the case from then on
    (assignments and hand-overs) or whose handling was rated (ratings); ``actor_officer`` is set when an
    officer did it."""

    at: datetime
    kind: str
    to_state: str | None = None
    officer_id: str | None = None
    rating: int | None = None
    came_back: bool | None = None
    actor_officer: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    number: str
    category: str
    priority: str
    state: str
    area_id: str | None
    officer_id: str
    danger: bool
    opened_at: datetime
    first_response_at: datetime | None
    promise_due_at: datetime
    promise_kept: bool | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    events: tuple[EventFact, ...] = ()


def _event(row: Any) -> EventFact:
    detail: Mapping[str, Any] = row.detail if isinstance(row.detail, Mapping) else {}
    officer = detail.get("to_officer") if row.kind in _HANDING_KINDS else detail.get("officer_id")
    # The watcher's hand-over on a breach moves the case to "handed_over" without a state-change event.
    to_state = row.to_state or ("handed_over" if row.kind == "promise_broken" and officer else None)
    rating = detail.get("rating") if row.kind == "state_changed" else None
    came_back = detail.get("came_back") if row.kind == "follow_up_answered" else None
    actor = str(row.actor or "")
    return EventFact(
        at=row.at,
        kind=row.kind,
        to_state=to_state,
        officer_id=str(officer) if officer else None,
        rating=int(rating) if isinstance(rating, int) and not isinstance(rating, bool) else None,
        came_back=bool(came_back) if isinstance(came_back, bool) else None,
        actor_officer=actor[len(_OFFICER_PREFIX) :] if actor.startswith(_OFFICER_PREFIX) else None,
    )


class ReportFacts:
    def __init__(self, engine: Engine) -> None:
        self._reader = db.reader(engine)

    def cases(self, until: datetime, since: datetime | None = None) -> list[CaseFacts]:
        """Every case opened before ``until`` with its whole history, in one read transaction: a period's
        figures need cases opened earlier too (ratings, follow-ups and open cases in the period), and a
        busy station's year is a few thousand rows. ``since``: leave out cases that were over before it
        and have no history since (still active, or anything happened since: included), which no figure
        of a period from ``since`` on can count."""
        until = require_aware(until, "until")
        relevant = cases.c.opened_at < until
        if since is not None:
            since = require_aware(since, "since")
            later = case_events.alias("later")
            touched = (
                select(later.c.id).where(later.c.case_id == cases.c.id, later.c.at >= since).correlate(cases)
            )
            relevant = relevant & (cases.c.state.in_(ACTIVE_VALUES) | touched.exists())
        columns = [
            cases.c.id,
            cases.c.number,
            cases.c.category,
            cases.c.priority,
            cases.c.state,
            cases.c.area_id,
            cases.c.officer_id,
            cases.c.risk_flags,
            cases.c.opened_at,
            cases.c.first_response_at,
            cases.c.promise_due_at,
            cases.c.promise_kept,
            cases.c.resolved_at,
            cases.c.closed_at,
            cases.c.rating,
        ]
        with self._reader.connect() as conn:
            rows = conn.execute(select(*columns).where(relevant).order_by(cases.c.id)).all()
            history: dict[int, list[EventFact]] = {row.id: [] for row in rows}
            events = conn.execute(
                select(
                    case_events.c.case_id,
                    case_events.c.at,
                    case_events.c.kind,
                    case_events.c.to_state,
                    case_events.c.actor,
                    case_events.c.detail,
                )
                .join(cases, cases.c.id == case_events.c.case_id)
                .where(relevant, or_(*(case_events.c.kind == kind for kind in _KINDS)))
                .order_by(case_events.c.case_id, case_events.c.at, case_events.c.id)
            ).all()
        for row in events:
            history[row.case_id].append(_event(row))
        return [
            CaseFacts(
                number=row.number,
                category=row.category,
                priority=row.priority,
                state=row.state,
                area_id=row.area_id,
                officer_id=row.officer_id,
                danger=bool(row.risk_flags) or row.priority == "urgent",
                opened_at=row.opened_at,
                first_response_at=row.first_response_at,
                promise_due_at=row.promise_due_at,
                promise_kept=row.promise_kept,
                resolved_at=row.resolved_at,
                closed_at=row.closed_at,
                rating=row.rating,
                events=tuple(history[row.id]),
            )
            for row in rows
        ]


__all__ = ["CaseFacts", "EventFact", "ReportFacts"]
