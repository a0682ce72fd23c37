"""`make run`: all of Hemu on 127.0.0.1 — Rasa, the action server, the Telegram gateway and, without
``TELEGRAM_BOT_TOKEN``, the local Bot API server with the sandbox page — stopped together.

Ctrl-C or SIGTERM stops every service; so does any one of them dying (it is named, with its log), because
half a Hemu (say, a gateway whose Rasa is gone) would look alive while failing every resident.

Environment: HEMU_RASA_PORT (5005), HEMU_ACTIONS_PORT (5055), HEMU_SANDBOX_PORT (8081), HEMU_LOG_DIR
(logs/), DATABASE_URL (var/hemu.sqlite3), HEMU_TRACKER_STORE (where Rasa keeps conversations, so they
survive a restart: var/rasa-trackers.sqlite3, or DATABASE_URL's PostgreSQL; ``memory`` for none; see
scripts/endpoints.py), HEMU_CLOCK_FILE (optional shared clock shift), TELEGRAM_BOT_TOKEN
(real Telegram instead of the sandbox), HEMU_WORKERS (`make run WORKERS=N`: N Rasa servers, default 1),
HEMU_ACTION_SERVERS (default: as many as workers), REDIS_URL (the workers' lock store; without it `make run`
starts its own Redis). Several workers share conversations in PostgreSQL: DATABASE_URL's, or — when no
database is named — a PostgreSQL server the project starts itself, kept in <var>/postgres. In sandbox mode
every active roster officer gets a fresh invite code, written to <log dir>/sandbox-officers.json for the
page's one-click "register" buttons, and the sandbox is handed its case store (HEMU_SANDBOX_DATABASE_URL in
its environment) for the page's station tab. HEMU_DEMO_DAYS (`make run DEMO_DAYS=30`) first seeds that store
with N days of demo cases (`python -m hemu demo-data`), once: a store that has them already is left as it is.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu import admin, clock  # noqa: E402
from hemu.admin_demo import SANDBOX_DATABASE_ENV  # noqa: E402
from hemu.admin_demo import sandbox_url as sandbox_database_url  # noqa: E402
from hemu.demo_data import is_demo  # noqa: E402
from hemu.settings import Settings, load_settings  # noqa: E402
from hemu.store import InviteError, Store, purpose  # noqa: E402
from hemu.store.db import is_postgres, shown_url, var_dir  # noqa: E402
from hemu.store.purpose import Purpose, WrongDatabase  # noqa: E402
from scripts import logfiles  # noqa: E402
from scripts.endpoints import (  # noqa: E402
    LOCK_STORE_ENV,
    SANDBOX_TRACKER_FILE,
    TRACKER_FILE,
    TrackerStore,
    lock_store,
    tracker_store,
    tracker_store_url,
)
from scripts.pgserver import PgUnavailable, start_server  # noqa: E402
from scripts.processes import HOST, REPO_ROOT, Service, ServiceFailed  # noqa: E402
from scripts.stack import start_all  # noqa: E402
from scripts.train import model_path  # noqa: E402

OFFICERS_FILE = "sandbox-officers.json"
DEMO_DAYS_ENV = "HEMU_DEMO_DAYS"


def _still_stopping(_signum: int, _frame: FrameType | None) -> None:
    # A second Ctrl-C must not interrupt the stopping itself and leave servers behind.
    print("still stopping the services...", file=sys.stderr, flush=True)


def _on_stop_signal(_signum: int, _frame: FrameType | None) -> None:
    """The first Ctrl-C or SIGTERM unwinds like Ctrl-C, so ``start_all`` stops the services on the way out."""
    signal.signal(signal.SIGINT, _still_stopping)
    signal.signal(signal.SIGTERM, _still_stopping)
    raise KeyboardInterrupt


def port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise SystemExit(f"{name}={port} is not a port number (1–65535)")
    return port


def busy_ports(ports: dict[str, int]) -> list[str]:
    """Names of the variables whose port is taken: said up front instead of a server's bind traceback."""
    busy = []
    for name, port in ports.items():
        with socket.socket() as sock:
            # As the servers bind: a port left in TIME_WAIT by the last run is free, a listening one is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                busy.append(f"{name}={port}")
    return busy


def count_from_env(name: str, default: int, highest: int = 16) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= highest:
        raise SystemExit(f"{name}={raw!r}: expected a whole number from 1 to {highest}")
    return int(raw)


@contextmanager
def database_for_workers(shared: dict[str, str], workers: int, sandbox: bool, named: bool) -> Iterator[None]:
    """Several Rasa workers continue each other's conversations, so they share them in PostgreSQL (and
    the case store goes there too). ``named``: a database was chosen by environment — it must then be
    PostgreSQL; otherwise the project's own server, kept in <var>/postgres, runs for as long as Hemu."""
    url = shared.get("DATABASE_URL", "")
    if workers == 1 or is_postgres(url):
        yield
        return
    if named:
        raise SystemExit(
            f"WORKERS={workers} needs PostgreSQL (they share conversations); the case store is {url}"
        )
    try:
        server = start_server(kept_in=var_dir() / "postgres")
    except PgUnavailable as error:
        raise SystemExit(f"WORKERS={workers} needs PostgreSQL: {error}") from None
    try:
        shared["DATABASE_URL"] = server.create_database("sandbox" if sandbox else "hemu", exist_ok=True)
        print(
            f"PostgreSQL for {workers} workers: {shown_url(shared['DATABASE_URL'])} ({server.base})",
            flush=True,
        )
        yield
    finally:
        server.stop()


