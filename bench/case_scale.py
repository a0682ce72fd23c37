"""`make bench-cases` (part): does opening a case get slower as the station's history grows?

On a throwaway PostgreSQL server, the case store is filled with N past cases (written by the database
itself with ``generate_series``: all closed but one in 1,500, which is active; spread over the roster,
residents repeating) and a case is opened through the real desk (assignment, repeat-report check, the year's
number, the case, its events and notifications in one transaction) 200 times, for N = 1,000 and then
N = 1,000,000. Also timed: the promise watcher's read (cases whose promise runs) and a resident's
cases. ``EXPLAIN`` of each read at the large size shows whether an index carries it.

    PYTHONPATH=. .venv/bin/python bench/case_scale.py [--sizes 1000,1000000] [--openings 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.bootstrap import open_desk  # noqa: E402
from hemu.desk import Report  # noqa: E402
from hemu.settings import load_settings  # noqa: E402
from hemu.store import Store  # noqa: E402
from scripts.pgserver import PgUnavailable, start_server  # noqa: E402

SEED = """
INSERT INTO cases (number, year, seq, category, priority, state, language, resident_id, summary,
                   area_id, risk_flags, contact_consent, officer_id, promise_due_at, opened_at,
                   updated_at, version, promise_set_at, breaches)
SELECT 'HM-2019-' || lpad(i::text, 7, '0'), 2019, i,
       (ARRAY['report_noise','report_family','report_neighbour','report_pet_dispute'])[1 + i % 4],
       CASE WHEN i % 50 = 0 THEN 'urgent' ELSE 'normal' END,
       CASE WHEN i % 3000 = 0 THEN 'open' WHEN i % 3000 = 1 THEN 'acknowledged' ELSE 'closed' END,
       'zh', 'seed-' || (i % 300000), '历史案件 ' || i, 'binhe', '[]', false,
       (ARRAY[{officers}])[1 + i % {count}],
       now() - make_interval(days => i % 2000) + interval '4 hours',
       now() - make_interval(days => i % 2000), now() - make_interval(days => i % 2000), 1,
       now() - make_interval(days => i % 2000), 0
FROM generate_series(:first, :last) AS i
"""


def timed(call: object, times: int) -> tuple[float, float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.95)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,1000000", help="past cases in the store, ascending")
    parser.add_argument("--openings", type=int, default=200)
    args = parser.parse_args()
    try:
        server = start_server()
    except PgUnavailable as error:
        print(f"skipped: {error}")
        return 0
    try:
        store = Store.from_url(server.create_database())
        store.migrate()
        settings = load_settings()
        desk = open_desk(settings, store, migrate=False)
        officers = [officer.id for officer in settings.roster.active_officers()]
        seed = SEED.format(officers=",".join(f"'{o}'" for o in officers), count=len(officers))
        seeded = 0
        for size in (int(n) for n in args.sizes.split(",") if n.strip()):
            started = time.perf_counter()
            with store.engine.begin() as conn:
                conn.execute(text(seed), {"first": seeded + 1, "last": size})
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
            print(f"{size:>9,} past cases (seeded in {time.perf_counter() - started:.1f} s):")
            seeded = size
            count = iter(range(10**9))

            def open_one(count: Iterator[int] = count, size: int = size) -> None:
                n = next(count)
                report = Report(
                    resident_id=f"bench-{size}-{n}",
                    language="zh",
                    category="report_noise",
                    summary=f"楼上装修电钻声 {n}",
                    area_id="binhe",
                    harm="none",
                )
                desk.open_case(report)

            p50, p95 = timed(open_one, args.openings)
            print(f"  opening a case through the desk: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            p50, p95 = timed(store.awaiting_response, 20)
            print(f"  the watcher's read (promises running): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
            p50, p95 = timed(lambda: store.cases_for_resident("seed-4242"), 50)
            print(f"  a resident's cases: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        with store.engine.connect() as conn:
            for label, query in (
                (
                    "officers' loads",
                    "SELECT officer_id, count(*) FROM cases WHERE state IN "
                    "('open','acknowledged','contacted','reopened','handed_over') GROUP BY officer_id",
                ),
                ("a resident's cases", "SELECT * FROM cases WHERE resident_id = 'seed-4242'"),
                (
                    "the watcher's read",
                    "SELECT * FROM cases WHERE state IN ('open','acknowledged','reopened',"
                    "'handed_over') ORDER BY promise_due_at, id",
                ),
            ):
                plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {query}")]
                print(f"  plan, {label}: " + " / ".join(line.strip() for line in plan[:3]))
        store.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
