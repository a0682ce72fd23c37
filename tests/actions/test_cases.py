"""Case actions against a real store (SQLite in a temp folder) and the sample station, clock set by hand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.cases import ActionOpenUrgentCase, ActionRequestOfficer, ActionShowStatus
from actions.report import ActionCancelReport
from tests.auxil.trackers import make_tracker, risk, slot_events

SHANGHAI = ZoneInfo("Asia/Shanghai")

NOISE_REPORT = {
    "category": "report_noise",
    "report_text": "楼上天天半夜拖椅子",
    "area": "滨河社区3栋",
    "area_id": "binhe",
    "parties": "楼上602",
    "duration": "半年",
    "harm": "afraid",
    "contact_consent": True,
    "contact": "138 0000 1234",
}
FENCE_REPORT = {
    "language": "en",
    "category": "report_boundary_dispute",
    "report_text": "my neighbour built his fence onto my land",
    "area": "Old Street 14",
    "area_id": "laojie",
    "parties": "the man next door",
    "duration": "since spring",
    "harm": "none",
    "contact_consent": False,
}


async def test_officer_asked_before_any_report_waits_for_the_description(
    case_desk, dispatcher, domain, texts
):
    events = await ActionRequestOfficer().run(
        dispatcher, make_tracker("我要找民警", "request_officer"), domain
    )
    assert "发生了什么" in texts()
    assert slot_events(events)["wants_officer"] is True
    assert case_desk.store.cases() == []


async def test_high_priority_case_names_the_area_officer_and_a_promise_today(
    case_desk, dispatcher, domain, texts
):
    tracker = make_tracker("需要", "affirm", slots=NOISE_REPORT)
    events = await ActionRequestOfficer().run(dispatcher, tracker, domain)
    [case] = case_desk.store.cases()
    assert case.number == "HM-2026-000001" and case.priority == "high" and case.officer_id == "wang_li"
    shown = texts()
    # Afraid → high → two hours of Wang Li's duty time from Wednesday 10:00.
    assert "案件编号 HM-2026-000001" in shown
    assert "滨河派出所社区民警王丽将于今天12:00前（2小时内）与您联系（通过您留的联系方式）" in shown
    assert slot_events(events) == {"wants_officer": False, "case_number": "HM-2026-000001"}
    assert case.contact == "138 0000 1234" and case.summary == "楼上天天半夜拖椅子"
    assert case.resident_id == "resident-1"


async def test_english_low_priority_case_counts_working_days(case_desk, dispatcher, domain, texts):
    tracker = make_tracker("yes", "affirm", slots=FENCE_REPORT, metadata={"telegram_user_id": 4242})
    await ActionRequestOfficer().run(dispatcher, tracker, domain)
    [case] = case_desk.store.cases()
    assert case.officer_id == "chen_hao" and case.priority == "low" and case.resident_id == "4242"
    assert case.contact is None
    assert case.promise_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 7, 17, 0, tzinfo=SHANGHAI)
    assert (
        "Community Police Officer Chen Hao of the Riverside Police Station will contact you "
        "by Monday 7 December, 17:00" in texts()
    )
    assert "through this chat" in texts()


async def test_a_second_report_of_the_same_kind_goes_onto_the_open_case(case_desk, dispatcher, domain, texts):
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=NOISE_REPORT), domain)
    again = {**NOISE_REPORT, "report_text": "今天凌晨两点又在楼上跳", "case_number": None}
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=again), domain)
    assert len(case_desk.store.cases()) == 1
    assert "已经有一个正在处理的案件：HM-2026-000001" in texts()
    kinds = [event.kind for event in case_desk.store.events("HM-2026-000001")]
    assert kinds.count("details_added") == 1


async def test_asking_again_in_the_same_conversation_repeats_who_and_when(
    case_desk, dispatcher, domain, texts
):
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=NOISE_REPORT), domain)
    slots = {**NOISE_REPORT, "case_number": "HM-2026-000001"}
    await ActionRequestOfficer().run(
        dispatcher, make_tracker("民警呢", "request_officer", slots=slots), domain
    )
    assert "这件事已经立案：HM-2026-000001" in texts()
    assert [event.kind for event in case_desk.store.events("HM-2026-000001")] == ["opened", "assigned"]


async def test_urgent_case_at_night_goes_to_the_duty_officer_within_fifteen_minutes(
    case_desk, clock, dispatcher, domain, texts
):
    clock.moment = datetime(2026, 12, 3, 3, 0, tzinfo=SHANGHAI)
    tracker = make_tracker("他拿着菜刀站在门口", "inform", entities=[risk("weapon")])
    events = await ActionOpenUrgentCase().run(dispatcher, tracker, domain)
    [case] = case_desk.store.cases()
    assert case.priority == "urgent" and case.officer_id == "liu_yang" and case.category == "danger"
    assert case.risk_flags == ("weapon",) or list(case.risk_flags) == ["weapon"]
    assert "值班民警刘洋将于今天03:15前（15分钟内）与您联系" in texts()
    assert "110" in texts()
    assert slot_events(events)["case_number"] == case.number
    # A second danger message goes onto the same urgent case.
    await ActionOpenUrgentCase().run(
        dispatcher, make_tracker("他还在砸门", "inform", entities=[risk("violence")]), domain
    )
    assert len(case_desk.store.cases()) == 1
    assert "加到您的紧急案件" in texts()


async def test_status_lists_cases_and_marks_a_broken_promise(case_desk, clock, dispatcher, domain, texts):
    await ActionRequestOfficer().run(
        dispatcher, make_tracker("yes", "affirm", slots={**NOISE_REPORT, "language": "en"}), domain
    )
    clock.advance(hours=3)
    dispatcher.messages.clear()
    await ActionShowStatus().run(
        dispatcher, make_tracker("status?", "ask_status", slots={"language": "en"}), domain
    )
    shown = texts()
    assert "HM-2026-000001 · Noise from neighbours · received, waiting for the officer" in shown
    assert "Community Police Officer Wang Li" in shown and "overdue" in shown


async def test_status_without_cases(case_desk, dispatcher, domain, texts):
    await ActionShowStatus().run(dispatcher, make_tracker("进度", "ask_status"), domain)
    assert "没有案件" in texts()


async def test_cancel_offers_open_cases_then_cancels_the_chosen_one(case_desk, dispatcher, domain, texts):
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=NOISE_REPORT), domain)
    slots = {**NOISE_REPORT, "case_number": "HM-2026-000001"}
    dispatcher.messages.clear()
    await ActionCancelReport().run(dispatcher, make_tracker("算了", "cancel", slots=slots), domain)
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "撤销 HM-2026-000001", "payload": '/cancel{"case_number":"HM-2026-000001"}'}
    ]
    pressed = make_tracker(
        '/cancel{"case_number":"HM-2026-000001"}',
        "cancel",
        slots=slots,
        entities=[{"entity": "case_number", "value": "HM-2026-000001"}],
    )
    events = await ActionCancelReport().run(dispatcher, pressed, domain)
    assert "案件 HM-2026-000001 已撤销" in texts() and "王丽" in texts()
    assert case_desk.store.get("HM-2026-000001").state == "cancelled"
    assert slot_events(events) == {"case_number": None}
    # The officer hears of it through the outbox.
    pending = case_desk.store.outbox.pending(case_desk.now())
    assert [(n.recipient, n.kind) for n in pending] == [
        ("officer:wang_li", "case_assigned"),
        ("officer:wang_li", "case_update"),
    ]


async def test_cancelling_someone_elses_case_is_refused(case_desk, dispatcher, domain, texts):
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=NOISE_REPORT), domain)
    stranger = make_tracker("取消 hm-2026-000001", "cancel", sender_id="someone-else")
    await ActionCancelReport().run(dispatcher, stranger, domain)
    assert "没有找到 HM-2026-000001" in texts()
    assert case_desk.store.get("HM-2026-000001").state == "open"


async def test_cancel_with_nothing_open(case_desk, dispatcher, domain, texts):
    await ActionCancelReport().run(
        dispatcher, make_tracker("cancel", "cancel", slots={"language": "en"}), domain
    )
    assert "nothing in progress" in texts()


@pytest.mark.parametrize("action", [ActionRequestOfficer, ActionOpenUrgentCase, ActionShowStatus])
async def test_store_failure_is_told_honestly_and_keeps_the_report(
    action, monkeypatch, dispatcher, domain, texts
):
    def broken() -> None:
        raise OSError("disk full")

    monkeypatch.setattr("actions.cases.desk", broken)
    tracker = make_tracker("需要", "affirm", slots=NOISE_REPORT, entities=[risk("violence")])
    events = await action().run(dispatcher, tracker, domain)
    assert "技术问题" in texts() and "0571-8765 4110" in texts()
    assert "category" not in slot_events(events)


async def test_cancelling_an_urgent_case_tells_the_officer_the_resident_is_safe(
    case_desk, dispatcher, domain, texts
):
    """Issue 10: an urgent violence case was withdrawn by one tap and the officer only told "cancelled"."""
    await ActionOpenUrgentCase().run(
        dispatcher, make_tracker("他拿着菜刀站在门口", "inform", entities=[risk("weapon")]), domain
    )
    [case] = case_desk.store.cases()
    dispatcher.messages.clear()
    slots = {"case_number": case.number}
    await ActionCancelReport().run(dispatcher, make_tracker("算了", "cancel", slots=slots), domain)
    assert dispatcher.messages[0]["buttons"] == [
        {"title": f"我现在安全了（{case.number}）", "payload": f'/cancel{{"case_number":"{case.number}"}}'}
    ]
    pressed = make_tracker(
        f'/cancel{{"case_number":"{case.number}"}}',
        "cancel",
        slots=slots,
        entities=[{"entity": "case_number", "value": case.number}],
    )
    dispatcher.messages.clear()
    await ActionCancelReport().run(dispatcher, pressed, domain)
    assert "您现在安全了" in texts() and "仍会保留" in texts() and "110" in texts()
    assert case_desk.store.get(case.number).is_active
