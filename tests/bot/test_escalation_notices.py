"""How the escalation reads in Telegram: the level of each breach message, the station's call list at
the level that asks for it, the supervisor's daily summary (only the cases still waiting when it is
sent), and the resident's last word once every level has run out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot import notices
from hemu.desk import Desk
from hemu.store import CaseRecord
from tests.bot.offline import notice, offline_gateway


def breach_payload(desk: Desk, case: CaseRecord, **extra: object) -> dict[str, object]:
    return {
        "number": case.number,
        "officer_id": case.officer_id,
        "old_due": desk.now().isoformat(),
        "new_due": (desk.now() + timedelta(hours=2)).isoformat(),
        **extra,
    }


def test_each_breach_message_says_its_level(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"zhao_min": 7002})
    payload = breach_payload(desk, case, role="backup", level=1, levels=3, call=False)
    text = notices.render(gateway, notice(desk, "officer:zhao_min", "promise_broken", payload)).text
    assert "第 1 级" in text and "共 3 级" in text
    assert "☎️" not in text


def test_the_call_list_goes_with_the_level_that_asks_for_it(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"zhou_jian": 7003})
    payload = breach_payload(desk, case, role="supervisor", level=3, levels=3, call=True)
    text = notices.render(gateway, notice(desk, "officer:zhou_jian", "promise_broken", payload)).text
    for line in desk.settings.policy.escalation.call_list:
        assert line.number in text and line.label.zh in text


def test_on_duty_officers_are_asked_to_help(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case()
    gateway = offline_gateway(desk, linked={"chen_hao": 7004})
    payload = breach_payload(desk, case, role="on_duty", level=3, levels=3, call=True)
    text = notices.render(gateway, notice(desk, "officer:chen_hao", "promise_broken", payload)).text
    assert "正在值班" in text and case.number in text


def test_the_daily_summary_lists_only_cases_still_waiting(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    waiting = open_case()
    answered = open_case(resident_id="43")
    desk.officer_act(answered.number, answered.officer_id, "contacted")
    gateway = offline_gateway(desk, linked={"zhou_jian": 7003})
    payload = {"numbers": [waiting.number, answered.number, "HM-2026-999999"], "at": desk.now().isoformat()}
    summary = notices.render(gateway, notice(desk, "officer:zhou_jian", "daily_summary", payload))
    assert summary.chat_id == 7003
    assert waiting.number in summary.text and answered.number not in summary.text
    assert "1 宗" in summary.text


def test_a_summary_with_nothing_left_to_say_is_dropped(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    answered = open_case()
    desk.officer_act(answered.number, answered.officer_id, "contacted")
    gateway = offline_gateway(desk, linked={"zhou_jian": 7003})
    payload = {"numbers": [answered.number], "at": desk.now().isoformat()}
    with pytest.raises(notices.Drop):
        notices.render(gateway, notice(desk, "officer:zhou_jian", "daily_summary", payload))


def test_the_resident_hears_once_that_the_station_head_knows(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case(language="en")
    gateway = offline_gateway(desk)
    payload = {"number": case.number, "event": "still_waiting", "officer_id": case.officer_id}
    told = notices.render(gateway, notice(desk, f"resident:{case.resident_id}", "case_update", payload))
    assert case.number in told.text and "head of the station" in told.text


@pytest.mark.parametrize("event", ["promise_broken", "still_waiting"])
def test_a_resident_in_danger_is_given_the_emergency_number_at_every_late_word(
    desk: Desk, open_case: Callable[..., CaseRecord], event: str
) -> None:
    """Safety: a danger case whose promises keep breaking — renewed, or past every level — never leaves
    the resident with only an apology."""
    case = open_case(risk_flags=("threat",), language="zh")
    assert case.is_danger
    gateway = offline_gateway(desk)
    payload = {
        "number": case.number,
        "event": event,
        "officer_id": case.officer_id,
        "new_due": (desk.now() + timedelta(minutes=15)).isoformat(),
    }
    told = notices.render(gateway, notice(desk, f"resident:{case.resident_id}", "case_update", payload))
    emergency = desk.settings.station.first_emergency_number
    assert case.number in told.text and emergency in told.text and "不要等待" in told.text
