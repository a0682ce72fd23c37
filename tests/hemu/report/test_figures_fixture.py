"""The station report against a two-week station history whose every figure was computed by hand from the
definitions in hemu/report/figures.py's docstring (not from its code).

Readings chosen where the definitions leave room (each one is reported):
- median of an even number of waits: the usual median, the mean of the two middle values; p90 is the
  nearest rank, sorted[ceil(0.9 n) - 1];
- "still being worked" = an active state (open, acknowledged, contacted, reopened, handed over) at that
  moment; a resolved case waiting for its rating is not open; ages are elapsed time since opening, buckets
  half-open ([0, 1 d), [1 d, 3 d), [3 d, 7 d), [7 d, ...)), zero buckets left out before comparing;
- a promise that "has passed while the case still waits" is judged as of ``now``;
- a follow-up answer counts in the period it was given, for the officer who held the case when asked;
- a group (officer, area, category) with nothing in it may be absent or all-zero: both are accepted;
- resolved_in_period is not defined in the docstring: it is left to test_resolved_in_period.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hemu.desk import Desk, Report
from hemu.report import Figures, Period, station_report
from tests.conftest import Clock

SH = ZoneInfo("Asia/Shanghai")
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
PERIOD = Period(datetime(2026, 12, 1).date(), datetime(2026, 12, 14).date(), SH)  # Tue 1 – Mon 14 Dec
NOW = datetime(2026, 12, 20, 12, 0, tzinfo=SH)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def report(resident: str, category: str, area: str | None, **extra: Any) -> Report:
    summary = f"{resident} 的邻里纠纷"
    return Report(
        resident_id=resident, language="zh", category=category, summary=summary, area_id=area, **extra
    )


def station(desk: Desk, clock: Clock) -> dict[str, str]:
    """The history (station time). Officers and promises are the roster's choice, asserted as inputs."""
    n: dict[str, str] = {}

    def step(moment: datetime, *actions: tuple[str, str, str] | Callable[[], object]) -> None:
        clock.moment = moment
        for action in actions:
            if callable(action):
                action()
            else:
                key, officer, verb = action
                desk.officer_act(n[key], officer, verb, note="x" if verb == "resolve" else None)

    def open_(key: str, moment: datetime, *args: Any, **extra: Any) -> None:
        clock.moment = moment
        n[key] = desk.open_case(report(key.lower(), *args, **extra)).case.number

    open_("O", at(11, 27, 10), "report_boundary_dispute", "xincun")  # low, chen_hao
    step(at(11, 27, 11), ("O", "chen_hao", "contacted"))
    step(at(12, 1, 10), ("O", "chen_hao", "resolve"))
    step(at(12, 1, 11), lambda: desk.rate("o", n["O"], 1))  # → supervisor zhou_jian
    step(at(12, 1, 14), ("O", "zhou_jian", "contacted"))
    open_("A", at(12, 2, 10), "report_noise", "binhe")  # wang_li
    open_("B", at(12, 2, 10, 5), "report_pet_dispute", None)  # liu_yang
    step(at(12, 2, 10, 30), ("A", "zhou_jian", "contacted"))  # the supervisor on wang_li's case
    step(at(12, 2, 11), ("A", "wang_li", "resolve"))
    step(at(12, 2, 11, 10), lambda: desk.rate("a", n["A"], 5))
    step(at(12, 2, 12), ("B", "liu_yang", "resolve"))  # resolved without "contacted": first response
    step(at(12, 2, 12, 30), lambda: desk.rate("b", n["B"], 2))  # → zhou_jian
    open_("C", at(12, 3, 9), "report_shared_space", "liuan")  # wang_li
    open_("D", at(12, 3, 9, 10), "report_property_damage", "binhe")  # wang_li, due 4 Dec 09:10
    step(at(12, 3, 9, 30), lambda: desk.cancel("c", n["C"]))  # before its promise fell due
    step(at(12, 3, 10), ("B", "zhou_jian", "resolve"))
    step(at(12, 3, 10, 1), ("D", "wang_li", "acknowledge"))  # not contact
    step(at(12, 3, 11), lambda: desk.rate("b", n["B"], 5))
    step(at(12, 4, 10))
    assert desk.watch().breached == [n["D"]]  # D: wang_li keeps a renewed promise
    step(at(12, 4, 11), ("D", "wang_li", "contacted"))
    step(at(12, 4, 15), ("D", "wang_li", "resolve"))
    open_("E", at(12, 5, 22), "report_spouse_conflict", "donghu", risk_flags=("violence",))  # liu_yang
    step(at(12, 5, 22, 10), ("E", "liu_yang", "contacted"))
    step(at(12, 6, 10), ("E", "liu_yang", "resolve"))
    step(at(12, 6, 11), lambda: desk.rate("e", n["E"], 4))
    open_("I", at(12, 7, 10), "report_family_conflict", "binhe")  # wang_li
    step(at(12, 7, 11), ("I", "wang_li", "resolve"))
    step(at(12, 7, 12), lambda: desk.rate("i", n["I"], 2))  # → zhou_jian
    step(at(12, 8, 10), ("I", "zhou_jian", "resolve"))  # not rated again
    open_("J", at(12, 8, 10, 10), "report_inlaw_conflict", "liuan")  # wang_li
    step(at(12, 8, 11, 10), ("J", "wang_li", "resolve"))
    step(at(12, 8, 12, 10), lambda: desk.rate("j", n["J"], 1))  # → zhou_jian
    step(at(12, 8, 13, 10), lambda: desk.cancel("j", n["J"]))
    open_("K", at(12, 9, 10), "report_spouse_conflict", "binhe", risk_flags=("threat",))  # wang_li, 15 min
    step(at(12, 9, 12))
    watched = desk.watch()  # K's urgent promise broke: handed to zhao_min; A's follow-up question
    assert (watched.breached, watched.followed_up) == ([n["K"]], [n["A"]])
    step(at(12, 9, 12, 5), ("K", "zhao_min", "contacted"))
    step(at(12, 9, 13), ("K", "zhao_min", "resolve"))
    desk.follow_up_answer("a", n["A"], came_back=True)  # reopened to wang_li
    step(at(12, 10, 9), ("A", "wang_li", "contacted"))
    step(at(12, 10, 12))
    assert desk.watch().followed_up == [n["B"]]  # B is zhou_jian's when asked
    step(at(12, 10, 13), lambda: desk.follow_up_answer("b", n["B"], came_back=False))
    step(at(12, 13, 12))
    assert desk.watch().followed_up == [n["E"]]  # never answered
    open_("F", at(12, 14, 23, 59), "report_noise", "liuan")  # zhao_min; last minute of the period
    open_("G", at(12, 15, 0), "report_money_dispute", "laojie")  # first instant after it
    clock.moment = NOW
    return n


