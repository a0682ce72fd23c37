"""``python -m hemu report --from 2026-11-01 --to 2026-11-30 --format html|pdf|csv``: the station's report
for a meeting, written from the same store and with the same figures as /stats and the Monday digest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from hemu.demo_data import is_demo
from hemu.desk import Desk
from hemu.errors import ConfigError
from hemu.report import Period, station_report
from hemu.report.periods import parse_day, parse_period
from hemu.report.render import csv_text, html, pdf
from hemu.report.words import Words

FORMATS = ("html", "pdf", "csv")


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser("report", help="the station report for a period: HTML, PDF or CSV")
    report.add_argument("--from", dest="first", help="first day, station time (2026-11-01)")
    report.add_argument("--to", dest="last", help="last day, included (2026-11-30)")
    report.add_argument(
        "--period",
        help="instead of --from/--to: week, last-week, month, last-month or 2026-11 (default last-week)",
    )
    report.add_argument("--format", choices=FORMATS, default="html")
    report.add_argument("--language", choices=("zh", "en"), default="zh")
    report.add_argument("--output", "-o", help="file to write (default: standard output; PDF needs a file)")


def chosen_period(desk: Desk, args: argparse.Namespace) -> Period:
    tz = desk.settings.station.station.tz
    if args.first or args.last:
        if not (args.first and args.last) or args.period:
            raise ValueError("give both --from and --to, or --period alone")
        return Period(parse_day(args.first), parse_day(args.last), tz)
    return parse_period(args.period or "last-week", desk.now(), tz)


def run(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    if args.format == "pdf" and not args.output:
        print("error: a PDF needs --output FILE", file=sys.stderr)
        return 1
    period = chosen_period(desk, args)
    report = station_report(desk.store, period, desk.now())
    words = Words(args.language, desk.settings)
    try:
        if args.format == "csv":
            text = csv_text(report)
        else:
            text = html(report, words, demo=is_demo(desk.store.engine))
        if args.format == "pdf":
            pdf(text, Path(args.output))
        elif args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            out.write(text)
    except ConfigError as error:  # no CJK font, no browser for the PDF: said, nothing half-written
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.output:
        print(f"report {period.label()} written to {args.output}", file=sys.stderr)
    return 0


__all__ = ["FORMATS", "add_commands", "chosen_period", "run"]
