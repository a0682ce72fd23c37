"""A half-finished report survives Rasa being killed (issue 13, point 4; SPEC §8): `make run` keeps
conversations in SQL (scripts/endpoints.py), so after ``kill -9`` and a fresh start the form goes on
with the next question and every answer given before is still there. On SQLite, as `make run` by
default, and on PostgreSQL, the case store's own server.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from scripts.endpoints import tracker_store, tracker_store_url
from scripts.processes import Service
from scripts.stack import Stack, start_stack
from scripts.train import model_path
from tests.auxil.pgserver import PgServer, server_or_skip
from tests.e2e.rest import request

pytestmark = pytest.mark.rasa


class Resident:
    """One conversation over Rasa's REST channel, as the gateway holds it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = f"resident-{uuid.uuid4().hex[:8]}"

    def say(self, text: str) -> str:
        url = f"{self.stack.rasa_url}/webhooks/rest/webhook"
        replies = request("POST", url, {"sender": self.sender, "message": text, "metadata": {}})
        return "\n".join(reply.get("text", "") for reply in replies)

    def tracker(self) -> dict[str, Any]:
        return request("GET", self.stack.rasa_api(f"/conversations/{self.sender}/tracker"))


def kill_hard(service: Service) -> None:
    """``kill -9`` on Rasa's process group: no shutdown hook, nothing flushed on the way out."""
    os.killpg(service.pid, signal.SIGKILL)
    service.process.wait()


def report_survives_a_killed_rasa(stack: Stack) -> Resident:
    """Two answers of the report form, Rasa killed and started again, the third answer."""
    resident = Resident(stack)
    assert "发生在哪里" in resident.say("楼上那家天天半夜拖椅子，咚咚咚的根本睡不着")
    assert "涉及哪些人" in resident.say("滨河社区3栋2单元")
    kill_hard(stack.rasa)
    stack.start("rasa")  # waits until the new Rasa has loaded its model
    assert "持续多久" in resident.say("楼上602的住户")
    tracker = resident.tracker()
    slots = tracker["slots"]
    assert tracker["active_loop"]["name"] == "report_form" and slots["requested_slot"] == "duration"
    assert slots["category"] == "report_noise"
    assert slots["area"] == "滨河社区3栋2单元" and slots["parties"] == "楼上602的住户"
    assert "拖椅子" in slots["report_text"]
    return resident


@pytest.fixture(scope="module")
def model() -> Path:
    found = model_path()
    if not found.is_file():
        pytest.fail(f"no trained model at {found}: run `make train`")
    return found


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    with server_or_skip() as server:
        yield server


def test_on_sqlite_a_report_goes_on_after_rasa_was_killed_and_forget_erases_it(
    model: Path, tmp_path: Path
) -> None:
    path = tmp_path / "rasa-trackers.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'hemu.sqlite3'}"}
    with start_stack(model, tmp_path / "logs", env=env, trackers=tracker_store(f"sqlite:///{path}")) as stack:
        resident = report_survives_a_killed_rasa(stack)
        # The gateway's /forget: the conversation replaced by a lone restart, the words gone from disk.
        url = stack.rasa_api(f"/conversations/{resident.sender}/tracker/events")
        request("PUT", url, [{"event": "restart"}])
        with closing(sqlite3.connect(path)) as conn:
            rows = [
                data
                for (data,) in conn.execute("SELECT data FROM events WHERE sender_id = ?", (resident.sender,))
            ]
        assert len(rows) == 1 and '"restart"' in rows[0]
        assert resident.tracker()["slots"]["area"] is None


@pytest.mark.postgres
def test_on_postgresql_a_report_goes_on_after_rasa_was_killed(
    model: Path, postgres: PgServer, tmp_path: Path
) -> None:
    """`make run` with DATABASE_URL on PostgreSQL: conversations in the same database as the cases."""
    url = postgres.create_database()
    trackers = tracker_store(tracker_store_url({"DATABASE_URL": url}) or "")
    assert trackers.endpoint["dialect"] == "postgresql"
    with start_stack(model, tmp_path / "logs", env={"DATABASE_URL": url}, trackers=trackers) as stack:
        report_survives_a_killed_rasa(stack)