def test_the_history_is_what_the_hand_computation_assumes(case_desk: Desk, clock: Clock) -> None:
    n = station(case_desk, clock)
    holders = {key: case_desk.store.get(number).officer_id for key, number in n.items()}
    assert holders == {
        **dict.fromkeys("OBIJ", "zhou_jian"),
        **dict.fromkeys("ACD", "wang_li"),
        "E": "liu_yang",
        **dict.fromkeys("KF", "zhao_min"),
        "G": "liu_yang",
    }
    promise = {key: case_desk.store.get(number).promise_kept for key, number in n.items()}
    assert promise == {**dict.fromkeys("OABEIJ", True), "D": False, "K": False, **dict.fromkeys("CFG", None)}
    # F's first promise (15 Dec 20:00) has passed by NOW while it still waits.
    assert case_desk.store.get(n["F"]).promise_due_at < NOW
    # 23:59 and 00:00 local are 15:59 and 16:00 UTC of the same UTC day: only the local day decides.
    assert (PERIOD.start, PERIOD.end) == (datetime(2026, 11, 30, 16, tzinfo=ZoneInfo("UTC")), at(12, 15, 0))
    assert case_desk.store.get(n["F"]).opened_at == PERIOD.end - M
    assert case_desk.store.get(n["G"]).opened_at == PERIOD.end


