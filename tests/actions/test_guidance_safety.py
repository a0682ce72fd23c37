from __future__ import annotations

from actions.clarify import ActionClarify
from actions.guidance import ActionGiveGuidance, ActionGuidanceSection
from actions.prompts import ASK_ACTIONS
from actions.safety import ActionSafety
from tests.auxil.trackers import make_tracker, risk, slot_events


async def test_guidance_gives_what_to_do_now_and_the_rest_behind_buttons(dispatcher, domain, texts) -> None:
    tracker = make_tracker("对", "affirm", slots={"category": "report_noise", "language": "en"})
    await ActionGiveGuidance().run(dispatcher, tracker, domain)
    shown = texts()
    assert "banging on the ceiling" in shown and "Free mediation near you" in shown
    assert "not legal advice" in shown and "Noise Pollution" not in shown
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == [f'/inform{{"guidance_section":"{s}"}}' for s in ("rules", "mediation", "evidence")]
    dispatcher.messages.clear()
    pressed = make_tracker(
        payloads[0],
        "inform",
        slots={"category": "report_noise", "language": "en"},
        entities=[{"entity": "guidance_section", "value": "rules"}],
    )
    await ActionGuidanceSection().run(dispatcher, pressed, domain)
    assert "Noise Pollution Prevention and Control Law" in texts()


async def test_no_mediation_section_after_violence(dispatcher, domain, texts) -> None:
    pressed = make_tracker(
        '/inform{"guidance_section":"mediation"}',
        "inform",
        slots={"category": "report_spouse_conflict", "risk_flags": ["violence"]},
        entities=[{"entity": "guidance_section", "value": "mediation"}],
    )
    await ActionGuidanceSection().run(dispatcher, pressed, domain)
    assert "调解" not in texts() and texts()


async def test_guidance_never_offers_mediation_after_violence(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "对", "affirm", slots={"category": "report_spouse_conflict", "risk_flags": ["violence"]}
    )
    await ActionGiveGuidance().run(dispatcher, tracker, domain)
    assert "调解" not in texts()


async def test_guidance_without_a_category_asks_for_the_problem(dispatcher, domain) -> None:
    await ActionGiveGuidance().run(dispatcher, make_tracker("好", "affirm"), domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_describe_problem"


async def test_safety_gives_station_numbers_and_stops_the_form(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "他拿着菜刀站在门口", "inform", entities=[risk("weapon")], active_loop="report_form"
    )
    events = await ActionSafety().run(dispatcher, tracker, domain)
    shown = texts()
    assert "110" in shown and "120" in shown
    assert "调解" not in shown
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert slot_events(events)["risk_flags"] == ["weapon"]


async def test_safety_for_self_harm_names_the_psychological_help_line(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "I can't go on", "out_of_scope", slots={"language": "en"}, entities=[risk("self_harm")]
    )
    await ActionSafety().run(dispatcher, tracker, domain)
    assert "12356" in texts()
    assert "you are not alone" in texts() and "Stay with the person" not in texts()


async def test_safety_for_someone_elses_self_harm_speaks_about_them(dispatcher, domain, texts) -> None:
    tracker = make_tracker("我妈说再这样就喝农药", "inform", entities=[risk("self_harm")])
    await ActionSafety().run(dispatcher, tracker, domain)
    assert "请陪在对方身边" in texts() and "12356" in texts()


async def test_clarify_offers_the_likely_categories_as_buttons(dispatcher, domain) -> None:
    tracker = make_tracker(
        "他们家那个事",
        "nlu_fallback",
        ranking=[("nlu_fallback", 0.45), ("report_noise", 0.3), ("greet", 0.2), ("report_pet_dispute", 0.1)],
    )
    await ActionClarify().run(dispatcher, tracker, domain)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        "/report_noise",
        "/report_pet_dispute",
    ]


async def test_clarify_twice_in_a_row_says_something_else(dispatcher, domain, texts) -> None:
    """The same "not sure" twice in a row reads as a broken bot: the second offers every category
    and an officer."""
    tracker = make_tracker("嗯嗯嗯", "nlu_fallback", ranking=[("nlu_fallback", 0.3), ("report_noise", 0.2)])
    tracker.events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "啊啊啊"},
        {"event": "action", "name": "action_clarify"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "嗯嗯嗯"},
    ]
    await ActionClarify().run(dispatcher, tracker, domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert "/request_officer" in payloads and len(payloads) == 10
    assert "还是没太明白" in texts()
    tracker.events[2] = {"event": "action", "name": "utter_greet"}
    dispatcher.messages.clear()
    await ActionClarify().run(dispatcher, tracker, domain)
    assert "我不太确定" in texts()


async def test_every_form_question_has_an_ask_action_in_the_domain(dispatcher, domain) -> None:
    for action in ASK_ACTIONS.values():
        assert action().name() in domain["actions"]
        await action().run(dispatcher, make_tracker(slots={"language": "en"}), domain)
    assert len(dispatcher.messages) == len(ASK_ACTIONS)
    assert all(message["text"] for message in dispatcher.messages)
