"""Hemu's servers as real processes on loopback (:mod:`scripts.processes` launches, waits and stops).

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
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from scripts import processes
from scripts.endpoints import TrackerStore, write_endpoints
from scripts.processes import (
    HOST,
    REPO_ROOT,
    Service,
    free_port,
    http_get,
    port_open,
    service_env,
    wait_all_ready,
)
from scripts.service_secrets import RASA_TOKEN_ENV, with_secrets

DEFAULT_LOCAL_API = f"http://{HOST}:8081"
# Stopping order: the gateway first (so it does not queue messages for a Rasa that is going away), the
# servers it talks to afterwards. Starting is the reverse, all launched at once to shorten the cold start.
STOP_ORDER = ("gateway", "sandbox", "rasa", "actions")
GATEWAY_READY_LINE = "Application started"


def start_action_server(
    port: int, log_dir: Path, env: Mapping[str, str] | None = None, append: bool = False
) -> Service:
    """``env`` reaches the actions' case store (``DATABASE_URL``, ``HEMU_VAR_DIR``, ``HEMU_CLOCK_FILE``)."""
    service = processes.launch(
        "actions",
        [sys.executable, "-m", "actions.server", "--port", str(port), "--actions", "actions"],
        log_dir,
        f"http://{HOST}:{port}/health",
        env,
        append,
    )
    service.url = f"http://{HOST}:{port}/webhook"
    return service


def start_rasa(
    port: int,
    model: Path,
    endpoints: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    token = {**os.environ, **(env or {})}.get(RASA_TOKEN_ENV, "")
    service = processes.launch(
        "rasa",
        [
            sys.executable,
            "-m",
            "rasa_addons.serve",  # `rasa run`, with the API token from the environment (not argv)
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
        f"http://{HOST}:{port}/status?{urlencode({'token': token})}",
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
    service = processes.launch("sandbox", command, log_dir, f"http://{HOST}:{port}/health", env, append)
    service.url = f"http://{HOST}:{port}/"
    return service


def get_updates_calls(api_url: str) -> int | None:
    """How many ``getUpdates`` calls the local Bot API server has seen; None when it does not answer."""
    body = http_get(f"{api_url.rstrip('/')}/control/calls?method=getUpdates")
    try:
        calls = json.loads(body) if body is not None else None
    except ValueError:
        return None
    return len(calls) if isinstance(calls, list) else None


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
            return port_open(listen, port)

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

    service = processes.launch("gateway", [sys.executable, "-m", "bot"], log_dir, ready_url, env, append)
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

    def rasa_api(self, path: str, **params: str) -> str:
        assert self.hemu is not None
        return self.hemu.rasa_api(path, **params)


@contextmanager
def start_stack(
    model: Path,
    log_dir: Path,
    rasa_port: int = 0,
    action_port: int = 0,
    timeout: float = 240,
    env: dict[str, str] | None = None,
    trackers: TrackerStore | None = None,
) -> Iterator[Stack]:
    """Starts both servers and yields once both answer; stops both afterwards, whatever happened.

    ``start_all`` without the Telegram side, so the REST tests and the NLU benchmark start Rasa exactly
    as ``make run`` does.
    """
    with start_all(
        model,
        log_dir,
        env=env,
        rasa_port=rasa_port,
        action_port=action_port,
        timeout=timeout,
        telegram=False,
        trackers=trackers,
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
    # Rasa's own extra environment: the tracker store's password (scripts/endpoints.py).
    rasa_env: dict[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{HOST}:{self.action_port}"

    def rasa_api(self, path: str, **params: str) -> str:
        """A URL of Rasa's HTTP API with this run's token (rasa_addons.serve); tests and tools use it."""
        query = urlencode({**params, "token": self.env[RASA_TOKEN_ENV]})
        return f"{self.rasa_url}{path}?{query}"

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
            env = {**self.env, **self.rasa_env}
            service = start_rasa(self.rasa_port, self.model, self.endpoints, self.log_dir, env, True)
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
    trackers: TrackerStore | None = None,
) -> Iterator[Hemu]:
    """Action server, Rasa, the local Bot API server (unless ``TELEGRAM_BOT_TOKEN``), and the gateway.

    All are launched at once (the gateway retries until the Bot API server answers, and reaches Rasa only
    per message), then awaited together; ``on_ready`` is called as each becomes ready. Every process is
    stopped when the block ends, whatever happened, including a failed start.
    ``env`` goes to every process (``DATABASE_URL``, ``HEMU_CLOCK_FILE``); ``gateway_env`` to the gateway
    only (intervals, ``TELEGRAM_BOT_TOKEN``…). A token in either, or in this process's environment,
    means real Telegram: no local server. ``telegram=False``: neither the gateway nor the local server.
    ``trackers``: where Rasa keeps conversations (scripts/endpoints.py); None keeps them in memory, which
    the end-to-end tests want (each module its own fresh Rasa) and which never writes into ``var/``.
    """
    shared = {**with_secrets({**os.environ, **(env or {})}), **(env or {})}
    rasa_port = rasa_port or free_port()
    action_port = action_port or free_port()
    token = {**os.environ, **shared, **(gateway_env or {})}.get("TELEGRAM_BOT_TOKEN", "").strip()
    local = telegram and not token
    if local:
        sandbox_port = sandbox_port or free_port()
    endpoints = write_endpoints(log_dir / "endpoints.yml", action_port, trackers)
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
        rasa_env=dict(trackers.env) if trackers else {},
    )
    try:
        hemu.services["actions"] = start_action_server(action_port, log_dir, shared)
        hemu.services["rasa"] = start_rasa(rasa_port, model, endpoints, log_dir, {**shared, **hemu.rasa_env})
        if local:
            hemu.services["sandbox"] = start_local_api(sandbox_port, log_dir, officers_file, shared)
        if telegram:
            hemu.services["gateway"] = start_gateway(log_dir, gateway_extra)
        wait_all_ready(list(hemu.services.values()), timeout, on_ready)
        yield hemu
    finally:
        hemu.stop_all()
