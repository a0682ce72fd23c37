"""Several Rasa workers behind the gateway: sticky by resident, a dead worker passed over and taken back,
and never a second worker for a turn the first may be running."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from bot.config import load_gateway_config
from bot.rasa_client import RasaUnavailable
from bot.rasa_pool import RasaPool
from hemu.errors import ConfigError

RASA = ["http://127.0.0.1:5005", "http://127.0.0.1:5006", "http://127.0.0.1:5007"]
ACTIONS = ["http://127.0.0.1:5055", "http://127.0.0.1:5056"]


class Workers:
    """Three Rasa workers and two action servers as one scripted transport."""

    def __init__(self) -> None:
        self.down: set[str] = set()  # base URLs refusing connections
        self.turns: list[tuple[str, str]] = []  # (worker, sender)
        self.dropping: set[str] = set()  # workers dropping the connection mid-turn

    def __call__(self, request: httpx.Request) -> httpx.Response:
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        if base in self.down:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path in ("/health", "/status"):
            return httpx.Response(200, json={})
        if request.url.path == "/webhooks/rest/webhook":
            if base in self.dropping:
                raise httpx.RemoteProtocolError("dropped", request=request)
            sender = request.read().decode()
            self.turns.append((base, sender))
            return httpx.Response(200, json=[{"recipient_id": "x", "text": base}])
        return httpx.Response(200, json={"events": [{"event": "user", "worker": base}]})

    def worker_of(self, sender: str) -> set[str]:
        return {worker for worker, body in self.turns if f'"sender":"{sender}"' in body.replace(" ", "")}


@pytest.fixture
async def pool_and_workers() -> tuple[RasaPool, Workers]:
    workers = Workers()
    pool = RasaPool.from_urls(RASA, ACTIONS, health_ttl=0.2, transport=httpx.MockTransport(workers))
    yield pool, workers  # type: ignore[misc]
    await pool.aclose()


async def test_each_worker_is_paired_with_an_action_server_in_turn() -> None:
    pool = RasaPool.from_urls(RASA, ACTIONS)
    assert [client.actions_url for client in pool.clients] == [ACTIONS[0], ACTIONS[1], ACTIONS[0]]
    await pool.aclose()


async def test_a_resident_stays_with_one_worker_and_residents_spread_over_all(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    for round_ in range(3):
        for sender in range(300):
            await pool.turn(str(sender), f"message {round_}", {})
    assert all(len(workers.worker_of(str(sender))) == 1 for sender in range(300))
    share = Counter(worker for worker, _ in workers.turns)
    assert set(share) == set(RASA)
    assert all(60 <= count / 3 <= 140 for count in share.values()), share


async def test_a_dead_worker_is_passed_over_and_only_its_residents_move(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    for sender in range(60):
        await pool.turn(str(sender), "before", {})
    home = {str(sender): workers.worker_of(str(sender)).pop() for sender in range(60)}
    dead = RASA[1]
    workers.down.add(dead)
    workers.turns.clear()
    for sender in range(60):
        replies = await pool.turn(str(sender), "during", {})
        assert replies[0]["text"] != dead
    moved = {sender for sender in home if workers.worker_of(sender) != {home[sender]}}
    assert moved == {sender for sender, worker in home.items() if worker == dead}
    assert moved, "the dead worker had residents"


async def test_a_worker_whose_action_server_is_down_is_passed_over(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    workers.down.add(ACTIONS[0])  # the action server of workers 0 and 2
    for sender in range(30):
        await pool.turn(str(sender), "hello", {})
    assert {worker for worker, _ in workers.turns} == {RASA[1]}


async def test_a_worker_that_comes_back_gets_its_residents_back(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    await pool.turn("7", "first", {})
    home = workers.worker_of("7").pop()
    workers.down.add(home)
    await pool.turn("7", "while down", {})
    assert workers.turns[-1][0] != home
    workers.down.discard(home)
    deadline = time.monotonic() + 30
    while workers.turns[-1][0] != home:  # back once its "down" has expired (health_ttl)
        assert time.monotonic() < deadline, "the worker never came back into the rotation"
        await asyncio.sleep(0.05)
        await pool.turn("7", "again", {})


async def test_a_turn_that_may_have_reached_a_worker_is_not_sent_to_another(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    await pool.turn("9", "first", {})
    home = workers.worker_of("9").pop()
    workers.dropping.add(home)
    workers.turns.clear()
    with pytest.raises(RasaUnavailable) as raised:
        await pool.turn("9", "mid-turn drop", {})
    assert raised.value.reached
    assert workers.turns == []  # no other worker was given it


async def test_all_workers_down_is_an_outage_and_the_tracker_is_read_from_any_worker(
    pool_and_workers: tuple[RasaPool, Workers],
) -> None:
    pool, workers = pool_and_workers
    workers.down.update(RASA)
    with pytest.raises(RasaUnavailable) as raised:
        await pool.turn("1", "hello", {})
    assert not raised.value.reached
    assert not await pool.healthy(fresh=True)
    workers.down = {RASA[0], RASA[2]}
    assert await pool.healthy(fresh=True)
    events = await pool.events("1")  # the tracker store is shared: any worker that answers will do
    assert events == [{"event": "user", "worker": RASA[1]}]


def test_the_gateway_reads_several_workers_from_the_environment() -> None:
    config = load_gateway_config({"HEMU_RASA_URL": f"{RASA[0]}, {RASA[1]}/", "HEMU_ACTIONS_URL": ACTIONS[0]})
    assert config.rasa_urls == (RASA[0], RASA[1]) and config.actions_urls == (ACTIONS[0],)
    with pytest.raises(ConfigError, match="HEMU_RASA_URL"):
        load_gateway_config({"HEMU_RASA_URL": "127.0.0.1:5005"})
