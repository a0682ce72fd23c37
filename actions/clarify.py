"""Low-confidence messages: ask, offering the likely categories as buttons, instead of guessing."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, say
from hemu.guidance import REPORT_INTENTS

MAX_CHOICES = 3


def _asked_last_time(tracker: Tracker) -> bool:
    """Whether Hemu's previous turn ended with this same clarifying question."""
    seen_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_message:
                return False
            seen_message = True
        elif seen_message and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == "action_clarify"
    return False


class ActionClarify(Action):
    """Offers up to three likely report categories from the classifier's ranking, plus "other"."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        if _asked_last_time(tracker):
            # Not the same question twice in a row: every kind of dispute, and a way to a person.
            buttons = [
                {"title": content().category_name(intent, lang), "payload": f"/{intent}"}
                for intent in REPORT_INTENTS
            ]
            say(dispatcher, tracker, "clarify_again", buttons=buttons)
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        likely = [item["name"] for item in ranking if item.get("name") in REPORT_INTENTS][:MAX_CHOICES]
        if not likely:
            likely = list(REPORT_INTENTS[:MAX_CHOICES])
        buttons = [
            {"title": content().category_name(intent, lang), "payload": f"/{intent}"} for intent in likely
        ]
        say(dispatcher, tracker, "clarify", buttons=buttons)
        return []
