"""The station report by officer, area and category, after /forget, for a period not over, and on a
daylight-saving station, against figures computed by hand (the history and the readings chosen for
ambiguous definitions are in test_figures_fixture.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hemu.desk import Desk
from hemu.report import Period, station_report
from tests.conftest import Clock
from tests.hemu.report.test_figures_fixture import (
    NOW,
    PERIOD,
    SH,
    D,
    H,
    M,
    at,
    check,
    check_groups,
    expect,
    report,
    station,
    w,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def test_by_officer(case_desk: Desk, clock: Clock) -> None:
    station(case_desk, clock)
    result = station_report(case_desk.store, PERIOD, NOW)
    # Cohort: the holder at first contact (A: wang_li, though the supervisor pressed "contacted"; K: zhao_min,
    # who got it when its urgent promise broke), or now when unanswered (C: wang_li, F: zhao_min). Ratings:
    # the officer rated (O1 chen_hao, A5 wang_li, B2 liu_yang, B5 zhou_jian, E4 liu_yang, I2 J1 wang_li).
    # Follow-ups: the holder when asked (A wang_li, B zhou_jian, E liu_yang). Open at 15 Dec 00:00: the
    # holder then (O zhou_jian, A wang_li, F zhao_min).
    check_groups(
        result.by_officer,
        {
            "wang_li": expect(  # cohort A C D I J
                opened=5,
                opened_by_priority={"normal": 5},
                cancelled=2,
                first_response=w(4, H, 25 * H + 50 * M),  # 30m 1h 1h 25h50m: (1h + 1h) / 2
                promises_due=4,  # A D I J
                promises_kept=3,  # A I J
                settled=2,  # D I
                settle_base=3,  # A D I
                rated=3,
                satisfied=1,
                low_ratings=2,
                after_low={"awaiting_rating": 1, "cancelled": 1},
                followed_up=1,
                came_back=1,
                open_at_end=1,
                open_by_age={"over_7d": 1},
                oldest_open=12 * D + 14 * H,
            ),
            "liu_yang": expect(  # cohort B E
                opened=2,
                opened_by_priority={"normal": 1, "urgent": 1},
                first_response=w(2, (10 * M + H + 55 * M) / 2, H + 55 * M),
                promises_due=2,
                promises_kept=2,
                settled=2,
                settle_base=2,
                danger_opened=1,
                danger_response=w(1, 10 * M, 10 * M),
                danger_promises_due=1,
                danger_promises_kept=1,
                rated=2,
                satisfied=1,
                low_ratings=1,
                after_low={"satisfied_later": 1},
                followed_up=1,
            ),
            "zhou_jian": expect(
                rated=1,
                satisfied=1,
                followed_up=1,
                stayed_settled=1,
                open_at_end=1,
                open_by_age={"over_7d": 1},
                oldest_open=17 * D + 14 * H,
            ),
            "chen_hao": expect(rated=1, low_ratings=1, after_low={"being_worked": 1}),
            "zhao_min": expect(  # cohort K F
                opened=2,
                opened_by_priority={"normal": 1, "urgent": 1},
                first_response=w(1, 2 * H + 5 * M, 2 * H + 5 * M),
                unanswered=1,
                promises_due=2,  # K broke, F passed
                settled=1,
                settle_base=2,
                danger_opened=1,
                danger_response=w(1, 2 * H + 5 * M, 2 * H + 5 * M),
                danger_promises_due=1,
                open_at_end=1,
                open_by_age={"under_1d": 1},
                oldest_open=M,
            ),
        },
    )


def test_by_area_and_category(case_desk: Desk, clock: Clock) -> None:
    station(case_desk, clock)
    result = station_report(case_desk.store, PERIOD, NOW)
    b = expect(  # B alone: 1h55m, kept, closed; rated 2 then 5; asked, "settled"
        opened=1,
        opened_by_priority={"normal": 1},
        first_response=w(1, H + 55 * M, H + 55 * M),
        promises_due=1,
        promises_kept=1,
        settled=1,
        settle_base=1,
        rated=2,
        satisfied=1,
        low_ratings=1,
        after_low={"satisfied_later": 1},
        followed_up=1,
        stayed_settled=1,
    )
    e = expect(  # E: urgent, 10m, kept, closed, rated 4, asked and not answered
        opened=1,
        opened_by_priority={"urgent": 1},
        first_response=w(1, 10 * M, 10 * M),
        danger_response=w(1, 10 * M, 10 * M),
        promises_due=1,
        promises_kept=1,
        settled=1,
        settle_base=1,
        rated=1,
        satisfied=1,
        followed_up=1,
        danger_opened=1,
        danger_promises_due=1,
        danger_promises_kept=1,
    )
    o = expect(
        rated=1,
        low_ratings=1,
        after_low={"being_worked": 1},
        open_at_end=1,
        open_by_age={"over_7d": 1},
        oldest_open=17 * D + 14 * H,
    )
    check_groups(
        result.by_area,
        {
            "binhe": expect(  # A D I K
                opened=4,
                opened_by_priority={"normal": 3, "urgent": 1},
                first_response=w(4, (H + 2 * H + 5 * M) / 2, 25 * H + 50 * M),  # 30m 1h 2h05m 25h50m
                promises_due=4,
                promises_kept=2,  # A I
                settled=3,  # D I K
                settle_base=4,
                danger_opened=1,
                danger_response=w(1, 2 * H + 5 * M, 2 * H + 5 * M),
                danger_promises_due=1,
                rated=2,  # A5 I2
                satisfied=1,
                low_ratings=1,
                after_low={"awaiting_rating": 1},
                followed_up=1,
                came_back=1,
                open_at_end=1,
                open_by_age={"over_7d": 1},
                oldest_open=12 * D + 14 * H,
            ),
            "unknown": b,
            "liuan": expect(  # C J F
                opened=3,
                opened_by_priority={"normal": 3},
                cancelled=2,
                first_response=w(1, H, H),
                unanswered=1,
                promises_due=2,
                promises_kept=1,
                settle_base=1,
                rated=1,
                low_ratings=1,
                after_low={"cancelled": 1},
                open_at_end=1,
                open_by_age={"under_1d": 1},
                oldest_open=M,
            ),
            "donghu": e,
            "xincun": o,
        },
    )
    check_groups(
        result.by_category,
        {
            "report_noise": expect(  # A F
                opened=2,
                opened_by_priority={"normal": 2},
                first_response=w(1, 30 * M, 30 * M),
                unanswered=1,
                promises_due=2,
                promises_kept=1,
                settle_base=2,
                rated=1,
                satisfied=1,
                followed_up=1,
                came_back=1,
                open_at_end=2,
                open_by_age={"over_7d": 1, "under_1d": 1},
                oldest_open=12 * D + 14 * H,
            ),
            "report_pet_dispute": b,
            "report_shared_space": expect(opened=1, opened_by_priority={"normal": 1}, cancelled=1),
            "report_property_damage": expect(
                opened=1,
                opened_by_priority={"normal": 1},
                first_response=w(1, 25 * H + 50 * M, 25 * H + 50 * M),
                promises_due=1,
                settled=1,
                settle_base=1,
            ),
            "report_spouse_conflict": expect(  # E K
                opened=2,
                opened_by_priority={"urgent": 2},
                first_response=w(2, (10 * M + 2 * H + 5 * M) / 2, 2 * H + 5 * M),  # 10m 2h05m
                danger_response=w(2, (10 * M + 2 * H + 5 * M) / 2, 2 * H + 5 * M),
                promises_due=2,
                promises_kept=1,
                settled=2,
                settle_base=2,
                danger_opened=2,
                danger_promises_due=2,
                danger_promises_kept=1,
                rated=1,
                satisfied=1,
                followed_up=1,
            ),
            "report_family_conflict": expect(
                opened=1,
                opened_by_priority={"normal": 1},
                first_response=w(1, H, H),
                promises_due=1,
                promises_kept=1,
                settled=1,
                settle_base=1,
                rated=1,
                low_ratings=1,
                after_low={"awaiting_rating": 1},
            ),
            "report_inlaw_conflict": expect(
                opened=1,
                opened_by_priority={"normal": 1},
                cancelled=1,
                first_response=w(1, H, H),
                promises_due=1,
                promises_kept=1,
                rated=1,
                low_ratings=1,
                after_low={"cancelled": 1},
            ),
            "report_boundary_dispute": o,
        },
    )


def test_forgotten_residents_count_like_any_other(case_desk: Desk, clock: Clock) -> None:
    n = station(case_desk, clock)
    before = station_report(case_desk.store, PERIOD, NOW)
    # B (rated twice, asked, "settled") and E (danger, asked): both closed, so nothing is withdrawn.
    assert (case_desk.forget_resident("b"), case_desk.forget_resident("e")) == (1, 1)
    assert case_desk.store.get(n["B"]).is_erased and case_desk.store.get(n["E"]).is_erased
    assert station_report(case_desk.store, PERIOD, NOW) == before


def test_resolved_in_period(case_desk: Desk, clock: Clock) -> None:
    """Not defined in the docstring. Read here as the cases resolved (at least once) in the period, whenever
    opened. Resolutions: O 1 Dec, A 2 Dec, B 2 and 3 Dec, D 4 Dec, E 6 Dec, I 7 and 8 Dec, J 8 Dec, K 9 Dec.
    Other readings: resolution events (10; weeks 6, 4, 0) or cohort cases resolved (7; weeks 4, 3, 0)."""
    station(case_desk, clock)
    result = station_report(case_desk.store, PERIOD, NOW)
    weeks = [figures.resolved_in_period for _, figures in result.weeks]
    assert (result.total.resolved_in_period, weeks, result.previous.resolved_in_period) == (8, [5, 3, 0], 0)


def test_a_period_not_over_counts_open_cases_now(case_desk: Desk, clock: Clock) -> None:
    station(case_desk, clock)
    period = Period(date(2026, 12, 14), date(2026, 12, 27), SH)  # NOW is 20 Dec 12:00
    result = station_report(case_desk.store, period, NOW)
    # Cohort F (normal, due 15 Dec 20:00) and G (low, due 19 Dec 08:30): unanswered, both promises passed.
    # Open now: O 27 Nov 10:00 → 23d2h, A 2 Dec 10:00 → 18d2h, F 5d12h01m, G 5d12h. No ratings, no follow-ups.
    check(
        result.total,
        expect(
            opened=2,
            opened_by_priority={"normal": 1, "low": 1},
            unanswered=2,
            promises_due=2,
            settle_base=2,
            open_at_end=4,
            open_by_age={"over_7d": 2, "3_7d": 2},
            oldest_open=23 * D + 2 * H,
        ),
    )


def test_period_arithmetic_on_the_station_clock() -> None:
    assert PERIOD.previous() == Period(date(2026, 11, 17), date(2026, 11, 30), SH)
    assert Period(date(2026, 12, 1), date(2026, 12, 31), SH).previous() == Period(
        date(2026, 11, 1), date(2026, 11, 30), SH
    )
    assert Period(date(2026, 3, 1), date(2026, 3, 31), SH).previous() == Period(
        date(2026, 2, 1), date(2026, 2, 28), SH
    )
    assert [(p.first.day, p.last.day) for p in PERIOD.weeks()] == [(1, 6), (7, 13), (14, 14)]
    day = Period(date(2026, 12, 14), date(2026, 12, 14), SH)
    # Shanghai is UTC+8: the local day 14 Dec is 13 Dec 16:00 – 14 Dec 16:00 UTC.
    assert (day.start, day.end) == (
        datetime(2026, 12, 13, 16, tzinfo=UTC),
        datetime(2026, 12, 14, 16, tzinfo=UTC),
    )
    assert day.contains(at(12, 14, 0)) and day.contains(at(12, 14, 23, 59))
    assert not day.contains(at(12, 15, 0)) and not day.contains(at(12, 13, 23, 59))


def test_weeks_with_a_daylight_saving_change() -> None:
    spring = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)  # clocks go 02:00 → 03:00 on Sun 29 Mar
    autumn = Period(date(2026, 10, 19), date(2026, 10, 25), BERLIN)  # 03:00 → 02:00 on Sun 25 Oct
    assert spring.end - spring.start == timedelta(hours=167)
    assert autumn.end - autumn.start == timedelta(hours=169)
    # Mon 30 Mar 00:30 CEST is 29 Mar 22:30 UTC (with the winter offset it would look like Sunday 23:30).
    after_spring = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    assert not spring.contains(after_spring)
    assert Period(date(2026, 3, 30), date(2026, 3, 30), BERLIN).contains(after_spring)
    # Mon 26 Oct 00:30 CET is 25 Oct 23:30 UTC; Sun 25 Oct 23:30 CET is 22:30 UTC.
    assert not autumn.contains(datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    assert autumn.contains(datetime(2026, 10, 25, 22, 30, tzinfo=UTC))
    assert Period(date(2026, 10, 26), date(2026, 10, 26), BERLIN).contains(
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC)
    )


def test_a_report_on_a_daylight_saving_station(case_desk: Desk, clock: Clock) -> None:
    """Cases opened through the desk at chosen instants, reported on Berlin days: the week of 23 – 29 Mar
    runs from 22 Mar 23:00 UTC (00:00 CET) to 29 Mar 22:00 UTC (00:00 CEST)."""
    opened = {
        "w": datetime(2026, 3, 22, 22, 30, tzinfo=UTC),  # Sun 22 Mar 23:30 CET: the week before
        "z": datetime(2026, 3, 22, 23, 30, tzinfo=UTC),  # Mon 23 Mar 00:30 CET: in
        "x": datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # Sun 29 Mar 23:30 CEST: in
        "y": datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # Mon 30 Mar 00:30 CEST: the week after
    }
    for resident, moment in opened.items():
        clock.moment = moment
        case_desk.open_case(report(resident, "report_noise", "binhe"))
    now = datetime(2026, 4, 10, 12, tzinfo=UTC)  # every promise has passed unanswered
    week = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)
    result = station_report(case_desk.store, week, now)
    assert [period for period, _ in result.weeks] == [week]
    # Open at 29 Mar 22:00 UTC, elapsed time (not wall-clock difference): w 6d23h30m (the wall clocks
    # say 7d00h30m), z 7d - 1h30m = 6d22h30m, x 30m.
    check(
        result.total,
        expect(
            opened=2,
            opened_by_priority={"normal": 2},
            unanswered=2,
            promises_due=2,
            settle_base=2,
            open_at_end=3,
            open_by_age={"3_7d": 2, "under_1d": 1},
            oldest_open=6 * D + 23 * H + 30 * M,
        ),
    )
    assert result.total.satisfaction_rate is None  # no ratings at all
    # The week before: w only, open at 22 Mar 23:00 UTC for 30 minutes.
    check(
        result.previous,
        expect(
            opened=1,
            opened_by_priority={"normal": 1},
            unanswered=1,
            promises_due=1,
            settle_base=1,
            open_at_end=1,
            open_by_age={"under_1d": 1},
            oldest_open=30 * M,
        ),
    )
    after = station_report(case_desk.store, Period(date(2026, 3, 30), date(2026, 4, 5), BERLIN), now)
    assert (after.total.opened, after.total.open_at_end) == (1, 4)  # y; w z x y all still open on 6 Apr
