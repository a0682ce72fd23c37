"""The report form's questions, one action per question (Rasa calls ``action_ask_<slot>``)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import say
from hemu.intake import FORM_FIELDS


class _AskAction(Action):
    """Asks for one form field with the message ``ask_<field>``."""

    field = ""

    def name(self) -> str:
        return f"action_ask_{self.field}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, tracker, f"ask_{self.field}")
        return []


# One subclass per field, so rasa-sdk registers each under its own name.
ASK_ACTIONS = {
    field: type(f"ActionAsk_{field}", (_AskAction,), {"field": field, "__doc__": _AskAction.__doc__})
    for field in FORM_FIELDS
}
