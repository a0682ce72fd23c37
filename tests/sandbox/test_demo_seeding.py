"""`make run DEMO_DAYS=N` (scripts/run.py): the sandbox store is seeded before the servers start, only
offline, and a bad number stops the run before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hemu.demo_data import is_demo
from hemu.store import Store, purpose
from hemu.store.purpose import Purpose
from scripts import run


def test_demo_days_are_read_only_for_the_offline_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.demo_days_from_env({}, "") is None
    assert run.demo_days_from_env({run.DEMO_DAYS_ENV: " 30 "}, "") == 30
    assert run.demo_days_from_env({run.DEMO_DAYS_ENV: "30"}, "123:real-token") is None
    assert "ignored: TELEGRAM_BOT_TOKEN is set" in capsys.readouterr().out
    for bad in ("0", "-3", "thirty", "367"):
        with pytest.raises(SystemExit, match="expected a number of days"):
            run.demo_days_from_env({run.DEMO_DAYS_ENV: bad}, "")


def test_seeding_fills_the_sandbox_store_and_a_station_store_is_refused(tmp_path: Path) -> None:
    sandbox, station = (f"sqlite:///{tmp_path / name}" for name in ("sandbox.sqlite3", "station.sqlite3"))
    for url, use in ((sandbox, Purpose.SANDBOX), (station, Purpose.STATION)):
        with Store.from_url(url) as store:
            store.migrate()
            purpose.claim(store.engine, use, "test store")
    assert run.seed_demo_data(3, {"DATABASE_URL": sandbox})
    with Store.from_url(sandbox) as store:
        assert is_demo(store.engine) is not None
    assert not run.seed_demo_data(3, {"DATABASE_URL": station})
    with Store.from_url(station) as store:
        assert is_demo(store.engine) is None
