"""The figures behind the station's statistics (:mod:`hemu.stats` turns them into rates)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from hemu.store import db
from hemu.store.records import ACTIVE_VALUES, AWAITING_VALUES, CaseStatistics
from hemu.store.tables import cases
from hemu.times import require_aware


class Statistics:
    def __init__(self, engine: Engine) -> None:
        self._reader = db.reader(engine)

    def figures(self, now: datetime, satisfied_from: int = 4) -> CaseStatistics:
        """The figures behind the station statistics, in one read transaction.

        ``satisfied`` counts ratings of ``satisfied_from`` or more. A first promise counts as due once
        it was settled (first contact or breach, see ``promise_kept``) or has passed while the case
        still waits for contact (acknowledged or not); a case cancelled before anyone contacted the
        resident or the promise fell due never counts.
        """
        now = require_aware(now, "now")
        satisfied = func.sum(case((cases.c.rating >= satisfied_from, 1), else_=0))
        kept = func.sum(case((cases.c.promise_kept.is_(True), 1), else_=0))
        settled_or_late = (cases.c.promise_kept.is_not(None)) | (
            cases.c.state.in_(AWAITING_VALUES) & (cases.c.promise_due_at <= now)
        )
        with self._reader.connect() as conn:
            rated, satisfied_count = conn.execute(
                select(func.count(cases.c.rating), satisfied).where(cases.c.rating.is_not(None))
            ).one()
            due, kept_count = conn.execute(select(func.count(), kept).where(settled_or_late)).one()
            responses = conn.execute(
                select(cases.c.opened_at, cases.c.first_response_at).where(
                    cases.c.first_response_at.is_not(None)
                )
            ).all()
            groups = conn.execute(
                select(cases.c.category, cases.c.area_id, func.count())
                .where(cases.c.state.in_(ACTIVE_VALUES))
                .group_by(cases.c.category, cases.c.area_id)
                .order_by(cases.c.category, cases.c.area_id)
            ).all()
        return CaseStatistics(
            rated=int(rated or 0),
            satisfied=int(satisfied_count or 0),
            promises_due=int(due or 0),
            promises_kept=int(kept_count or 0),
            responses=tuple((opened, first) for opened, first in responses),
            open_groups=tuple((category, area, int(count)) for category, area, count in groups),
        )
