"""The Monday digest: queued once, on Monday from its time (station time, daylight saving included),
about last week; its five lines say the week's figures and the change on the week before."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hemu.desk import Desk
from hemu.kinds import NoticeKind
from hemu.policy import Reporting
from hemu.report import Period, station_report
from hemu.report.digest import digest_lines, digest_moment, queue_weekly_digest
from hemu.report.words import Words
from hemu.settings import Settings
from tests.conftest import Clock
from tests.hemu.report.station_week import station_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def digests(desk: Desk) -> list[dict[str, object]]:
    return [
        dict(n.payload)
        for n in desk.store.outbox.pending(datetime(2100, 1, 1, tzinfo=SHANGHAI))
        if n.kind == NoticeKind.WEEKLY_DIGEST
    ]


def in_zone(settings: Settings, tz: ZoneInfo) -> Settings:
    station = settings.station.copy(
        update={"station": settings.station.station.copy(update={"timezone": tz.key})}
    )
    return replace(settings, station=station)


def test_queued_once_on_monday_from_its_time_about_last_week(case_desk: Desk) -> None:
    settings, store = case_desk.settings, case_desk.store
    monday = datetime(2026, 12, 7, 8, 29, tzinfo=SHANGHAI)
    assert queue_weekly_digest(store, settings, monday) == (
        False,
        datetime(2026, 12, 7, 8, 30, tzinfo=SHANGHAI),
    )
    assert queue_weekly_digest(store, settings, monday + timedelta(minutes=1))[0]
    assert not queue_weekly_digest(store, settings, monday + timedelta(hours=3))[0]  # once
    assert digests(case_desk) == [{"first": "2026-11-30", "last": "2026-12-06"}]
    assert digests(case_desk) and store.outbox.pending(monday + timedelta(days=1))[0].recipient == (
        f"officer:{settings.roster.supervisor}"
    )


def test_a_gateway_down_all_monday_skips_that_week(case_desk: Desk) -> None:
    tuesday = datetime(2026, 12, 8, 0, 0, tzinfo=SHANGHAI)
    queued, following = queue_weekly_digest(case_desk.store, case_desk.settings, tuesday)
    assert not queued and following == datetime(2026, 12, 14, 8, 30, tzinfo=SHANGHAI)
    assert digests(case_desk) == []


def test_switched_off(case_desk: Desk) -> None:
    policy = case_desk.settings.policy.copy(update={"reporting": Reporting(weekly_digest=False)})
    settings = replace(case_desk.settings, policy=policy)
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    assert queue_weekly_digest(case_desk.store, settings, monday) == (False, None)


def test_digest_time_follows_the_station_clock_across_daylight_saving(case_desk: Desk) -> None:
    berlin = in_zone(case_desk.settings, BERLIN)
    # Monday 30 March 2026 is the first Monday of summer time: 08:30 local is 06:30 UTC (not 07:30).
    assert digest_moment(berlin, datetime(2026, 4, 1, 12, 0, tzinfo=BERLIN)).time() == time(6, 30)
    assert digest_moment(berlin, datetime(2026, 3, 25, 12, 0, tzinfo=BERLIN)).time() == time(7, 30)
    _, following = queue_weekly_digest(case_desk.store, berlin, datetime(2026, 3, 23, 9, 0, tzinfo=BERLIN))
    assert following == datetime(2026, 3, 30, 8, 30, tzinfo=BERLIN)


def test_the_five_lines(case_desk: Desk, clock: Clock) -> None:
    station_week(case_desk, clock)
    week = Period(date(2026, 11, 30), date(2026, 12, 6), SHANGHAI)
    report = station_report(case_desk.store, week, clock.moment)
    lines = digest_lines(report, Words("en", case_desk.settings))
    assert len(lines) == 6 and "2026-11-30 – 2026-12-06" in lines[0]
    # station_week: six opened, none the week before; ratings 5 and 2; promises 2 kept of 5 due.
    assert lines[1] == "6 cases opened (+6 on the week before), 0 urgent"
    assert lines[2] == "Satisfaction 50% (1 of 2 rated), no comparison on the week before"
    assert lines[3] == "Promises kept 40% (2 of 5), no comparison on the week before"
    assert lines[4] == "First response: median 2 h 0 min, p90 2.5 days"
    assert lines[5].startswith("1 low ratings, 0 came back at follow-up; 4 open at the end")
    chinese = digest_lines(report, Words("zh", case_desk.settings))
    assert chinese[2] == "满意率 50%（1/2），较前一周 无可比数据"
