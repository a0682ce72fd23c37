"""The report reads and counts less than everything (cases over before the weeks it shows are not read;
each week skips cases over before it), and says exactly what it would say reading everything — checked
on a seeded month of demo cases over any period and any "now"."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hemu import demo_data
from hemu.config import REPO_ROOT
from hemu.desk import Desk
from hemu.report import Period, station_report
from hemu.report import figures as figures_module
from hemu.report.figures import build
from hemu.settings import load_settings
from hemu.store import Store
from tests.conftest import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
DAYS = 40


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("shortcuts") / "demo.sqlite3"
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    desk = Desk(load_settings(REPO_ROOT / "config"), store, clock=Clock(END))
    demo_data.seed(desk, DAYS, demo_data.DEFAULT_SEED, append=False, where="the test's store")
    yield store
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.integers(min_value=-DAYS - 10, max_value=5),
    length=st.integers(min_value=1, max_value=45),
    made=st.integers(min_value=0, max_value=10),  # a report is made after what it reads happened
)
def test_the_shortcuts_change_nothing(
    seeded: Store, monkeypatch: pytest.MonkeyPatch, first: int, length: int, made: int
) -> None:
    day = date(2026, 12, 2) + timedelta(days=first)
    period = Period(day, day + timedelta(days=length - 1), SHANGHAI)
    now = END + timedelta(days=made)
    quick = station_report(seeded, period, now)
    with monkeypatch.context() as patched:
        patched.setattr(figures_module, "may_count", lambda case, period, now: True)
        everything = build(seeded.report_facts.cases(period.end), period, now)
    assert quick == everything
