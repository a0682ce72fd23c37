"""Case store throughput with concurrent writers, on SQLite and on PostgreSQL.

Each writer is a thread with its own Store (own engine and connection pool), as the action server and the
bot would be separate processes. Prints, per backend:
  * cases opened per second (number, events and outbox rows in one transaction each) and latency;
  * state changes per second (each writer acknowledges its own cases);
  * checks: no duplicate numbers, numbers contiguous from 1, event and outbox row counts as expected.
SQLite uses a temporary file; PostgreSQL a throwaway server (scripts/pgserver.py), skipped when not
installed. Numbers only: nothing here passes or fails, except the checks, which exit non-zero.

    PYTHONPATH=. .venv/bin/python bench/store_bench.py [--writers 8] [--cases 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, List, Mapping, TypeVar

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.cases import CaseState, Priority, parse_case_number  # noqa: E402
from hemu.kinds import NoticeKind  # noqa: E402
from hemu.store import Assignment, NewCase, Notification, Store  # noqa: E402
from hemu.store.tables import case_events, outbox  # noqa: E402
from scripts.pgserver import PgUnavailable, start_server  # noqa: E402

T = TypeVar("T")
OFFICERS = ("chen_hao", "li_ming", "wang_li", "zhang_wei")
NOW = datetime.now(timezone.utc)


def least_loaded(loads: Mapping[str, int]) -> Assignment:
    officer = min(OFFICERS, key=lambda o: (loads.get(o, 0), o))
    return Assignment(officer, NOW + timedelta(hours=4), "least loaded")


def report(resident: str) -> NewCase:
    return NewCase(
        category="report_noise",
        priority=Priority.NORMAL,
        language="zh",
        resident_id=resident,
        summary="楼上装修半年多了天天吵，晚上十点以后还在敲",
        area_id="liuan",
        area_text="柳岸花园5栋",
        parties="楼上邻居",
        duration="半年多了",
        harm="none",
        contact_consent=True,
        contact="138 0000 0000",
    )


def together(stores: List[Store], work: Callable[[int, Store], T]) -> tuple[List[T], float]:
    barrier = threading.Barrier(len(stores) + 1)

    def call(index: int) -> T:
        barrier.wait()
        return work(index, stores[index])

    with ThreadPoolExecutor(len(stores)) as pool:
        futures = [pool.submit(call, index) for index in range(len(stores))]
        barrier.wait()
        started = time.perf_counter()
        results = [future.result() for future in futures]
    return results, time.perf_counter() - started


def timed(call: Callable[[], T], latencies: List[float]) -> T:
    started = time.perf_counter()
    result = call()
    latencies.append(time.perf_counter() - started)
    return result


def bench(name: str, url: str, writers: int, per_writer: int) -> bool:
    with Store.from_url(url) as main:
        main.migrate()
        stores = [Store.from_url(url) for _ in range(writers)]
        try:
            latencies: List[float] = []

            def open_cases(index: int, store: Store) -> List[str]:
                tell = [Notification(f"resident:r{index}", NoticeKind.CASE_UPDATE, {"n": 1})]

                return [
                    timed(
                        lambda: store.open_case(
                            report(f"r{index}"), least_loaded, NOW, f"resident:r{index}", tell
                        ),
                        latencies,
                    ).number
                    for _ in range(per_writer)
                ]

            batches, opened_in = together(stores, open_cases)
            total = writers * per_writer
            change_latencies: List[float] = []

            def acknowledge(index: int, store: Store) -> int:
                for number in batches[index]:
                    timed(
                        lambda n=number: store.transition(n, CaseState.ACKNOWLEDGED, NOW, "officer:x"),
                        change_latencies,
                    )
                return len(batches[index])

            _, changed_in = together(stores, acknowledge)
        finally:
            for store in stores:
                store.close()

        numbers = [number for batch in batches for number in batch]
        seqs = sorted(parse_case_number(n)[1] for n in numbers)
        with main.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(case_events)).scalar_one()
            notifications = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        loads = main.loads()

    def ms(values: List[float], q: float) -> str:
        return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:6.1f}"

    print(f"\n{name}: {writers} writers × {per_writer} cases")
    print(
        f"  open_case   {total / opened_in:8.0f} cases/s   ({opened_in:.2f} s; latency p50 "
        f"{ms(latencies, 50)} ms, p95 {ms(latencies, 95)} ms)"
    )
    print(
        f"  transition  {total / changed_in:8.0f} changes/s ({changed_in:.2f} s; latency p50 "
        f"{ms(change_latencies, 50)} ms, p95 {ms(change_latencies, 95)} ms)"
    )
    checks = {
        "no duplicate numbers": len(set(numbers)) == total,
        "numbers contiguous from 1": seqs == list(range(1, total + 1)),
        f"events = 3 per case ({3 * total})": events == 3 * total,
        f"outbox rows = 2 per case ({2 * total})": notifications == 2 * total,
        "loads balanced exactly": sum(loads.values()) == total
        and max(loads.values()) - min(loads.values()) <= 1,
    }
    for check, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {check}")
    if not checks["loads balanced exactly"] or not checks[f"events = 3 per case ({3 * total})"]:
        print(f"       events={events} outbox={notifications} loads={loads}")
    return all(checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--cases", type=int, default=100, help="cases per writer")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="hemu-bench-") as folder:
        ok &= bench("SQLite (WAL, file)", f"sqlite:///{folder}/hemu.sqlite3", args.writers, args.cases)
    try:
        server = start_server()
    except PgUnavailable as error:
        print(f"\nPostgreSQL: skipped ({error})")
        return 0 if ok else 1
    with server:
        version = server.bindir.parent.name
        ok &= bench(
            f"PostgreSQL {version} (fsync=off)", server.create_database("bench"), args.writers, args.cases
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
