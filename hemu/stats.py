"""Station statistics (SPEC §1, §4): the numbers the station measures itself by — residents' satisfaction,
promises kept, how fast a resident is first contacted by an officer — and where the open cases are.

Computed from fields that ``forget_resident`` leaves alone (ratings, states, times, category, area), so
the numbers stay the same after a resident is forgotten.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict

from hemu.store import OutboxStatus, Store
from hemu.times import require_aware

# A rating counts as satisfied from this value up (of 1–5).
SATISFIED_FROM = 4
# How open cases without a known area are listed.
UNKNOWN_AREA = "unknown"


@dataclass(frozen=True)
class Stats:
    """``satisfaction_rate`` = satisfied / rated; ``promise_kept_rate`` = kept / due, where a first
    promise is due once the officer contacted the resident or the promise broke (or it passed with no
    contact, acknowledged or not), and kept when first contact came in time with no breach;
    ``median_first_contact`` is from opening to first contact. Rates are None when nothing was counted."""

    rated: int
    satisfied: int
    satisfaction_rate: float | None
    promises_due: int
    promises_kept: int
    promise_kept_rate: float | None
    median_first_contact: timedelta | None
    open_by_category: Dict[str, int] = field(default_factory=dict)
    open_by_area: Dict[str, int] = field(default_factory=dict)
    open_total: int = 0
    # Messages the notifier gave up at their deadline, and residents' messages set aside as dead
    # letters: nothing given up stays invisible (``python -m hemu outbox list`` has the detail).
    undelivered: int = 0
    dead_letters: int = 0


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute_stats(store: Store, now: datetime) -> Stats:
    """The statistics as of ``now`` (promises that fall due later are not counted yet)."""
    figures = store.statistics.figures(require_aware(now, "now"), satisfied_from=SATISFIED_FROM)
    waits = [first - opened for opened, first in figures.responses]
    by_category: Counter[str] = Counter()
    by_area: Counter[str] = Counter()
    for category, area_id, count in figures.open_groups:
        by_category[category] += count
        by_area[area_id or UNKNOWN_AREA] += count
    return Stats(
        rated=figures.rated,
        satisfied=figures.satisfied,
        satisfaction_rate=_rate(figures.satisfied, figures.rated),
        promises_due=figures.promises_due,
        promises_kept=figures.promises_kept,
        promise_kept_rate=_rate(figures.promises_kept, figures.promises_due),
        median_first_contact=statistics.median(waits) if waits else None,
        open_by_category=dict(sorted(by_category.items())),
        open_by_area=dict(sorted(by_area.items())),
        open_total=sum(by_category.values()),
        undelivered=store.outbox.counts()[OutboxStatus.FAILED.value],
        dead_letters=store.inbound.dead_letters(),
    )


__all__ = ["SATISFIED_FROM", "UNKNOWN_AREA", "Stats", "compute_stats"]