NO_WAITS = (0, None, None)
ZERO: dict[str, Any] = {
    "opened": 0,
    "opened_by_priority": {},
    "cancelled": 0,
    "first_response": NO_WAITS,
    "unanswered": 0,
    "promises_due": 0,
    "promises_kept": 0,
    "settled": 0,
    "settle_base": 0,
    "danger_opened": 0,
    "danger_response": NO_WAITS,
    "danger_promises_due": 0,
    "danger_promises_kept": 0,
    "rated": 0,
    "satisfied": 0,
    "low_ratings": 0,
    "after_low": {},
    "followed_up": 0,
    "came_back": 0,
    "stayed_settled": 0,
    "open_at_end": 0,
    "open_by_age": {},
    "oldest_open": None,
}
UNCHECKED_HERE = {"resolved_in_period"}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def expect(**values: Any) -> dict[str, Any]:
    figures = {**ZERO, **values}
    assert set(figures) == set(ZERO), "a figure name is misspelt"
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["rated"])
    figures["promise_kept_rate"] = _rate(figures["promises_kept"], figures["promises_due"])
    figures["settle_rate"] = _rate(figures["settled"], figures["settle_base"])
    return figures


def actual(figures: Figures) -> dict[str, Any]:
    names = {field.name for field in dataclasses.fields(figures)}
    assert names - UNCHECKED_HERE == set(ZERO), "the report has figures this test does not know"
    seen: dict[str, Any] = {}
    for name in [*ZERO, "satisfaction_rate", "promise_kept_rate", "settle_rate"]:
        value = getattr(figures, name)
        if name in ("first_response", "danger_response"):
            value = (value.count, value.median, value.p90)
        elif name == "open_by_age":
            value = {bucket: count for bucket, count in value.items() if count}
        seen[name] = value
    return seen


def check(figures: Figures, expected: dict[str, Any]) -> None:
    got = actual(figures)
    wrong = {
        name: f"report {got[name]!r}, by hand {value!r}"
        for name, value in expected.items()
        if got[name] != value
    }
    assert not wrong, wrong


def check_groups(groups: dict[str, Figures], expected: dict[str, dict[str, Any]]) -> None:
    wrong = {}
    for key in set(groups) | set(expected):
        got = actual(groups[key]) if key in groups else expect()
        want = expected.get(key, expect())
        bad = {name: (got[name], value) for name, value in want.items() if got[name] != value}
        if bad:
            wrong[key] = bad
    assert not wrong, wrong


def w(count: int, median: timedelta | None, p90: timedelta | None) -> tuple[int, Any, Any]:
    return (count, median, p90)


# First responses of the cohort (opening → contacted or resolved): A 10:00→10:30 = 30m (the supervisor's
# "contacted" counts), B 10:05→12:00 = 1h55m (resolved), D 3 Dec 09:10→4 Dec 11:00 = 25h50m (the
# acknowledge is not contact), E 22:00→22:10 = 10m, I 1h, J 1h, K 10:00→12:05 = 2h05m; C, F none.
WAITS = (10 * M, 30 * M, H, H, H + 55 * M, 2 * H + 5 * M, 25 * H + 50 * M)


