from __future__ import annotations

from actions.context import ActionChangeLanguage, ActionTrackContext
from tests.auxil.trackers import make_tracker, risk, slot_events


async def test_track_context_follows_the_script_of_the_message(dispatcher, domain) -> None:
    tracker = make_tracker("the guy upstairs drags furniture at 2 am", slots={"language": "zh"})
    events = await ActionTrackContext().run(dispatcher, tracker, domain)
    assert slot_events(events)["language"] == "en"


async def test_track_context_keeps_chinese_for_a_short_latin_reply(dispatcher, domain) -> None:
    tracker = make_tracker("ok", slots={"language": "zh"})
    events = await ActionTrackContext().run(dispatcher, tracker, domain)
    assert slot_events(events)["language"] == "zh"


async def test_track_context_uses_the_telegram_language_when_text_does_not_tell(dispatcher, domain) -> None:
    tracker = make_tracker("/start", slots={"language": None}, metadata={"language": "en-GB"})
    events = await ActionTrackContext().run(dispatcher, tracker, domain)
    assert slot_events(events)["language"] == "en"


async def test_track_context_explicit_choice_wins_over_script(dispatcher, domain) -> None:
    tracker = make_tracker("楼上太吵了", slots={"language": "en", "language_pref": "en"})
    events = await ActionTrackContext().run(dispatcher, tracker, domain)
    assert slot_events(events)["language"] == "en"


async def test_track_context_accumulates_risk_flags_without_repeats(dispatcher, domain) -> None:
    tracker = make_tracker(
        "他拿着刀说要弄死我", slots={"risk_flags": ["threat"]}, entities=[risk("weapon"), risk("threat")]
    )
    events = await ActionTrackContext().run(dispatcher, tracker, domain)
    assert slot_events(events)["risk_flags"] == ["threat", "weapon"]


async def test_track_context_sets_no_flags_for_a_calm_message(dispatcher, domain) -> None:
    events = await ActionTrackContext().run(dispatcher, make_tracker("楼上漏水了"), domain)
    assert "risk_flags" not in slot_events(events)


async def test_change_language_to_english_sticks(dispatcher, domain) -> None:
    events = await ActionChangeLanguage().run(dispatcher, make_tracker("English please"), domain)
    assert slot_events(events) == {"language_pref": "en", "language": "en"}


async def test_change_language_without_a_target_toggles(dispatcher, domain) -> None:
    tracker = make_tracker("switch language", slots={"language": "en"})
    events = await ActionChangeLanguage().run(dispatcher, tracker, domain)
    assert slot_events(events)["language"] == "zh"
