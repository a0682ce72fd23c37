"""Actions wait for the database off the event loop (issue 13, point 5).

rasa-sdk runs every action of every resident on one event loop. An action that waited for the case store
on it (SQLite waits out another writer for up to 30 s, PostgreSQL a lock for its statement timeout)
stopped all the others meanwhile, a danger reply included. Here the store is held by another connection
while one resident asks for an officer; another resident's action, which needs no database, and the
action server's /health must still be answered before the lock goes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import event, text

from actions.server import HEADER, SECRET_ENV
from hemu.desk import Desk
from hemu.store import Store
from scripts.processes import HOST, free_port, wait_all_ready
from scripts.stack import start_action_server
from tests.auxil.pgserver import PgServer, server_or_skip
from tests.auxil.trackers import make_tracker

NOISE_REPORT = {
    "category": "report_noise",
    "report_text": "楼上天天半夜拖椅子",
    "area": "滨河社区3栋",
    "area_id": "binhe",
    "parties": "楼上602",
    "duration": "半年",
    "harm": "none",
    "contact_consent": False,
}
WAIT = 20.0  # seconds for a signal that a healthy run gives at once; less than SQLite's 30 s busy timeout


def action_call(name: str, sender: str, domain: dict[str, Any], **tracker: Any) -> dict[str, Any]:
    """What Rasa posts to the action server's /webhook (rasa-sdk hands it to ActionExecutor.run)."""
    state = make_tracker(sender_id=sender, **tracker).current_state()
    return {"next_action": name, "sender_id": sender, "tracker": state, "domain": domain}


@contextmanager
def write_locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction on the store file, held until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield holder
    finally:
        holder.close()


def first_write_attempt(desk: Desk) -> threading.Event:
    """Set when the desk starts a write transaction: from then on it waits for the lock."""
    began = threading.Event()

    @event.listens_for(desk.store.engine, "before_cursor_execute")
    def _seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            began.set()

    return began


async def test_another_residents_action_is_answered_while_one_waits_for_the_store(
    case_desk: Desk, domain: dict[str, Any], tmp_path: Path
) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    began = first_write_attempt(case_desk)
    officer = action_call("action_request_officer", "resident-1", domain, text="需要", slots=NOISE_REPORT)
    guidance = action_call(
        "action_give_guidance", "resident-2", domain, text="好的", slots={"category": "report_noise"}
    )
    with write_locked(tmp_path / "hemu.sqlite3") as holder:
        waiting = asyncio.create_task(executor.run(officer))
        # On the old code this await only returned once the hand-off had given up (the loop was blocked).
        assert await asyncio.to_thread(began.wait, WAIT), "the hand-off never tried to write"
        answered = await asyncio.wait_for(executor.run(guidance), WAIT)
        assert "调解" in answered["responses"][0]["text"]
        assert not waiting.done(), "the hand-off finished while the store was still locked"
        holder.execute("ROLLBACK")
        handed_off = await asyncio.wait_for(waiting, WAIT)
    [case] = case_desk.store.cases()
    assert case.resident_id == "resident-1"
    assert {"event": "slot", "name": "case_number", "value": case.number} in [
        {key: e.get(key) for key in ("event", "name", "value")} for e in handed_off["events"]
    ]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    with server_or_skip() as server:
        yield server


SECRET = "a-test-secret-of-enough-length"


def post_json(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """As Rasa calls the action server: with the shared secret (actions/server.py)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", HEADER: SECRET}
    request = urllib.request.Request(url, body, headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def waiting_for_a_lock(store: Store, database: str) -> bool:
    """Whether some session of ``database`` (the action server's) is queued behind a lock right now."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'")
    with store.engine.connect() as conn:
        return conn.execute(query, {"db": database}).scalar() > 0


@pytest.mark.rasa
@pytest.mark.postgres
def test_the_action_server_answers_health_while_an_action_waits_for_a_lock(
    postgres: PgServer, domain: dict[str, Any], tmp_path: Path
) -> None:
    """The real server (`rasa run actions`, as `make run` starts it) on a PostgreSQL store."""
    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    port = free_port()
    with Store.from_url(url) as store:
        store.migrate()
        server = start_action_server(port, tmp_path, {"DATABASE_URL": url, SECRET_ENV: SECRET})
        try:
            wait_all_ready([server], 120)
            with store.engine.connect() as holder, ThreadPoolExecutor(1) as pool:
                holder.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
                call = action_call(
                    "action_request_officer", "resident-1", domain, text="需要", slots=NOISE_REPORT
                )
                webhook = pool.submit(post_json, f"http://{HOST}:{port}/webhook", call, 60)
                deadline = time.monotonic() + WAIT
                while not waiting_for_a_lock(store, database):
                    assert not webhook.done(), webhook.result()
                    assert time.monotonic() < deadline, "the hand-off never reached the locked table"
                    time.sleep(0.05)
                # On the old code the loop was inside the hand-off: no answer until the statement timeout.
                with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=5) as health:
                    assert health.status == 200
                assert not webhook.done()
                holder.rollback()
                handed_off = webhook.result(timeout=WAIT)
        finally:
            server.stop()
        [case] = store.cases()
    assert case.number in handed_off["responses"][0]["text"]
