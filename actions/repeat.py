"""A report about something the resident already has an open case for: the same matter, or a new one?

Why at the start: a repeat report used to learn about the open case only after the whole form and the
guidance (about eight turns), and "the advice is enough" then lost the new details. Now the first
message is checked against the resident's open cases of the same kind; they are told at once and asked.
The same matter → their words go onto the open case and its officer is told; a new matter → the form
carries on and the desk opens a second case.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import cases
from actions.cases import officer_values, report_from, resident_id, station_values
from actions.common import content, language, say
from hemu.desk import LimitReached
from hemu.guidance import REPORT_INTENTS
from hemu.store import CaseRecord

log = logging.getLogger(__name__)

REPEAT_SLOT = "repeat_case"


async def open_case_like(tracker: Tracker, category: str | None) -> CaseRecord | None:
    """The resident's open case of this category, if any (None too when the store cannot be read: the
    report then simply goes on)."""
    if category not in REPORT_INTENTS:
        return None
    resident = resident_id(tracker)
    try:
        return await cases.at_desk(lambda the_desk: the_desk.open_case_about(resident, category))
    except Exception:
        log.exception("could not look for an open %s case of %s", category, resident_id(tracker))
        return None


class ActionAskSameMatter(Action):
    """Names the open case and its officer and asks: the same matter, or a new one?"""

    def name(self) -> str:
        return "action_ask_same_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = tracker.get_slot(REPEAT_SLOT)
        try:
            outcome, now = await cases.at_desk(
                lambda the_desk: (cases.active_case(the_desk, number), the_desk.now())
            )
            if outcome is not None:
                values = officer_values(outcome, tracker, now)
                category = content().category_name(outcome.case.category, language(tracker))
                say(dispatcher, tracker, "repeat_report_question", category=category, **values)
                return []
        except Exception:
            log.exception("could not read case %s", number)
        # Closed in the meantime, or unreadable: nothing to join, the report goes on as a new one.
        return start_as_new(dispatcher, tracker)


def start_as_new(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    category = content().category_name(tracker.get_slot("category"), language(tracker))
    say(dispatcher, tracker, "report_started", category=category)
    return [SlotSet(REPEAT_SLOT, None), SlotSet("new_matter", True)]


class ActionAddToOpenCase(Action):
    """The same matter: the resident's words go onto the open case, whose officer is told."""

    def name(self) -> str:
        return "action_add_to_open_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        category = tracker.get_slot("category")
        summary = tracker.get_slot("report_text") or content().category_name(category, language(tracker))
        try:
            report = report_from(tracker, category, summary, [])
            outcome, now = await cases.at_desk(lambda the_desk: (the_desk.open_case(report), the_desk.now()))
        except LimitReached as limit:  # the open case was closed meanwhile, and today's limit is reached
            cases.say_limit_reached(dispatcher, tracker, limit)
            return [SlotSet(REPEAT_SLOT, None)]
        except Exception:
            log.exception("could not add to the open case of %s", resident_id(tracker))
            say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
            return [SlotSet(REPEAT_SLOT, None)]
        key = "case_extended" if not outcome.opened else "case_opened"
        say(dispatcher, tracker, key, **officer_values(outcome, tracker, now))
        return [SlotSet(REPEAT_SLOT, None), SlotSet("case_number", outcome.case.number)]


class ActionNewMatter(Action):
    """A new matter: the form carries on, and the desk will open a second case."""

    def name(self) -> str:
        return "action_new_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return start_as_new(dispatcher, tracker)
