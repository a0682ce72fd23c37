"""Rules of the definitions the played histories do not reach, on hand-made case facts: a follow-up answered
in a later period than it was asked, a low rating followed by a 3 or by a cancellation, ages exactly on a
bucket's edge. Expected values are worked out from the definitions in hemu/report/figures.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hemu.report.figures import build
from hemu.report.periods import Period
from hemu.store.report_facts import CaseFacts, EventFact

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK_1 = Period(date(2026, 11, 23), date(2026, 11, 29), SHANGHAI)
WEEK_2 = Period(date(2026, 11, 30), date(2026, 12, 6), SHANGHAI)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI)


def at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


def case(
    number: str, state: str, opened: datetime, *events: EventFact, officer: str = "wang_li"
) -> CaseFacts:
    history = (
        EventFact(opened, "opened", "open"),
        EventFact(opened, "assigned", officer_id=officer),
        *events,
    )
    return CaseFacts(
        number=number,
        category="report_noise",
        priority="normal",
        state=state,
        area_id="binhe",
        officer_id=officer,
        danger=False,
        opened_at=opened,
        first_response_at=None,
        promise_due_at=opened + timedelta(hours=24),
        promise_kept=None,
        resolved_at=None,
        closed_at=None,
        rating=None,
        events=history,
    )


def test_a_follow_up_answer_counts_when_given_for_whoever_held_the_case_when_asked() -> None:
    # Closed by Wang Li; asked Sunday 29 Nov (week 1); the answer "came back" Monday 30 Nov (week 2)
    # reopened the case to Zhao Min. Week 1: one question asked, no answer, nothing open at its end.
    # Week 2: one "came back", for Wang Li (who held the case when asked); the case open at week 2's end
    # counts for Zhao Min, who holds it then.
    facts = case(
        "A",
        "reopened",
        at(10, 9),
        EventFact(at(20, 9), "state_changed", "closed", officer_id="wang_li", rating=5),
        EventFact(at(29, 10), "followed_up"),
        EventFact(at(30, 9, month=11), "state_changed", "reopened"),
        EventFact(at(30, 9, month=11), "assigned", officer_id="zhao_min"),
        EventFact(at(30, 9, month=11), "follow_up_answered", came_back=True),
    )
    first, second = build([facts], WEEK_1, NOW), build([facts], WEEK_2, NOW)
    assert (first.total.followed_up, first.total.came_back, first.total.stayed_settled) == (1, 0, 0)
    assert (second.total.followed_up, second.total.came_back) == (0, 1)
    assert first.total.open_at_end == 0 and second.total.open_at_end == 1
    assert (second.by_officer["wang_li"].came_back, second.by_officer["wang_li"].open_at_end) == (1, 0)
    assert (second.by_officer["zhao_min"].came_back, second.by_officer["zhao_min"].open_at_end) == (0, 1)


def test_what_happened_after_a_low_rating() -> None:
    # B: rated 2 (reopened), resolved again, rated 3 → "unsatisfied later" (3 is below 4).
    # C: rated 1 (reopened), then the resident cancelled → "cancelled".
    rated_again = case(
        "B",
        "closed",
        at(23, 9),
        EventFact(at(24, 9), "state_changed", "resolved"),
        EventFact(at(24, 10), "state_changed", "reopened", officer_id="wang_li", rating=2),
        EventFact(at(25, 9), "state_changed", "resolved"),
        EventFact(at(25, 10), "state_changed", "closed", officer_id="zhou_jian", rating=3),
    )
    withdrawn = case(
        "C",
        "cancelled",
        at(23, 9),
        EventFact(at(24, 9), "state_changed", "resolved"),
        EventFact(at(24, 10), "state_changed", "reopened", officer_id="wang_li", rating=1),
        EventFact(at(26, 9), "state_changed", "cancelled"),
    )
    total = build([rated_again, withdrawn], WEEK_1, NOW).total
    assert (total.rated, total.satisfied, total.low_ratings) == (3, 0, 2)
    assert total.after_low == {"unsatisfied_later": 1, "cancelled": 1}
    # Both were opened in week 1; one cancelled, the other closed: settled 1 of 1.
    assert (total.cancelled, total.settled, total.settle_base) == (1, 1, 1)


def test_ages_on_a_buckets_edge_go_to_the_older_bucket() -> None:
    # Week 1 ends Monday 30 Nov 00:00; cases opened exactly 1, 3 and 7 days before, and 1 minute after
    # 7 days before: 1 day → "1_3d", 3 days → "3_7d", 7 days → "over_7d", 6d23h59m → "3_7d".
    end = WEEK_1.end
    opened = [end - timedelta(days=1), end - timedelta(days=3), end - timedelta(days=7)]
    opened.append(end - timedelta(days=7) + timedelta(minutes=1))
    cases = [case(str(i), "open", moment) for i, moment in enumerate(opened)]
    total = build(cases, WEEK_1, NOW).total
    assert total.open_by_age == {"1_3d": 1, "3_7d": 2, "over_7d": 1}
    assert total.oldest_open == timedelta(days=7)
