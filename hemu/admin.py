"""The station admin's command line (``python -m hemu …``): check the configuration, manage officers'
access, read cases and their audit log, export cases for the station's own statistics.

Every command works on the same store as the running bot (``DATABASE_URL`` or the SQLite default) and
prints plain text or CSV; problems go to stderr with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import datetime
from enum import Enum
from typing import IO, Callable, Sequence

from hemu import admin_demo, admin_officers, admin_outbox, admin_privacy, admin_report
from hemu.bootstrap import open_desk
from hemu.cases import CaseState
from hemu.config import config_dir
from hemu.desk import Desk
from hemu.errors import ConfigError
from hemu.guidance import content_dir, load_content
from hemu.hygiene import spreadsheet_cell
from hemu.messages import load_messages
from hemu.report.words import load_words
from hemu.settings import Settings, load_settings
from hemu.store import CaseRecord, InviteError
from hemu.times import station_minutes
from hemu.when import load_time_words
from hemu.workcal import WorkCalendar

# Columns of `cases export`. Personal data (the resident's words, contact) only with --personal-data.
EXPORT_COLUMNS = (
    "number",
    "category",
    "priority",
    "state",
    "area_id",
    "language",
    "officer_id",
    "opened_at",
    "promise_due_at",
    "first_response_at",
    "promise_kept",
    "resolved_at",
    "closed_at",
    "rating",
)
PERSONAL_COLUMNS = ("resident_id", "summary", "parties", "area_text", "contact", "rating_comment")


def local_time(moment: datetime | None, settings: Settings) -> str:
    return station_minutes(moment, settings.station.station.tz)


def promise_kept(case: CaseRecord) -> str:
    """yes/no once the promise was decided (first response, or a breach); empty while still open.

    The store fixes it at that moment, because a hand-over or reopening later replaces the due time.
    """
    if case.promise_kept is None:
        return ""
    return "yes" if case.promise_kept else "no"


def check(out: IO[str]) -> int:
    """Loads every file a running Hemu loads; each problem printed as file: entry: problem."""
    try:
        settings = load_settings()
        load_content()
        load_messages()
        load_time_words()
        load_words()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    calendar = WorkCalendar(settings.station.calendar)
    this_year = datetime.now(settings.station.station.tz).year
    for year in calendar.coverage_gaps([this_year, this_year + 1]):
        print(
            f"warning: {config_dir() / 'station.yml'}: calendar: make-up working days for {year} are not "
            "published in the holiday library yet; list them under extra_working_days or update it",
            file=out,
        )
    print(
        f"ok: {settings.station.station.name.en}, {len(settings.station.areas)} areas, "
        f"{len(settings.roster.active_officers())} active officers, "
        f"config {config_dir()}, content {content_dir()}",
        file=out,
    )
    return 0


def _selected(desk: Desk, args: argparse.Namespace) -> list[CaseRecord]:
    state = CaseState(args.state) if getattr(args, "state", None) else None
    return desk.store.cases(state=state, officer_id=args.officer, active_only=args.active, limit=args.limit)


def cases_list(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    now = desk.now()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["number", "state", "priority", "category", "area", "officer", "opened", "promise", ""])
    for case in _selected(desk, args):
        writer.writerow(
            [
                case.number,
                case.state,
                case.priority,
                case.category,
                case.area_id or "-",
                case.officer_id,
                local_time(case.opened_at, desk.settings),
                local_time(case.promise_due_at, desk.settings),
                "OVERDUE" if case.is_overdue(now) else "",
            ]
        )
    return 0


def cases_show(desk: Desk, number: str, out: IO[str]) -> int:
    case = desk.store.get(number.strip().upper())
    if case is None:
        print(f"error: no case {number}", file=sys.stderr)
        return 1
    settings = desk.settings
    rows = [
        ("case", case.number),
        ("state", case.state),
        ("priority", case.priority),
        ("category", case.category),
        ("area", f"{case.area_id or '-'} ({case.area_text or ''})"),
        ("officer", case.officer_id),
        ("opened", local_time(case.opened_at, settings)),
        (
            "promise",
            local_time(case.promise_due_at, settings) + ("  OVERDUE" if case.is_overdue(desk.now()) else ""),
        ),
        ("first contact", local_time(case.first_response_at, settings)),
        ("language", case.language),
        ("risk", ", ".join(case.risk_flags) or "-"),
        ("resident", case.resident_id),
        ("summary", case.summary),
        ("parties", case.parties or "-"),
        ("duration", case.duration or "-"),
        ("harm", case.harm or "-"),
        ("contact", case.contact if case.contact_consent and case.contact else "(no consent)"),
        ("rating", "" if case.rating is None else f"{case.rating} {case.rating_comment or ''}"),
    ]
    for label, value in rows:
        print(f"{label:>15}: {value}", file=out)
    print("\naudit log:", file=out)
    for event in desk.store.events(case.number):
        change = ""
        if event.to_state:
            change = f" {event.from_state}->{event.to_state}" if event.from_state else f" ->{event.to_state}"
        reason = f" — {event.reason}" if event.reason else ""
        print(f"  {local_time(event.at, settings)}  {event.actor:<20} {event.kind}{change}{reason}", file=out)
    return 0


def _private_file(path: str) -> IO[str]:
    """``path`` opened for writing, readable by its owner only (0600) — also when it existed before:
    an export can hold residents' words and phone numbers."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return open(descriptor, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by the caller


