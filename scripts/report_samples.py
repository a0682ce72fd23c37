"""Draws docs/report/: the Monday digest (image and lines, both languages) and the first page of the HTML
report, from 30 days of demo cases ending Monday 30 November 2026 09:00 at the sample station — what a
supervisor and a station head would see. Run again after changing a chart or the page:

    PYTHONPATH=. .venv/bin/python scripts/report_samples.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu import demo_data  # noqa: E402
from hemu.config import REPO_ROOT  # noqa: E402
from hemu.desk import Desk  # noqa: E402
from hemu.report import Period, station_report  # noqa: E402
from hemu.report.charts import digest_image  # noqa: E402
from hemu.report.digest import digest_lines  # noqa: E402
from hemu.report.periods import week_of  # noqa: E402
from hemu.report.render import browser, html  # noqa: E402
from hemu.report.words import Words  # noqa: E402
from hemu.settings import load_settings  # noqa: E402
from hemu.store import Store  # noqa: E402

OUT = REPO_ROOT / "docs" / "report"


def main() -> None:
    settings = load_settings(REPO_ROOT / "config")
    tz = settings.station.station.tz
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=tz)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hemu-samples-") as work:
        store = Store.from_url(f"sqlite:///{Path(work) / 'demo.sqlite3'}")
        store.migrate()
        desk = Desk(settings, store, clock=lambda: monday)
        demo_data.seed(desk, 30, demo_data.DEFAULT_SEED, append=False, where="the samples' store")
        week = station_report(store, week_of(monday, tz).previous(), monday)
        for language in ("zh", "en"):
            words = Words(language, settings)
            (OUT / f"weekly-digest.{language}.png").write_bytes(digest_image(week, words))
            (OUT / f"weekly-digest.{language}.txt").write_text("\n".join(digest_lines(week, words)) + "\n")
        november = station_report(store, Period(date(2026, 11, 1), date(2026, 11, 30), tz), monday)
        page = Path(work) / "report.html"
        page.write_text(html(november, Words("zh", settings), demo=demo_data.is_demo(store.engine)))
        store.close()
        subprocess.run(
            [
                browser(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={Path(work) / 'profile'}",
                "--hide-scrollbars",
                "--window-size=1100,1500",
                f"--screenshot={OUT / 'report-page.zh.png'}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
