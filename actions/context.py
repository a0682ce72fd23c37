"""Per-message context: the reply language and the accumulated danger flags."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, latest_risks, metadata, station
from hemu.language import choose_language, requested_language


class ActionTrackContext(Action):
    """Custom slot mapping run on every message (before any prediction) by Rasa."""

    def name(self) -> str:
        return "action_track_context"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = choose_language(
            tracker.latest_message.get("text") or "",
            explicit=tracker.get_slot("language_pref"),
            client=metadata(tracker).get("language"),
            previous=tracker.get_slot("language"),
            default=station().station.default_language,
        )
        events: list[EventType] = [SlotSet("language", chosen)]
        flags = list(tracker.get_slot("risk_flags") or [])
        new = [risk for risk in latest_risks(tracker) if risk not in flags]
        if new:
            events.append(SlotSet("risk_flags", flags + new))
        return events


class ActionChangeLanguage(Action):
    """Switches the reply language on request; the choice sticks until changed again.

    It says nothing itself: a response rendered now would use the old language, so the rule
    follows it with ``utter_language_changed``.
    """

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        entity = next(
            (
                e.get("value")
                for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == "language"
            ),
            None,
        )
        target = entity if entity in ("zh", "en") else requested_language(text, language(tracker))
        return [SlotSet("language_pref", target), SlotSet("language", target)]
