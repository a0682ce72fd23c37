"""open_desk: what the action server, the gateway and the admin command line all build."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hemu import clock
from hemu.bootstrap import open_desk
from hemu.settings import load_settings
from hemu.store import Store


def test_the_configured_database_is_migrated_and_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'station.sqlite3'}")
    desk = open_desk()
    assert desk.store.loads() == {}
    assert desk.settings.roster.officers == load_settings().roster.officers


def test_a_store_handed_in_is_used_and_left_alone_when_asked(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    desk = open_desk(store=store, migrate=False)
    assert desk.store is store
    store.migrate()  # the gateway's post_init
    assert desk.store.loads() == {}


def test_every_process_reads_the_shared_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox moves time forward for the action server and the gateway at once."""
    monkeypatch.setenv(clock.ENV, str(tmp_path / "clock"))
    desk = open_desk(store=Store.from_url(f"sqlite:///{tmp_path / 's.sqlite3'}"), migrate=False)
    before = desk.now()
    clock.advance(timedelta(days=3))
    assert desk.now() - before >= timedelta(days=3)
