"""``python -m hemu officers``: who may use the officers' console, and through which Telegram chat.

An invite code links one officer to one private chat. Only the newest code sent to an officer works (a
new one revokes the older), a code can be revoked, and an officer already linked elsewhere cannot be
moved by a code: the admin unlinks the old chat first (a lost phone), so a leaked code cannot quietly
send an officer's cases to a stranger. Listing shows the invites' state and dates, never the codes.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timedelta
from typing import IO

from hemu.assignment import NoOfficerAvailable
from hemu.config import config_dir
from hemu.desk import Desk
from hemu.times import station_minutes


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    officers = commands.add_parser("officers", help="officers' access").add_subparsers(
        dest="action", required=True
    )
    officers.add_parser("list", help="roster with access, Telegram link and open cases")
    for name, text in (
        ("invite", "make a one-time code the officer sends to the bot with /register (revokes older ones)"),
        ("deactivate", "stop assigning to an officer and hand their active cases over (all or none)"),
        ("activate", "allow a deactivated officer again"),
        ("unlink", "cut an officer's account from its Telegram chat, so a new invite can link another"),
    ):
        officers.add_parser(name, help=text).add_argument("officer_id")
    listing = officers.add_parser("invites", help="invites and their state (never the codes)")
    listing.add_argument("officer_id", nargs="?", help="only this officer's")
    revoke = officers.add_parser("revoke", help="revoke an unused invite, or all of an officer's")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("invite_id", nargs="?", type=int, help="an id from `officers invites`")
    which.add_argument("--officer", help="every unused invite of this officer")


def run(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    if args.action == "list":
        return officers_list(desk, out)
    if args.action == "invites":
        return officers_invites(desk, args.officer_id, out)
    if args.action == "revoke":
        return officers_revoke(desk, args.invite_id, args.officer, out)
    handlers = {
        "invite": officers_invite,
        "deactivate": officers_deactivate,
        "activate": officers_activate,
        "unlink": officers_unlink,
    }
    return handlers[args.action](desk, args.officer_id, out)


def _when(desk: Desk, moment: datetime | None) -> str:
    return station_minutes(moment, desk.settings.station.station.tz) or "-"


def officers_list(desk: Desk, out: IO[str]) -> int:
    loads = desk.store.loads()
    accounts = {account.officer_id: account for account in desk.store.officers.accounts()}
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["id", "name", "title", "areas", "active", "telegram", "open_cases", "backup"])
    for officer in desk.settings.roster.officers:
        account = accounts.get(officer.id)
        active = officer.active and (account is None or account.active)
        linked = "linked" if account is not None and account.telegram_chat_id is not None else "-"
        role = " (supervisor)" if officer.id == desk.settings.roster.supervisor else ""
        writer.writerow(
            [
                officer.id,
                f"{officer.name.en} / {officer.name.zh}{role}",
                officer.title.en,
                ",".join(officer.areas) or "station-wide",
                "yes" if active else "no",
                linked,
                loads.get(officer.id, 0),
                officer.backup or "-",
            ]
        )
    return 0


def _in_roster(desk: Desk, officer_id: str) -> bool:
    if desk.settings.roster.officer(officer_id) is None:
        print(f"error: no officer {officer_id!r} in {config_dir() / 'roster.yml'}", file=sys.stderr)
        return False
    return True


def officers_invite(desk: Desk, officer_id: str, out: IO[str]) -> int:
    if not _in_roster(desk, officer_id):
        return 1
    officer = desk.settings.roster.get(officer_id)
    if not officer.active or not desk.store.officers.is_active(officer_id):
        print(
            f"error: {officer_id} is deactivated; run `officers activate {officer_id}` first", file=sys.stderr
        )
        return 1
    ttl = timedelta(days=desk.settings.roster.invite_valid_days)
    code = desk.store.officers.create_invite(officer_id, desk.now(), ttl)
    expires = _when(desk, desk.now() + ttl)
    print(f"Invite for {officer.name.en} ({officer_id}): {code}", file=out)
    print(f"They send this to the bot: /register {code}   (valid until {expires}, once)", file=out)
    return 0


def officers_deactivate(desk: Desk, officer_id: str, out: IO[str]) -> int:
    if not _in_roster(desk, officer_id):
        return 1
    if officer_id == desk.settings.roster.supervisor:
        print(
            "error: the supervisor cannot be deactivated; name another supervisor in roster.yml first",
            file=sys.stderr,
        )
        return 1
    try:
        moved = desk.deactivate_officer(officer_id, actor="admin")
    except NoOfficerAvailable as error:
        print(f"error: {officer_id} stays active with all their cases: {error}", file=sys.stderr)
        return 1
    print(f"{officer_id} deactivated; {len(moved)} active case(s) handed over", file=out)
    for outcome in moved:
        print(f"  {outcome.case.number} -> {outcome.officer.id} ({outcome.reason})", file=out)
    return 0


def officers_activate(desk: Desk, officer_id: str, out: IO[str]) -> int:
    if not _in_roster(desk, officer_id):
        return 1
    desk.store.officers.reactivate(officer_id, desk.now())
    print(f"{officer_id} active again (send them a new invite if their chat was unlinked)", file=out)
    return 0


def officers_invites(desk: Desk, officer_id: str | None, out: IO[str]) -> int:
    if officer_id is not None and not _in_roster(desk, officer_id):
        return 1
    now = desk.now()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["id", "officer", "state", "created", "expires", "used", "revoked"])
    for invite in desk.store.officers.invites(officer_id):
        writer.writerow(
            [
                invite.id,
                invite.officer_id,
                invite.status(now),
                _when(desk, invite.created_at),
                _when(desk, invite.expires_at),
                _when(desk, invite.used_at),
                _when(desk, invite.revoked_at),
            ]
        )
    return 0


def officers_revoke(desk: Desk, invite_id: int | None, officer_id: str | None, out: IO[str]) -> int:
    if officer_id is not None and not _in_roster(desk, officer_id):
        return 1
    revoked = desk.store.officers.revoke(desk.now(), invite_id=invite_id, officer_id=officer_id)
    if invite_id is not None and not revoked:
        print(f"error: invite {invite_id} does not exist or is already used or revoked", file=sys.stderr)
        return 1
    print(f"{revoked} invite(s) revoked", file=out)
    return 0


def officers_unlink(desk: Desk, officer_id: str, out: IO[str]) -> int:
    if not _in_roster(desk, officer_id):
        return 1
    chat_id = desk.store.officers.unlink(officer_id)
    if chat_id is None:
        print(f"{officer_id} had no linked Telegram chat", file=out)
        return 0
    print(
        f"{officer_id} unlinked from their Telegram chat; their cases stay theirs. "
        f"Send them a new invite (`officers invite {officer_id}`) to link another.",
        file=out,
    )
    return 0
