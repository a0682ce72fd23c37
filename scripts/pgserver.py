"""A PostgreSQL server started by the project from Debian's packages, loopback only: throwaway for tests and
benchmarks (own data folder, deleted on stop), or kept in a folder for `make run WORKERS=N` when no
``DATABASE_URL`` names a PostgreSQL (several Rasa workers share conversations there: SPEC §8).

PostgreSQL refuses to run as root, and CI runs as root, so there the server runs as the ``postgres``
user (or ``nobody``) through ``runuser``, in a temporary folder owned by that user. A throwaway
server has durability switched off (``fsync=off``): the data is thrown away anyway and it makes the tests
several times faster; a kept one keeps PostgreSQL's defaults.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
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
    keep: bool = False  # a kept folder (make run) survives stop and is started again next time
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
        if not (self.keep and (self.datadir / "PG_VERSION").exists()):
            self._initdb()
        durability = (
            [] if self.keep else ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                *durability,
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

    def _initdb(self) -> None:
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

    def stop(self) -> None:
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w")
        finally:
            if not self.keep:
                shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, name: str | None = None, exist_ok: bool = False) -> str:
        """A new empty database (``exist_ok``: or the one of that name); returns its URL."""
        name = name or f"test_{next(self._names)}"
        engine = sqlalchemy.create_engine(self.url(), future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                found = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
                if not (exist_ok and found):
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_server(kept_in: Path | None = None) -> PgServer:
    """Start a server on a free loopback port: fresh, or the one kept in ``kept_in`` (created the first
    time); raises PgUnavailable when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        raise PgUnavailable(
            f"PostgreSQL's initdb/pg_ctl were not found on PATH or in /usr/lib/postgresql: {INSTALL_HINT}"
        )
    user = _service_user()
    last_error: Exception | None = None
    for _ in range(3):  # the free port may be taken between choosing it and the server binding it
        base = kept_in or Path(tempfile.mkdtemp(prefix="hemu-pg-"))
        (base / "run").mkdir(parents=True, exist_ok=True)
        if user is not None and kept_in is not None:
            # The kept folder sits in Hemu's private var/ (0700): the server's user may pass through it
            # (o+x), not list it; every file in it stays private to its owner.
            os.chmod(base.parent, base.parent.stat().st_mode | stat.S_IXOTH)
        os.chmod(base, 0o700)  # residents' words
        if user is not None:
            for path in (base, base / "run"):
                os.chown(path, user.pw_uid, user.pw_gid)
        server = PgServer(bindir=bindir, base=base, port=_free_port(), user=user, keep=kept_in is not None)
        try:
            server.start()
            return server
        except Exception as error:
            last_error = error
            server.stop()
            time.sleep(0.2)
    raise RuntimeError(f"could not start a PostgreSQL server: {last_error}")