def test_the_period_week_by_week_and_before(case_desk: Desk, clock: Clock) -> None:
    station(case_desk, clock)
    result = station_report(case_desk.store, PERIOD, NOW)
    assert (result.period, result.made_at) == (PERIOD, NOW)
    assert result.waits == WAITS
    # Cohort A B C D E I J K F (O before, G after). Priorities: E, K urgent (danger), the rest normal.
    check(
        result.total,
        expect(
            opened=9,
            opened_by_priority={"normal": 7, "urgent": 2},
            cancelled=2,  # C, J
            first_response=w(7, H, 25 * H + 50 * M),  # WAITS[3] = 1h; p90 rank ceil(6.3) = 7
            unanswered=1,  # F (C is cancelled)
            promises_due=8,  # all but C (withdrawn before due); F passed while waiting
            promises_kept=5,  # A B E I J; D and K broke, F passed
            settled=5,  # B E closed, D I K resolved; A reopened, F open
            settle_base=7,  # 9 - C - J
            danger_opened=2,  # E, K
            danger_response=w(2, (10 * M + 2 * H + 5 * M) / 2, 2 * H + 5 * M),  # mean of 10m and 2h05m
            danger_promises_due=2,
            danger_promises_kept=1,  # E
            rated=7,  # O1 A5 B2 B5 E4 I2 J1 (O was opened before the period)
            satisfied=3,  # A5 B5 E4
            low_ratings=4,  # O1 B2 I2 J1
            after_low={"being_worked": 1, "satisfied_later": 1, "awaiting_rating": 1, "cancelled": 1},
            followed_up=3,  # A 9 Dec, B 10 Dec, E 13 Dec
            came_back=1,  # A
            stayed_settled=1,  # B
            open_at_end=3,  # at 15 Dec 00:00: O contacted, A contacted, F open
            open_by_age={"over_7d": 2, "under_1d": 1},  # O 17d14h, A 12d14h, F 1 minute
            oldest_open=17 * D + 14 * H,
        ),
    )
    weeks = [week for week, _ in result.weeks]
    assert [(week.first.day, week.last.day) for week in weeks] == [(1, 6), (7, 13), (14, 14)]
    w1, w2, w3 = (figures for _, figures in result.weeks)
    # Tue 1 – Sun 6: cohort A B C D E; ratings O1 A5 B2 B5 E4; open at 7 Dec 00:00: O only (A was closed).
    check(
        w1,
        expect(
            opened=5,
            opened_by_priority={"normal": 4, "urgent": 1},
            cancelled=1,
            first_response=w(4, (30 * M + H + 55 * M) / 2, 25 * H + 50 * M),  # 10m 30m 1h55m 25h50m
            promises_due=4,
            promises_kept=3,  # A B E
            settled=3,  # B D E
            settle_base=4,
            danger_opened=1,
            danger_response=w(1, 10 * M, 10 * M),
            danger_promises_due=1,
            danger_promises_kept=1,
            rated=5,
            satisfied=3,
            low_ratings=2,
            after_low={"being_worked": 1, "satisfied_later": 1},  # O, B
            open_at_end=1,
            open_by_age={"over_7d": 1},
            oldest_open=9 * D + 14 * H,  # 27 Nov 10:00 → 7 Dec 00:00
        ),
    )
    # Mon 7 – Sun 13: cohort I J K; ratings I2 J1; follow-ups A B E; open at 14 Dec 00:00: O, A.
    check(
        w2,
        expect(
            opened=3,
            opened_by_priority={"normal": 2, "urgent": 1},
            cancelled=1,  # J
            first_response=w(3, H, 2 * H + 5 * M),  # 1h 1h 2h05m
            promises_due=3,
            promises_kept=2,  # I J
            settled=2,  # I K
            settle_base=2,
            danger_opened=1,
            danger_response=w(1, 2 * H + 5 * M, 2 * H + 5 * M),
            danger_promises_due=1,
            rated=2,
            low_ratings=2,  # satisfaction rate 0/2 = 0.0
            after_low={"awaiting_rating": 1, "cancelled": 1},  # I resolved again, J withdrawn
            followed_up=3,
            came_back=1,
            stayed_settled=1,
            open_at_end=2,
            open_by_age={"over_7d": 2},  # O 16d14h, A 11d14h
            oldest_open=16 * D + 14 * H,
        ),
    )
    # Mon 14 alone: F at 23:59; no ratings at all (rates None); open as for the period.
    check(
        w3,
        expect(
            opened=1,
            opened_by_priority={"normal": 1},
            unanswered=1,
            promises_due=1,
            settle_base=1,
            open_at_end=3,
            open_by_age={"over_7d": 2, "under_1d": 1},
            oldest_open=17 * D + 14 * H,
        ),
    )
    assert w3.satisfaction_rate is None and w2.satisfaction_rate == 0.0
    # 17 – 30 Nov: O alone, contacted after 1 h (kept), contacted today (not settled); open at 1 Dec
    # 00:00 aged 3d14h; no ratings.
    check(
        result.previous,
        expect(
            opened=1,
            opened_by_priority={"low": 1},
            first_response=w(1, H, H),
            promises_due=1,
            promises_kept=1,
            settle_base=1,
            open_at_end=1,
            open_by_age={"3_7d": 1},
            oldest_open=3 * D + 14 * H,
        ),
    )
    assert result.previous.satisfaction_rate is None
