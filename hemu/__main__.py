"""Admin command line: ``python -m hemu check`` validates the station's configuration and content."""

from __future__ import annotations

import argparse
import sys

from hemu.config import ConfigError, config_dir, load_station
from hemu.guidance import content_dir, load_content
from hemu.messages import load_messages


def check() -> int:
    """Loads every file a running Hemu would load; prints each problem as file: entry: problem."""
    try:
        station = load_station()
        load_content()
        load_messages()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    print(
        f"ok: {station.station.name.en}, {len(station.areas)} areas, "
        f"config {config_dir()}, content {content_dir()}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hemu", description="Hemu administration")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate config/ and content/")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check()
    return 2


if __name__ == "__main__":
    sys.exit(main())
