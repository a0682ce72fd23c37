"""How fast a case gets its officer and its promise, with the sample station configuration.

Prints the median and p95 (milliseconds) of :func:`hemu.assignment.assign` — choosing the officer and
computing the promise on their duty time — over random opening times across 2026–2027 (the second year
is past chinese_calendar's data, so the holidays-library fallback is measured too), random areas
(including "unknown") and priorities, and the same for :func:`hemu.when.describe_due`.
The calendar is warmed up first: its per-year tables are built once per process, not per case.
Numbers only: nothing here passes or fails.

    cd /work/main && PYTHONPATH=. .venv/bin/python bench/assign_bench.py [--cases 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.assignment import assign  # noqa: E402
from hemu.cases import Priority  # noqa: E402
from hemu.config import load_station  # noqa: E402
from hemu.policy import load_policy  # noqa: E402
from hemu.roster import load_roster  # noqa: E402
from hemu.when import describe_due, load_time_words  # noqa: E402
from hemu.workcal import WorkCalendar  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = int((datetime(2028, 1, 1, tzinfo=timezone.utc) - START).total_seconds())


def summary(label: str, samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{label:<14} median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms   (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the 2027 fallback warning is expected here

    station = load_station()
    roster = load_roster()
    policy = load_policy()
    tz = station.station.tz
    calendar = WorkCalendar(station.calendar)
    for year in (2026, 2027, 2028):
        calendar.is_working_day(date(year, 1, 1))
    load_time_words()

    rng = random.Random(args.seed)
    areas = [None, *(area.id for area in station.areas)]
    priorities = list(Priority)
    cases = [
        (
            START + timedelta(seconds=rng.randrange(SPAN_SECONDS)),
            rng.choice(areas),
            rng.choice(priorities),
            {officer.id: rng.randrange(6) for officer in roster.officers},
        )
        for _ in range(args.cases)
    ]

    assign_ms: list[float] = []
    describe_ms: list[float] = []
    rules: dict[str, int] = {}
    for opened_at, area, priority, loads in cases:
        started = time.perf_counter()
        decision = assign(roster, policy, area, priority, opened_at, loads, calendar, tz)
        assign_ms.append((time.perf_counter() - started) * 1000)
        rules[decision.rule] = rules.get(decision.rule, 0) + 1

        language = "zh" if len(describe_ms) % 2 else "en"
        started = time.perf_counter()
        describe_due(decision.due_at, opened_at, tz, language)
        describe_ms.append((time.perf_counter() - started) * 1000)

    print(summary("assign", assign_ms))
    print(summary("describe_due", describe_ms))
    print("rules: " + ", ".join(f"{rule} {count}" for rule, count in sorted(rules.items())))


if __name__ == "__main__":
    main()
