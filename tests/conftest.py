"""Shared fixtures: a dispatcher, the domain, a hand-set clock and a case desk over a fresh store."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from hemu.desk import Desk
from hemu.settings import load_settings
from hemu.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(autouse=True)
def no_shared_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An action that reaches for the case store without the ``case_desk`` fixture gets an empty
    store of its own, never ``var/hemu.sqlite3`` (which a developer's `make run` fills)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unshared.sqlite3'}")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def texts(dispatcher: CollectingDispatcher) -> Any:
    """All texts the dispatcher collected, joined: for asserting on what the resident reads."""

    def joined() -> str:
        return "\n".join(message.get("text") or "" for message in dispatcher.messages)

    return joined


class Clock:
    """A clock tests set by hand: the desk reads it instead of the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


# Wednesday 2 December 2026, 10:00 at the sample station: a working day, Wang Li (binhe) on duty.
WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY_10)


@pytest.fixture
def case_desk(tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The sample station's desk over a fresh SQLite store, also used by the actions under test."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    desk = Desk(load_settings(REPO_ROOT / "config"), store, clock=clock)
    monkeypatch.setattr("actions.cases.desk", lambda: desk)
    return desk
