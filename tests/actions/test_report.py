from __future__ import annotations

from actions.report import (
    ActionAskCorrection,
    ActionCancelReport,
    ActionConfirmDetails,
    ActionCorrectField,
    ActionStartReport,
    ValidateReportForm,
)
from tests.auxil.trackers import make_tracker, slot_events


async def test_start_report_remembers_category_and_words(dispatcher, domain, texts) -> None:
    tracker = make_tracker("楼上天天半夜拖椅子", "report_noise")
    events = slot_events(await ActionStartReport().run(dispatcher, tracker, domain))
    assert events["category"] == "report_noise"
    assert events["report_text"] == "楼上天天半夜拖椅子"
    assert "邻居噪音" in texts()


async def test_start_report_prefills_area_and_duration_from_the_first_message(dispatcher, domain) -> None:
    tracker = make_tracker(
        "the dog in Liu'an Garden has barked every night for about three weeks",
        "report_pet_dispute",
        slots={"language": "en"},
    )
    events = slot_events(await ActionStartReport().run(dispatcher, tracker, domain))
    assert events["area_id"] == "liuan"
    assert events["area"] == "Liu'an Garden"
    assert events["duration"] == "for about three weeks"


async def test_start_report_clears_the_previous_report(dispatcher, domain) -> None:
    tracker = make_tracker("隔壁漏水", "report_property_damage", slots={"area": "老地址", "harm": "none"})
    events = slot_events(await ActionStartReport().run(dispatcher, tracker, domain))
    assert events["area"] is None and events["harm"] is None


async def test_form_accepts_dont_know_as_an_answer(dispatcher, domain) -> None:
    tracker = make_tracker("不知道", "dont_know", active_loop="report_form", requested_slot="duration")
    result = ValidateReportForm().validate_duration("不知道", dispatcher, tracker, domain)
    assert result == {"duration": "unknown"}


async def test_form_recognises_a_configured_area_in_an_address(dispatcher, domain) -> None:
    tracker = make_tracker("东湖苑5栋702", "inform", active_loop="report_form", requested_slot="area")
    result = ValidateReportForm().validate_area("东湖苑5栋702", dispatcher, tracker, domain)
    assert result == {"area": "东湖苑5栋702", "area_id": "donghu"}


async def test_form_keeps_an_address_outside_the_configured_areas(dispatcher, domain) -> None:
    tracker = make_tracker("幸福路12号", "inform", active_loop="report_form", requested_slot="area")
    result = ValidateReportForm().validate_area("幸福路12号", dispatcher, tracker, domain)
    assert result == {"area": "幸福路12号", "area_id": None}


async def test_form_reads_harm_from_buttons_and_words(dispatcher, domain) -> None:
    form = ValidateReportForm()
    tracker = make_tracker("孩子有点害怕", "inform", active_loop="report_form", requested_slot="harm")
    assert form.validate_harm("none", dispatcher, tracker, domain) == {"harm": "none"}
    assert form.validate_harm("孩子有点害怕", dispatcher, tracker, domain) == {"harm": "afraid"}
    assert form.validate_harm("没人受伤", dispatcher, tracker, domain) == {"harm": "none"}


async def test_form_skips_contact_when_consent_is_refused(dispatcher, domain) -> None:
    tracker = make_tracker("不用", "deny", slots={"contact_consent": False}, active_loop="report_form")
    slots = await ValidateReportForm().required_slots(
        ["area", "parties", "duration", "harm", "contact_consent", "contact"], dispatcher, tracker, domain
    )
    assert "contact" not in slots
    assert ValidateReportForm().validate_contact_consent(False, dispatcher, tracker, domain) == {
        "contact_consent": False,
        "contact": None,
    }


async def test_confirm_details_repeats_every_answer_in_english(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "no",
        "deny",
        slots={
            "language": "en",
            "category": "report_noise",
            "area": "Binhe 3-2",
            "parties": "the family in 602",
            "duration": "unknown",
            "harm": "afraid",
            "contact_consent": True,
            "contact": "138 0000 1234",
        },
    )
    await ActionConfirmDetails().run(dispatcher, tracker, domain)
    shown = texts()
    for expected in (
        "Noise from neighbours",
        "Binhe 3-2",
        "the family in 602",
        "Not known",
        "Someone is afraid",
        "138 0000 1234",
    ):
        assert expected in shown
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/correct_details"]


async def test_ask_correction_offers_one_button_per_answer(dispatcher, domain) -> None:
    await ActionAskCorrection().run(dispatcher, make_tracker("不对", "correct_details"), domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[0] == '/correct_details{"correction_field":"area"}'
    assert len(payloads) == 5


async def test_correct_field_forgets_only_that_answer(dispatcher, domain) -> None:
    tracker = make_tracker("", "correct_details", slots={"correction_field": "contact", "area": "滨河"})
    events = slot_events(await ActionCorrectField().run(dispatcher, tracker, domain))
    assert events == {"correction_field": None, "contact": None, "contact_consent": None}


async def test_cancel_inside_the_form_stops_it_and_forgets_answers(dispatcher, domain, texts) -> None:
    tracker = make_tracker(
        "算了", "cancel", slots={"category": "report_noise", "area": "滨河"}, active_loop="report_form"
    )
    events = await ActionCancelReport().run(dispatcher, tracker, domain)
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]
    assert slot_events(events)["area"] is None
    assert "已取消" in texts()


async def test_cancel_with_nothing_in_progress_says_so(dispatcher, domain, texts) -> None:
    events = await ActionCancelReport().run(
        dispatcher, make_tracker("cancel", "cancel", slots={"language": "en"}), domain
    )
    assert events == []
    assert "nothing in progress" in texts()


async def test_a_typed_yes_with_a_number_is_consent_and_the_contact(dispatcher, domain) -> None:
    """The lock's first reproduction: typing instead of pressing the button."""
    form = ValidateReportForm()
    for text, intent in (
        ("可以，打我电话 135 0000 1111", "inform"),
        ("yes, call me on 138 0000 2222", "affirm"),
    ):
        tracker = make_tracker(text, intent, active_loop="report_form", requested_slot="contact_consent")
        value = True if intent == "affirm" else text
        result = form.validate_contact_consent(value, dispatcher, tracker, domain)
        assert result["contact_consent"] is True
        assert result["contact"].endswith(("135 0000 1111", "138 0000 2222"))


async def test_a_typed_no_and_an_unclear_answer(dispatcher, domain, texts) -> None:
    form = ValidateReportForm()
    refused = make_tracker("不用了", "inform", active_loop="report_form", requested_slot="contact_consent")
    assert form.validate_contact_consent("不用了", dispatcher, refused, domain) == {
        "contact_consent": False,
        "contact": None,
    }
    unclear = make_tracker("随便吧", "inform", active_loop="report_form", requested_slot="contact_consent")
    assert form.validate_contact_consent("随便吧", dispatcher, unclear, domain) == {"contact_consent": None}
    assert "可以联系我" in texts()


async def test_a_button_from_an_earlier_question_is_answered_not_stored(dispatcher, domain, texts) -> None:
    """The lock's second reproduction: the harm question's button pressed at a later question."""
    payload = '/inform{"harm":"none"}'
    tracker = make_tracker(
        payload,
        "inform",
        slots={"contact": payload},
        active_loop="report_form",
        requested_slot="contact",
    )
    events = await ValidateReportForm().get_validation_events(dispatcher, tracker, domain)
    assert slot_events(events) == {"contact": None}
    assert "之前一个问题" in texts()
