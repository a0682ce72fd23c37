"""The suite's own checks, checked: a harness that cannot see a duplicate or an early retry would report
0/0/0 for any product. Fast (no servers but a local Bot API server and the fault proxy in-process)."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError

from sandbox.client import AsyncControlClient
from sandbox.server import LocalBotApi
from tests.chaos import audit, scenes
from tests.chaos.kills import draw_plans
from tests.chaos.people import EN_PET, ZH_NOISE
from tests.chaos.proxy import FaultProxy
from tests.chaos.test_s3_flood_control import early_retries


def bot(message_id: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "from_bot": True, "text": text}


def person(message_id: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "from_bot": False, "text": text}


def test_the_same_answer_twice_with_nothing_between_is_a_duplicate() -> None:
    chat = [person(1, "你好"), bot(2, "您好"), bot(3, "您好")]
    assert len(audit.duplicates_in_chat(chat, 7)) == 1


def test_the_same_question_after_the_person_answered_again_is_not() -> None:
    chat = [person(1, "x"), bot(2, "发生在哪里？"), person(3, "y"), bot(4, "发生在哪里？")]
    assert audit.duplicates_in_chat(chat, 7) == []


def test_a_second_card_or_a_repeated_notice_for_one_case_is_a_duplicate() -> None:
    card = "🆕 新案件交给您\n案件 HM-2026-000001\n类别：邻居噪音"
    chat = [bot(1, card), person(2, "/cases"), bot(3, card + "\n状态：已确认")]
    found = audit.duplicates_in_chat(chat, 7, number="HM-2026-000001")
    assert any("2 cards" in line for line in found)
    notice = "提醒：案件 HM-2026-000001 快到承诺时间了"
    chat = [bot(1, notice), person(2, "/cases"), bot(3, "other"), bot(4, notice)]
    assert len(audit.duplicates_in_chat(chat, 7, number="HM-2026-000001")) == 1


def test_messages_before_the_mark_are_not_this_trials() -> None:
    chat = [bot(1, "same"), bot(2, "same"), bot(3, "new")]
    assert audit.duplicates_in_chat(chat, 7, after=2) == []


def call(at: float, chat: int, error: Any = None, retry: int | None = None) -> dict[str, Any]:
    return {
        "method": "sendMessage",
        "params": {"chat_id": chat, "text": "x"},
        "at": at,
        "error_code": error,
        "retry_after": retry,
    }


def test_a_send_to_the_refused_chat_before_retry_after_is_early() -> None:
    calls = [call(100.0, 5, 429, 3), call(101.0, 6), call(102.0, 5), call(103.5, 5)]
    refusals, early = early_retries(calls)
    assert refusals == 1 and len(early) == 1 and "chat 5 2.00 s" in early[0]


def test_a_send_after_retry_after_is_not() -> None:
    assert early_retries([call(100.0, 5, 429, 3), call(103.0, 5)])[1] == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert scenes.percentile(values, 0.95) == 19.0
    assert scenes.percentile([0.5], 0.95) == 0.5


def test_the_same_seed_draws_the_same_trials() -> None:
    assert draw_plans(7, 30, False) == draw_plans(7, 30, False)
    assert draw_plans(7, 30, False) != draw_plans(8, 30, False)
    assert sorted(p.service for p in draw_plans(7, 3, True)) == ["actions", "gateway", "rasa"]


def test_the_resident_answers_the_latest_question() -> None:
    summary = "我核对一下：\n是否有人受伤或害怕：没有人受伤\n这样对吗？"
    step = ZH_NOISE.step_for(summary)
    assert step is not None and step.press == "/affirm"
    harm = EN_PET.step_for("Is anyone hurt, or afraid for their safety?")
    assert harm is not None and harm.press == '/inform{"harm":"none"}'


# ---------------------------------------------------------------- the sandbox's outage control


async def test_an_outage_fails_every_call_long_polls_included_then_ends() -> None:
    api = LocalBotApi()
    await api.start()
    control = AsyncControlClient(api.url)
    try:
        async with Bot("123:ABC", base_url=f"{api.url}/bot") as telegram:
            poll = asyncio.create_task(telegram.get_updates(timeout=5, read_timeout=10))
            await asyncio.sleep(0.3)  # the long poll is waiting in the server
            status = await control.outage(None, "close")
            assert status["active"] and status["seconds_left"] is None
            with pytest.raises(NetworkError):
                await poll
            await control.send_text(5, "hi")
            with pytest.raises(NetworkError):
                await telegram.send_message(5, "x")
            await control.end_outage()
            assert (await telegram.send_message(5, "ok")).text == "ok"
            await control.outage(0.3, "502")
            with pytest.raises(NetworkError):
                await telegram.send_message(5, "x")
            await asyncio.sleep(0.4)  # the outage's own length, not a wait for a result
            assert not (await control.outage_status())["active"]
            outcomes = [c["error_code"] for c in await control.calls("sendMessage")]
            assert outcomes == ["unreachable", None, "unreachable"]
    finally:
        await api.stop()


# ---------------------------------------------------------------- the fault proxy


@pytest.fixture
def upstream() -> Any:
    """A tiny HTTP server in its own thread (the proxy forwards with blocking calls from the test)."""
    import threading

    from scripts.processes import free_port

    port = free_port()
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> web.AppRunner:
        async def answer(request: web.Request) -> web.Response:
            return web.json_response({"path": request.path})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield port
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_the_proxy_refuses_drops_fails_and_delays(upstream: int) -> None:
    proxy = FaultProxy("test", upstream).start()
    client = httpx.Client(trust_env=False, timeout=10)
    try:
        assert client.get(f"{proxy.url}/status").json() == {"path": "/status"}
        proxy.set("refuse")
        with pytest.raises(httpx.ConnectError):  # nobody listens: nothing reached the server
            client.get(f"{proxy.url}/status")
        proxy.clear()
        assert client.get(f"{proxy.url}/status").status_code == 200
        proxy.set("drop")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{proxy.url}/status")
        proxy.set("error")
        assert client.get(f"{proxy.url}/status").status_code == 503
        proxy.set("delay", 0.5, ("/webhooks/",))
        began = time.monotonic()
        client.post(f"{proxy.url}/webhooks/rest/webhook", json={})
        assert time.monotonic() - began >= 0.5
        began = time.monotonic()
        client.get(f"{proxy.url}/status")
        assert time.monotonic() - began < 0.4  # only the paths named are slow
        proxy.set("refuse", duration=0.3)
        with pytest.raises(httpx.ConnectError):
            client.get(f"{proxy.url}/status")
        scenes.until(lambda: proxy.fault.kind == "pass", 5, "the timed refusal to end", every=0.05)
        assert client.get(f"{proxy.url}/status").status_code == 200
    finally:
        client.close()
        proxy.stop()


def test_a_refusing_proxy_keeps_its_port(upstream: int) -> None:
    """While it refuses, nothing else can take the proxy's port (chaos s4 once failed to listen again:
    "address already in use"); it then listens on it again."""
    proxy = FaultProxy("test", upstream).start()
    try:
        proxy.set("refuse")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", proxy.port))
        proxy.clear()
        with httpx.Client(trust_env=False, timeout=10) as client:
            assert client.get(f"{proxy.url}/status").status_code == 200
    finally:
        proxy.stop()
