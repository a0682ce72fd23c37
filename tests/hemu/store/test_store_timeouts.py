"""A PostgreSQL call gives up instead of hanging (issue 13): the gateway's notifier and promise watcher
poll the store for ever, and one call stuck on a partition or a lock would stop every promise silently."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hemu.errors import ConfigError
from hemu.store import Store
from hemu.store.db import BUSY_TIMEOUT_MS, Timeouts, postgres_connect_args, timeouts
from tests.auxil.pgserver import PgServer
from tests.auxil.silent import HOST, silent_server
from tests.hemu.store.support import NOW, open_case


def test_defaults_fit_a_poll_loop() -> None:
    assert timeouts({}) == Timeouts(connect=5, statement=30.0, idle_in_transaction=60.0)


def test_the_environment_sets_each_limit() -> None:
    env = {
        "HEMU_DB_CONNECT_TIMEOUT": "2.5",
        "HEMU_DB_STATEMENT_TIMEOUT": "0",
        "HEMU_DB_IDLE_TRANSACTION_TIMEOUT": "120",
    }
    # libpq counts whole seconds: 2.5 s must not become 2.
    assert timeouts(env) == Timeouts(connect=3, statement=0.0, idle_in_transaction=120.0)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("HEMU_DB_CONNECT_TIMEOUT", "soon"),
        ("HEMU_DB_CONNECT_TIMEOUT", "0"),  # libpq cannot wait less than 2 s, nor be switched off
        ("HEMU_DB_STATEMENT_TIMEOUT", "-1"),
        ("HEMU_DB_IDLE_TRANSACTION_TIMEOUT", "1e9"),
    ],
)
def test_a_bad_limit_is_refused_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        timeouts({name: raw})


def test_what_the_url_says_wins() -> None:
    url = make_url("postgresql://hemu@db/hemu?connect_timeout=20&options=-c%20statement_timeout%3D5000")
    args = postgres_connect_args(url, Timeouts())
    assert "connect_timeout" not in args  # the URL's 20 s stays
    # Both go to the server; PostgreSQL applies the later -c, the URL's.
    assert args["options"].endswith("-c statement_timeout=5000")
    assert args["options"].startswith("-c statement_timeout=30000 ")


def test_sqlite_waits_out_a_writer_for_the_busy_timeout_on_every_connection(tmp_path: Path) -> None:
    """SQLite's equivalent: both the driver's own wait and the PRAGMA, on each pooled connection."""
    with Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}") as store:
        connections = [store.engine.raw_connection() for _ in range(3)]  # three at once: three made
        try:
            waits = [c.cursor().execute("PRAGMA busy_timeout").fetchone()[0] for c in connections]
        finally:
            for connection in connections:
                connection.close()
        assert waits == [BUSY_TIMEOUT_MS] * 3


def test_connecting_to_a_server_that_never_answers_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEMU_DB_CONNECT_TIMEOUT", "2")
    with silent_server() as port, Store.from_url(f"postgresql://hemu@{HOST}:{port}/hemu") as store:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timeout"):
            store.get("HM-2026-000001")
        assert time.monotonic() - started < 10


@pytest.mark.postgres
def test_a_statement_longer_than_the_limit_is_cancelled(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEMU_DB_STATEMENT_TIMEOUT", "0.5")
    with Store.from_url(postgres.create_database()) as store:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), store.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(30)"))
        assert time.monotonic() - started < 10
        with store.engine.connect() as conn:  # the pool's connections still work afterwards
            assert conn.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.postgres
def test_a_poll_behind_a_held_lock_fails_instead_of_waiting_for_ever(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What stopped the notifier: another session holding the outbox (a migration, an admin's psql)."""
    monkeypatch.setenv("HEMU_DB_STATEMENT_TIMEOUT", "1")
    url = postgres.create_database()
    with Store.from_url(url) as store, Store.from_url(url) as other:
        store.migrate()
        with other.engine.connect() as holder:
            holder.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"):
                store.outbox.pending(NOW)
            assert time.monotonic() - started < 10
            holder.rollback()
        open_case(store)  # the lock gone, the same store writes again
        assert len(store.outbox.pending(NOW)) >= 1


@pytest.mark.postgres
def test_a_transaction_left_open_is_ended_by_the_server(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that stalls inside a transaction must not keep its locks, and every writer, waiting."""
    monkeypatch.setenv("HEMU_DB_IDLE_TRANSACTION_TIMEOUT", "0.5")
    url = postgres.create_database()
    with Store.from_url(url) as store, Store.from_url(url) as watcher, store.engine.connect() as stalled:
        pid = stalled.execute(text("SELECT pg_backend_pid()")).scalar()
        assert stalled.execute(text("SHOW statement_timeout")).scalar() == "30s"  # the default

        def session_alive() -> bool:
            with watcher.engine.connect() as conn:
                query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                return conn.execute(query, {"pid": pid}).scalar() == 1

        deadline = time.monotonic() + 10
        while session_alive():
            assert time.monotonic() < deadline, "the idle transaction was not ended"
            time.sleep(0.05)
        with pytest.raises(OperationalError):
            stalled.execute(text("SELECT 1"))
