"""Hand-off points to a person: the cases capability (issue 3) fills these in.

Until it does, they must not invent an officer or a promised time: they say honestly that
Hemu cannot assign an officer yet and how to reach the station.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, say, station


def _station_details(tracker: Tracker) -> dict[str, str]:
    lang = language(tracker)
    profile = station().station
    return {
        "station_name": profile.name.get(lang),
        "station_phone": profile.phone,
        "station_hours": profile.hours.get(lang),
        "station_address": profile.address.get(lang),
    }


class ActionRequestOfficer(Action):
    """The resident wants an officer: where the case is opened and assigned."""

    def name(self) -> str:
        return "action_request_officer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, tracker, "officer_handoff_unavailable", **_station_details(tracker))
        return [SlotSet("wants_officer", False)]


class ActionOpenUrgentCase(Action):
    """After the safety advice: where an urgent case is paged to the on-duty officer."""

    def name(self) -> str:
        return "action_open_urgent_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, tracker, "urgent_case_unavailable", **_station_details(tracker))
        return []


class ActionShowStatus(Action):
    """The resident's cases: filled in by the cases capability."""

    def name(self) -> str:
        return "action_show_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, tracker, "no_case_tracking", **_station_details(tracker))
        return []
