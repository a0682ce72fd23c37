"""Where the store lives and how to connect to it safely from several processes at once.

The default is one SQLite file that holds residents' disputes, so it is created private (0600 in a 0700
folder) before SQLite ever opens it. Rasa's action server and the Telegram bot write to it at the same
time; every writing transaction starts with ``BEGIN IMMEDIATE`` so writers queue on SQLite's lock
(up to ``busy_timeout``) instead of failing half-way with "database is locked" when a read lock cannot be
upgraded. PostgreSQL (``DATABASE_URL``) needs none of this, but it is across a network, and libpq waits
for ever by default: one partition would hang the gateway's notifier and promise watcher (and with them
every promise) without an error to log. So every PostgreSQL connection gets the limits of
:func:`timeouts` (environment ``HEMU_DB_*_TIMEOUT``) and TCP keepalives.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import QueuePool

from hemu import environment

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = "hemu.sqlite3"
BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key taken before migrating, so concurrent starts migrate one after the other.
MIGRATION_LOCK_KEY = 0x48454D55  # "HEMU"
# Execution option for transactions that only read: on SQLite they begin DEFERRED, so polling readers
# (the bot's outbox and promise watcher) never queue behind writers; WAL gives them a consistent snapshot.
READ_ONLY = "hemu_read_only"

_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",  # first: switching to WAL may have to wait for a lock
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


# TCP keepalives (seconds): a peer gone silent is noticed while a call waits for its answer (about 25 s);
# the server keeps answering them while a long statement runs, so a slow query is not mistaken for one.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


@dataclass(frozen=True)
class Timeouts:
    """Limits for every PostgreSQL connection, in seconds; 0 switches one off (connect cannot be off).

    The statement timeout also bounds waiting for a row or table lock, like SQLite's busy timeout
    (``BUSY_TIMEOUT_MS``), so there is no separate lock timeout: Hemu's writers hold their locks for
    milliseconds, and a wait of half a minute means something is wrong, not busy.
    """

    connect: int = 5  # libpq: whole seconds, and at least 2
    statement: float = 30.0
    # A transaction left open (its process stalled or cut off) would keep its locks, and every other
    # writer waiting for them, until the server ends the session.
    idle_in_transaction: float = 60.0


# Environment variable → (field, lowest, highest); the defaults are Timeouts' own.
TIMEOUT_ENV = {
    "HEMU_DB_CONNECT_TIMEOUT": ("connect", 2, 300),
    "HEMU_DB_STATEMENT_TIMEOUT": ("statement", 0, 3600),
    "HEMU_DB_IDLE_TRANSACTION_TIMEOUT": ("idle_in_transaction", 0, 86400),
}


def timeouts(env: Mapping[str, str] | None = None) -> Timeouts:
    """The PostgreSQL limits from the environment; a bad value is refused naming its variable."""
    env = os.environ if env is None else env
    defaults = Timeouts()
    values = {
        field: environment.number(env, name, getattr(defaults, field), low, high, "seconds")
        for name, (field, low, high) in TIMEOUT_ENV.items()
    }
    values["connect"] = math.ceil(values["connect"])
    return Timeouts(**values)  # type: ignore[arg-type]


def postgres_connect_args(url: URL, limits: Timeouts | None = None) -> dict[str, Any]:
    """libpq parameters that keep a call from hanging; whatever ``url`` sets itself wins.

    Statement limits travel as the ``options`` startup parameter, so they hold from the first statement
    on every pooled connection (a ``SET`` would be undone by the pool's rollback). ``options`` already in
    the URL are appended, and PostgreSQL lets the later ``-c`` win.
    """
    limits = limits or timeouts()
    args: dict[str, Any] = {"connect_timeout": limits.connect, **_KEEPALIVES}
    if limits.statement:
        # Data sent but never acknowledged (a partition mid-request) gives up as a statement would.
        args["tcp_user_timeout"] = round(limits.statement * 1000)
    settings = [
        f"-c statement_timeout={round(limits.statement * 1000)}",
        f"-c idle_in_transaction_session_timeout={round(limits.idle_in_transaction * 1000)}",
    ]
    own = url.query.get("options")
    args["options"] = " ".join([*settings, *([own] if isinstance(own, str) else own or [])])
    return {key: value for key, value in args.items() if key == "options" or key not in url.query}


def var_dir() -> Path:
    """Hemu's private runtime folder (``var/``, not ``data/``: that one is Rasa's training data)."""
    path = Path(os.environ.get("HEMU_VAR_DIR") or REPO_ROOT / "var")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir() / DEFAULT_FILE}"


def is_postgres(url: str | URL | None) -> bool:
    """Whether a database URL names PostgreSQL (whatever driver it spells)."""
    return bool(url) and make_url(url).get_backend_name() in ("postgresql", "postgres")


def shown_url(url: str | URL) -> str:
    """The URL as a person may see it (logs, messages): no password."""
    return make_url(url).render_as_string(hide_password=True)


def normalise_url(url: str | URL) -> URL:
    """The URL with the driver Hemu is tested with; anything else is refused rather than half-supported."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg2"):
            raise ValueError(f"unsupported PostgreSQL driver {parsed.drivername!r}: use postgresql://")
        return parsed.set(drivername="postgresql+psycopg2")
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise ValueError(f"unsupported SQLite driver {parsed.drivername!r}: use sqlite:///path")
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
            raise ValueError(
                "the case store needs a SQLite file (sqlite:///path/to/hemu.sqlite3): an in-memory database "
                "would lose every case on restart and is not shared between processes"
            )
        return parsed.set(drivername="sqlite+pysqlite")
    raise ValueError(
        f"unsupported database URL {parsed.drivername}://…: use sqlite:///path or postgresql://…"
    )


def create_private_file(path: Path) -> None:
    """Create the database file 0600 (or tighten an existing one) before SQLite opens it with the umask.

    SQLite creates its -wal and -shm files with the main file's permissions, so those stay private too.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def create_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    parsed = normalise_url(url if url is not None else database_url())
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database).expanduser().resolve()
        create_private_file(path)
        engine = sqlalchemy.create_engine(
            parsed.set(database=str(path)),
            future=True,
            # A pool instead of 1.4's NullPool default: PRAGMAs run once per connection, not per transaction.
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=10,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            hide_parameters=True,  # errors (and their logs) never carry a resident's words
            **kwargs,
        )
        _configure_sqlite(engine)
    else:
        engine = sqlalchemy.create_engine(
            parsed,
            future=True,
            pool_pre_ping=True,
            connect_args=postgres_connect_args(parsed),
            hide_parameters=True,
            **kwargs,
        )
    _forget_pool_after_fork(engine)
    return engine


def _forget_pool_after_fork(engine: Engine) -> None:
    """A forked child (e.g. a server's worker processes) must not reuse its parent's pooled connections:
    two processes on one SQLite handle or PostgreSQL socket corrupt each other's state."""
    ref = weakref.ref(engine)

    def reset() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=reset)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling issues a deferred BEGIN lazily (and none before DDL); take it
    # over as SQLAlchemy's documentation recommends, so that BEGIN is ours and SAVEPOINTs work.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def take_migration_lock(connection: Connection) -> None:
    """Serialise concurrent migrations: SQLite's IMMEDIATE transaction already does; PostgreSQL needs this."""
    if connection.dialect.name == "postgresql":
        connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def reader(engine: Engine) -> Engine:
    """The engine for reads only: on SQLite a plain BEGIN, so readers never take the write lock."""
    return engine.execution_options(**{READ_ONLY: True})
