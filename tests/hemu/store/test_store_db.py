"""Where the store lives, how SQLite is set up, and that the migration builds exactly tables.py."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import List

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, event, insert, text
from sqlalchemy.exc import IntegrityError, OperationalError

from hemu.store import Store, database_url, db, repository
from hemu.store.db import normalise_url
from hemu.store.tables import case_events, metadata
from tests.hemu.store.support import NOW, open_case


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def schema_diff(store: Store, target: MetaData) -> list:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_the_migration_builds_exactly_the_tables(store: Store) -> None:
    assert schema_diff(store, metadata) == []
    # The comparison does notice a difference (so the line above can fail).
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["cases"].append_column(Column("extra", Integer))
    assert [diff[0] for diff in schema_diff(store, changed)] == ["add_column"]


def test_migrate_again_is_harmless(store: Store) -> None:
    number = open_case(store).number
    store.migrate()
    assert store.get(number) is not None
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0010"]


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            insert(case_events).values(case_id=999, at=NOW, actor="x", kind="note", reason="", detail={})
        )


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "private" / "hemu.sqlite3"
    with Store.from_url(f"sqlite:///{path}") as store:
        assert mode(path) == 0o600  # before anything was written
        store.migrate()
        open_case(store)
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
            wal = path.with_name(path.name + "-wal")
            assert wal.exists() and mode(wal) == 0o600
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000}
    assert mode(path.parent) == 0o700


def test_an_existing_sqlite_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "hemu.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    Store.from_url(f"sqlite:///{path}").close()
    assert mode(path) == 0o600


def test_sqlite_writers_begin_immediate_and_readers_do_not(tmp_path: Path) -> None:
    with Store.from_url(f"sqlite:///{tmp_path / 'h.sqlite3'}") as store:
        store.migrate()
        begins: List[str] = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.startswith("BEGIN"):
                begins.append(statement)

        number = open_case(store).number
        assert begins == ["BEGIN IMMEDIATE"]
        store.get(number)
        store.outbox.pending(NOW)
        assert begins == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN"]


def test_default_location_is_a_private_var_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "var"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HEMU_VAR_DIR", str(folder))
    assert database_url() == f"sqlite:///{folder / 'hemu.sqlite3'}"
    assert mode(folder) == 0o700
    with Store.from_url() as store:
        store.migrate()
        assert open_case(store).number == "HM-2026-000001"
    assert mode(folder / "hemu.sqlite3") == 0o600
    monkeypatch.setenv("DATABASE_URL", "postgresql://hemu@db.example/hemu")
    assert database_url() == "postgresql://hemu@db.example/hemu"


def test_the_default_folder_is_var_not_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("HEMU_VAR_DIR", raising=False)
    assert Path(__file__).resolve().parents[3] == db.REPO_ROOT
    monkeypatch.setattr(db, "REPO_ROOT", tmp_path)  # do not create var/ in the working tree
    assert database_url() == f"sqlite:///{tmp_path / 'var' / 'hemu.sqlite3'}"
    assert mode(tmp_path / "var") == 0o700


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://hemu:secret@db:5432/hemu", "postgresql+psycopg2"),
        ("postgres://hemu@db/hemu", "postgresql+psycopg2"),
        ("postgresql+psycopg2://hemu@db/hemu", "postgresql+psycopg2"),
        ("sqlite:////srv/hemu/hemu.sqlite3", "sqlite+pysqlite"),
        ("sqlite:///var/hemu.sqlite3", "sqlite+pysqlite"),
    ],
)
def test_urls_are_mapped_to_the_tested_drivers(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://", "needs a SQLite file"),
        ("sqlite:///:memory:", "needs a SQLite file"),
        ("mysql://hemu@db/hemu", "unsupported database URL"),
        ("postgresql+asyncpg://hemu@db/hemu", "unsupported PostgreSQL driver"),
    ],
)
def test_unsupported_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalise_url(url)


def test_a_migration_that_finds_sqlite_locked_tries_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = repository.command.upgrade
    calls: List[int] = []

    def flaky_upgrade(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("PRAGMA journal_mode = WAL", {}, Exception("database is locked"))
        real_upgrade(*args, **kwargs)

    monkeypatch.setattr(repository.command, "upgrade", flaky_upgrade)
    monkeypatch.setattr(repository.time, "sleep", lambda _seconds: None)
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    assert len(calls) == 3
    assert open_case(store).number == "HM-2026-000001"


def test_other_migration_errors_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("ALTER TABLE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(repository.command, "upgrade", broken)
    with pytest.raises(OperationalError, match="disk I/O"):
        Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}").migrate()
