"""Starting, watching and stopping services, with tiny stand-ins instead of Rasa (seconds, not minutes).

What matters to ``make run`` and the end-to-end tests: readiness is measured per service, a service that
dies or never answers is named with its log, a stopped service takes its children with it, and the gateway
counts as ready only once *it* polls (not an earlier gateway).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import processes
from scripts.processes import HOST, Service, ServiceFailed, _launch, start_gateway, wait_all_ready


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


HTTP_AFTER = """
import http.server, sys, time
time.sleep(float(sys.argv[2]))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def http_server(port: int, delay: float) -> list[str]:
    return [sys.executable, "-c", HTTP_AFTER, str(port), str(delay)]


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop(timeout=5)


def test_each_service_gets_its_own_ready_time(tmp_path: Path, services: list[Service]) -> None:
    fast, slow = processes.free_port(), processes.free_port()
    services += [
        _launch("fast", http_server(fast, 0), tmp_path, f"http://{HOST}:{fast}/"),
        _launch("slow", http_server(slow, 1.5), tmp_path, f"http://{HOST}:{slow}/"),
    ]
    order: list[str] = []
    wait_all_ready(services, timeout=20, on_ready=lambda service: order.append(service.name))
    assert order == ["fast", "slow"]
    fast_after, slow_after = (service.ready_after or 0 for service in services)
    # Waited together: the fast one's time is not inflated by the slow one.
    assert fast_after < 1.5 <= slow_after


def test_a_service_that_exits_is_named_with_its_log(tmp_path: Path, services: list[Service]) -> None:
    services.append(
        _launch("broken", python("import sys; print('bad config: x'); sys.exit(3)"), tmp_path, "http://x/")
    )
    with pytest.raises(ServiceFailed) as failure:
        wait_all_ready(services, timeout=20)
    assert failure.value.service.name == "broken"
    assert "exited with 3" in str(failure.value) and "bad config: x" in str(failure.value)
    assert str(tmp_path / "broken.log") in str(failure.value)


def test_a_service_that_never_answers_times_out(tmp_path: Path, services: list[Service]) -> None:
    port = processes.free_port()
    services.append(
        _launch("mute", python("import time; time.sleep(60)"), tmp_path, f"http://{HOST}:{port}/")
    )
    with pytest.raises(ServiceFailed, match="mute not ready after 1 s"):
        wait_all_ready(services, timeout=1)


def test_stop_takes_the_children_along(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print(child.pid, flush=True); time.sleep(60)"
    )
    service = _launch("parent", python(code), tmp_path, "http://x/")
    deadline = time.monotonic() + 10
    while not service.log_path.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(service.log_path.read_text().split()[0])
    service.stop(timeout=5)
    time.sleep(0.2)
    assert not service.alive
    assert not Path(f"/proc/{child}").exists() or "State:\tZ" in Path(f"/proc/{child}/status").read_text()


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
        "_launch",
        lambda name, command, *a, **k: _launch(name, python("import time; time.sleep(30)"), *a, **k),
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
        processes, "_launch", lambda name, command, *a, **k: _launch(name, python(code), *a, **k)
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
        def launch(*_args: object, **_kwargs: object) -> Service:
            service = _launch(name, python(code), tmp_path, f"http://{HOST}:9/")
            launched.append(service)
            return service

        return launch

    sleeper = "import time; time.sleep(60)"
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr(processes, "start_action_server", stand_in("actions", sleeper))
    monkeypatch.setattr(
        processes, "start_rasa", stand_in("rasa", "import sys; print('no model'); sys.exit(1)")
    )
    monkeypatch.setattr(processes, "start_local_api", stand_in("sandbox", sleeper))
    monkeypatch.setattr(processes, "start_gateway", stand_in("gateway", sleeper))
    with (
        pytest.raises(ServiceFailed) as failure,
        processes.start_all(tmp_path / "model.tar.gz", tmp_path, timeout=30),
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
        def launch(*args: object, **kwargs: object) -> Service:
            env = next((a for a in args if isinstance(a, dict)), kwargs.get("env")) or {}
            started[name] = dict(env)  # type: ignore[arg-type]
            service = _launch(name, python("import time; time.sleep(60)"), tmp_path, "http://x/")
            service.ready_after = 0.0
            return service

        return launch

    for name, function in (
        ("actions", "start_action_server"),
        ("rasa", "start_rasa"),
        ("sandbox", "start_local_api"),
        ("gateway", "start_gateway"),
    ):
        monkeypatch.setattr(processes, function, fake(name))
    with processes.start_all(
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
