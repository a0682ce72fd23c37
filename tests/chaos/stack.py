"""All of Hemu as real processes for the fault-injection suite, with two fault proxies in the paths to
Rasa and the action server, a SIGKILL for any one service and a restart on the same ports and database.

Started by :func:`scripts.stack.start_all` itself (so every process starts exactly as in ``make run``),
but wired through :mod:`tests.chaos.proxy`: the gateway reaches Rasa and the action server's health URL
through the proxies, and Rasa reaches the action server through one too (its endpoints file names the
proxy). One stack serves every scenario: Rasa's cold start is the dearest thing here, so a trial
restarts only the service it killed.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hemu import clock
from hemu.settings import Settings, load_settings
from hemu.store import Store
from sandbox.client import ControlClient
from scripts import stack as stack_module
from scripts.processes import free_port
from scripts.stack import Hemu, start_all
from scripts.train import model_path
from tests.chaos.proxy import FaultProxy, stop_all
from tests.e2e.conftest import E2E, Chat, register_all_officers

# Loop intervals as the end-to-end tests use them (a trial should not wait 30 s for a watcher sweep);
# the per-chat pace and Rasa's timeout stay at their production defaults (1 s, 60 s): those decide
# what a resident sees under load and during an outage, which is what this suite measures.
GATEWAY_ENV = {
    "HEMU_WATCH_INTERVAL": "0.5",
    "HEMU_NOTIFY_INTERVAL": "0.2",
    "HEMU_REPLAY_INTERVAL": "0.5",
}
SERVICES = ("rasa", "actions", "gateway")
READY_TIMEOUT = 300.0  # Rasa's cold start on two busy cores


@dataclass
class Chaos:
    """What every scenario shares: the processes, their store and clock, the people in the chats."""

    hemu: Hemu
    store: Store
    settings: Settings
    control: ControlClient
    clock_file: Path
    database: str
    db_path: Path
    work: Path
    rasa_proxy: FaultProxy
    actions_proxy: FaultProxy
    officers: dict[str, Chat] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(9_100_001))
    restarts: list[dict[str, Any]] = field(default_factory=list)
    _desks: dict[str, threading.Lock] = field(default_factory=dict)
    _desks_lock: threading.Lock = field(default_factory=threading.Lock)

    def e2e(self) -> E2E:
        """The end-to-end tests' view of the same stack, for their helpers (officer registration)."""
        return E2E(
            hemu=self.hemu,
            store=self.store,
            settings=self.settings,
            control=self.control,
            clock_file=self.clock_file,
            database=self.database,
            officers=self.officers,
        )

    def resident(self, language_code: str = "zh-hans") -> Chat:
        """A resident never seen before: every trial's chat starts empty, so what it shows is its own."""
        return Chat(self.control, next(self._ids), language_code)

    def officer_chat(self, officer_id: str) -> Chat:
        return self.officers[officer_id]

    def officer_lock(self, officer_id: str) -> threading.Lock:
        """Held while a trial's officer works a case: one person does one thing at a time."""
        with self._desks_lock:
            return self._desks.setdefault(officer_id, threading.Lock())

    # -- faults on processes

    def kill(self, name: str) -> float:
        """SIGKILL to the service's whole process group (no goodbye, as a crash or the OOM killer);
        returns when it is gone (time.time())."""
        service = self.hemu.services[name]
        if service.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGKILL)
        service.process.wait(30)
        return time.time()

    def restart(self, name: str) -> float:
        """Starts the killed service again on its port, same database and clock; seconds until ready."""
        began = time.monotonic()
        self.hemu.start(name)
        took = time.monotonic() - began
        self.restarts.append({"service": name, "seconds": round(took, 2), "at": time.time()})
        return took

    def ensure_all_running(self) -> None:
        """Whatever a failed scenario left stopped is started again, so the next one begins whole."""
        for name in ("actions", "rasa", "sandbox", "gateway"):
            if not self.hemu.services[name].alive:
                self.restart(name)
        self.rasa_proxy.clear()
        self.actions_proxy.clear()
        if self.control.outage_status().get("active"):
            self.control.end_outage()

    # -- time

    def advance_clock(self, by: timedelta) -> float:
        """Moves Hemu's shared clock (every process reads the file) forward; returns the total shift."""
        return clock.advance(by, self.clock_file)


def tracker_store_for(work: Path) -> Any | None:
    """Where Rasa keeps conversations, as `make run` chooses it (scripts/endpoints.py) but inside the
    run's folder, never ``var/``: ``HEMU_TRACKER_STORE`` if set (``memory`` for Rasa's memory), else a
    SQLite file next to the case store. None when this checkout's `make run` has no tracker store yet."""
    try:
        from scripts.endpoints import MEMORY, tracker_store
    except ImportError:
        return None
    chosen = os.environ.get("HEMU_TRACKER_STORE", "").strip()
    if chosen.lower() == MEMORY:
        return None
    return tracker_store(chosen or f"sqlite:///{work / 'rasa-trackers.sqlite3'}")


