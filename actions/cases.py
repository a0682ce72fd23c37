"""Cases from the resident's side: the hand-off to a named officer, urgent cases, status, cancelling.

Thin over :class:`hemu.desk.Desk`: these actions turn slots into a :class:`~hemu.desk.Report` and the
desk's answer into a message. If the case store cannot be reached the resident is told honestly and
keeps everything they said (the slots stay), so asking again later works.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, latest_risks, metadata, say, station, text
from hemu.bootstrap import open_desk
from hemu.cases import Priority, find_case_number
from hemu.desk import DANGER_CATEGORY, CaseRefused, Desk, Outcome, Report
from hemu.intake import UNKNOWN
from hemu.roster import Officer
from hemu.when import describe_due

log = logging.getLogger(__name__)

# How many cases /status lists; older ones are in the station's records.
STATUS_LIMIT = 8


@lru_cache(maxsize=1)
def desk() -> Desk:
    """One desk per action-server process; the schema is brought up to date on first use."""
    return open_desk()


def resident_id(tracker: Tracker) -> str:
    """The Telegram user id the gateway sends; the conversation id for other channels (REST, shell)."""
    return str(metadata(tracker).get("telegram_user_id") or tracker.sender_id)


def _answer(tracker: Tracker, slot: str) -> str | None:
    value = tracker.get_slot(slot)
    return None if value in (None, "", UNKNOWN) else str(value)


def _said(tracker: Tracker) -> str:
    """What the resident typed last; a button payload ("/inform{…}") is not their words."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text


def report_from(tracker: Tracker, category: str, summary: str, risks: list[str]) -> Report:
    consent = tracker.get_slot("contact_consent") is True
    return Report(
        resident_id=resident_id(tracker),
        language=language(tracker),
        category=category,
        summary=summary,
        area_id=tracker.get_slot("area_id"),
        area_text=_answer(tracker, "area"),
        parties=_answer(tracker, "parties"),
        duration=_answer(tracker, "duration"),
        harm=_answer(tracker, "harm"),
        risk_flags=tuple(risks),
        contact_consent=consent,
        contact=_answer(tracker, "contact") if consent else None,
        new_matter=bool(tracker.get_slot("new_matter")),
    )


def _officer_names(officer: Officer, lang: str) -> dict[str, str]:
    return {"officer_name": officer.name.get(lang), "officer_title": officer.title.get(lang)}


def _promise(due: datetime, now: datetime, lang: str) -> str:
    """ "by 16:30 today (within 4 hours)", or how overdue it is once the time has passed."""
    return describe_due(due, now, station().station.tz, lang)


def officer_values(outcome: Outcome, tracker: Tracker, now: datetime) -> dict[str, str]:
    lang = language(tracker)
    return {
        "number": outcome.case.number,
        "station_name": station().station.name.get(lang),
        "promise": _promise(outcome.case.promise_due_at, now, lang),
        "priority": content().priority_name(outcome.case.priority, lang),
        **_officer_names(outcome.officer, lang),
    }


def station_values(tracker: Tracker) -> dict[str, str]:
    lang = language(tracker)
    profile = station().station
    return {"station_name": profile.name.get(lang), "station_phone": profile.phone}


class ActionRequestOfficer(Action):
    """The resident wants an officer: open (or extend) their case and name the officer and the time."""

    def name(self) -> str:
        return "action_request_officer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        category = tracker.get_slot("category")
        if not category:
            # Nothing described yet: remember the wish; the hand-off follows the report's summary.
            say(dispatcher, tracker, "officer_needs_report")
            return [SlotSet("wants_officer", True)]
        summary = (
            tracker.get_slot("report_text")
            or _said(tracker)
            or content().category_name(category, language(tracker))
        )
        risks = list(tracker.get_slot("risk_flags") or [])
        try:
            the_desk = desk()
            reminder = self._already_open(the_desk, tracker)
            if reminder is not None:
                say(
                    dispatcher,
                    tracker,
                    "case_already_open",
                    **officer_values(reminder, tracker, the_desk.now()),
                )
                return [SlotSet("wants_officer", False)]
            outcome = the_desk.open_case(report_from(tracker, category, summary, risks))
            now = the_desk.now()
        except Exception:  # the resident must get an honest answer whatever broke behind the desk
            log.exception("could not open a case for %s", resident_id(tracker))
            say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
            return [SlotSet("wants_officer", False)]
        by_phone = tracker.get_slot("contact_consent") is True and _answer(tracker, "contact") is not None
        contact_way = text(tracker, "contact_via_phone" if by_phone else "contact_via_chat")
        key = "case_opened" if outcome.opened else "case_extended"
        say(dispatcher, tracker, key, contact_way=contact_way, **officer_values(outcome, tracker, now))
        return [SlotSet("wants_officer", False), SlotSet("case_number", outcome.case.number)]

    @staticmethod
    def _already_open(the_desk: Desk, tracker: Tracker) -> Outcome | None:
        """This conversation's report already became a case that is still active: asking again
        repeats who has it and when, rather than adding the same words to it twice."""
        number = tracker.get_slot("case_number")
        case = the_desk.store.get(number) if number else None
        if case is None or case.resident_id != resident_id(tracker) or not case.is_active:
            return None
        return Outcome(case=case, officer=the_desk.officer(case.officer_id), opened=False)


class ActionOpenUrgentCase(Action):
    """After the safety advice: an urgent case paged to an officer on duty, whatever the area."""

    def name(self) -> str:
        return "action_open_urgent_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return open_danger_case(
            dispatcher, tracker, Priority.URGENT, "urgent_case_opened", "urgent_case_extended"
        )


