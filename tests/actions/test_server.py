"""The action server answers Rasa only: the real server, as `make run` starts it (actions/server.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from actions.server import HEADER, SECRET_ENV
from scripts.processes import HOST, REPO_ROOT, free_port, service_env, wait_all_ready
from scripts.service_secrets import ACTIONS_SECRET_ENV, ACTIONS_SECRET_HEADER
from scripts.stack import start_action_server

SECRET = "the-shared-secret-for-this-test"
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", **(headers or {})})
    try:
        with LOOPBACK.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_rasa_sends_what_the_action_server_checks() -> None:
    assert (HEADER, SECRET_ENV) == (ACTIONS_SECRET_HEADER, ACTIONS_SECRET_ENV)


@pytest.mark.rasa
def test_only_a_caller_with_the_secret_gets_past_health(tmp_path: Path) -> None:
    port = free_port()
    server = start_action_server(
        port, tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'h.sqlite3'}", SECRET_ENV: SECRET}
    )
    try:
        wait_all_ready([server], 120)
        base = f"http://{HOST}:{port}"
        assert call(f"{base}/health")[0] == 200
        action = json.dumps(
            {"next_action": "action_request_officer", "sender_id": "x", "tracker": {}}
        ).encode()
        for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET + "x"}):
            assert call(f"{base}/webhook", headers, action)[0] == 403
            assert call(f"{base}/actions", headers)[0] == 403
        status, listed = call(f"{base}/actions", {HEADER: SECRET})
        assert status == 200 and "action_request_officer" in listed
    finally:
        server.stop()


def test_without_a_secret_it_does_not_start(tmp_path: Path) -> None:
    env = {**service_env(), SECRET_ENV: ""}
    result = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", str(free_port()), "--actions", "actions"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and SECRET_ENV in result.stderr
