"""A small case store for the station tab's tests: a few cases played through the real desk in the week of
Wednesday 2 December 2026, and the sandbox's clock moved to that week so "this week" is that week."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from hemu import clock
from hemu.desk import Desk, Report
from hemu.settings import load_settings
from hemu.store import Store
from hemu.store.tables import store_meta
from tests.conftest import REPO_ROOT, WEDNESDAY_10, Clock

# What a resident wrote: it is in the store, and must never reach the report.
RESIDENT_WORDS = "楼上半夜拖椅子"
OPENED = 5
# Friday of the seeded week, station time: the sandbox's "now" in these tests.
FRIDAY_NOON = datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def seeded_store(folder: Path) -> str:
    """The URL of a fresh SQLite store holding :data:`OPENED` cases, one of them resolved and rated."""
    url = f"sqlite:///{folder / 'sandbox.sqlite3'}"
    desk_clock = Clock(WEDNESDAY_10)
    with Store.from_url(url) as store:
        store.migrate()
        desk = Desk(load_settings(REPO_ROOT / "config"), store, clock=desk_clock)
        numbers = [
            desk.open_case(
                Report(
                    resident_id=f"r{index}",
                    language="zh",
                    category="report_noise",
                    summary=f"{RESIDENT_WORDS} {index}",
                    area_id="binhe",
                    area_text="滨河小区3栋",
                    contact_consent=False,
                )
            ).case.number
            for index in range(OPENED)
        ]
        desk_clock.advance(minutes=30)
        officer = desk.store.get(numbers[0]).officer_id
        desk.officer_act(numbers[0], officer, "acknowledge")
        desk.officer_act(numbers[0], officer, "resolve", note="已调解")
        desk.rate("r0", numbers[0], 5, comment=f"谢谢 {RESIDENT_WORDS}")
    return url


def mark_store(url: str, key: str, value: str) -> None:
    """Marks the store as the demo seeder or a station would (``demo_data``, ``purpose``), without either."""
    with Store.from_url(url) as store, store.engine.begin() as conn:
        conn.execute(insert(store_meta).values(key=key, value=value))


def clock_at(moment: datetime, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shifts the shared clock (:mod:`hemu.clock`) so the sandbox's "now" is ``moment``."""
    path = folder / "clock-shift"
    path.write_text(f"{(moment - datetime.now(moment.tzinfo)).total_seconds()}\n", encoding="utf-8")
    monkeypatch.setenv(clock.ENV, str(path))
    assert abs(clock.now() - moment) < timedelta(minutes=1), "the clock shift did not take"
