"""``python -m hemu outbox``: what the notifier could not deliver, and sending it again.

A notification is given up only at its deadline (``delivery`` in config/policy.yml) or when its chat cannot
be written to; the supervisor is told at that moment. This is where an admin sees the whole list — and,
once the cause is fixed (the officer unblocked the bot, Telegram is back), puts them back in the queue
with a fresh deadline. Listing shows case numbers and kinds, never what a resident wrote.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import IO

from hemu.desk import Desk
from hemu.store import InboundStatus, NotificationRecord, OutboxStatus
from hemu.store.inbound import DEAD_LETTER

UNSETTLED = (OutboxStatus.FAILED, OutboxStatus.DROPPED, OutboxStatus.PENDING)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    outbox = commands.add_parser(
        "outbox", help="notifications not delivered: list and requeue"
    ).add_subparsers(dest="action", required=True)
    listing = outbox.add_parser(
        "list", help="given up, dropped and waiting notifications (not the sent ones)"
    )
    listing.add_argument("--status", choices=[status.value for status in OutboxStatus])
    listing.add_argument("--limit", type=int, default=200)
    requeue = outbox.add_parser("requeue", help="send given-up or dropped notifications again")
    requeue.add_argument("ids", nargs="*", type=int, help="notification ids (see `outbox list`)")
    requeue.add_argument("--all-failed", action="store_true", help="every given-up notification")


def run(desk: Desk, args: argparse.Namespace, out: IO[str]) -> int:
    if args.action == "list":
        return outbox_list(desk, args.status, args.limit, out)
    return outbox_requeue(desk, args.ids, args.all_failed, out)


def _local(moment: datetime | None, desk: Desk) -> str:
    return moment.astimezone(desk.tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _line(record: NotificationRecord, desk: Desk) -> str:
    number = record.payload.get("number") or "-"
    error = (record.last_error or "").replace("\n", " ")[:80]
    return (
        f"{record.id:>6}  {_local(record.created_at, desk)}  {record.status.value:<8} {record.kind:<17}"
        f" {record.recipient:<22} {number!s:<14} {record.failures:>3}  {error}"
    )


def outbox_list(desk: Desk, status: str | None, limit: int, out: IO[str]) -> int:
    counts = desk.store.outbox.counts()
    print("  ".join(f"{name}: {count}" for name, count in counts.items()), file=out)
    wanted = [OutboxStatus(status)] if status else list(UNSETTLED)
    rows = [n for s in wanted for n in desk.store.outbox.notifications(status=s)]
    rows.sort(key=lambda record: record.id)
    dead_letters(desk, out)
    if not rows:
        print("nothing waiting or given up", file=out)
        return 0
    heading = ("id", "queued", "status", "kind", "to", "case", "try")
    print("{:>6}  {:<16}  {:<8} {:<17} {:<22} {:<14} {:>3}  last error".format(*heading), file=out)
    for record in rows[-limit:]:
        print(_line(record, desk), file=out)
    return 0


def dead_letters(desk: Desk, out: IO[str]) -> None:
    """Residents' messages Rasa kept failing on (bot/replay.py set them aside, the resident was told):
    ids and reasons only — the words stay in the store for whoever investigates."""
    dead = [
        record
        for record in desk.store.inbound.messages()
        if record.status is InboundStatus.DROPPED and (record.last_error or "").startswith(DEAD_LETTER)
    ]
    print(f"residents' messages set aside (dead letters): {len(dead)}", file=out)
    for record in dead[-50:]:
        reason = (record.last_error or "").replace("\n", " ")[:90]
        print(
            f"{record.id:>6}  {_local(record.created_at, desk)}  resident:{record.sender}  {reason}", file=out
        )


def outbox_requeue(desk: Desk, ids: list[int], all_failed: bool, out: IO[str]) -> int:
    if all_failed:
        ids = [*ids, *(n.id for n in desk.store.outbox.notifications(status=OutboxStatus.FAILED))]
    if not ids:
        raise ValueError("name the notifications to requeue (ids from `outbox list`) or give --all-failed")
    now = desk.now()
    give_up_at = now + desk.settings.policy.delivery.give_up_after
    count = desk.store.outbox.requeue(sorted(set(ids)), now, give_up_at)
    print(f"requeued {count} of {len(set(ids))}; the gateway sends them at its next poll", file=out)
    return 0 if count else 1