def log_dir_from_env() -> Path:
    path = Path(os.environ.get("HEMU_LOG_DIR", "").strip() or "logs")
    return path if path.is_absolute() else REPO_ROOT / path


def demo_days_from_env(env: Mapping[str, str], token: str) -> int | None:
    """How many days of demo cases to seed (None: none). With a real bot token there is no sandbox store,
    and demo cases must never reach a station's: the request is ignored, said in one line."""
    raw = env.get(DEMO_DAYS_ENV, "").strip()
    if not raw:
        return None
    if token:
        print(
            f"{DEMO_DAYS_ENV}={raw} ignored: TELEGRAM_BOT_TOKEN is set, and demo data only goes into the "
            "offline sandbox's store",
            flush=True,
        )
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 366:
        raise SystemExit(f"{DEMO_DAYS_ENV}={raw!r}: expected a number of days from 1 to 366")
    return int(raw)


def seed_demo_data(days: int, env: Mapping[str, str]) -> bool:
    """Runs ``python -m hemu demo-data --days N`` on the sandbox store (env's DATABASE_URL) before any
    server starts, so the first look at the station tab already has a month to show. False: it refused
    (say, a store with play cases of its own); its reason is printed."""
    url = env["DATABASE_URL"]
    print(f"seeding {days} days of demo cases into {shown_url(url)} ...", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "hemu", "demo-data", "--days", str(days)],
        cwd=REPO_ROOT,
        env={**os.environ, **env, SANDBOX_DATABASE_ENV: url},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(f"demo data not seeded: {result.stderr.strip()[-1500:]}", file=sys.stderr, flush=True)
        return False
    print(result.stdout.strip(), flush=True)
    return True


def officer_invites(settings: Settings, store: Store) -> list[dict[str, str]]:
    """One fresh invite per active roster officer, so the sandbox page can register each with a click.

    Officers deactivated in the store are left out (an invite for them is refused anyway).
    """
    store.migrate()
    ttl = timedelta(days=settings.roster.invite_valid_days)
    invites = []
    for officer in settings.roster.active_officers():
        try:
            code = store.officers.create_invite(officer.id, clock.now(), ttl)
        except InviteError:
            continue
        invites.append(
            {
                "officer_id": officer.id,
                "name": f"{officer.name.zh} {officer.name.en}",
                "code": code,
            }
        )
    return invites


