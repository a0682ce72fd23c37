"""A throwaway PostgreSQL server for tests and benchmarks: own data folder, loopback only, deleted on stop.

PostgreSQL refuses to run as root, and CI runs as root, so there the server runs as the ``postgres``
user (or ``nobody``) through ``runuser``, in a temporary folder owned by that user. Durability is
switched off (``fsync=off``): the data is thrown away anyway and it makes the tests several times faster.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import List

import sqlalchemy

INSTALL_HINT = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql)"
SUPERUSER = "postgres"


class PgUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine; the message says how to install them."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: PATH first, else Debian's versioned folders (newest)."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: [int(part) if part.isdigit() else 0 for part in Path(path).parts[-3].split(".")],
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_user() -> pwd.struct_passwd | None:
    """Who runs the server when we are root; None when we are not root (then we run it ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgUnavailable(
        "running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL"
    )


@dataclass
class PgServer:
    bindir: Path
    base: Path
    port: int
    user: pwd.struct_passwd | None
    _names: count = field(default_factory=lambda: count(1))

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> List[str]:
        prefix = ["runuser", "-u", self.user.pw_name, "--"] if self.user else []
        return [*prefix, *args]

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            self._command(*args), capture_output=True, text=True, timeout=timeout, cwd=self.base
        )
        if result.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{tail}"
            )

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "start",
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-t",
            "60",
            timeout=90,
        )

    def stop(self) -> None:
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"test_{next(self._names)}"
        engine = sqlalchemy.create_engine(self.url(), future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_server() -> PgServer:
    """Start a fresh server on a free loopback port; raises PgUnavailable when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        raise PgUnavailable(
            f"PostgreSQL's initdb/pg_ctl were not found on PATH or in /usr/lib/postgresql: {INSTALL_HINT}"
        )
    user = _service_user()
    last_error: Exception | None = None
    for _ in range(3):  # the free port may be taken between choosing it and the server binding it
        base = Path(tempfile.mkdtemp(prefix="hemu-pg-"))
        (base / "run").mkdir()
        if user is not None:
            for path in (base, base / "run"):
                os.chown(path, user.pw_uid, user.pw_gid)
        server = PgServer(bindir=bindir, base=base, port=_free_port(), user=user)
        try:
            server.start()
            return server
        except Exception as error:
            last_error = error
            server.stop()
            time.sleep(0.2)
    raise RuntimeError(f"could not start a PostgreSQL server: {last_error}")


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
