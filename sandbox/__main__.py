"""``python -m sandbox``: the local Bot API server and the sandbox page, until Ctrl-C or SIGTERM.

Offline runs (no TELEGRAM_BOT_TOKEN) point the gateway here; a person plays resident and officer in the
browser. The ready line is printed only once the port is bound, so a supervising script can wait for it.
The page's station tab reports on the case store named by ``--database``, else ``HEMU_SANDBOX_DATABASE_URL``,
else ``DATABASE_URL`` (the order of ``scripts/run.py``, which hands the sandbox its store that way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sandbox.server import LOOPBACK_HOSTS, LocalBotApi
from sandbox.station import shown_url

SANDBOX_DATABASE_ENV = "HEMU_SANDBOX_DATABASE_URL"


def load_officers(path: Path) -> list[dict[str, Any]]:
    """Reads ``[{officer_id, name, code}, …]`` (invite codes made by the admin CLI) for the officer pane."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(o, dict) and "officer_id" in o for o in data):
        raise ValueError(f"{path}: expected a JSON list of {{officer_id, name, code}} objects")
    return data


def database_from_env() -> str | None:
    """The store the station tab reads when ``--database`` is not given (None: the tab has none)."""
    for name in (SANDBOX_DATABASE_ENV, "DATABASE_URL"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    return None


async def serve(
    host: str, port: int, token: str | None, officers_file: Path | None, database: str | None = None
) -> None:
    api = LocalBotApi(host=host, port=port, token=token, officers_file=officers_file, database_url=database)
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"sandbox: {api.url}/", flush=True)  # the ready line, first: a supervisor waits for it
    if database:
        print(f"sandbox: the station tab reports on {shown_url(database)}", flush=True)
    else:
        print("sandbox: no --database (or DATABASE_URL): the station tab has no report to show", flush=True)
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local Telegram Bot API sandbox")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--officers", type=Path, help="JSON list of {officer_id, name, code} for the page")
    parser.add_argument("--token", help="accept only this bot token (default: any well-formed token)")
    parser.add_argument(
        "--database",
        help="case store the station tab reads (default: HEMU_SANDBOX_DATABASE_URL, else DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error(f"--host must be a loopback address ({', '.join(sorted(LOOPBACK_HOSTS))})")
    if args.officers:
        try:
            load_officers(args.officers)  # fail at start-up on a bad file; the server re-reads it later
        except (OSError, ValueError) as error:
            print(f"sandbox: --officers: {error}", file=sys.stderr)
            return 2
    try:
        database = args.database or database_from_env()
        asyncio.run(serve(args.host, args.port, args.token, args.officers, database))
    except OSError as error:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
