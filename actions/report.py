"""The report flow: start a report, fill the form, confirm, correct, cancel."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import cancel_named_or_offer, case_number_in
from actions.common import content, language, say, station
from actions.repeat import REPEAT_SLOT, open_case_like
from hemu.guidance import REPORT_INTENTS
from hemu.intake import (
    CORRECTABLE_FIELDS,
    FORM_FIELDS,
    UNKNOWN,
    find_area,
    find_duration,
    is_dont_know,
    normalise_harm,
    read_consent,
    required_fields,
)

FORM = "report_form"
# Slots that belong to one report; a new report or a cancellation clears them.
REPORT_SLOTS = (
    *FORM_FIELDS,
    "area_id",
    "category",
    "report_text",
    "wants_officer",
    "case_number",
    "repeat_case",
    "new_matter",
)


def _stale_button(value: Any, tracker: Tracker) -> bool:
    """Whether a free-text answer is really the payload of a button from an earlier question.

    The gateway never forwards a resident's own "/…", so a message starting with "/" is a button;
    if the slot took it as text, it was not this question's button ("/inform{"harm":"none"}" pressed
    while Hemu asks for a phone number)."""
    said = (tracker.latest_message.get("text") or "").strip()
    return said.startswith("/") and str(value).strip() == said


def _said_dont_know(tracker: Tracker) -> bool:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return intent == "dont_know" or is_dont_know(tracker.latest_message.get("text") or "")


class ActionStartReport(Action):
    """Opens a report: remembers the category and the resident's words, pre-fills what they said."""

    def name(self) -> str:
        return "action_start_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        events: list[EventType] = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        events.append(SlotSet("category", intent if intent in REPORT_INTENTS else None))
        # Asked for an officer before describing anything: the hand-off follows this report's summary.
        asked_first = bool(tracker.get_slot("wants_officer")) and not tracker.get_slot("category")
        events.append(SlotSet("wants_officer", asked_first))
        if text and not text.startswith("/"):
            events.append(SlotSet("report_text", text))
            area = find_area(text, station().areas)
            if area:
                events += [SlotSet("area", area.name.get(language(tracker))), SlotSet("area_id", area.id)]
            duration = find_duration(text)
            if duration:
                events.append(SlotSet("duration", duration))
        repeat = await open_case_like(tracker, intent)
        if repeat is not None:
            # Asked first (actions/repeat.py): the same matter as the open case, or a new one?
            return [*events, SlotSet(REPEAT_SLOT, repeat.number)]
        say(
            dispatcher,
            tracker,
            "report_started",
            category=content().category_name(intent, language(tracker)) if intent in REPORT_INTENTS else "",
        )
        return events


class ValidateReportForm(FormValidationAction):
    """Accepts every answer the resident gives, including "I don't know"."""

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        needed = required_fields(tracker.get_slot("contact_consent"))
        return [slot for slot in domain_slots if slot in needed]

    def _free_text(self, value: Any, tracker: Tracker) -> str:
        if _said_dont_know(tracker):
            return UNKNOWN
        return str(value).strip()

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """A button from an earlier question is answered ("that question has passed") and its payload
        never becomes an answer; the form then asks its current question again."""
        requested = tracker.get_slot("requested_slot")
        if requested and _stale_button(tracker.get_slot(requested), tracker):
            say(dispatcher, tracker, "question_passed")
            return [SlotSet(requested, None)]
        return await super().get_validation_events(dispatcher, tracker, domain)

    def validate_area(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        answer = self._free_text(value, tracker)
        if not answer:
            return {"area": None}
        area = find_area(answer, station().areas)
        # An address outside the configured areas is kept as written: the station decides.
        return {"area": answer, "area_id": area.id if area else None}

    def validate_parties(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"parties": self._free_text(value, tracker) or None}

    def validate_duration(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"duration": self._free_text(value, tracker) or None}

    def validate_harm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if _said_dont_know(tracker):
            return {"harm": UNKNOWN}
        return {"harm": normalise_harm(str(value).strip())}

    def validate_contact_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        said = tracker.latest_message.get("text") or ""
        typed = read_consent("" if said.startswith("/") else said)
        if isinstance(value, bool):
            # A button or a clear yes/no intent; a number typed with the yes is kept as the contact.
            agreed, contact = value, typed.contact if value else None
        else:
            agreed, contact = typed
        if agreed is None:
            say(dispatcher, tracker, "consent_unclear")
            return {"contact_consent": None}
        if not agreed:
            return {"contact_consent": False, "contact": None}
        return {"contact_consent": True, **({"contact": contact} if contact else {})}

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"contact": self._free_text(value, tracker) or None}


class ActionConfirmDetails(Action):
    """Repeats the report back so the resident can confirm or correct it."""

    def name(self) -> str:
        return "action_confirm_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        texts = content()
        category = tracker.get_slot("category")
        contact = (
            texts.answer_label("contact", tracker.get_slot("contact"), lang)
            if tracker.get_slot("contact_consent")
            else texts.labels.no_contact.get(lang)
        )
        say(
            dispatcher,
            tracker,
            "confirm_details",
            category=texts.category_name(category, lang) if category in REPORT_INTENTS else "",
            area=texts.answer_label("area", tracker.get_slot("area"), lang),
            parties=texts.answer_label("parties", tracker.get_slot("parties"), lang),
            duration=texts.answer_label("duration", tracker.get_slot("duration"), lang),
            harm=texts.answer_label("harm", tracker.get_slot("harm"), lang),
            contact=contact,
        )
        return []


class ActionAskCorrection(Action):
    """Asks which answer is wrong, one button per answer."""

    def name(self) -> str:
        return "action_ask_correction"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        buttons = [
            {
                "title": content().field_name(field, lang),
                "payload": f'/correct_details{{"correction_field":"{field}"}}',
            }
            for field in CORRECTABLE_FIELDS
        ]
        say(dispatcher, tracker, "ask_which_field", buttons=buttons)
        return []


class ActionCorrectField(Action):
    """Forgets one answer so the form asks for it again; the others are kept."""

    def name(self) -> str:
        return "action_correct_field"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        field = tracker.get_slot("correction_field")
        events: list[EventType] = [SlotSet("correction_field", None)]
        if field not in CORRECTABLE_FIELDS:
            field = "area"
        events.append(SlotSet(field, None))
        if field == "area":
            events.append(SlotSet("area_id", None))
        if field == "contact":
            # Changing the contact may mean withdrawing consent: ask both again.
            events.append(SlotSet("contact_consent", None))
        return events


class ActionCancelReport(Action):
    """Stops the report in progress and forgets its answers."""

    def name(self) -> str:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # A report that already became a case is no longer "in progress": cancelling means the case.
        in_progress = tracker.active_loop.get("name") == FORM or (
            tracker.get_slot("category") and not tracker.get_slot("case_number")
        )
        if case_number_in(tracker) or not in_progress:
            # A case named, or nothing being reported: "cancel" means one of their open cases.
            return await cancel_named_or_offer(dispatcher, tracker)
        say(dispatcher, tracker, "report_cancelled")
        return (
            [ActiveLoop(None), SlotSet("requested_slot", None)]
            + [SlotSet(slot, None) for slot in REPORT_SLOTS]
            + [SlotSet("wants_officer", False)]
        )
