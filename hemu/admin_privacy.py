"""``python -m hemu privacy report``: what Hemu holds about residents, and when it goes.

Counts and dates only — never a resident's words — so the report can be shown to a resident, a
supervisor or an inspector. The rule it reports is ``retention`` in config/policy.yml, applied by the
promise watcher on every sweep (:meth:`hemu.store.privacy.Privacy.expire`); /forget erases a resident's
part at once.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import IO

from hemu.desk import Desk
from hemu.store.privacy import held
from hemu.times import station_minutes


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    privacy = commands.add_parser("privacy", help="what is held about residents, and for how long")
    privacy.add_subparsers(dest="action", required=True).add_parser(
        "report", help="counts and dates of residents' data held, and the retention rule"
    )


def run(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    days = desk.settings.policy.retention.personal_details_days
    keep = timedelta(days=days)
    now = desk.now()
    found = held(desk.store.engine)

    def when(moment: datetime | None) -> str:
        return station_minutes(moment, desk.settings.station.station.tz) if moment else "-"

    next_expiry = when(max(found.oldest_over + keep, now)) if found.oldest_over else "-"
    lines = [
        f"Retention: a case's personal details are erased {days} days after it is closed or cancelled",
        "(config/policy.yml `retention`); /forget erases a resident's at once. Figures are kept.",
        "",
        f"cases holding personal details     {found.cases_with_details}",
        f"  still being worked                {found.active_with_details}",
        f"  over, waiting for the rule        {found.over_with_details}   next erased: {next_expiry}",
        f"cases already erased               {found.erased}   (forgotten or expired; figures kept)",
        f"residents' message texts kept      {found.inbound_texts}   oldest: {when(found.oldest_inbound)}",
        f"updates waiting in the journal     {found.journalled_updates}   (deleted once handled)",
        f"officers' Telegram copies recorded {found.officer_copies}   (edited 'details removed' when erased)",
        "",
        "Also held elsewhere: Rasa's conversations (the tracker store, see README), erased by /forget and",
        f"once a resident has written nothing for {days} days and none of their cases holds details; and",
        "the logs, which hold ids and kinds, never residents' words (hemu/logs.py).",
    ]
    print("\n".join(lines), file=out)
    return 0
