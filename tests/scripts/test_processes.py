"""Starting, watching and stopping services, with tiny stand-ins instead of Rasa (seconds, not minutes).

What matters to ``make run`` and the end-to-end tests: readiness is measured per service, a service that
dies or never answers is named with its log, a stopped service takes its children with it, and the gateway
counts as ready only once *it* polls (not an earlier gateway).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import processes
from scripts.processes import HOST, Service, ServiceFailed, launch, wait_all_ready


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
        launch("fast", http_server(fast, 0), tmp_path, f"http://{HOST}:{fast}/"),
        launch("slow", http_server(slow, 1.5), tmp_path, f"http://{HOST}:{slow}/"),
    ]
    order: list[str] = []
    wait_all_ready(services, timeout=20, on_ready=lambda service: order.append(service.name))
    assert order == ["fast", "slow"]
    fast_after, slow_after = (service.ready_after or 0 for service in services)
    # Waited together: the fast one's time is not inflated by the slow one.
    assert fast_after < 1.5 <= slow_after


def test_a_service_that_exits_is_named_with_its_log(tmp_path: Path, services: list[Service]) -> None:
    services.append(
        launch("broken", python("import sys; print('bad config: x'); sys.exit(3)"), tmp_path, "http://x/")
    )
    with pytest.raises(ServiceFailed) as failure:
        wait_all_ready(services, timeout=20)
    assert failure.value.service.name == "broken"
    assert "exited with 3" in str(failure.value) and "bad config: x" in str(failure.value)
    assert str(tmp_path / "broken.log") in str(failure.value)


def test_a_service_that_never_answers_times_out(tmp_path: Path, services: list[Service]) -> None:
    port = processes.free_port()
    services.append(launch("mute", python("import time; time.sleep(60)"), tmp_path, f"http://{HOST}:{port}/"))
    with pytest.raises(ServiceFailed, match="mute not ready after 1 s"):
        wait_all_ready(services, timeout=1)


def test_stop_takes_the_children_along(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print(child.pid, flush=True); time.sleep(60)"
    )
    service = launch("parent", python(code), tmp_path, "http://x/")
    deadline = time.monotonic() + 10
    while not service.log_path.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(service.log_path.read_text().split()[0])
    service.stop(timeout=5)
    time.sleep(0.2)
    assert not service.alive
    assert not Path(f"/proc/{child}").exists() or "State:\tZ" in Path(f"/proc/{child}/status").read_text()
