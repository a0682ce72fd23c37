"""Low-confidence messages: ask, offering the likely categories as buttons, instead of guessing."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, say
from hemu.guidance import REPORT_INTENTS

MAX_CHOICES = 3


class ActionClarify(Action):
    """Offers up to three likely report categories from the classifier's ranking, plus "other"."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        ranking = tracker.latest_message.get("intent_ranking") or []
        likely = [item["name"] for item in ranking if item.get("name") in REPORT_INTENTS][:MAX_CHOICES]
        if not likely:
            likely = list(REPORT_INTENTS[:MAX_CHOICES])
        buttons = [
            {"title": content().category_name(intent, lang), "payload": f"/{intent}"} for intent in likely
        ]
        say(dispatcher, tracker, "clarify", buttons=buttons)
        return []
