"""Starting Hemu's servers as real processes on loopback, waiting until they answer, stopping them.

One place for what ``make run``, the end-to-end tests and the benchmarks all do, so they start
Rasa and the action server exactly the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def service_env() -> dict[str, str]:
    """The environment every Hemu process gets: no telemetry, loopback only, quiet TensorFlow."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "SANIC_HOST": HOST,
        "PYTHONPATH": str(REPO_ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


@dataclass
class Service:
    """A running server process and the URL that says it is ready."""

    name: str
    process: subprocess.Popen[bytes]
    ready_url: str
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    ready_after: float | None = None

    def wait_ready(self, timeout: float) -> float:
        """Seconds from launch until ``ready_url`` answered 200; raises with the log tail if not."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        self.ready_after = time.monotonic() - self.started
                        return self.ready_after
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid


def _launch(
    name: str, command: list[str], log_dir: Path, ready_url: str, env: dict[str, str] | None = None
) -> Service:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**service_env(), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    return Service(name=name, process=process, ready_url=ready_url, log_path=log_path)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def start_action_server(port: int, log_dir: Path, env: dict[str, str] | None = None) -> Service:
    """``env`` reaches the actions' case store (``DATABASE_URL``, ``HEMU_VAR_DIR``)."""
    return _launch(
        "actions",
        [_bin("rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        log_dir,
        f"http://{HOST}:{port}/health",
        env,
    )


def write_endpoints(path: Path, action_port: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'action_endpoint:\n  url: "http://{HOST}:{action_port}/webhook"\n', encoding="utf-8")
    return path


def start_rasa(port: int, model: Path, endpoints: Path, log_dir: Path) -> Service:
    return _launch(
        "rasa",
        [
            _bin("rasa"),
            "run",
            "--model",
            str(model),
            "--enable-api",
            "--interface",
            HOST,
            "--port",
            str(port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(REPO_ROOT / "credentials.yml"),
        ],
        log_dir,
        f"http://{HOST}:{port}/status",
    )


@dataclass
class Stack:
    """Rasa plus the action server, as ``make run`` and the end-to-end tests use them."""

    rasa: Service
    actions: Service
    rasa_port: int
    action_port: int

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"


@contextmanager
def start_stack(
    model: Path,
    log_dir: Path,
    rasa_port: int = 0,
    action_port: int = 0,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Starts both servers and yields once both answer; stops both afterwards, whatever happened."""
    rasa_port = rasa_port or free_port()
    action_port = action_port or free_port()
    with ExitStack() as stack:
        actions = start_action_server(action_port, log_dir, env)
        stack.callback(actions.stop)
        endpoints = write_endpoints(log_dir / "endpoints.yml", action_port)
        rasa = start_rasa(rasa_port, model, endpoints, log_dir)
        stack.callback(rasa.stop)
        actions.wait_ready(timeout)
        rasa.wait_ready(timeout)
        yield Stack(rasa=rasa, actions=actions, rasa_port=rasa_port, action_port=action_port)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024
