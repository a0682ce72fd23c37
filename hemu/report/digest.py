"""The supervisor's Monday digest: when it is due, and its five lines (the chart is
:func:`hemu.report.charts.digest_image`). The promise watcher queues it through the outbox like the daily
summary, so it survives restarts and is sent once however many watchers sweep; /stats answers with the
same lines for any period.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import List, Tuple

from hemu import parties
from hemu.kinds import NoticeKind
from hemu.report.figures import Figures, StationReport
from hemu.report.periods import Period, week_of
from hemu.report.words import Words
from hemu.settings import Settings
from hemu.store import Notification, Store
from hemu.times import require_aware


def digest_moment(settings: Settings, now: datetime) -> datetime:
    """This week's digest time: Monday at ``reporting.weekly_digest_at``, station time, in UTC."""
    tz = settings.station.station.tz
    monday = week_of(now, tz).first
    at = settings.policy.reporting.weekly_digest_at
    return datetime.combine(monday, at, tzinfo=tz).astimezone(timezone.utc)


def queue_weekly_digest(store: Store, settings: Settings, now: datetime) -> Tuple[bool, datetime | None]:
    """Queues last week's digest from its Monday moment until that Monday ends (station time); whether it
    was queued now, and when the next one is due. A gateway down all Monday skips that week's digest —
    a digest arriving on Thursday would only be read as this week's — and /stats last-week still has it."""
    if not settings.policy.reporting.weekly_digest:
        return False, None
    now = require_aware(now, "now")
    tz = settings.station.station.tz
    this_week = digest_moment(settings, now)
    # Midday next Monday is next Monday's date whatever the clocks do in between.
    following = digest_moment(settings, this_week + timedelta(days=7, hours=12))
    if now < this_week:
        return False, this_week
    monday = week_of(now, tz).first
    if now >= Period(monday, monday, tz).end:
        return False, following
    last_week = week_of(this_week, tz).previous()
    notice = Notification(
        parties.officer(settings.roster.supervisor),
        NoticeKind.WEEKLY_DIGEST,
        {"first": last_week.first.isoformat(), "last": last_week.last.isoformat()},
    )
    return store.outbox.add_once(notice, since=this_week, now=now), following


def digest_period(payload: dict[str, object], settings: Settings) -> Period:
    """The week a queued digest is about (ValueError for a payload that names none)."""
    return Period(
        date.fromisoformat(str(payload["first"])),
        date.fromisoformat(str(payload["last"])),
        settings.station.station.tz,
    )


def _signed(difference: int, key: str, words: Words) -> str:
    sign = "+" if difference > 0 else ("±" if difference == 0 else "−")
    return words(key, sign=sign, value=abs(difference))


def _change(now: float | None, before: float | None, words: Words) -> str:
    """Change of a rate in percentage points; "no comparison" without both."""
    if now is None or before is None:
        return words("change_none")
    return _signed(round(100 * now) - round(100 * before), "change_points", words)


def _count_change(now: int, before: int, words: Words) -> str:
    return _signed(now - before, "change_count", words)


def digest_lines(report: StationReport, words: Words) -> List[str]:
    """A title and five lines, HTML for Telegram: every value is a number or a configured word, so
    nothing needs escaping but the period label, which is digits and dashes."""
    now, before = report.total, report.previous
    earlier = report.period.previous()
    if report.period.days == 7:
        named = words("before_week")
    elif earlier.first.day == 1 and earlier.days >= 28:
        named = words("before_month")
    else:
        named = words("before_period")
    return [
        words("digest_title", period=report.period.label()),
        words(
            "digest_opened",
            opened=now.opened,
            change=_count_change(now.opened, before.opened, words),
            before=named,
            urgent=now.opened_by_priority.get("urgent", 0),
        ),
        words(
            "digest_satisfaction",
            rate=words.percent(now.satisfaction_rate),
            satisfied=now.satisfied,
            rated=now.rated,
            change=_change(now.satisfaction_rate, before.satisfaction_rate, words),
            before=named,
        ),
        words(
            "digest_promises",
            rate=words.percent(now.promise_kept_rate),
            kept=now.promises_kept,
            due=now.promises_due,
            change=_change(now.promise_kept_rate, before.promise_kept_rate, words),
            before=named,
        ),
        words(
            "digest_response",
            median=words.duration(now.first_response.median),
            p90=words.duration(now.first_response.p90),
        ),
        _open_line(now, words),
    ]


def _open_line(figures: Figures, words: Words) -> str:
    return words(
        "digest_open",
        low=figures.low_ratings,
        came_back=figures.came_back,
        open=figures.open_at_end,
        oldest=words.duration(figures.oldest_open),
    )


__all__ = ["digest_lines", "digest_moment", "digest_period", "queue_weekly_digest"]
