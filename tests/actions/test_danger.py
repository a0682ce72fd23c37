"""The uncertain tier: safety reply plus one question, and what each answer does."""

from __future__ import annotations

from typing import Any

from actions.danger import ActionDangerAnswer, ActionDangerQuestion
from hemu.desk import Desk
from tests.auxil.trackers import make_tracker, risk, slot_events


def uncertain(value: str = "violence") -> dict[str, Any]:
    return {**risk(value), "tier": "uncertain", "source": "classifier"}


def answer(value: str, slots: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return make_tracker(
        f'/inform{{"danger_answer":"{value}"}}',
        "inform",
        entities=[{"entity": "danger_answer", "value": value}],
        slots={
            "danger_question": "pending",
            "risk_flags": ["violence"],
            "danger_text": "他最近老是动不动就急",
            **(slots or {}),
        },
        **kwargs,
    )


async def test_the_question_comes_with_the_emergency_numbers_and_a_reminder(
    dispatcher, domain, texts
) -> None:
    tracker = make_tracker(
        "他最近老是动不动就急", "report_spouse_conflict", entities=[uncertain()], active_loop="report_form"
    )
    events = await ActionDangerQuestion().run(dispatcher, tracker, domain)
    assert "110" in texts()
    payloads = [
        button["payload"] for message in dispatcher.messages for button in message.get("buttons") or []
    ]
    assert payloads == [
        '/inform{"danger_answer":"now"}',
        '/inform{"danger_answer":"past"}',
        '/inform{"danger_answer":"none"}',
    ]
    slots = slot_events(events)
    assert slots["danger_question"] == "pending" and slots["risk_flags"] == ["violence"]
    reminders = [e for e in events if e["event"] == "reminder"]
    assert reminders and reminders[0]["entities"] == {"danger_answer": "unanswered"}
    # The form stays where it was: "no" carries on.
    assert not any(e["event"] == "active_loop" for e in events)


async def test_the_question_speaks_english_to_english_speakers(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "he's been strange", "out_of_scope", slots={"language": "en"}, entities=[uncertain()]
    )
    await ActionDangerQuestion().run(dispatcher, tracker, domain)
    assert "Is anyone in danger right now?" in texts() and "110" in texts()


async def test_yes_now_pages_an_urgent_case(dispatcher, domain, texts, case_desk: Desk) -> None:
    events = await ActionDangerAnswer().run(dispatcher, answer("now", active_loop="report_form"), domain)
    (case,) = case_desk.resident_cases("resident-1")
    assert case.priority == "urgent"
    assert "他最近老是动不动就急" in case.summary
    assert slot_events(events)["danger_question"] is None
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert any(e["event"] == "cancel_reminder" for e in events)


async def test_no_answer_in_time_counts_as_yes(dispatcher, domain, case_desk: Desk) -> None:
    await ActionDangerAnswer().run(dispatcher, answer("unanswered"), domain)
    (case,) = case_desk.resident_cases("resident-1")
    assert case.priority == "urgent"


async def test_it_happened_opens_a_high_case_with_injury_and_evidence_advice(
    dispatcher, domain, texts, case_desk: Desk
) -> None:
    await ActionDangerAnswer().run(dispatcher, answer("past", slots={"language": "en"}), domain)
    (case,) = case_desk.resident_cases("resident-1")
    assert case.priority == "high"
    shown = texts()
    assert "medical records" in shown and "protection order" in shown


async def test_no_carries_on_and_opens_nothing(dispatcher, domain, texts, case_desk: Desk) -> None:
    events = await ActionDangerAnswer().run(dispatcher, answer("none", active_loop="report_form"), domain)
    assert case_desk.resident_cases("resident-1") == []
    assert slot_events(events)["danger_question"] is None
    assert not any(e["event"] == "active_loop" for e in events)
    assert "110" in texts()


async def test_a_typed_yes_counts_as_now(dispatcher, domain, case_desk: Desk) -> None:
    tracker = make_tracker("是的", "affirm", slots={"danger_question": "pending", "risk_flags": ["threat"]})
    await ActionDangerAnswer().run(dispatcher, tracker, domain)
    (case,) = case_desk.resident_cases("resident-1")
    assert case.priority == "urgent" and "threat" in case.risk_flags


async def test_the_danger_message_is_not_kept_as_the_forms_answer(dispatcher, domain) -> None:
    said = "我老婆要杀了我"
    tracker = make_tracker(
        said,
        "inform",
        entities=[uncertain("threat")],
        active_loop="report_form",
        requested_slot="location",
        slots={"location": said},
    )
    events = await ActionDangerQuestion().run(dispatcher, tracker, domain)
    assert slot_events(events)["location"] is None


async def test_the_answer_button_is_not_kept_as_the_forms_answer_either(dispatcher, domain) -> None:
    payload = '/inform{"danger_answer":"none"}'
    tracker = answer("none", slots={"area": payload}, active_loop="report_form", requested_slot="area")
    events = await ActionDangerAnswer().run(dispatcher, tracker, domain)
    assert slot_events(events)["area"] is None
