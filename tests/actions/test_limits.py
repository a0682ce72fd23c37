"""The resident's daily limits as the actions tell them (the desk decides, tests/hemu/test_limits.py): a
sixth case of the day is refused politely with the station's number, and a fourth urgent page of the day
lands on the resident's case with the emergency number, without a new page."""

from __future__ import annotations

from actions.cases import ActionOpenUrgentCase, ActionRequestOfficer
from actions.repeat import REPEAT_SLOT, ActionAddToOpenCase
from hemu.desk import Desk, Report
from tests.auxil.trackers import make_tracker, risk, slot_events

RESIDENT = "resident-1"
FIVE_KINDS = (
    "report_noise",
    "report_pet_dispute",
    "report_shared_space",
    "report_property_damage",
    "report_money_dispute",
)
FENCE_REPORT = {
    "language": "en",
    "category": "report_boundary_dispute",
    "report_text": "my neighbour built his fence onto my land",
    "area": "Old Street 14",
    "area_id": "laojie",
    "harm": "none",
    "contact_consent": False,
}


def five_cases_today(desk: Desk) -> None:
    for category in FIVE_KINDS:
        desk.open_case(Report(resident_id=RESIDENT, language="zh", category=category, summary="吵"))


def three_pages_today(desk: Desk) -> str:
    """Three urgent pages, each resolved before the next; the newest one's number."""
    number = ""
    for n in range(3):
        case = desk.open_urgent_case(RESIDENT, "zh", f"他又动手了 {n}", ["violence"]).case
        desk.officer_act(case.number, case.officer_id, "resolve", note="talked to both")
        number = case.number
    return number


async def test_request_officer_past_the_daily_case_limit_is_refused_politely(
    case_desk, dispatcher, domain, texts
):
    five_cases_today(case_desk)
    tracker = make_tracker("yes", "affirm", slots=FENCE_REPORT)
    events = await ActionRequestOfficer().run(dispatcher, tracker, domain)
    assert len(case_desk.store.cases_for_resident(RESIDENT)) == 5
    shown = texts()
    assert "already opened 5 new cases today" in shown and 'say "officer" again tomorrow' in shown
    assert "Riverside Police Station on 0571-" in shown and "call 110" in shown
    assert slot_events(events) == {"wants_officer": False}  # the report's slots stay for tomorrow


async def test_the_same_matter_past_the_limit_is_refused_when_its_case_is_gone(
    case_desk, dispatcher, domain, texts
):
    five_cases_today(case_desk)
    tracker = make_tracker("same matter", "affirm", slots={**FENCE_REPORT, "language": "zh"})
    events = await ActionAddToOpenCase().run(dispatcher, tracker, domain)
    assert "这是每人每天的上限" in texts() and "110" in texts()
    assert slot_events(events) == {REPEAT_SLOT: None}
    assert len(case_desk.store.cases_for_resident(RESIDENT)) == 5


async def test_danger_past_the_case_limit_still_pages(case_desk, dispatcher, domain, texts):
    five_cases_today(case_desk)
    tracker = make_tracker("他拿着菜刀站在门口", "inform", entities=[risk("weapon")])
    events = await ActionOpenUrgentCase().run(dispatcher, tracker, domain)
    [urgent] = [c for c in case_desk.store.cases_for_resident(RESIDENT) if c.priority == "urgent"]
    assert "我已通知值班民警" in texts() and slot_events(events)["case_number"] == urgent.number


async def test_the_fourth_page_of_the_day_lands_on_the_case_with_the_emergency_number(
    case_desk, dispatcher, domain, texts
):
    newest = three_pages_today(case_desk)
    cards_before = [n.id for n in case_desk.store.outbox.notifications() if n.kind == "case_assigned"]
    tracker = make_tracker("他拿着菜刀说要砍死我", "inform", entities=[risk("weapon"), risk("threat")])
    events = await ActionOpenUrgentCase().run(dispatcher, tracker, domain)
    assert len(case_desk.store.cases_for_resident(RESIDENT)) == 3
    assert slot_events(events)["case_number"] == newest
    shown = texts()
    assert f"我已把这条消息加到您的案件 {newest} 里" in shown and "请立即拨打110" in shown
    assert "与您联系" not in shown  # no promise quoted: none was renewed
    cards = [n.id for n in case_desk.store.outbox.notifications() if n.kind == "case_assigned"]
    assert cards == cards_before  # no new page
    details = case_desk.store.outbox.notifications(newest)[-1]
    assert details.kind == "case_update" and "他拿着菜刀说要砍死我" in details.payload["text"]
