"""A busy week at the sample station, replayed through the real desk, store and watcher: hundreds of
cases at random times, officers who answer promptly, late or never — and only while on duty.

Prints the figures README's "What a promise is" is judged by: promises kept, median first contact,
breaches per escalation level, cases past every level, daily summaries, and the most messages the
supervisor got in one day. Numbers only: nothing here passes or fails (the invariants are
tests/hemu/test_promise_simulator.py's).

    cd /work/main && PYTHONPATH=. .venv/bin/python bench/promise_week.py [--cases 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.cases import Priority  # noqa: E402
from hemu.desk import Desk, Report  # noqa: E402
from hemu.duty import on_duty  # noqa: E402
from hemu.kinds import EventKind, NoticeKind  # noqa: E402
from hemu.report import Period, station_report  # noqa: E402
from hemu.settings import load_settings  # noqa: E402
from hemu.store import Store  # noqa: E402

STEP = timedelta(minutes=5)
PRIORITIES = [(Priority.URGENT, 0.05), (Priority.HIGH, 0.2), (Priority.NORMAL, 0.55), (Priority.LOW, 0.2)]
# How officers answer: share of cases, and when (as a share of the promise window) they make contact.
HABITS = [("prompt", 0.6, (0.05, 0.7)), ("late", 0.25, (1.1, 3.0)), ("never", 0.15, None)]


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def opening_times(rng: random.Random, start: datetime, cases: int, tz: ZoneInfo) -> list[datetime]:
    """More reports in the day and evening than at night, as at a real station."""
    weights = [1 if hour < 7 else 4 if hour < 18 else 3 for hour in range(24)]
    moments = []
    for _ in range(cases):
        day = rng.randrange(7)
        hour = rng.choices(range(24), weights)[0]
        local = (start.astimezone(tz) + timedelta(days=day)).replace(hour=hour, minute=rng.randrange(60))
        moments.append(local)
    return sorted(moments)


def replay(cases: int, seed: int) -> Dict[str, object]:
    rng = random.Random(seed)
    settings = load_settings()
    tz = settings.station.station.tz
    start = datetime(2026, 12, 7, 0, 0, tzinfo=tz)  # a Monday
    clock = Clock(start)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'week.sqlite3'}")
        store.migrate()
        desk = Desk(settings, store, clock=clock)
        arrivals = opening_times(rng, start, cases, tz)
        plans: Dict[str, float | None] = {}
        areas = [area.id for area in settings.station.areas] + [None]
        began = time.perf_counter()
        sweeps = 0
        end = start + timedelta(days=8)
        while clock.moment < end:
            while arrivals and arrivals[0] <= clock.moment:
                arrivals.pop(0)
                priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
                report = Report(
                    resident_id=str(len(plans)),
                    language="zh",
                    category="report_noise",
                    summary="楼上噪音",
                    area_id=rng.choice(areas),
                )
                case = desk.open_case(report, priority=priority).case
                _habit, _share, spread = rng.choices(HABITS, [w for _, w, _ in HABITS])[0]
                plans[case.number] = rng.uniform(*spread) if spread else None
                if rng.random() < 0.5:
                    desk.officer_act(case.number, case.officer_id, "acknowledge")
            for case in store.awaiting_response():
                share = plans.get(case.number)
                if share is None:
                    continue
                window = case.promise_due_at - case.opened_at
                officer = settings.roster.officer(case.officer_id)
                working = officer is not None and on_duty(officer, clock.moment, desk.calendar, tz)
                if working and clock.moment >= case.opened_at + window * share:
                    desk.officer_act(case.number, case.officer_id, "contacted")
            desk.watch()
            sweeps += 1
            clock.moment += STEP
        seconds = time.perf_counter() - began

        opened = [case.opened_at for case in store.cases()]
        tz_days = [moment.astimezone(tz).date() for moment in opened]
        stats = station_report(store, Period(min(tz_days), max(tz_days), tz), clock.moment).total
        levels: Counter[int] = Counter()
        handed = 0
        ran_out = 0
        for case in store.cases():
            for event in store.events(case.number):
                if event.kind == EventKind.PROMISE_BROKEN:
                    levels[int(event.detail.get("level", 0))] += 1
                    handed += 1 if event.detail.get("to_officer") else 0
                elif event.kind == EventKind.ESCALATION_RAN_OUT:
                    ran_out += 1
        supervisor = f"officer:{settings.roster.supervisor}"
        per_day: Counter[str] = Counter()
        summaries = 0
        for notice in store.outbox.notifications():
            if notice.recipient == supervisor:
                per_day[notice.created_at.astimezone(tz).date().isoformat()] += 1
            summaries += notice.kind == NoticeKind.DAILY_SUMMARY
        urgent_windows = [
            (c.promise_due_at - c.promise_set_at).total_seconds() / 60
            for c in store.cases()
            if c.priority is Priority.URGENT
        ]
        store.close()
    return {
        "cases": cases,
        "sweeps": sweeps,
        "replay seconds": round(seconds, 1),
        "promises due": stats.promises_due,
        "promises kept": stats.promises_kept,
        "kept rate": f"{stats.promise_kept_rate:.1%}" if stats.promise_kept_rate is not None else "-",
        "median first contact": str(stats.first_response.median),
        "breaches by level": dict(sorted(levels.items())),
        "breaches that moved the case to another officer": handed,
        "cases past every level": ran_out,
        "daily summaries": summaries,
        "most messages to the supervisor in a day": max(per_day.values()) if per_day else 0,
        "longest urgent promise (minutes)": max(urgent_windows) if urgent_windows else 0,
        "median urgent window (minutes)": statistics.median(urgent_windows) if urgent_windows else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"busy week at the sample station: {args.cases} cases, seed {args.seed}")
    for name, value in replay(args.cases, args.seed).items():
        print(f"  {name:52} {value}")


if __name__ == "__main__":
    main()
