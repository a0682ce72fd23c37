"""Hemu's servers started the way `make run` starts them, with stand-ins (seconds, not minutes): the
gateway counts as ready only once *it* polls (not an earlier gateway), a failing server takes the
others down, and a real token starts no local Bot API server.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import processes, stack
from scripts.endpoints import tracker_store
from scripts.processes import HOST, Service, ServiceFailed, launch, wait_all_ready
from scripts.stack import start_gateway


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


class FakeBotApi(BaseHTTPRequestHandler):
    """Answers /control/calls like the local Bot API server, with as many getUpdates as ``polls``."""

    polls = 0

    def do_GET(self) -> None:
        body = json.dumps([{"method": "getUpdates", "params": {}, "at": 0}] * FakeBotApi.polls).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    server = ThreadingHTTPServer((HOST, 0), FakeBotApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeBotApi.polls = 3  # an earlier gateway already polled
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()


def test_a_gateway_is_ready_only_once_it_polls_itself(
    tmp_path: Path, fake_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for `python -m bot`: the test decides when "it" polls.
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr(
        processes,
        "launch",
        lambda name, command, *a, **k: launch(name, python("import time; time.sleep(30)"), *a, **k),
    )
    gateway = start_gateway(tmp_path, {"HEMU_BOT_API_URL": fake_api})
    try:
        assert not gateway.is_ready()  # three old polls do not count
        FakeBotApi.polls = 4
        assert gateway.is_ready() and gateway.ready_after is not None
        assert gateway.url == f"polling {fake_api}"
    finally:
        gateway.stop(timeout=5)


def test_a_gateway_on_real_telegram_is_ready_at_its_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "import time; time.sleep(0.5);"
        "print('x INFO telegram.ext.Application: Application started', flush=True); time.sleep(30)"
    )
    monkeypatch.setattr(
        processes, "launch", lambda name, command, *a, **k: launch(name, python(code), *a, **k)
    )
    gateway = start_gateway(tmp_path, {"TELEGRAM_BOT_TOKEN": "123:abc"})
    try:
        assert not gateway.is_ready()
        wait_all_ready([gateway], timeout=10)
        assert gateway.url == "polling Telegram"
    finally:
        gateway.stop(timeout=5)


def test_start_all_stops_everything_when_one_service_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` must never leave half a Hemu behind: Rasa failing takes the three others down with it."""
    launched: list[Service] = []

    def stand_in(name: str, code: str) -> Callable[..., Service]:
        def stand(*_args: object, **_kwargs: object) -> Service:
            service = launch(name, python(code), tmp_path, f"http://{HOST}:9/")
            launched.append(service)
            return service

        return stand

    sleeper = "import time; time.sleep(60)"
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr(stack, "start_action_server", stand_in("actions", sleeper))
    monkeypatch.setattr(stack, "start_rasa", stand_in("rasa", "import sys; print('no model'); sys.exit(1)"))
    monkeypatch.setattr(stack, "start_local_api", stand_in("sandbox", sleeper))
    monkeypatch.setattr(stack, "start_gateway", stand_in("gateway", sleeper))
    with (
        pytest.raises(ServiceFailed) as failure,
        stack.start_all(tmp_path / "model.tar.gz", tmp_path, timeout=30),
    ):
        pytest.fail("start_all yielded although Rasa exited")
    assert failure.value.service.name == "rasa" and "no model" in str(failure.value)
    assert [service.name for service in launched] == ["actions", "rasa", "sandbox", "gateway"]
    assert not any(service.alive for service in launched)


def test_start_all_with_a_token_starts_no_local_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: dict[str, dict[str, str]] = {}

    def fake(name: str) -> Callable[..., Service]:
        def stand(*args: object, **kwargs: object) -> Service:
            env = next((a for a in args if isinstance(a, dict)), kwargs.get("env")) or {}
            started[name] = dict(env)  # type: ignore[arg-type]
            service = launch(name, python("import time; time.sleep(60)"), tmp_path, "http://x/")
            service.ready_after = 0.0
            return service

        return stand

    for name, function in (
        ("actions", "start_action_server"),
        ("rasa", "start_rasa"),
        ("sandbox", "start_local_api"),
        ("gateway", "start_gateway"),
    ):
        monkeypatch.setattr(stack, function, fake(name))
    with stack.start_all(
        tmp_path / "model.tar.gz",
        tmp_path,
        env={"DATABASE_URL": "sqlite:///x.sqlite3", "HEMU_CLOCK_FILE": "/tmp/c"},
        gateway_env={"TELEGRAM_BOT_TOKEN": "123:abc"},
        rasa_port=15005,
        action_port=15055,
    ) as hemu:
        assert hemu.bot_api_url is None and "sandbox" not in hemu.services
    gateway = started["gateway"]
    assert gateway["HEMU_RASA_URL"] == "http://127.0.0.1:15005"
    assert gateway["HEMU_ACTIONS_URL"] == "http://127.0.0.1:15055"
    assert "HEMU_BOT_API_URL" not in gateway
    assert started["actions"]["DATABASE_URL"] == gateway["DATABASE_URL"] == "sqlite:///x.sqlite3"
    assert started["actions"]["HEMU_CLOCK_FILE"] == gateway["HEMU_CLOCK_FILE"]


def test_start_all_with_two_workers_gives_each_its_own_endpoints_and_the_gateway_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run WORKERS=2`: rasa and rasa-2 on their own ports, each calling its action server, both
    locking in the stack's own Redis; the gateway spreads over both."""
    started: dict[str, list[object]] = {}

    def fake(*args: object, **kwargs: object) -> Service:
        name = str(args[-1] if args and isinstance(args[-1], str) else kwargs.get("name", "?"))
        service = launch(name, python("import time; time.sleep(60)"), tmp_path, "http://x/")
        service.ready_after = 0.0
        started[name] = list(args)
        return service

    for function in ("start_action_server", "start_rasa", "start_redis", "start_local_api", "start_gateway"):
        monkeypatch.setattr(stack, function, fake)
    trackers = tracker_store(f"sqlite:///{tmp_path / 'trackers.sqlite3'}")
    with stack.start_all(
        tmp_path / "model.tar.gz", tmp_path, telegram=False, trackers=trackers, workers=2
    ) as hemu:
        assert sorted(hemu.services) == ["actions", "actions-2", "rasa", "rasa-2", "redis"]
        first, second = (path.read_text(encoding="utf-8") for path in hemu.endpoint_files)
        assert f":{hemu.action_ports[0]}/webhook" in first and f":{hemu.action_ports[1]}/webhook" in second
        assert f"port: {hemu.redis_port}" in first and f"port: {hemu.redis_port}" in second
        assert hemu.gateway_env["HEMU_RASA_URL"] == ",".join(hemu.rasa_urls)
        assert len(set(hemu.rasa_ports)) == 2
    assert not any(service.alive for service in hemu.services.values())
    with (
        pytest.raises(ValueError, match="shared tracker store"),
        stack.start_all(tmp_path / "model.tar.gz", tmp_path, telegram=False, workers=2),
    ):
        pytest.fail("two workers started on memory trackers")
