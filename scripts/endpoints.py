"""Rasa's endpoints file as `make run` writes it: where the action server is, and where Rasa keeps
conversations.

Rasa's default keeps every conversation in memory, so a Rasa restart forgot each half-finished report and
the resident was asked from the beginning again (SPEC §8: conversations survive a restart). `make run`
therefore keeps them in SQL, through :class:`rasa_addons.tracker_store.HemuSQLTrackerStore` (Rasa's SQL
store whose "replace" replaces, which ``/forget`` relies on):

* ``HEMU_TRACKER_STORE`` — ``memory`` for Rasa's in-memory store, or a database URL;
* else, with ``DATABASE_URL`` on PostgreSQL, the same database (Rasa's table is ``events``; several Rasa
  servers can share it, SPEC §8);
* else a private SQLite file in Hemu's var folder (``HEMU_VAR_DIR``), ``rasa-trackers.sqlite3``: not the
  case store's file, because Rasa writes every turn and the case store's writers should not queue
  behind it.

PostgreSQL connections get the case store's limits (:func:`hemu.store.db.timeouts`), so Rasa cannot hang
on a partition either. The password stays out of the file: Rasa reads ``${HEMU_TRACKER_STORE_PASSWORD}``
from its environment (:attr:`TrackerStore.env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from hemu.store.db import create_private_file, is_postgres, normalise_url, postgres_connect_args, var_dir
from scripts.processes import HOST
from scripts.service_secrets import ACTIONS_SECRET_ENV, ACTIONS_SECRET_HEADER

TRACKER_STORE_ENV = "HEMU_TRACKER_STORE"
MEMORY = "memory"
TRACKER_FILE = "rasa-trackers.sqlite3"
SANDBOX_TRACKER_FILE = "sandbox-trackers.sqlite3"
STORE_CLASS = "rasa_addons.tracker_store.HemuSQLTrackerStore"
PASSWORD_ENV = "HEMU_TRACKER_STORE_PASSWORD"
LOCK_STORE_ENV = "REDIS_URL"
LOCK_PASSWORD_ENV = "HEMU_LOCK_STORE_PASSWORD"
LOCK_KEY_PREFIX = "hemu"


@dataclass(frozen=True)
class TrackerStore:
    """A ``tracker_store`` or ``lock_store`` section of the endpoints file, and what Rasa needs in its
    environment for it."""

    endpoint: dict[str, Any]
    shown: str  # where the conversations are, for a person (no password)
    env: dict[str, str] = field(default_factory=dict)


def tracker_store_url(env: Mapping[str, str] | None = None, default_file: str = TRACKER_FILE) -> str | None:
    """The database for Rasa's conversations (module docstring); None: Rasa's memory. ``default_file``
    under var/ when nothing says otherwise (the sandbox keeps its play conversations apart)."""
    env = os.environ if env is None else env
    chosen = (env.get(TRACKER_STORE_ENV) or "").strip()
    if chosen.lower() == MEMORY:
        return None
    if chosen:
        return chosen
    database = (env.get("DATABASE_URL") or "").strip()
    if is_postgres(database):
        return database
    return f"sqlite:///{var_dir() / default_file}"


def tracker_store(url: str) -> TrackerStore:
    """Rasa's SQL store keys (dialect, url, port, db, username, password, query) for ``url``.

    Only what the case store supports: a SQLite file or PostgreSQL (anything else is refused here,
    rather than by Rasa falling back to memory with a warning nobody reads)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database).expanduser().resolve()
        create_private_file(path)  # residents' words: 0600 before Rasa creates it with the umask
        endpoint = {"type": STORE_CLASS, "dialect": "sqlite", "db": str(path)}
        return TrackerStore(endpoint=endpoint, shown=f"sqlite:///{path}")
    query = {**parsed.query, **{key: str(value) for key, value in postgres_connect_args(parsed).items()}}
    endpoint = {
        "type": STORE_CLASS,
        "dialect": "postgresql",
        "url": parsed.host,
        "port": parsed.port,
        "db": parsed.database,
        "username": parsed.username,
        "query": query,
    }
    secrets: dict[str, str] = {}
    if parsed.password:
        endpoint["password"] = "${" + PASSWORD_ENV + "}"
        secrets[PASSWORD_ENV] = parsed.password
    shown = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=True)
    return TrackerStore(endpoint=endpoint, shown=shown, env=secrets)


