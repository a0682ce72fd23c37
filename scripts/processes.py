"""Starting Hemu's servers as real processes on loopback, waiting until they answer, stopping them.

One place for what ``make run``, the end-to-end tests and the benchmarks all do, so they start
Rasa, the action server, the local Bot API server (sandbox) and the Telegram gateway exactly the same
way, with the same environment, and always stop all of them together.

Readiness, per service (what "ready" means is the first moment the service can do its job):

* action server: ``GET /health`` answers 200; Rasa: ``GET /status`` answers 200 (model loaded);
* local Bot API server (``python -m sandbox``): ``GET /health`` answers 200;
* gateway (``python -m bot``) has no HTTP port in polling mode, so:
    - against the local Bot API server (no ``TELEGRAM_BOT_TOKEN``): the server's ``/control/calls`` shows
      more ``getUpdates`` calls than before the gateway was launched. PTB polls only after ``post_init``
      (store migrated, notifier and watcher running), so one poll means every part of the gateway is up,
      and counting (rather than comparing timestamps) works whatever clock or format the server uses;
    - webhook mode (``HEMU_WEBHOOK_URL``): its webhook port accepts a TCP connection (PTB opens it after
      ``post_init`` too);
    - polling real Telegram: the log line ``Application started`` (PTB logs it at INFO once polling runs);
      no other signal exists there without sending a message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_LOCAL_API = f"http://{HOST}:8081"
# Stopping order: the gateway first (so it does not queue messages for a Rasa that is going away), the
# servers it talks to afterwards. Starting is the reverse, all launched at once to shorten the cold start.
STOP_ORDER = ("gateway", "sandbox", "rasa", "actions")
GATEWAY_READY_LINE = "Application started"


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


def _get(url: str) -> bytes | None:
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
        ok = self.probe() if self.probe is not None else _get(self.ready_url) is not None
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


def _launch(
    name: str,
    command: list[str],
    log_dir: Path,
    ready_url: str,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    """Own session per service so ``stop`` reaches its children; appends on restart to keep the history."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log: IO[bytes] = open(log_path, "ab" if append else "wb")  # noqa: SIM115 - handed to the child process
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


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def start_action_server(
    port: int, log_dir: Path, env: Mapping[str, str] | None = None, append: bool = False
) -> Service:
    """``env`` reaches the actions' case store (``DATABASE_URL``, ``HEMU_VAR_DIR``, ``HEMU_CLOCK_FILE``)."""
    service = _launch(
        "actions",
        [_bin("rasa"), "run", "actions", "--port", str(port), "--actions", "actions"],
        log_dir,
        f"http://{HOST}:{port}/health",
        env,
        append,
    )
    service.url = f"http://{HOST}:{port}/webhook"
    return service


def write_endpoints(path: Path, action_port: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'action_endpoint:\n  url: "http://{HOST}:{action_port}/webhook"\n', encoding="utf-8")
    return path


