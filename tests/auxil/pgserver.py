"""PostgreSQL for tests: the project's own server (scripts/pgserver.py), skipped where it cannot run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from scripts.pgserver import PgServer, PgUnavailable, start_server

__all__ = ["PgServer", "PgUnavailable", "server_or_skip", "start_server"]


@contextmanager
def server_or_skip() -> Iterator[PgServer]:
    """A server for a test module: skipped without PostgreSQL installed, except under CI (env ``CI``),
    which must prove both backends; stopped when the block ends."""
    import pytest

    try:
        server = start_server()
    except PgUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {error}")
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()