def lock_store(url: str) -> TrackerStore:
    """Rasa's Redis lock store for ``redis://[:password@]host:port[/db]``: with several Rasa workers it
    keeps one conversation's turns in order whichever worker takes them (Rasa's own in-process locks
    cannot see another process). The password, like the tracker store's, stays in the environment."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "redis":
        raise ValueError(f"{url!r}: expected redis://host:port/db")
    endpoint: dict[str, Any] = {
        "type": "redis",
        "url": parsed.host or HOST,
        "port": parsed.port or 6379,
        "db": int(parsed.database or 0),
        "key_prefix": LOCK_KEY_PREFIX,
    }
    secrets: dict[str, str] = {}
    if parsed.password:
        endpoint["password"] = "${" + LOCK_PASSWORD_ENV + "}"
        secrets[LOCK_PASSWORD_ENV] = str(parsed.password)
    return TrackerStore(endpoint=endpoint, shown=parsed.render_as_string(hide_password=True), env=secrets)


def write_endpoints(
    path: Path, action: int | str, trackers: TrackerStore | None = None, locks: TrackerStore | None = None
) -> Path:
    """The file ``rasa run --endpoints`` reads. ``action``: the action server's port on loopback, or its
    base URL (another host: docker-compose). Without ``trackers`` Rasa keeps conversations in memory,
    without ``locks`` its conversation locks are its own process's (right for a single worker)."""
    # The action server answers only requests with the shared secret (actions/server.py); Rasa reads the
    # value from its environment when it loads this file, so the secret is never written here.
    base = f"http://{HOST}:{action}" if isinstance(action, int) else action.rstrip("/")
    action_endpoint = {
        "url": f"{base}/webhook",
        "headers": {ACTIONS_SECRET_HEADER: "${" + ACTIONS_SECRET_ENV + "}"},
    }
    content: dict[str, Any] = {"action_endpoint": action_endpoint}
    if trackers is not None:
        content["tracker_store"] = trackers.endpoint
    if locks is not None:
        content["lock_store"] = locks.endpoint
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m scripts.endpoints OUT``: the endpoints file for one Rasa worker of a deployment
    (docker-compose.yml, systemd), from the same environment `make run` reads — ``HEMU_ACTIONS_URL``
    (this worker's action server), ``DATABASE_URL``/``HEMU_TRACKER_STORE``, ``REDIS_URL`` — so a
    deployment's Rasa is configured by the code `make run` uses, not by a second hand-written file."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m scripts.endpoints", description=main.__doc__)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    action = (os.environ.get("HEMU_ACTIONS_URL") or "").split(",")[0].strip() or f"http://{HOST}:5055"
    try:
        url = tracker_store_url(os.environ)
        trackers = tracker_store(url) if url else None
        redis = (os.environ.get(LOCK_STORE_ENV) or "").strip()
        locks = lock_store(redis) if redis else None
    except ValueError as error:
        print(f"endpoints: {error}", file=sys.stderr)
        return 2
    write_endpoints(args.out, action, trackers, locks)
    missing = [
        name
        for name in {**(trackers.env if trackers else {}), **(locks.env if locks else {})}
        if not os.environ.get(name)
    ]
    if missing:
        print(
            f"endpoints: Rasa also needs {', '.join(missing)} in its environment (the passwords)",
            file=sys.stderr,
        )
    print(
        f"{args.out}: actions {action}, conversations in {trackers.shown if trackers else 'memory'}, "
        f"locks in {locks.shown if locks else 'this process'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