def start_rasa(
    port: int,
    model: Path,
    endpoints: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    service = _launch(
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
        env,
        append,
    )
    service.url = f"http://{HOST}:{port}/webhooks/rest/webhook"
    return service


def start_local_api(
    port: int,
    log_dir: Path,
    officers_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    """The local Bot API server with the sandbox page; ``officers_file`` feeds the page's register buttons."""
    command = [sys.executable, "-m", "sandbox", "--host", HOST, "--port", str(port)]
    if officers_file is not None:
        command += ["--officers", str(officers_file)]
    service = _launch("sandbox", command, log_dir, f"http://{HOST}:{port}/health", env, append)
    service.url = f"http://{HOST}:{port}/"
    return service


def get_updates_calls(api_url: str) -> int | None:
    """How many ``getUpdates`` calls the local Bot API server has seen; None when it does not answer."""
    body = _get(f"{api_url.rstrip('/')}/control/calls?method=getUpdates")
    try:
        calls = json.loads(body) if body is not None else None
    except ValueError:
        return None
    return len(calls) if isinstance(calls, list) else None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def start_gateway(log_dir: Path, env: Mapping[str, str], append: bool = False) -> Service:
    """``python -m bot`` with ``env`` (its settings are all environment, see bot/config.py).

    Readiness is chosen by mode (module docstring). For the local Bot API server the ``getUpdates`` count
    is read before launching, so a restarted gateway is only ready once *it* polls.
    """
    full = {**service_env(), **env}
    token = full.get("TELEGRAM_BOT_TOKEN", "").strip()
    webhook = full.get("HEMU_WEBHOOK_URL", "").strip()
    probe: Callable[[], bool]
    if webhook:
        listen = full.get("HEMU_WEBHOOK_LISTEN", HOST)
        port = int(full.get("HEMU_WEBHOOK_PORT", "8443"))
        ready_url = f"tcp://{listen}:{port}"
        shown = f"webhook {webhook}"

        def probe() -> bool:
            return _port_open(listen, port)

    elif not token:
        api_url = full.get("HEMU_BOT_API_URL", "").strip() or DEFAULT_LOCAL_API
        before = get_updates_calls(api_url) or 0
        ready_url = f"{api_url}/control/calls?method=getUpdates"
        shown = f"polling {api_url}"

        def probe() -> bool:
            seen = get_updates_calls(api_url)
            return seen is not None and seen > before

    else:
        ready_url = "log: " + GATEWAY_READY_LINE
        shown = "polling Telegram"
        log_path = log_dir / "gateway.log"
        # On restart the log is appended to: only a line written after this launch counts.
        offset = log_path.stat().st_size if append and log_path.exists() else 0

        def probe() -> bool:
            try:
                with open(log_path, "rb") as log:
                    log.seek(offset)
                    return GATEWAY_READY_LINE.encode() in log.read()
            except OSError:
                return False

    service = _launch("gateway", [sys.executable, "-m", "bot"], log_dir, ready_url, env, append)
    service.probe = probe
    service.url = shown
    return service


@dataclass
class Stack:
    """Rasa plus the action server, as the REST end-to-end tests and the NLU benchmark use them."""

    rasa: Service
    actions: Service
    rasa_port: int
    action_port: int

    hemu: Hemu | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    def stop(self, name: str) -> None:
        """Stops ``rasa`` or ``actions`` (an outage in a test); :meth:`start` brings it back."""
        assert self.hemu is not None
        self.hemu.stop(name)

    def start(self, name: str) -> None:
        assert self.hemu is not None
        setattr(self, name, self.hemu.start(name))


@contextmanager
def start_stack(
    model: Path,
    log_dir: Path,
    rasa_port: int = 0,
    action_port: int = 0,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Starts both servers and yields once both answer; stops both afterwards, whatever happened.

    ``start_all`` without the Telegram side, so the REST tests and the NLU benchmark start Rasa exactly
    as ``make run`` does.
    """
    with start_all(
        model, log_dir, env=env, rasa_port=rasa_port, action_port=action_port, timeout=timeout, telegram=False
    ) as hemu:
        yield Stack(
            rasa=hemu["rasa"],
            actions=hemu["actions"],
            rasa_port=hemu.rasa_port,
            action_port=hemu.action_port,
            hemu=hemu,
        )


@dataclass
class Hemu:
    """Everything running together (``start_all``); services can be stopped and started again by name.

    ``env`` is what the action server and the gateway share (``DATABASE_URL``, ``HEMU_CLOCK_FILE``);
    ``gateway_env`` is the gateway's full extra environment (URLs of the others plus the caller's).
    """

    services: dict[str, Service]
    log_dir: Path
    model: Path
    endpoints: Path
    env: dict[str, str]
    gateway_env: dict[str, str]
    rasa_port: int
    action_port: int
    sandbox_port: int | None
    officers_file: Path | None = None
    timeout: float = 240

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{HOST}:{self.action_port}"

    @property
    def bot_api_url(self) -> str | None:
        """The local Bot API server (control API, sandbox page); None when talking to Telegram."""
        return f"http://{HOST}:{self.sandbox_port}" if self.sandbox_port else None

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def stop(self, name: str) -> None:
        self.services[name].stop()

    def start(self, name: str) -> Service:
        """(Re)starts one stopped service on its old port, appending to its log; waits until ready."""
        old = self.services.get(name)
        if old is not None and old.alive:
            raise RuntimeError(f"{name} is still running (pid {old.pid})")
        if name == "rasa":
            service = start_rasa(self.rasa_port, self.model, self.endpoints, self.log_dir, self.env, True)
        elif name == "actions":
            service = start_action_server(self.action_port, self.log_dir, self.env, append=True)
        elif name == "sandbox":
            assert self.sandbox_port is not None
            service = start_local_api(self.sandbox_port, self.log_dir, self.officers_file, self.env, True)
        elif name == "gateway":
            service = start_gateway(self.log_dir, self.gateway_env, append=True)
        else:
            raise KeyError(name)
        self.services[name] = service
        wait_all_ready([service], self.timeout)
        return service

    def dead(self) -> Service | None:
        """The first service that has exited (run.py stops everything then and names it)."""
        return next((service for service in self.services.values() if not service.alive), None)

    def rss(self) -> dict[str, float]:
        """Resident memory per service, MB (for the benchmarks)."""
        return {name: service.rss_mb for name, service in self.services.items()}

    def stop_all(self) -> None:
        for name in STOP_ORDER:
            service = self.services.get(name)
            if service is not None:
                service.stop()


@contextmanager
def start_all(
    model: Path,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    gateway_env: Mapping[str, str] | None = None,
    rasa_port: int = 0,
    action_port: int = 0,
    sandbox_port: int = 0,
    officers_file: Path | None = None,
    timeout: float = 240,
    on_ready: Callable[[Service], None] | None = None,
    telegram: bool = True,
) -> Iterator[Hemu]:
    """Action server, Rasa, the local Bot API server (unless ``TELEGRAM_BOT_TOKEN``), and the gateway.

    All are launched at once (the gateway retries until the Bot API server answers, and reaches Rasa only
    per message), then awaited together; ``on_ready`` is called as each becomes ready. Every process is
    stopped when the block ends, whatever happened, including a failed start.
    ``env`` goes to every process (``DATABASE_URL``, ``HEMU_CLOCK_FILE``); ``gateway_env`` to the gateway
    only (intervals, ``TELEGRAM_BOT_TOKEN``…). A token in either, or in this process's environment,
    means real Telegram: no local server. ``telegram=False``: neither the gateway nor the local server.
    """
    shared = dict(env or {})
    rasa_port = rasa_port or free_port()
    action_port = action_port or free_port()
    token = {**os.environ, **shared, **(gateway_env or {})}.get("TELEGRAM_BOT_TOKEN", "").strip()
    local = telegram and not token
    if local:
        sandbox_port = sandbox_port or free_port()
    endpoints = write_endpoints(log_dir / "endpoints.yml", action_port)
    gateway_extra = {
        **shared,
        "HEMU_RASA_URL": f"http://{HOST}:{rasa_port}",
        "HEMU_ACTIONS_URL": f"http://{HOST}:{action_port}",
        **({"HEMU_BOT_API_URL": f"http://{HOST}:{sandbox_port}"} if local else {}),
        **(gateway_env or {}),
    }
    hemu = Hemu(
        services={},
        log_dir=log_dir,
        model=model,
        endpoints=endpoints,
        env=shared,
        gateway_env=gateway_extra,
        rasa_port=rasa_port,
        action_port=action_port,
        sandbox_port=sandbox_port if local else None,
        officers_file=officers_file,
        timeout=timeout,
    )
    try:
        hemu.services["actions"] = start_action_server(action_port, log_dir, shared)
        hemu.services["rasa"] = start_rasa(rasa_port, model, endpoints, log_dir, shared)
        if local:
            hemu.services["sandbox"] = start_local_api(sandbox_port, log_dir, officers_file, shared)
        if telegram:
            hemu.services["gateway"] = start_gateway(log_dir, gateway_extra)
        wait_all_ready(list(hemu.services.values()), timeout, on_ready)
        yield hemu
    finally:
        hemu.stop_all()


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