def _export_cell(value: object) -> str:
    """One exported value as text a spreadsheet shows and never runs (:mod:`hemu.hygiene`)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):  # str(Priority.URGENT) would be "Priority.URGENT"
        value = value.value
    return spreadsheet_cell(str(value))


def cases_export(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    columns = EXPORT_COLUMNS + (PERSONAL_COLUMNS if args.personal_data else ())
    target = _private_file(args.output) if args.output else out
    try:
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(columns)
        count = 0
        for case in _selected(desk, args):
            row = {name: getattr(case, name, "") for name in columns if name != "promise_kept"}
            row["promise_kept"] = promise_kept(case)
            writer.writerow([_export_cell(row.get(name)) for name in columns])
            count += 1
    finally:
        if args.output:
            target.close()
    if args.output:
        print(f"{count} case(s) written to {args.output}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m hemu", description="Hemu station administration")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate config/ and content/")
    commands.add_parser("migrate", help="create or upgrade the case store's tables")

    admin_officers.add_commands(commands)

    cases = commands.add_parser("cases", help="cases and their audit log").add_subparsers(
        dest="action", required=True
    )
    for name, text in (("list", "list cases"), ("export", "export cases as CSV")):
        sub = cases.add_parser(name, help=text)
        sub.add_argument("--state", choices=[state.value for state in CaseState])
        sub.add_argument("--officer")
        sub.add_argument("--active", action="store_true", help="only cases still waiting on an officer")
        sub.add_argument("--limit", type=int)
        if name == "export":
            sub.add_argument("--output", "-o", help="file to write (default: standard output)")
            sub.add_argument(
                "--personal-data",
                action="store_true",
                help="include residents' ids, words and contacts (handle with care)",
            )
    cases.add_parser("show", help="one case with its audit log").add_argument("number")
    admin_outbox.add_commands(commands)
    admin_privacy.add_commands(commands)
    admin_demo.add_commands(commands)
    admin_report.add_commands(commands)
    return root


def main(
    argv: Sequence[str] | None = None, out: IO[str] | None = None, desk: Callable[[], Desk] = open_desk
) -> int:
    args = parser().parse_args(argv)
    stream = out or sys.stdout
    if args.command == "check":
        return check(stream)
    try:
        the_desk = desk()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    if args.command == "migrate":
        print("case store is up to date", file=stream)
        return 0
    try:
        if args.command == "officers":
            return admin_officers.run(the_desk, args, stream)
        if args.command == "outbox":
            return admin_outbox.run(the_desk, args, stream)
        if args.command == "privacy":
            return admin_privacy.run(the_desk, args, stream)
        if args.command == "demo-data":
            return admin_demo.run(the_desk, args, stream)
        if args.command == "report":
            return admin_report.run(the_desk, args, stream)
        if args.action == "show":
            return cases_show(the_desk, args.number, stream)
        if args.action == "list":
            return cases_list(the_desk, args, stream)
        return cases_export(the_desk, args, stream)
    except (InviteError, ValueError, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
