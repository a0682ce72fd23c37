"""Every store test runs on SQLite (a file in tmp_path) and on a real PostgreSQL server started here.

The server is started once per session (about a second) and each test gets its own new database, so
tests never see each other's rows. Without PostgreSQL installed the postgres half is skipped, except
under CI (env ``CI`` set), where it fails: CI must prove both backends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from hemu.store import Store
from tests.auxil.pgserver import PgServer, PgUnavailable, start_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    try:
        server = start_server()
    except PgUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL for the store tests: {error}")
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database (not yet migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hemu.sqlite3'}"
    server: PgServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """More stores on the same database, each with its own engine: like separate processes."""
    stores: List[Store] = []

    def make() -> Store:
        store = Store.from_url(store_url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    store = make_store()
    store.migrate()
    return store
