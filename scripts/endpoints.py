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

from hemu.store.db import create_private_file, normalise_url, postgres_connect_args, var_dir
from scripts.processes import HOST
from scripts.service_secrets import ACTIONS_SECRET_ENV, ACTIONS_SECRET_HEADER

TRACKER_STORE_ENV = "HEMU_TRACKER_STORE"
MEMORY = "memory"
TRACKER_FILE = "rasa-trackers.sqlite3"
SANDBOX_TRACKER_FILE = "sandbox-trackers.sqlite3"
STORE_CLASS = "rasa_addons.tracker_store.HemuSQLTrackerStore"
PASSWORD_ENV = "HEMU_TRACKER_STORE_PASSWORD"


@dataclass(frozen=True)
class TrackerStore:
    """The ``tracker_store`` section of the endpoints file, and what Rasa needs in its environment."""

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
    if database and make_url(database).get_backend_name() in ("postgresql", "postgres"):
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


def write_endpoints(path: Path, action_port: int, trackers: TrackerStore | None = None) -> Path:
    """The file ``rasa run --endpoints`` reads; without ``trackers`` Rasa keeps conversations in memory."""
    # The action server answers only requests with the shared secret (actions/server.py); Rasa reads the
    # value from its environment when it loads this file, so the secret is never written here.
    action_endpoint = {
        "url": f"http://{HOST}:{action_port}/webhook",
        "headers": {ACTIONS_SECRET_HEADER: "${" + ACTIONS_SECRET_ENV + "}"},
    }
    content: dict[str, Any] = {"action_endpoint": action_endpoint}
    if trackers is not None:
        content["tracker_store"] = trackers.endpoint
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
