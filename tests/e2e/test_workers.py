"""Several Rasa workers on one PostgreSQL tracker store and a Redis lock store (issue 15, point 5), as
`make run WORKERS=2` starts them (scripts/stack.py): real Rasa, action servers, Redis and PostgreSQL.

* a conversation started on one worker goes on on the other, form half filled, language kept;
* a worker killed mid-conversation: the gateway's pool (bot/rasa_pool.py) gives the next message to the
  other worker, which carries on from the same state;
* one resident's two messages sent to the two workers at once are taken in order (the lock store).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.rasa_pool import RasaPool
from scripts.endpoints import LOCK_KEY_PREFIX, tracker_store
from scripts.redisserver import RedisUnavailable, redis_binary
from scripts.stack import Hemu, start_all
from scripts.train import model_path
from tests.auxil.pgserver import PgServer, server_or_skip
from tests.e2e.rest import request

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


class Resident:
    """One conversation over Rasa's REST channel, each message to the worker the test names."""

    def __init__(self, hemu: Hemu, language: str | None = None) -> None:
        self.hemu = hemu
        self.sender = f"resident-{uuid.uuid4().hex[:8]}"
        self.language = language

    def say(self, text: str, worker: int) -> str:
        # The language goes with the first message only: later turns must find it in the shared tracker.
        metadata = {"language": self.language} if self.language else {}
        self.language = None
        url = f"{self.hemu.rasa_urls[worker]}/webhooks/rest/webhook"
        replies = request("POST", url, {"sender": self.sender, "message": text, "metadata": metadata})
        return "\n".join(reply.get("text", "") for reply in replies)

    def tracker(self, worker: int = 0) -> dict[str, Any]:
        return request("GET", self.hemu.rasa_api(f"/conversations/{self.sender}/tracker", worker))


def redis_keys(port: int, pattern: str) -> list[str]:
    """KEYS over Redis's plain protocol (the test needs no client library of its own)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        parts = ["KEYS", pattern]
        command = "".join(f"${len(part)}\r\n{part}\r\n" for part in parts)
        sock.sendall(f"*{len(parts)}\r\n{command}".encode())
        answer = sock.recv(65536).decode()
    return [line for line in answer.split("\r\n")[1:] if line and not line.startswith(("$", "*"))]


@pytest.fixture(scope="module")
def redis() -> None:
    try:
        redis_binary()
    except RedisUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis: {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    with server_or_skip() as server:
        yield server


@pytest.fixture(scope="module")
def hemu(redis: None, postgres: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hemu]:
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    url = postgres.create_database()
    with start_all(
        model,
        tmp_path_factory.mktemp("logs"),
        env={"DATABASE_URL": url},
        telegram=False,
        trackers=tracker_store(url),
        workers=2,
    ) as running:
        yield running


def test_each_worker_has_its_own_action_server_and_both_share_the_lock_store(hemu: Hemu) -> None:
    files = [path.read_text(encoding="utf-8") for path in hemu.endpoint_files]
    assert f":{hemu.action_ports[0]}/webhook" in files[0] and f":{hemu.action_ports[1]}/webhook" in files[1]
    assert all("lock_store:" in text and "type: redis" in text for text in files)
    assert sorted(hemu.services) == ["actions", "actions-2", "rasa", "rasa-2", "redis"]


def test_a_conversation_started_on_one_worker_goes_on_on_the_other(hemu: Hemu) -> None:
    resident = Resident(hemu, language="en")
    assert "Where is this happening" in resident.say(
        "someone lets their dog poop in the lift and never cleans it", worker=0
    )
    assert "Who" in resident.say("Donghu Court 5-702", worker=1)  # English, from the shared tracker
    assert "How long" in resident.say("the family in 801", worker=0)
    tracker = resident.tracker(worker=1)
    slots = tracker["slots"]
    assert tracker["active_loop"]["name"] == "report_form" and slots["requested_slot"] == "duration"
    assert slots["language"] == "en" and slots["category"] == "report_pet_dispute"
    assert slots["area"] == "Donghu Court 5-702" and slots["parties"] == "the family in 801"


def test_a_killed_worker_is_passed_over_and_the_other_goes_on_from_the_same_state(hemu: Hemu) -> None:
    resident = Resident(hemu)

    async def conversation() -> tuple[str, str, int]:
        actions = [f"http://127.0.0.1:{port}" for port in hemu.action_ports]
        pool = RasaPool.from_urls(hemu.rasa_urls, actions, timeout=90, health_ttl=2)
        try:
            first = await pool.turn(resident.sender, "楼上那家天天半夜拖椅子，咚咚咚的根本睡不着", {})
            assert "发生在哪里" in "\n".join(reply.get("text", "") for reply in first)
            home = hemu.rasa_urls.index(pool.order(resident.sender)[0].rasa_url)
            service = hemu.services["rasa" if home == 0 else "rasa-2"]
            os.killpg(service.pid, signal.SIGKILL)  # kill -9 mid-conversation: nothing said on the way out
            service.process.wait()
            second = await pool.turn(resident.sender, "滨河社区3栋2单元", {})
            return "\n".join(reply.get("text", "") for reply in second), service.name, 1 - home
        finally:
            await pool.aclose()

    reply, killed, other = asyncio.run(conversation())
    try:
        assert "涉及哪些人" in reply
        slots = resident.tracker(worker=other)["slots"]
        assert slots["category"] == "report_noise" and slots["area"] == "滨河社区3栋2单元"
        assert slots["requested_slot"] == "parties"
    finally:
        hemu.start(killed)  # the module's other tests want both workers back


def test_two_messages_to_two_workers_at_once_are_taken_in_order(hemu: Hemu) -> None:
    """The second worker waits for the first's turn (Redis holds the conversation's lock): the second
    message is the answer to the question the first turn asked, not a second opening."""
    assert hemu.redis_port is not None
    resident = Resident(hemu)
    replies: dict[int, str] = {}

    def say(text: str, worker: int) -> None:
        replies[worker] = resident.say(text, worker)

    first = threading.Thread(target=say, args=("楼上那家天天半夜拖椅子，咚咚咚的根本睡不着", 0))
    first.start()
    deadline = time.monotonic() + 60
    pattern = f"{LOCK_KEY_PREFIX}:*{resident.sender}*"
    while not redis_keys(hemu.redis_port, pattern):  # worker 0 holds the lock: its turn is under way
        assert time.monotonic() < deadline, "no lock for the conversation appeared in Redis"
        if not first.is_alive():
            pytest.fail("the first turn finished before its lock was seen; the lock store is not Redis")
        time.sleep(0.005)
    second = threading.Thread(target=say, args=("滨河社区3栋2单元", 1))
    second.start()
    first.join(120)
    second.join(120)
    assert "发生在哪里" in replies[0] and "涉及哪些人" in replies[1]
    events = resident.tracker()["events"]
    texts = [event.get("text") for event in events if event["event"] == "user"]
    assert texts == ["楼上那家天天半夜拖椅子，咚咚咚的根本睡不着", "滨河社区3栋2单元"]
    slots = resident.tracker()["slots"]
    assert slots["area"] == "滨河社区3栋2单元" and slots["requested_slot"] == "parties"
