"""First guidance for the resident's category, from ``content/guidance/``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, say, station
from hemu.guidance import GUIDANCE_SECTIONS, REPORT_INTENTS

SECTION_ENTITY = "guidance_section"


class ActionGiveGuidance(Action):
    """Sends what to do now and the nearest free mediation; the rules, how mediation works and what
    evidence to keep are behind buttons (one message of 25 lines was too much for a phone).

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


class ActionGuidanceSection(Action):
    """One section of the guidance, from the first guidance's buttons: rules, mediation or evidence."""

    def name(self) -> str:
        return "action_guidance_section"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        category = tracker.get_slot("category")
        section = next(
            (
                e.get("value")
                for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == SECTION_ENTITY
            ),
            None,
        )
        risks = tracker.get_slot("risk_flags") or []
        if category not in REPORT_INTENTS or section not in GUIDANCE_SECTIONS:
            dispatcher.utter_message(response="utter_ask_describe_problem")
            return []
        if section == "mediation" and content().mediation_unsafe(risks):
            # Not after violence, a weapon or a threat (SPEC §6): what to keep instead.
            section = "evidence"
        say(
            dispatcher,
            tracker,
            "guidance_section",
            section=content().guidance_section(category, language(tracker), section),
        )
        return []