def open_danger_case(
    dispatcher: CollectingDispatcher, tracker: Tracker, priority: Priority, opened_key: str, extended_key: str
) -> list[EventType]:
    """Opens the case a danger signal calls for (urgent now, or high for a danger that has passed) and
    tells the resident who has it and when; the safety reply has already been given."""
    risks = latest_risks(tracker) or list(tracker.get_slot("risk_flags") or []) or ["violence"]
    category = tracker.get_slot("category") or DANGER_CATEGORY
    earlier = tracker.get_slot("report_text") or ""
    said = _said(tracker) or (tracker.get_slot("danger_text") or "")
    summary = "\n".join(dict.fromkeys(part for part in (earlier, said) if part)) or content().category_name(
        DANGER_CATEGORY, language(tracker)
    )
    try:
        the_desk = desk()
        outcome = the_desk.open_case(report_from(tracker, category, summary, risks), priority=priority)
        now = the_desk.now()
    except Exception:  # safety advice is given; the resident must not wait for a page that failed
        log.exception("could not open a %s case for %s", priority.value, resident_id(tracker))
        say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
        return []
    key = opened_key if outcome.opened else extended_key
    say(dispatcher, tracker, key, **officer_values(outcome, tracker, now))
    return [SlotSet("case_number", outcome.case.number)]


class ActionShowStatus(Action):
    """The resident's cases: state, officer and promise; broken promises marked as overdue."""

    def name(self) -> str:
        return "action_show_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        try:
            the_desk = desk()
            cases = the_desk.resident_cases(resident_id(tracker))[:STATUS_LIMIT]
            now = the_desk.now()
        except Exception:  # a status question must never end in silence
            log.exception("could not read cases for %s", resident_id(tracker))
            say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
            return []
        if not cases:
            say(dispatcher, tracker, "status_none")
            return []
        lines = []
        for case in cases:
            values = {
                "number": case.number,
                "category": content().category_name(case.category, lang),
                "state": content().state_name(case.state, lang),
            }
            if case.is_active:
                officer = the_desk.officer(case.officer_id)
                promise = _promise(case.promise_due_at, now, lang)
                names = _officer_names(officer, lang)
                lines.append(text(tracker, "status_case", promise=promise, **names, **values))
            else:
                lines.append(text(tracker, "status_case_closed", **values))
        say(dispatcher, tracker, "status_list", cases="\n".join(lines))
        return []


def case_number_in(tracker: Tracker) -> str | None:
    """A case number from a button's entity or typed in the message ("cancel HM-2026-000123")."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "case_number" and entity.get("value"):
            return find_case_number(str(entity["value"]))
    return find_case_number(tracker.latest_message.get("text") or "")


def offer_cases_to_cancel(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Buttons for each active case; False when the resident has none (or the store is away)."""
    try:
        cases = [case for case in desk().resident_cases(resident_id(tracker)) if case.is_active]
    except Exception:
        log.exception("could not read cases for %s", resident_id(tracker))
        return False
    if not cases:
        return False
    # A danger case is not withdrawn by a tap: its button says "I'm safe now" (see cancel_case).
    buttons = [
        {
            "title": text(
                tracker,
                "cancel_case_button_safe" if case.is_danger else "cancel_case_button",
                number=case.number,
            ),
            "payload": f'/cancel{{"case_number":"{case.number}"}}',
        }
        for case in cases[:STATUS_LIMIT]
    ]
    say(dispatcher, tracker, "cancel_which", buttons=buttons)
    return True


def cancel_case(dispatcher: CollectingDispatcher, tracker: Tracker, number: str) -> list[EventType]:
    """Withdraws one of the resident's cases and tells the officer (through the outbox).

    A danger case stays open: the resident's "cancel" tells the officer they are safe now, and the
    officer decides (issue 10: an urgent violence case was withdrawn by one tap)."""
    lang = language(tracker)
    try:
        the_desk = desk()
        try:
            case = the_desk.cancel(resident_id(tracker), number)
        except CaseRefused as refusal:
            if refusal.reason != "danger":
                raise
            kept = the_desk.say_safe(resident_id(tracker), number)
            officer = the_desk.officer(kept.officer_id)
            say(dispatcher, tracker, "safe_now_noted", number=kept.number, **_officer_names(officer, lang))
            return []
    except CaseRefused as refusal:
        if refusal.reason == "not_found":
            say(dispatcher, tracker, "case_not_found", number=number)
        else:
            say(
                dispatcher,
                tracker,
                "case_not_active",
                number=number,
                state=content().state_name(refusal.state or "closed", lang),
            )
        return []
    except Exception:
        log.exception("could not cancel %s", number)
        say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
        return []
    officer = the_desk.officer(case.officer_id)
    say(dispatcher, tracker, "case_cancelled", number=case.number, **_officer_names(officer, lang))
    return [SlotSet("case_number", None)]


class ActionCancelCase(Action):
    """Cancels the case a button or a typed number names ("撤销 HM-2026-000001"); any report being
    filled in carries on. Without a number it offers the open cases."""

    def name(self) -> str:
        return "action_cancel_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return cancel_named_or_offer(dispatcher, tracker)


def cancel_named_or_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The case the message names is cancelled; with none named, the open cases are offered."""
    number = case_number_in(tracker)
    if number:
        return cancel_case(dispatcher, tracker, number)
    if not offer_cases_to_cancel(dispatcher, tracker):
        say(dispatcher, tracker, "nothing_to_cancel")
    return []