def write_officers_file(path: Path, invites: list[dict[str, str]]) -> Path:
    """Private file: the codes link a chat to an officer account."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(invites, out, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
    return path


def print_ready(service: Service) -> None:
    print(
        f"{service.name:<8} ready in {service.ready_after or 0:5.1f} s  {service.url or service.ready_url}",
        flush=True,
    )


def trackers_from_env(env: Mapping[str, str], sandbox: bool) -> TrackerStore | None:
    """Where Rasa keeps conversations; a URL the case store could not use either stops `make run` here."""
    url = tracker_store_url(env, SANDBOX_TRACKER_FILE if sandbox else TRACKER_FILE)
    try:
        return tracker_store(url) if url else None
    except ValueError as error:
        raise SystemExit(f"HEMU_TRACKER_STORE: {error}") from None


def main() -> int:
    model = model_path()
    if not model.is_file():
        print(f"no trained model at {model}; run `make train`", file=sys.stderr)
        return 1
    # The station's files (`make check-config`'s first half) here, in this process, before anything starts;
    # the gateway checks its own settings and texts (its half) as it starts, beside Rasa's model loading.
    if admin.check(sys.stdout) != 0:
        print("bad station configuration: nothing started (fix, then `make check-config`)", file=sys.stderr)
        return 2
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    ports = {
        "HEMU_RASA_PORT": port_from_env("HEMU_RASA_PORT", 5005),
        "HEMU_ACTIONS_PORT": port_from_env("HEMU_ACTIONS_PORT", 5055),
    }
    if not token:
        ports["HEMU_SANDBOX_PORT"] = port_from_env("HEMU_SANDBOX_PORT", 8081)
    busy = busy_ports(ports)
    if busy:
        print(f"port already in use: {', '.join(busy)} (another `make run`?); set another", file=sys.stderr)
        return 1
    log_dir = log_dir_from_env()
    try:  # bad rotation settings are said now, not after everything has started
        logfiles.max_bytes_from_env(), logfiles.keep_from_env()
    except ValueError as error:
        print(f"bad log settings: {error}", file=sys.stderr)
        return 2
    # Every process reads the same case store and clock (the gateway's and the actions' "now" must agree).
    # (The gateway gets Rasa's and the actions' URLs from start_all.)
    shared = {name: os.environ[name] for name in ("DATABASE_URL", "HEMU_CLOCK_FILE") if os.environ.get(name)}
    named = bool(
        shared.get("DATABASE_URL") or (not token and os.environ.get(SANDBOX_DATABASE_ENV, "").strip())
    )
    if not token:  # the sandbox's play cases never go into a station's database (hemu.store.purpose)
        shared["DATABASE_URL"] = sandbox_database_url(os.environ)
    demo_days = demo_days_from_env(os.environ, token)
    workers = count_from_env("HEMU_WORKERS", 1)
    action_servers = count_from_env("HEMU_ACTION_SERVERS", workers)
    # Settings several workers cannot use are said before anything (a database server) is started.
    if workers > 1 and tracker_store_url({**os.environ, **shared}) is None:
        print(
            f"WORKERS={workers} needs conversations in the database, not HEMU_TRACKER_STORE=memory",
            file=sys.stderr,
        )
        return 2
    redis = os.environ.get(LOCK_STORE_ENV, "").strip()
    try:
        locks = lock_store(redis) if workers > 1 and redis else None
    except ValueError as error:
        print(f"{LOCK_STORE_ENV}: {error}", file=sys.stderr)
        return 2
    with database_for_workers(shared, workers, sandbox=not token, named=named):
        return run(model, token, ports, log_dir, shared, workers, action_servers, locks, demo_days)


def run(
    model: Path,
    token: str,
    ports: dict[str, int],
    log_dir: Path,
    shared: dict[str, str],
    workers: int,
    action_servers: int,
    locks: TrackerStore | None,
    demo_days: int | None = None,
) -> int:
    trackers = trackers_from_env({**os.environ, **shared}, sandbox=not token)

    officers_file, seeded = None, None
    with Store.from_url(shared.get("DATABASE_URL")) as store:
        store.migrate()
        try:
            purpose.claim(store.engine, Purpose.STATION if token else Purpose.SANDBOX, "the case store")
        except WrongDatabase as error:
            print(f"refusing to start: {error}", file=sys.stderr)
            return 2
        if not token:
            invites = officer_invites(load_settings(), store)
            seeded = is_demo(store.engine)
    if not token:
        officers_file = write_officers_file(log_dir / OFFICERS_FILE, invites)
        print(f"sandbox cases in {shown_url(shared['DATABASE_URL'])}", flush=True)
        if demo_days and seeded:
            print(f"demo data already in the sandbox store ({seeded}); not seeded again", flush=True)
        elif demo_days and not seed_demo_data(demo_days, shared):
            print("nothing started (start without DEMO_DAYS, or on a fresh sandbox store)", file=sys.stderr)
            return 2
        shared[SANDBOX_DATABASE_ENV] = shared["DATABASE_URL"]  # the station tab's store (python -m sandbox)

    # Ctrl-C and a supervisor's SIGTERM both stop every service (even when started in the background,
    # where SIGINT would otherwise be ignored). The services run in their own sessions: a terminal's
    # Ctrl-C reaches only this process, which stops them in order.
    signal.signal(signal.SIGINT, _on_stop_signal)
    signal.signal(signal.SIGTERM, _on_stop_signal)
    what = (
        (
            f"{workers} Rasa workers, {action_servers} action servers"
            if workers > 1
            else "Rasa, the action server"
        )
        + ", the gateway"
        + ("" if token else " and the sandbox (local Telegram)")
    )
    print(f"starting {what} (logs in {log_dir}) ...", flush=True)
    kept = trackers.shown if trackers else "memory only (lost when Rasa stops)"
    print(f"conversations kept in {kept}", flush=True)
    launched = time.monotonic()
    try:
        with start_all(
            model,
            log_dir,
            env=shared,
            rasa_port=ports["HEMU_RASA_PORT"],
            action_port=ports["HEMU_ACTIONS_PORT"],
            sandbox_port=ports.get("HEMU_SANDBOX_PORT", 0),
            officers_file=officers_file,
            on_ready=print_ready,
            trackers=trackers,
            workers=workers,
            action_servers=action_servers,
            locks=locks,
        ) as hemu:
            print(f"all ready in {time.monotonic() - launched:.1f} s", flush=True)
            if hemu.bot_api_url:
                print(f"open {hemu.bot_api_url}/ to play a resident and an officer")
                print(f"(officers' invite codes: {officers_file})")
            else:
                print("talking to Telegram; officers register with `python -m hemu officers invite ID`")
            print("Ctrl-C stops everything.", flush=True)
            while (dead := hemu.dead()) is None:
                logfiles.rotate_large(service.log_path for service in hemu.services.values())
                time.sleep(0.5)
            print(
                f"{dead.name} stopped unexpectedly (exit code {dead.process.returncode}); "
                f"stopping the others. Its log: {dead.log_path}\n{dead.log_tail(15)}",
                file=sys.stderr,
            )
            return 1
    except ServiceFailed as failure:
        print(f"{failure.service.name} failed to start; stopped everything. {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
