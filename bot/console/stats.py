"""/stats [period] for officers and the supervisor: the station report's figures for a week, a month or
any range (this week when nothing is written), as the report's chart with the Monday digest's lines for
its caption — the same figures, defined once in :mod:`hemu.report.figures`, as every other view.

Making the report reads the store and draws a chart (about a second of CPU): both in a thread, so the
gateway keeps answering residents meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from telegram import Update
from telegram.constants import ParseMode

from bot import cards, digest, texts
from bot.console.common import reply
from bot.gateway import Gateway
from hemu.report import Period, PeriodError, parse_period, station_report
from hemu.report.digest import digest_lines
from hemu.report.words import Words
from hemu.roster import Officer
from hemu.store import OutboxStatus


def stats_caption(gateway: Gateway, lines: list[str], period_label: str, language: str) -> str:
    """The report's lines under /stats' own title, and what the notifier gave up, if anything: nothing
    given up stays invisible to the supervisor."""
    title = texts.text("stats_title", language, period=cards.escape(period_label))
    text = "\n".join([title, *lines[1:]])
    undelivered = gateway.store.outbox.counts()[OutboxStatus.FAILED.value]
    dead = gateway.store.inbound.dead_letters()
    if undelivered or dead:
        text += "\n\n" + texts.text("stats_undelivered", language, undelivered=undelivered, dead=dead)
    return text


def _made(gateway: Gateway, period: Period, now: datetime, language: str) -> tuple[str, bytes | None]:
    """The caption and the chart, in one worker thread: the store reads and the drawing together."""
    report = station_report(gateway.store, period, now)
    words = Words(language, gateway.settings)
    caption = stats_caption(gateway, digest_lines(report, words), period.label(), language)
    return caption, digest.picture(report, words)


async def show_stats(update: Update, gateway: Gateway, officer: Officer, argument: str) -> None:
    language = officer.language
    now = gateway.desk.now()
    try:
        period = parse_period(argument, now, gateway.settings.station.station.tz)
    except PeriodError:
        await reply(update, cards.escape(texts.text("stats_bad_period", language)))
        return
    caption, picture = await asyncio.to_thread(_made, gateway, period, now, language)
    if picture is None:
        await reply(update, caption)
        return
    assert update.effective_chat is not None
    await update.get_bot().send_photo(
        update.effective_chat.id, picture, caption=caption, parse_mode=ParseMode.HTML
    )


__all__ = ["show_stats", "stats_caption"]
