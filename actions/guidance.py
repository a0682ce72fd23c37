"""First guidance for the resident's category, from ``content/guidance/``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, say, station
from hemu.guidance import REPORT_INTENTS


class ActionGiveGuidance(Action):
    """Sends calm-down advice, the rules, free mediation and what evidence to keep.

    Mediation is left out when danger was flagged in this conversation (SPEC §6).
    """

    def name(self) -> str:
        return "action_give_guidance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        category = tracker.get_slot("category")
        lang = language(tracker)
        if category not in REPORT_INTENTS:
            dispatcher.utter_message(response="utter_ask_describe_problem")
            return []
        risks = tracker.get_slot("risk_flags") or []
        text = content().guidance_text(category, lang, risks)
        if content().mediation_unsafe(risks):
            say(dispatcher, tracker, "guidance_after_danger", guidance=text)
            return []
        committee = station().mediation_committee
        say(
            dispatcher,
            tracker,
            "guidance",
            guidance=text,
            committee=committee.name.get(lang),
            committee_phone=committee.phone,
            committee_address=committee.address.get(lang),
        )
        return []
