"""`make bench-report`: what the station report costs — reading the store, the figures, the charts, the
HTML page and the PDF — for a month and for a year of demo cases (``hemu.demo_data``, the real desk and
watcher), on SQLite. The Monday digest and /stats make a week's report and one image in the gateway's
worker thread; the meeting report is a month or more. Numbers only.

    PYTHONPATH=. .venv/bin/python bench/report_bench.py [--days 30 365] [--repeat 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu import demo_data  # noqa: E402
from hemu.config import REPO_ROOT  # noqa: E402
from hemu.desk import Desk  # noqa: E402
from hemu.report import Period, station_report  # noqa: E402
from hemu.report.charts import digest_image  # noqa: E402
from hemu.report.figures import build  # noqa: E402
from hemu.report.periods import month_of, week_of  # noqa: E402
from hemu.report.render import browser, csv_text, html, pdf  # noqa: E402
from hemu.report.words import Words  # noqa: E402
from hemu.settings import load_settings  # noqa: E402
from hemu.store import Store  # noqa: E402


def timed(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = step()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def one(days: int, repeat: int, work: Path) -> None:
    store = Store.from_url(f"sqlite:///{work / f'demo-{days}.sqlite3'}")
    store.migrate()
    settings = load_settings(REPO_ROOT / "config")
    desk = Desk(settings, store)
    began = time.perf_counter()
    seeded = demo_data.seed(desk, days, demo_data.DEFAULT_SEED, append=False, where="the bench's store")
    print(f"\n{days} days of demo cases: {seeded.cases} cases, seeded in {time.perf_counter() - began:.1f} s")
    tz, now = settings.station.station.tz, desk.now()
    whole = Period(week_of(seeded.start, tz).first, month_of(now, tz).last, tz)
    words = Words("zh", settings)
    read_ms, facts = timed(lambda: store.report_facts.cases(whole.end), repeat)
    events = sum(len(case.events) for case in facts)
    print(f"  read the store (cases + history)    {read_ms:8.1f} ms   ({len(facts)} cases, {events} events)")
    for name, period in (("last week", week_of(now, tz).previous()), ("the whole span", whole)):
        figures_ms, report = timed(lambda p=period: build(facts, p, now), repeat)
        print(f"  figures, {name:<27} {figures_ms:8.1f} ms   ({len(report.weeks)} weeks)")
    last_week = week_of(now, tz).previous()
    week_ms, week = timed(lambda: station_report(store, last_week, now), repeat)
    print(f"  last week's report, read + figures  {week_ms:8.1f} ms   (the digest's and /stats' store work)")
    image_ms, image = timed(lambda: digest_image(week, words), repeat)
    print(f"  digest image (4 charts)             {image_ms:8.1f} ms   ({len(image) / 1024:.0f} KiB PNG)")
    report = station_report(store, whole, now)
    page_ms, page = timed(lambda: html(report, words), repeat)
    print(f"  HTML page, whole span               {page_ms:8.1f} ms   ({len(page) / 1024:.0f} KiB)")
    csv_ms, table = timed(lambda: csv_text(report), repeat)
    print(f"  CSV, whole span                     {csv_ms:8.1f} ms   ({table.count(chr(10))} rows)")
    try:
        browser()
    except Exception:  # noqa: BLE001 - no Chromium: the PDF line is left out, said
        print("  PDF: no Chromium here")
    else:
        target = work / f"report-{days}.pdf"
        pdf_ms, _ = timed(lambda: pdf(page, target), 1)
        size = target.stat().st_size / 1024
        print(f"  PDF (headless Chromium)             {pdf_ms:8.1f} ms   ({size:.0f} KiB)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hemu-report-bench-") as work:
        for days in args.days:
            one(days, args.repeat, Path(work))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
