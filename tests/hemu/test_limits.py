"""A resident's daily limits at the desk (``resident_limits`` in config/policy.yml: 5 cases, 3 urgent pages a
day): past them a report is refused politely, a danger message goes onto a case instead of paging again, and
danger is never refused. Days are the station's (Asia/Shanghai), not the server's or UTC's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hemu.cases import CaseState, Priority
from hemu.config import load_model
from hemu.desk import Desk, LimitReached
from hemu.desk.limits import StationDay, case_for_held_back_page
from hemu.errors import ConfigError
from hemu.policy import Policy, ResidentLimits
from hemu.settings import load_settings
from tests.conftest import REPO_ROOT, Clock
from tests.hemu.desk_support import report, told

SHANGHAI = ZoneInfo("Asia/Shanghai")
CATEGORIES = (
    "report_noise",
    "report_pet_dispute",
    "report_shared_space",
    "report_property_damage",
    "report_money_dispute",
    "report_boundary_dispute",
)


def open_five(desk: Desk, resident_id: str = "42") -> None:
    for category in CATEGORIES[:5]:
        assert desk.open_case(report(resident_id=resident_id, category=category)).opened


def page_and_close(desk: Desk, words: str, resident_id: str = "42") -> str:
    """An urgent page whose case the officer then resolves and the resident rates (closed)."""
    outcome = desk.open_urgent_case(resident_id, "zh", words, ["violence"])
    assert outcome.opened
    case = outcome.case
    desk.officer_act(case.number, case.officer_id, "resolve", note="talked to both")
    desk.rate(resident_id, case.number, 5)
    return case.number


def page_and_resolve(desk: Desk, words: str, resident_id: str = "42") -> str:
    outcome = desk.open_urgent_case(resident_id, "zh", words, ["violence"])
    assert outcome.opened
    desk.officer_act(outcome.case.number, outcome.case.officer_id, "resolve", note="talked to both")
    return outcome.case.number


# -- configuration -------------------------------------------------------------------------------------


def test_the_sample_policy_sets_the_limits() -> None:
    limits = load_settings(REPO_ROOT / "config").policy.resident_limits
    assert (limits.messages_per_minute, limits.cases_per_day, limits.urgent_pages_per_day) == (20, 5, 3)


@pytest.mark.parametrize("bad", [{"cases_per_day": 0}, {"messages_per_minute": -1}, {"pages": 3}])
def test_a_bad_limit_is_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ResidentLimits(**bad)


def test_a_bad_limit_in_policy_yml_names_the_file_and_the_entry(tmp_path: Path) -> None:
    text = (REPO_ROOT / "config" / "policy.yml").read_text(encoding="utf-8")
    path = tmp_path / "policy.yml"
    path.write_text(text.replace("cases_per_day: 5", "cases_per_day: none"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.yml.*resident_limits.*cases_per_day"):
        load_model(path, Policy)


# -- the station day -----------------------------------------------------------------------------------


def test_the_station_day_runs_midnight_to_midnight_in_the_station_zone() -> None:
    # 07:30 in Shanghai is still the previous day in UTC: the station's date counts.
    day = StationDay.around(datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc), SHANGHAI)
    assert day.start == datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI)
    assert day.next_start - day.start == timedelta(days=1)
    assert day.holds(datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc))  # 00:00 Shanghai
    assert not day.holds(datetime(2026, 12, 1, 15, 59, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="naive"):
        StationDay.around(datetime(2026, 12, 2, 10, 0), SHANGHAI)


# -- cases per day -------------------------------------------------------------------------------------


def test_the_sixth_case_of_the_day_is_refused_until_the_next_station_day(case_desk: Desk) -> None:
    open_five(case_desk)
    with pytest.raises(LimitReached) as refused:
        case_desk.open_case(report(category=CATEGORIES[5]))
    assert (refused.value.limit, refused.value.allowed) == ("cases_per_day", 5)
    assert refused.value.again_at == datetime(2026, 12, 3, 0, 0, tzinfo=SHANGHAI)
    assert len(case_desk.store.cases_for_resident("42")) == 5


def test_details_for_an_open_case_are_still_taken_past_the_limit(case_desk: Desk) -> None:
    open_five(case_desk)
    again = case_desk.open_case(report(category=CATEGORIES[0], summary="今晚又来了"))
    assert not again.opened and not again.held_back
    assert told(case_desk, again.case.number)[-1][2]["text"].startswith("今晚又来了")


def test_other_residents_have_their_own_count(case_desk: Desk) -> None:
    open_five(case_desk)
    assert case_desk.open_case(report(resident_id="43")).opened


def test_a_report_carrying_danger_is_never_refused(case_desk: Desk) -> None:
    open_five(case_desk)
    high = case_desk.open_case(report(category=CATEGORIES[5], risk_flags=("threat",)), priority=Priority.HIGH)
    assert high.opened
    urgent = case_desk.open_urgent_case("42", "zh", "他拿着刀在门口", ["weapon"])
    assert urgent.opened and urgent.case.priority is Priority.URGENT


def test_the_case_limit_starts_again_at_the_stations_midnight_not_utcs(case_desk: Desk, clock: Clock) -> None:
    clock.moment = datetime(2026, 12, 2, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC
    open_five(case_desk)
    clock.moment = datetime(2026, 12, 2, 23, 59, tzinfo=SHANGHAI)
    with pytest.raises(LimitReached):
        case_desk.open_case(report(category=CATEGORIES[5]))
    clock.moment = datetime(2026, 12, 3, 0, 1, tzinfo=SHANGHAI)  # still 2 December in UTC
    assert case_desk.open_case(report(category=CATEGORIES[5])).opened


# -- urgent pages per day ------------------------------------------------------------------------------


def test_the_fourth_page_of_the_day_lands_on_the_urgent_case_without_a_new_page(case_desk: Desk) -> None:
    numbers = [page_and_resolve(case_desk, f"他又动手了 {n}") for n in range(3)]
    assigned_before = len(case_desk.store.outbox.notifications())
    fourth = case_desk.open_urgent_case("42", "zh", "他拿着菜刀说要砍死我", ["weapon", "threat"])
    assert fourth.held_back and not fourth.opened
    assert fourth.case.number == numbers[-1]  # the newest urgent case, resolved but still taking details
    assert len(case_desk.store.cases_for_resident("42")) == 3
    recipient, kind, payload = told(case_desk, fourth.case.number)[-1]
    assert (recipient, kind) == (f"officer:{fourth.case.officer_id}", "case_update")
    assert payload["event"] == "details_added" and "他拿着菜刀说要砍死我" in payload["text"]
    assert "threat, weapon" in payload["text"]
    new = case_desk.store.outbox.notifications()[assigned_before:]
    assert [n.kind for n in new] == ["case_update"]  # no case card: nobody was paged again


def test_an_open_urgent_case_still_takes_every_danger_message_however_many(case_desk: Desk) -> None:
    first = case_desk.open_urgent_case("42", "zh", "他在砸门", ["violence"])
    for n in range(5):
        again = case_desk.open_urgent_case("42", "zh", f"他还在砸门 {n}", ["violence"])
        assert again.case.number == first.case.number and not again.opened and not again.held_back


def test_past_the_page_limit_the_words_go_to_the_latest_case_when_no_urgent_one_takes_them(
    case_desk: Desk,
) -> None:
    for n in range(3):
        page_and_close(case_desk, f"他又动手了 {n}")
    noise = case_desk.open_case(report()).case
    fourth = case_desk.open_urgent_case("42", "zh", "他说要杀了我", ["threat"])
    assert fourth.held_back and fourth.case.number == noise.number


def test_past_the_page_limit_it_pages_anyway_when_no_case_can_take_the_words(case_desk: Desk) -> None:
    for n in range(3):
        page_and_close(case_desk, f"他又动手了 {n}")
    fourth = case_desk.open_urgent_case("42", "zh", "他说要杀了我", ["threat"])
    assert fourth.opened and not fourth.held_back  # danger never lands nowhere


def test_the_page_limit_starts_again_the_next_station_day(case_desk: Desk, clock: Clock) -> None:
    for n in range(3):
        page_and_resolve(case_desk, f"他又动手了 {n}")
    clock.moment = datetime(2026, 12, 3, 0, 5, tzinfo=SHANGHAI)
    assert case_desk.open_urgent_case("42", "zh", "他说要杀了我", ["threat"]).opened


def test_the_held_back_page_goes_to_the_newest_urgent_case_that_takes_details(case_desk: Desk) -> None:
    numbers = [page_and_resolve(case_desk, f"他又动手了 {n}") for n in range(2)]
    mine = case_desk.store.cases_for_resident("42")
    assert case_for_held_back_page(mine).number == numbers[-1]  # type: ignore[union-attr]
    case_desk.rate("42", numbers[-1], 5)
    mine = case_desk.store.cases_for_resident("42")
    assert mine[0].state is CaseState.CLOSED
    assert case_for_held_back_page(mine).number == numbers[0]  # type: ignore[union-attr]
