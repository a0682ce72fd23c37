"""The gateway's Rasa client: what it sends, what counts as an outage, how health is cached."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from bot.rasa_client import RasaClient, RasaError, RasaUnavailable

RASA = "http://127.0.0.1:5005"
ACTIONS = "http://127.0.0.1:5055"


class Servers:
    """Rasa and the action server as one scripted transport; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.rasa_up = True
        self.actions_up = True
        self.status_code = 200
        self.webhook: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(
            200, json=[{"recipient_id": "1", "text": "hi"}]
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url.startswith(ACTIONS):
            if not self.actions_up:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200, json={"status": "ok"})
        if not self.rasa_up:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/status":
            return httpx.Response(self.status_code, json={})
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        if request.url.path == "/webhooks/rest/webhook":
            return self.webhook(request)
        return httpx.Response(200, json={})

    def paths(self, prefix: str = "") -> list[str]:
        return [r.url.path for r in self.requests if str(r.url).startswith(prefix)]


@pytest.fixture
def servers() -> Servers:
    return Servers()


@pytest.fixture
async def client(servers: Servers) -> RasaClient:
    client = RasaClient(RASA, ACTIONS, timeout=5, health_ttl=60, transport=httpx.MockTransport(servers))
    yield client  # type: ignore[misc]
    await client.aclose()


async def test_send_posts_the_rest_channel_body(client: RasaClient, servers: Servers) -> None:
    replies = await client.send("42", "楼上太吵了", {"language": "zh", "telegram_user_id": 42})
    assert replies == [{"recipient_id": "1", "text": "hi"}]
    request = servers.requests[-1]
    assert request.method == "POST" and request.url.path == "/webhooks/rest/webhook"
    assert json.loads(request.content) == {
        "sender": "42",
        "message": "楼上太吵了",
        "metadata": {"language": "zh", "telegram_user_id": 42},
    }


@pytest.mark.parametrize("status", [500, 502, 503, 409])
async def test_server_errors_are_outages(client: RasaClient, servers: Servers, status: int) -> None:
    servers.webhook = lambda r: httpx.Response(status, text="nope")
    with pytest.raises(RasaUnavailable):
        await client.send("42", "hi", {})


async def test_client_errors_and_garbage_are_not_outages(client: RasaClient, servers: Servers) -> None:
    servers.webhook = lambda r: httpx.Response(400, text="bad")
    with pytest.raises(RasaError):
        await client.send("42", "hi", {})
    servers.webhook = lambda r: httpx.Response(200, text="<html>")
    with pytest.raises(RasaError):
        await client.send("42", "hi", {})
    servers.webhook = lambda r: httpx.Response(200, json={"text": "not a list"})
    with pytest.raises(RasaError):
        await client.send("42", "hi", {})


async def test_timeouts_and_refused_connections_are_outages(servers: Servers) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    servers.webhook = slow
    client = RasaClient(RASA, ACTIONS, transport=httpx.MockTransport(servers))
    with pytest.raises(RasaUnavailable):
        await client.send("42", "hi", {})
    await client.aclose()
    # A real socket: nothing listens on the discard port here.
    real = RasaClient("http://127.0.0.1:9", "http://127.0.0.1:9", timeout=2)
    with pytest.raises(RasaUnavailable):
        await real.send("42", "hi", {})
    assert await real.healthy() is False
    await real.aclose()


async def test_healthy_needs_rasa_and_the_action_server(client: RasaClient, servers: Servers) -> None:
    assert await client.healthy() is True
    assert "/status" in servers.paths(RASA) and "/health" in servers.paths(ACTIONS)
    servers.actions_up = False
    assert await client.healthy() is True  # cached
    assert await client.healthy(fresh=True) is False
    servers.actions_up = True
    servers.status_code = 409  # model still loading
    assert await client.healthy(fresh=True) is False
    servers.status_code = 404  # API not enabled: the root answers instead
    assert await client.healthy(fresh=True) is True


async def test_a_burst_shares_one_health_check(servers: Servers) -> None:
    client = RasaClient(RASA, ACTIONS, health_ttl=2, transport=httpx.MockTransport(servers))
    results = await asyncio.gather(*(client.healthy() for _ in range(50)))
    assert all(results)
    assert servers.paths(ACTIONS).count("/health") == 1
    await client.aclose()


async def test_turn_checks_health_first(client: RasaClient, servers: Servers) -> None:
    servers.actions_up = False
    with pytest.raises(RasaUnavailable):
        await client.turn("42", "hi", {})
    assert "/webhooks/rest/webhook" not in servers.paths()


async def test_a_failed_request_forgets_the_cached_health(client: RasaClient, servers: Servers) -> None:
    assert await client.healthy() is True
    servers.rasa_up = False
    with pytest.raises(RasaUnavailable):
        await client.turn("42", "hi", {})
    assert await client.healthy() is False  # checked again, not the cached True


async def test_empty_answer_after_actions_died_is_an_outage(client: RasaClient, servers: Servers) -> None:
    assert await client.healthy() is True

    def empty(request: httpx.Request) -> httpx.Response:
        servers.actions_up = False  # the action server dies during the turn
        return httpx.Response(200, json=[])

    servers.webhook = empty
    with pytest.raises(RasaUnavailable):
        await client.turn("42", "hi", {})
    servers.actions_up = True
    servers.webhook = lambda r: httpx.Response(200, json=[])
    assert await client.healthy(fresh=True) is True
    assert await client.turn("42", "hi", {}) == []  # silence from a healthy Rasa is just silence


async def test_reset_replaces_the_tracker_with_a_restart(client: RasaClient, servers: Servers) -> None:
    await client.reset("user/42")
    request = servers.requests[-1]
    assert request.method == "PUT"
    assert request.url.raw_path == b"/conversations/user%2F42/tracker/events"
    assert json.loads(request.content) == [{"event": "restart"}]
    servers.rasa_up = False
    with pytest.raises(RasaUnavailable):
        await client.reset("42")


async def test_pool_is_sized_for_a_hundred_residents(servers: Servers) -> None:
    client = RasaClient(RASA, ACTIONS)
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections >= 100 and pool._max_keepalive_connections >= 100
    await client.aclose()


async def test_a_burst_waits_its_turn_instead_of_crowding_rasa() -> None:
    """At most ``in_flight`` turns are inside Rasa at once; the rest are served first come, first served."""
    inside = 0
    most = 0
    order: list[str] = []

    async def rasa(request: httpx.Request) -> httpx.Response:
        nonlocal inside, most
        if request.url.path != "/webhooks/rest/webhook":
            return httpx.Response(200, json={"status": "ok"})
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.02)
        inside -= 1
        order.append(json.loads(request.content)["sender"])
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "ok"}])

    client = RasaClient(RASA, ACTIONS, in_flight=2, transport=httpx.MockTransport(rasa))
    try:
        senders = [f"r{i:02d}" for i in range(12)]
        for sender in senders:  # started one after another, as updates arrive
            asyncio.ensure_future(client.send(sender, "hi", {}))
            await asyncio.sleep(0)
        while len(order) < len(senders):
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()
    assert most == 2
    assert set(order[:2]) == set(senders[:2]) and set(order[-2:]) == set(senders[-2:])
