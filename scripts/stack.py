"""Hemu's servers started together as real processes on loopback, and always stopped together.

One place for what ``make run``, the end-to-end tests and the benchmarks all do, so they start
Rasa (one or several workers), the action server(s), Redis for several workers' locks, the local Bot API
server (sandbox) and the Telegram gateway exactly the same way, with the same environment. How each one is
launched and when it counts as ready: :mod:`scripts.services`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from scripts.endpoints import TrackerStore, lock_store, write_endpoints
from scripts.processes import HOST, Service, free_port, wait_all_ready
from scripts.redisserver import start_redis
from scripts.service_secrets import RASA_TOKEN_ENV, with_secrets
from scripts.services import (
    start_action_server,
    start_gateway,
    start_local_api,
    start_rasa,
    worker_name,
    worker_of,
)

__all__ = ["Hemu", "Stack", "start_action_server", "start_all", "start_gateway", "start_stack"]

# Stopping order: the gateway first (so it does not queue messages for a Rasa that is going away), the
# servers it talks to afterwards. Starting is the reverse, all launched at once to shorten the cold start.
STOP_ORDER = ("gateway", "sandbox", "rasa", "actions", "redis")


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
    With several workers Rasa worker i (``rasa``, ``rasa-2``…) has ``rasa_ports[i]`` and its own endpoints
    file, calling action server i mod M (``actions``, ``actions-2``…); ``redis`` holds their locks.
    """

    services: dict[str, Service]
    log_dir: Path
    model: Path
    endpoint_files: list[Path]
    env: dict[str, str]
    gateway_env: dict[str, str]
    rasa_ports: list[int]
    action_ports: list[int]
    sandbox_port: int | None
    officers_file: Path | None = None
    timeout: float = 240
    # Rasa's own extra environment: the tracker and lock stores' passwords (scripts/endpoints.py).
    rasa_env: dict[str, str] = field(default_factory=dict)
    redis_port: int | None = None

    @property
    def rasa_port(self) -> int:
        return self.rasa_ports[0]

    @property
    def action_port(self) -> int:
        return self.action_ports[0]

    @property
    def endpoints(self) -> Path:
        return self.endpoint_files[0]

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.rasa_ports]

    @property
    def actions_url(self) -> str:
        return f"http://{HOST}:{self.action_port}"

    def rasa_api(self, path: str, worker: int = 0, **params: str) -> str:
        """A URL of Rasa's HTTP API with this run's token (rasa_addons.serve); tests and tools use it."""
        query = urlencode({**params, "token": self.env[RASA_TOKEN_ENV]})
        return f"{self.rasa_urls[worker]}{path}?{query}"

    @property
    def bot_api_url(self) -> str | None:
        """The local Bot API server (control API, sandbox page); None when talking to Telegram."""
        return f"http://{HOST}:{self.sandbox_port}" if self.sandbox_port else None

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def stop(self, name: str) -> None:
        self.services[name].stop()

    def _launch(self, name: str, append: bool) -> Service:
        kind, index = worker_of(name)
        if kind == "rasa" and index < len(self.rasa_ports):
            env = {**self.env, **self.rasa_env}
            port, endpoints = self.rasa_ports[index], self.endpoint_files[index]
            return start_rasa(port, self.model, endpoints, self.log_dir, env, append, name)
        if kind == "actions" and index < len(self.action_ports):
            return start_action_server(self.action_ports[index], self.log_dir, self.env, append, name)
        if name == "redis" and self.redis_port is not None:
            return start_redis(self.redis_port, self.log_dir, append)
        if name == "sandbox" and self.sandbox_port is not None:
            return start_local_api(self.sandbox_port, self.log_dir, self.officers_file, self.env, append)
        if name == "gateway":
            return start_gateway(self.log_dir, self.gateway_env, append)
        raise KeyError(name)

    def start(self, name: str) -> Service:
        """(Re)starts one stopped service on its old port, appending to its log; waits until ready."""
        old = self.services.get(name)
        if old is not None and old.alive:
            raise RuntimeError(f"{name} is still running (pid {old.pid})")
        service = self._launch(name, append=True)
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
        for kind in STOP_ORDER:
            for name, service in list(self.services.items()):
                if worker_of(name)[0] == kind:
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
    workers: int = 1,
    action_servers: int | None = None,
    locks: TrackerStore | None = None,
    redis_port: int = 0,
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
    ``workers`` Rasa servers (``rasa_port`` is the first's; the others take free ports) share
    ``trackers``, which must then be a database, and a Redis lock store: ``locks``, or else a Redis the
    stack starts itself (``redis_port``); ``action_servers`` (default: as many as workers) serve them.
    """
    if workers < 1 or (action_servers is not None and action_servers < 1):
        raise ValueError("at least one Rasa worker and one action server")
    if workers > 1 and trackers is None:
        raise ValueError("several Rasa workers need a shared tracker store (a database), not memory")
    shared = {**with_secrets({**os.environ, **(env or {})}), **(env or {})}
    rasa_ports = [rasa_port or free_port()] + [free_port() for _ in range(workers - 1)]
    action_ports = [action_port or free_port()] + [
        free_port() for _ in range((action_servers or workers) - 1)
    ]
    own_redis = workers > 1 and locks is None
    if own_redis:
        redis_port = redis_port or free_port()
        locks = lock_store(f"redis://{HOST}:{redis_port}/0")
    token = {**os.environ, **shared, **(gateway_env or {})}.get("TELEGRAM_BOT_TOKEN", "").strip()
    local = telegram and not token
    if local:
        sandbox_port = sandbox_port or free_port()
    endpoint_files = [
        write_endpoints(
            log_dir / f"{worker_name('endpoints', index)}.yml",
            action_ports[index % len(action_ports)],
            trackers,
            locks if workers > 1 else None,
        )
        for index in range(workers)
    ]
    gateway_extra = {
        **shared,
        "HEMU_RASA_URL": ",".join(f"http://{HOST}:{port}" for port in rasa_ports),
        "HEMU_ACTIONS_URL": ",".join(f"http://{HOST}:{port}" for port in action_ports),
        **({"HEMU_BOT_API_URL": f"http://{HOST}:{sandbox_port}"} if local else {}),
        **(gateway_env or {}),
    }
    hemu = Hemu(
        services={},
        log_dir=log_dir,
        model=model,
        endpoint_files=endpoint_files,
        env=shared,
        gateway_env=gateway_extra,
        rasa_ports=rasa_ports,
        action_ports=action_ports,
        sandbox_port=sandbox_port if local else None,
        officers_file=officers_file,
        timeout=timeout,
        rasa_env={**(trackers.env if trackers else {}), **(locks.env if locks else {})},
        redis_port=redis_port if own_redis else None,
    )
    try:
        names = [worker_name("actions", index) for index in range(len(action_ports))]
        names += [worker_name("rasa", index) for index in range(workers)]
        names += ["redis"] * own_redis + ["sandbox"] * local + ["gateway"] * telegram
        for name in names:
            hemu.services[name] = hemu._launch(name, append=False)
        wait_all_ready(list(hemu.services.values()), timeout, on_ready)
        yield hemu
    finally:
        hemu.stop_all()
