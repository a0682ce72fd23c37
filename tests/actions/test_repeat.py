"""A report like an open case: asked at once whether it is the same matter (issue 10)."""

from __future__ import annotations

from actions.cases import ActionRequestOfficer
from actions.repeat import ActionAddToOpenCase, ActionAskSameMatter, ActionNewMatter
from actions.report import ActionStartReport
from tests.actions.test_cases import NOISE_REPORT
from tests.auxil.trackers import make_tracker, slot_events

AGAIN = "楼上又在半夜拖椅子了，还蹦迪"


async def open_noise_case(dispatcher, domain) -> None:
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=NOISE_REPORT), domain)
    dispatcher.messages.clear()


async def test_a_report_like_an_open_case_is_recognised_at_the_start(case_desk, dispatcher, domain, texts):
    await open_noise_case(dispatcher, domain)
    events = slot_events(
        await ActionStartReport().run(dispatcher, make_tracker(AGAIN, "report_noise"), domain)
    )
    assert events["repeat_case"] == "HM-2026-000001" and events["category"] == "report_noise"
    assert texts() == ""  # the question comes next, not "a few short questions"
    tracker = make_tracker(
        AGAIN, "report_noise", slots={"repeat_case": "HM-2026-000001", "category": "report_noise"}
    )
    await ActionAskSameMatter().run(dispatcher, tracker, domain)
    assert "HM-2026-000001" in texts() and "王丽" in texts() and "同一件事" in texts()
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny"]


async def test_a_report_of_another_kind_is_not_a_repeat(case_desk, dispatcher, domain, texts):
    await open_noise_case(dispatcher, domain)
    events = slot_events(
        await ActionStartReport().run(dispatcher, make_tracker("邻居的狗乱叫", "report_pet_dispute"), domain)
    )
    assert events["repeat_case"] is None and "明白了" in texts()


async def test_the_same_matter_goes_onto_the_open_case_and_its_officer_is_told(
    case_desk, dispatcher, domain, texts
):
    await open_noise_case(dispatcher, domain)
    slots = {"category": "report_noise", "report_text": AGAIN, "repeat_case": "HM-2026-000001"}
    events = slot_events(
        await ActionAddToOpenCase().run(dispatcher, make_tracker("是同一件事", "affirm", slots=slots), domain)
    )
    assert events == {"repeat_case": None, "case_number": "HM-2026-000001"}
    assert len(case_desk.store.cases()) == 1 and "加到这个案件" in texts()
    added = [e for e in case_desk.store.events("HM-2026-000001") if e.kind == "details_added"]
    assert AGAIN in added[0].detail["text"]
    told = [
        (n.recipient, n.payload.get("event")) for n in case_desk.store.outbox.notifications("HM-2026-000001")
    ]
    assert ("officer:wang_li", "details_added") in told


async def test_a_new_matter_opens_a_second_case(case_desk, dispatcher, domain, texts):
    await open_noise_case(dispatcher, domain)
    events = slot_events(
        await ActionNewMatter().run(
            dispatcher, make_tracker("不是", "deny", slots={"category": "report_noise"}), domain
        )
    )
    assert events == {"repeat_case": None, "new_matter": True}
    second = {**NOISE_REPORT, "report_text": "楼下KTV每晚唱到两点", "new_matter": True}
    await ActionRequestOfficer().run(dispatcher, make_tracker("需要", "affirm", slots=second), domain)
    assert len(case_desk.store.cases()) == 2
