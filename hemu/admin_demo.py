"""``python -m hemu demo-data``: seeds a realistic month of demo cases into the sandbox's case store, so the
station report (and the sandbox's station tab) has something to show (:mod:`hemu.demo_data`).

The store is the one the offline sandbox uses — ``HEMU_SANDBOX_DATABASE_URL``, else ``DATABASE_URL``, else
``var/sandbox.sqlite3``, the rule of ``scripts/run.py`` — never the station's default ``var/hemu.sqlite3``.
A station's database is refused (:func:`hemu.store.purpose.claim`) before anything is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO, Mapping

from hemu import demo_data
from hemu.desk import Desk
from hemu.errors import ConfigError
from hemu.store import Store, var_dir
from hemu.store.db import normalise_url, shown_url

SANDBOX_DATABASE_ENV = "HEMU_SANDBOX_DATABASE_URL"
SANDBOX_DATABASE_FILE = "sandbox.sqlite3"


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = commands.add_parser("demo-data", help="seed the sandbox's case store with a month of demo cases")
    demo.add_argument("--days", type=int, default=30, help="how many days of cases, ending now (default 30)")
    demo.add_argument(
        "--seed", type=int, default=demo_data.DEFAULT_SEED, help="the same seed gives the same cases"
    )
    demo.add_argument("--append", action="store_true", help="add another batch to earlier demo data")


def sandbox_url(env: Mapping[str, str] | None = None) -> str:
    """The sandbox's case store — ``HEMU_SANDBOX_DATABASE_URL``, else ``DATABASE_URL`` (refused later if
    it is a station's), else ``var/sandbox.sqlite3``, never the station's default ``var/hemu.sqlite3`` —
    the one rule for this command and an offline ``make run`` (``scripts/run.py``)."""
    env = os.environ if env is None else env
    chosen = env.get(SANDBOX_DATABASE_ENV, "").strip() or env.get("DATABASE_URL", "").strip()
    return chosen or f"sqlite:///{var_dir() / SANDBOX_DATABASE_FILE}"


def _same_database(desk: Desk, url: str) -> bool:
    """Whether ``url`` names the desk's own store (SQLite paths compared resolved, as the engine has it)."""
    wanted = normalise_url(url)
    if wanted.get_backend_name() == "sqlite" and wanted.database:
        wanted = wanted.set(database=str(Path(wanted.database).expanduser().resolve()))
    mine = desk.store.engine.url
    return wanted.render_as_string(hide_password=False) == mine.render_as_string(hide_password=False)


def run(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    """Seeds the sandbox's store with the admin desk's settings and clock (the sandbox's shifted clock
    when ``HEMU_CLOCK_FILE`` is set), so the month ends at the sandbox's now."""
    url = sandbox_url()
    where = f"the sandbox's case store ({shown_url(url)})"
    own = None if _same_database(desk, url) else Store.from_url(url)
    try:
        if own is not None:
            own.migrate()
        target = desk if own is None else Desk(desk.settings, own, desk.calendar, clock=desk.clock)
        seeded = demo_data.seed(target, args.days, args.seed, append=args.append, where=where)
    except (ConfigError, demo_data.DemoRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if own is not None:
            own.close()
    start, end = (
        moment.astimezone(desk.tz).strftime("%Y-%m-%d %H:%M") for moment in (seeded.start, seeded.end)
    )
    print(
        f"demo data: {seeded.cases} cases over {seeded.days} days ({start} – {end}, seed {seeded.seed}): "
        f"{seeded.ratings} ratings ({seeded.low_ratings} low), {seeded.cancelled} cancelled, "
        f"{seeded.forgotten} residents forgotten, {seeded.open} still open",
        file=out,
    )
    return 0
