"""Server processes on loopback, for ``make run``, the end-to-end tests and the benchmarks: launching one
with its log, waiting until each answers (each with its own ready time), naming the one that failed with
its log, and stopping a process together with its children. What Hemu's servers are and how each is
started is :mod:`scripts.stack`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from scripts import logfiles

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


class ServiceFailed(RuntimeError):
    """A service exited or never became ready; carries it so callers can name it and its log."""

    def __init__(self, service: Service, message: str) -> None:
        super().__init__(message)
        self.service = service


# Readiness checks go straight to loopback: an HTTP proxy from the environment must not answer for them.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str) -> bytes | None:
    """The body of a 200 answer; None while nothing answers (yet) or it answers otherwise."""
    try:
        with _LOCAL.open(url, timeout=2) as response:
            return response.read() if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return None


@dataclass
class Service:
    """A running server process and how to tell it is ready (an URL answering 200, or ``probe``)."""

    name: str
    process: subprocess.Popen[bytes]
    ready_url: str
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    ready_after: float | None = None
    # Overrides ``ready_url`` for services without a health URL (the gateway).
    probe: Callable[[], bool] | None = None
    # What to show a person (run.py's ready line); defaults to ``ready_url``.
    url: str | None = None

    def is_ready(self) -> bool:
        """One readiness check; records the time from launch the first time it succeeds."""
        if self.ready_after is not None:
            return True
        ok = self.probe() if self.probe is not None else http_get(self.ready_url) is not None
        if ok:
            self.ready_after = time.monotonic() - self.started
        return ok

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the whole process group (Rasa forks), SIGKILL if it does not go in time."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    @property
    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


def wait_all_ready(
    services: list[Service], timeout: float, on_ready: Callable[[Service], None] | None = None
) -> None:
    """Waits for all at once, so each ``ready_after`` is measured, not inflated by waiting on another.

    Raises ServiceFailed for the first service that exits, or that is not ready within ``timeout``
    seconds of its launch.
    """
    waiting = [service for service in services if service.ready_after is None]
    while waiting:
        for service in list(waiting):
            if service.process.poll() is not None:
                raise ServiceFailed(
                    service,
                    f"{service.name} exited with {service.process.returncode} "
                    f"(log: {service.log_path}):\n{service.log_tail()}",
                )
            if service.is_ready():
                waiting.remove(service)
                if on_ready is not None:
                    on_ready(service)
            elif time.monotonic() - service.started > timeout:
                raise ServiceFailed(
                    service,
                    f"{service.name} not ready after {timeout:.0f} s "
                    f"(log: {service.log_path}):\n{service.log_tail()}",
                )
        if waiting:
            time.sleep(0.2)


def launch(
    name: str,
    command: list[str],
    log_dir: Path,
    ready_url: str,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    """Own session per service so ``stop`` reaches its children. The log is private and rotated
    (:mod:`scripts.logfiles`): a new start moves the last run's log to ``<name>.log.1``; a restart
    (``append``) keeps writing to the same file, to keep the history in one place."""
    log_path = log_dir / f"{name}.log"
    log: IO[bytes] = logfiles.open_log(log_path, fresh=not append)
    if append:
        log.write(f"\n----- restarted at {time.strftime('%H:%M:%S')} -----\n".encode())
        log.flush()
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


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def with_children(pid: int) -> list[int]:
    """The process and its direct children (Rasa's and PostgreSQL's workers), from Linux /proc."""
    pids = [pid]
    with contextlib.suppress(OSError, ValueError):
        pids += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    for each in with_children(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far, in seconds (Linux /proc; the benchmarks
    divide a difference by the turns in between: the CPU one turn costs each process)."""
    ticks = 0
    for one in with_children(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
