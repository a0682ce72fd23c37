"""The supervisor's Monday digest as Telegram shows it: the report's chart with its five lines as the
caption (:mod:`hemu.report.digest` decides when, and what the lines say).

The report is made when the notifier sends it, from the store as it is then; a chart that cannot be drawn
(no CJK font on this machine) is logged and the lines go alone rather than nothing.
"""

from __future__ import annotations

import logging

from bot import recipients
from bot.gateway import Gateway
from bot.recipients import Drop, Outgoing
from hemu.errors import ConfigError
from hemu.kinds import NoticeKind
from hemu.parties import Party
from hemu.report import StationReport, station_report
from hemu.report.digest import digest_lines, digest_period
from hemu.report.words import Words
from hemu.store import NotificationRecord

log = logging.getLogger(__name__)

KIND = NoticeKind.WEEKLY_DIGEST.value


def picture(report: StationReport, words: Words) -> bytes | None:
    """The digest chart, or None (logged) when this machine cannot draw it."""
    # matplotlib takes ~0.8 s to import: on the first chart drawn, not on every gateway start.
    from hemu.report.charts import digest_image

    try:
        return digest_image(report, words)
    except ConfigError as error:
        log.error("the report chart cannot be drawn, sending the figures without it: %s", error)
        return None


def render(gateway: Gateway, record: NotificationRecord, minimal: bool = False) -> Outgoing:
    """The digest for its week; ``minimal``: the lines without the chart (Telegram refused the photo)."""
    party = Party.parse(record.recipient)
    if party is None or party.role != "officer":
        raise Drop(f"a weekly digest for {record.recipient!r}")
    chat_id, language = recipients.officer_chat(gateway, party.ident)
    try:
        period = digest_period(dict(record.payload), gateway.settings)
    except (KeyError, ValueError) as error:
        raise Drop(f"a weekly digest without its week: {error}") from None
    report = station_report(gateway.store, period, gateway.desk.now())
    words = Words(language, gateway.settings)
    text = "\n".join(digest_lines(report, words))
    return Outgoing(chat_id, text, photo=None if minimal else picture(report, words))


__all__ = ["KIND", "picture", "render"]