@contextmanager
def _actions_through(proxy: FaultProxy) -> Iterator[None]:
    """While ``start_all`` writes Rasa's endpoints file, the action endpoint names the proxy's port (the
    action server itself still starts on its own port, which the proxy forwards to). ``start_all`` looks
    ``write_endpoints`` up when it runs; :func:`running_chaos` checks the file it wrote, so a change there
    fails loudly instead of quietly bypassing the proxy."""
    original = stack_module.write_endpoints

    def through_proxy(path: Path, action_port: int, *args: Any, **kwargs: Any) -> Path:
        return original(path, proxy.port, *args, **kwargs)

    stack_module.write_endpoints = through_proxy  # type: ignore[assignment]
    try:
        yield
    finally:
        stack_module.write_endpoints = original  # type: ignore[assignment]


@contextmanager
def running_chaos(work: Path) -> Iterator[Chaos]:
    """The stack in ``work``, every active officer registered; stopped when the block ends.

    Started by :func:`scripts.stack.start_all` itself, so each process is launched exactly as by `make run`
    (environment, tracker store, readiness); only the URLs between them go through the fault proxies.
    """
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    db_path = work / "hemu.sqlite3"
    database = f"sqlite:///{db_path}"
    clock_file = work / "clock"
    clock_file.write_text("0\n", encoding="utf-8")
    store = Store.from_url(database)
    store.migrate()
    log_dir = work / "logs"
    rasa_port, action_port = free_port(), free_port()
    rasa_proxy = FaultProxy("rasa", rasa_port).start()
    actions_proxy = FaultProxy("actions", action_port).start()
    shared = {"DATABASE_URL": database, clock.ENV: str(clock_file)}
    # The gateway reaches Rasa and the action server's health URL through the proxies (gateway_env wins
    # over the URLs start_all sets).
    gateway_env = {"HEMU_RASA_URL": rasa_proxy.url, "HEMU_ACTIONS_URL": actions_proxy.url, **GATEWAY_ENV}
    options: dict[str, Any] = {}
    trackers = tracker_store_for(work)
    if trackers is not None and "trackers" in inspect.signature(start_all).parameters:
        options["trackers"] = trackers
    with pytest.MonkeyPatch.context() as patch:
        # This process reads the same clock and store as the servers (the desk, hemu.clock.now).
        patch.setenv(clock.ENV, str(clock_file))
        patch.setenv("DATABASE_URL", database)
        patch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        began = time.monotonic()
        try:
            with (
                _actions_through(actions_proxy),
                start_all(
                    model,
                    log_dir,
                    env=shared,
                    gateway_env=gateway_env,
                    rasa_port=rasa_port,
                    action_port=action_port,
                    timeout=READY_TIMEOUT,
                    **options,
                ) as hemu,
            ):
                endpoints = hemu.endpoints.read_text(encoding="utf-8")
                if f":{actions_proxy.port}/" not in endpoints:
                    pytest.fail(f"Rasa's endpoints bypass the actions' fault proxy:\n{endpoints}")
                assert hemu.bot_api_url is not None
                print(
                    f"\nchaos: all services ready in {time.monotonic() - began:.1f} s (logs: {log_dir}; "
                    f"conversations: {trackers.shown if trackers else 'Rasa memory'})"
                )
                chaos = Chaos(
                    hemu=hemu,
                    store=store,
                    settings=load_settings(),
                    control=ControlClient(hemu.bot_api_url, timeout=30),
                    clock_file=clock_file,
                    database=database,
                    db_path=db_path,
                    work=work,
                    rasa_proxy=rasa_proxy,
                    actions_proxy=actions_proxy,
                )
                register_all_officers(chaos.e2e(), 7_200_001)
                yield chaos
        finally:
            stop_all([rasa_proxy, actions_proxy])
            store.close()


# -- the database held by someone else


@contextmanager
def sqlite_locked(db_path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds ``BEGIN EXCLUSIVE`` on the store for ``seconds`` (a backup tool, an admin's
    sqlite3 shell left open): every writer waits, readers go on (WAL). Yields once the lock is held —
    the holder says so — and releases it on leaving the block at the latest."""
    script = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "db.execute('COMMIT')\n"
        "print('released', flush=True)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(db_path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if line != "locked":
            raise RuntimeError(f"the lock holder did not take the lock: {line!r}")
        yield holder
    finally:
        if holder.poll() is None:
            holder.terminate()
        holder.wait(30)
