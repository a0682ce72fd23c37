"""The uncertain tier of danger screening (SPEC §6): the emergency numbers at once, then one question.

A message the screening is not sure about must neither page an officer for nothing nor go unanswered:
the resident gets the safety reply with the station's emergency numbers, and "Is anyone in danger
right now?" with three buttons. The answer (or no answer within ``danger.answer_minutes`` of
config/policy.yml, which counts as "yes") decides: an urgent case, a high-priority case with injury
and evidence advice, or the conversation goes on where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, ReminderCancelled, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import open_danger_case
from actions.common import latest_risks, say
from actions.safety import safety_values, unfill_form_answer
from hemu.cases import Priority
from hemu.danger import (
    ANSWER_ENTITY,
    PENDING,
    PENDING_SLOT,
    REMINDER_NAME,
    TEXT_SLOT,
    DangerAnswer,
    parse_answer,
)
from hemu.policy import load_policy


def answer_of(tracker: Tracker) -> DangerAnswer | None:
    """The danger answer in the latest message: a button's entity, or a typed yes/no."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == ANSWER_ENTITY:
            return parse_answer(entity.get("value"))
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return {"affirm": DangerAnswer.NOW, "deny": DangerAnswer.NONE}.get(intent or "")


class ActionDangerQuestion(Action):
    """Safety reply plus "is anyone in danger right now?"; the form, if any, stays where it was."""

    def name(self) -> str:
        return "action_danger_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        values, merged = safety_values(tracker)
        say(dispatcher, tracker, "safety", **values)
        say(dispatcher, tracker, "danger_question")
        minutes = load_policy().danger.answer_minutes
        due = datetime.now(timezone.utc) + timedelta(minutes=minutes)
        said = (tracker.latest_message.get("text") or "").strip()
        return unfill_form_answer(tracker) + [
            SlotSet(PENDING_SLOT, PENDING),
            SlotSet(TEXT_SLOT, None if said.startswith("/") else said),
            SlotSet("risk_flags", merged),
            ReminderScheduled(
                "inform",
                trigger_date_time=due,
                entities={ANSWER_ENTITY: DangerAnswer.UNANSWERED.value},
                name=REMINDER_NAME,
                kill_on_user_message=False,
            ),
        ]


class ActionDangerAnswer(Action):
    """Carries out the answer to the danger question (see the module docstring)."""

    def name(self) -> str:
        return "action_danger_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = answer_of(tracker) or DangerAnswer.NOW
        # The answer (a button's payload) is no answer to the form's question either.
        events: list[EventType] = [SlotSet(PENDING_SLOT, None), ReminderCancelled(name=REMINDER_NAME)]
        events += unfill_form_answer(tracker)
        if answer is DangerAnswer.NONE:
            say(dispatcher, tracker, "danger_none")
            return events + [SlotSet(TEXT_SLOT, None)]
        if latest_risks(tracker):
            flags = list(tracker.get_slot("risk_flags") or [])
            events.append(SlotSet("risk_flags", flags + [r for r in latest_risks(tracker) if r not in flags]))
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        if answer.pages_now:
            opened = await open_danger_case(
                dispatcher, tracker, Priority.URGENT, "urgent_case_opened", "urgent_case_extended"
            )
        else:
            say(dispatcher, tracker, "past_danger_advice")
            opened = await open_danger_case(
                dispatcher,
                tracker,
                load_policy().past_danger_priority,
                "past_danger_case_opened",
                "past_danger_case_extended",
            )
        return events + opened
