"""The safety flow (SPEC §6): emergency numbers and how to get safe, before anything else."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, ReminderCancelled, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, latest_risks, say, station
from hemu.danger import PENDING_SLOT, REMINDER_NAME
from risk.subject import speaks_of_self


def safety_values(tracker: Tracker) -> tuple[dict[str, str], list[str]]:
    """The safety reply's numbers, advice and help-lines for the danger seen, and the merged risk flags."""
    lang = language(tracker)
    profile = station()
    flags = list(tracker.get_slot("risk_flags") or [])
    risks = latest_risks(tracker) or flags or ["violence"]
    numbers = "\n".join(f"{line.label.get(lang)} {line.number}" for line in profile.emergency_numbers)
    helplines = "\n".join(f"{line.label.get(lang)} {line.number}" for line in profile.helplines_for(risks))
    said = tracker.latest_message.get("text") or ""
    advice = content().safety_text(risks, lang, about_self=not said.startswith("/") and speaks_of_self(said))
    values = {"numbers": numbers, "advice": advice, "helplines": helplines or "-"}
    return values, flags + [risk for risk in risks if risk not in flags]


def unfill_form_answer(tracker: Tracker) -> list[EventType]:
    """The danger message is not the answer to the form's question: Rasa's slot extraction took it as
    one ("where is this happening?" → "我老婆要杀了我"), so the slot is emptied and the question, if the
    report carries on, is asked again."""
    requested = tracker.get_slot("requested_slot")
    said = (tracker.latest_message.get("text") or "").strip()
    if requested and said and str(tracker.get_slot(requested) or "").strip() == said:
        return [SlotSet(requested, None)]
    return []


class ActionSafety(Action):
    """Stops any form, gives the station's emergency numbers, safety advice and help-lines."""

    def name(self) -> str:
        return "action_safety"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        values, merged = safety_values(tracker)
        say(dispatcher, tracker, "safety", **values)
        flags = list(tracker.get_slot("risk_flags") or [])
        # A clear signal answers any danger question still waiting: the urgent page follows now.
        events: list[EventType] = [SlotSet(PENDING_SLOT, None), ReminderCancelled(name=REMINDER_NAME)]
        events += unfill_form_answer(tracker)
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        if merged != flags:
            events.append(SlotSet("risk_flags", merged))
        return events
