"""The safety flow (SPEC §6): emergency numbers and how to get safe, before anything else."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, latest_risks, say, station


class ActionSafety(Action):
    """Stops any form, gives the station's emergency numbers, safety advice and help-lines."""

    def name(self) -> str:
        return "action_safety"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        profile = station()
        flags = list(tracker.get_slot("risk_flags") or [])
        risks = latest_risks(tracker) or flags or ["violence"]
        numbers = "\n".join(f"{line.label.get(lang)} {line.number}" for line in profile.emergency_numbers)
        helplines = "\n".join(
            f"{line.label.get(lang)} {line.number}" for line in profile.helplines_for(risks)
        )
        say(
            dispatcher,
            tracker,
            "safety",
            numbers=numbers,
            advice=content().safety_text(risks, lang),
            helplines=helplines or "-",
        )
        events: list[EventType] = []
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        merged = flags + [risk for risk in risks if risk not in flags]
        if merged != flags:
            events.append(SlotSet("risk_flags", merged))
        return events
