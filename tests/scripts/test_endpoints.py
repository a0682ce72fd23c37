"""Where `make run`'s Rasa keeps conversations (scripts/endpoints.py), and that Rasa reads the file as
meant: a private SQLite file by default, the case store's PostgreSQL when there is one, memory on request."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import read_endpoint_config

from scripts import run
from scripts.endpoints import (
    ACTIONS_SECRET_ENV,
    ACTIONS_SECRET_HEADER,
    LOCK_PASSWORD_ENV,
    PASSWORD_ENV,
    STORE_CLASS,
    lock_store,
    tracker_store,
    tracker_store_url,
    write_endpoints,
)
from scripts.endpoints import main as endpoints_main

PG = "postgresql://hemu:s3cret@db.internal:6432/hemu"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HEMU_TRACKER_STORE", raising=False)
    monkeypatch.setenv("HEMU_VAR_DIR", str(tmp_path / "var"))
    # Rasa expands ${HEMU_ACTIONS_SECRET} in the whole file whichever section it reads (as in its own env).
    monkeypatch.setenv(ACTIONS_SECRET_ENV, "the-actions-secret-1234")


def test_by_default_conversations_go_to_a_private_sqlite_file_in_var(tmp_path: Path) -> None:
    url = tracker_store_url()
    assert url == f"sqlite:///{tmp_path / 'var' / 'rasa-trackers.sqlite3'}"
    trackers = tracker_store(url)
    path = tmp_path / "var" / "rasa-trackers.sqlite3"
    assert trackers.endpoint == {"type": STORE_CLASS, "dialect": "sqlite", "db": str(path)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and trackers.env == {}


def test_a_postgresql_case_store_keeps_the_conversations_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", PG)
    assert tracker_store_url() == PG
    trackers = tracker_store(PG)
    endpoint = trackers.endpoint
    assert {key: endpoint[key] for key in ("dialect", "url", "port", "db", "username")} == {
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6432,
        "db": "hemu",
        "username": "hemu",
    }
    # The same limits as the case store: Rasa must not hang on a partition either.
    assert endpoint["query"]["connect_timeout"] == "5"
    assert "-c statement_timeout=30000" in endpoint["query"]["options"]
    # The password travels in Rasa's environment, never in the file under logs/.
    assert endpoint["password"] == "${" + PASSWORD_ENV + "}" and trackers.env == {PASSWORD_ENV: "s3cret"}
    assert "s3cret" not in trackers.shown


def test_memory_or_another_database_on_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", PG)
    monkeypatch.setenv("HEMU_TRACKER_STORE", "memory")
    assert tracker_store_url() is None
    other = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    monkeypatch.setenv("HEMU_TRACKER_STORE", other)
    assert tracker_store_url() == other


def test_a_database_the_case_store_cannot_use_stops_make_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEMU_TRACKER_STORE", "mysql://rasa@db/rasa")
    with pytest.raises(SystemExit, match="HEMU_TRACKER_STORE"):
        run.trackers_from_env(os.environ, sandbox=False)


def test_the_sandbox_keeps_its_play_conversations_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEMU_VAR_DIR", str(tmp_path))
    for name in ("HEMU_TRACKER_STORE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    sandbox = run.trackers_from_env(os.environ, sandbox=True)
    station = run.trackers_from_env(os.environ, sandbox=False)
    assert sandbox is not None and station is not None
    assert sandbox.shown == f"sqlite:///{tmp_path / 'sandbox-trackers.sqlite3'}"
    assert station.shown == f"sqlite:///{tmp_path / 'rasa-trackers.sqlite3'}"


def test_rasa_reads_the_password_from_its_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_endpoints(tmp_path / "endpoints.yml", 5055, tracker_store(PG))
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    monkeypatch.setenv(ACTIONS_SECRET_ENV, "the-actions-secret-1234")
    assert "s3cret" not in path.read_text(encoding="utf-8")
    assert "the-actions-secret" not in path.read_text(encoding="utf-8")
    config = read_endpoint_config(str(path), "tracker_store")
    assert config is not None and config.type == STORE_CLASS
    assert config.kwargs["password"] == "s3cret" and config.kwargs["db"] == "hemu"
    actions = read_endpoint_config(str(path), "action_endpoint")
    assert actions is not None and actions.url == "http://127.0.0.1:5055/webhook"
    assert actions.headers == {ACTIONS_SECRET_HEADER: "the-actions-secret-1234"}


def test_rasa_builds_hemus_store_from_the_file_not_a_silent_in_memory_one(tmp_path: Path) -> None:
    """Rasa falls back to memory, with a mere warning, when it cannot import a store class."""
    url = f"sqlite:///{tmp_path / 'trackers.sqlite3'}"
    path = write_endpoints(tmp_path / "endpoints.yml", 5055, tracker_store(url))
    store = create_tracker_store(read_endpoint_config(str(path), "tracker_store"), Domain.empty())
    assert type(store).__name__ == "HemuSQLTrackerStore"
    assert str(store.engine.url) == url


def test_without_a_tracker_store_rasa_keeps_memory(tmp_path: Path) -> None:
    """What the end-to-end tests use (each module its own Rasa), never writing into var/."""
    path = write_endpoints(tmp_path / "endpoints.yml", 5055)
    assert read_endpoint_config(str(path), "tracker_store") is None


def test_several_workers_lock_conversations_in_redis_with_the_password_kept_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    locks = lock_store("redis://:p4ss@cache.internal:6380/2")
    path = write_endpoints(tmp_path / "endpoints.yml", "http://actions-2:5055/", tracker_store(PG), locks)
    assert "p4ss" not in path.read_text(encoding="utf-8")
    monkeypatch.setenv(LOCK_PASSWORD_ENV, "p4ss")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    config = read_endpoint_config(str(path), "lock_store")
    assert config is not None and config.type == "redis" and config.url == "cache.internal"
    assert config.kwargs == {"port": 6380, "db": 2, "key_prefix": "hemu", "password": "p4ss"}
    assert locks.env == {LOCK_PASSWORD_ENV: "p4ss"}
    actions = read_endpoint_config(str(path), "action_endpoint")
    assert actions is not None and actions.url == "http://actions-2:5055/webhook"
    with pytest.raises(ValueError, match="redis://"):
        lock_store("postgresql://x/y")


def test_a_deployments_rasa_gets_its_endpoints_from_the_same_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m scripts.endpoints OUT` (docker-compose, systemd) writes what `make run` would."""
    monkeypatch.setenv("DATABASE_URL", PG)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv("HEMU_ACTIONS_URL", "http://10.0.0.5:5055,http://10.0.0.6:5055")
    out = tmp_path / "endpoints.yml"
    assert endpoints_main([str(out)]) == 0
    assert "HEMU_TRACKER_STORE_PASSWORD" in capsys.readouterr().err  # the password must be given to Rasa
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    assert read_endpoint_config(str(out), "action_endpoint").url == "http://10.0.0.5:5055/webhook"
    assert read_endpoint_config(str(out), "lock_store").type == "redis"
    assert read_endpoint_config(str(out), "tracker_store").type == STORE_CLASS
    monkeypatch.setenv("REDIS_URL", "memcached://x")
    assert endpoints_main([str(out)]) == 2
