"""Cases from the resident's side: the hand-off to a named officer, urgent cases, status, cancelling.

Thin over :class:`hemu.desk.Desk`: these actions turn slots into a :class:`~hemu.desk.Report` and the
desk's answer into a message. If the case store cannot be reached the resident is told honestly and
keeps everything they said (the slots stay), so asking again later works.

The desk is synchronous (SQLAlchemy) and rasa-sdk runs every action on one event loop, so each action
does all its desk work in one :func:`at_desk` call, on a worker thread: a desk call waiting on the
database (SQLite waits out another writer for up to 30 s) would otherwise stop every other resident's
action, the danger replies included, for as long.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import content, language, latest_risks, metadata, say, station, text
from hemu.bootstrap import open_desk
from hemu.cases import Priority, find_case_number
from hemu.desk import DANGER_CATEGORY, CaseRefused, Desk, LimitReached, Outcome, Report
from hemu.intake import UNKNOWN
from hemu.roster import Officer
from hemu.store import CaseRecord
from hemu.when import describe_due

log = logging.getLogger(__name__)

# How many cases /status lists; older ones are in the station's records.
STATUS_LIMIT = 8


T = TypeVar("T")

_desk: Desk | None = None
_opening = threading.Lock()  # the first actions arrive together, each on its own worker thread


def desk() -> Desk:
    """One desk per action-server process; the schema is brought up to date on first use."""
    global _desk
    with _opening:
        if _desk is None:
            _desk = open_desk()
        return _desk


async def at_desk(work: Callable[[Desk], T]) -> T:
    """``work(desk())`` on a worker thread, off the event loop every action shares (module docstring).

    ``work`` reads and writes; it never talks to the resident (the dispatcher belongs to the loop)."""
    return await asyncio.to_thread(lambda: work(desk()))


def active_case(the_desk: Desk, number: str | None, resident: str | None = None) -> Outcome | None:
    """Case ``number`` with its officer while it is active (and, given ``resident``, theirs); else None."""
    case = the_desk.store.get(number) if number else None
    if case is None or not case.is_active or resident not in (None, case.resident_id):
        return None
    return Outcome(case=case, officer=the_desk.officer(case.officer_id), opened=False)


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
        # The Telegram message (gateway metadata): the desk changes a case once per message.
        source=metadata(tracker).get("hemu_source"),
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
        number = tracker.get_slot("case_number")
        try:
            report = report_from(tracker, category, summary, risks)
            again, outcome, now = await at_desk(lambda the_desk: self._hand_off(the_desk, number, report))
            if again:
                say(dispatcher, tracker, "case_already_open", **officer_values(outcome, tracker, now))
                return [SlotSet("wants_officer", False)]
        except LimitReached as limit:  # the slots stay: asking again tomorrow works
            say_limit_reached(dispatcher, tracker, limit)
            return [SlotSet("wants_officer", False)]
        except Exception:  # the resident must get an honest answer whatever broke behind the desk
            log.exception("could not open a case for %s", resident_id(tracker))
            say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
            return [SlotSet("wants_officer", False)]
        if outcome.held_back:
            say(dispatcher, tracker, "urgent_limit_extended", **officer_values(outcome, tracker, now))
            return [SlotSet("wants_officer", False), SlotSet("case_number", outcome.case.number)]
        by_phone = tracker.get_slot("contact_consent") is True and _answer(tracker, "contact") is not None
        contact_way = text(tracker, "contact_via_phone" if by_phone else "contact_via_chat")
        key = "case_opened" if outcome.opened else "case_extended"
        say(dispatcher, tracker, key, contact_way=contact_way, **officer_values(outcome, tracker, now))
        return [SlotSet("wants_officer", False), SlotSet("case_number", outcome.case.number)]

    @staticmethod
    def _hand_off(the_desk: Desk, number: str | None, report: Report) -> tuple[bool, Outcome, datetime]:
        """(again, outcome, now). Again: this conversation's report already became a case that is still
        active, so asking again repeats who has it and when, rather than adding the same words twice."""
        already = active_case(the_desk, number, report.resident_id)
        if already is not None:
            return True, already, the_desk.now()
        return False, the_desk.open_case(report), the_desk.now()


class ActionOpenUrgentCase(Action):
    """After the safety advice: an urgent case paged to an officer on duty, whatever the area."""

    def name(self) -> str:
        return "action_open_urgent_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await open_danger_case(
            dispatcher, tracker, Priority.URGENT, "urgent_case_opened", "urgent_case_extended"
        )


async def open_danger_case(
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
        report = report_from(tracker, category, summary, risks)
        outcome, now = await at_desk(
            lambda the_desk: (the_desk.open_case(report, priority=priority), the_desk.now())
        )
    except Exception:  # safety advice is given; the resident must not wait for a page that failed
        log.exception("could not open a %s case for %s", priority.value, resident_id(tracker))
        say(dispatcher, tracker, "case_desk_unavailable", **station_values(tracker))
        return []
    key = opened_key if outcome.opened else extended_key
    if outcome.held_back:  # past the daily page limit: on their case as details, no new page or promise
        key = "urgent_limit_extended"
    say(dispatcher, tracker, key, **officer_values(outcome, tracker, now))
    return [SlotSet("case_number", outcome.case.number)]


def say_limit_reached(dispatcher: CollectingDispatcher, tracker: Tracker, limit: LimitReached) -> None:
    """The polite refusal of a case past the resident's daily limit: how many, and who to call if it
    cannot wait until tomorrow (and the emergency number)."""
    say(dispatcher, tracker, "case_limit_reached", limit=str(limit.allowed), **station_values(tracker))


class ActionShowStatus(Action):
    """The resident's cases: state, officer and promise; broken promises marked as overdue."""

    def name(self) -> str:
        return "action_show_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        resident = resident_id(tracker)
        try:
            cases, officers, now = await at_desk(lambda the_desk: _status(the_desk, resident))
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
                promise = _promise(case.promise_due_at, now, lang)
                names = _officer_names(officers[case.officer_id], lang)
                lines.append(text(tracker, "status_case", promise=promise, **names, **values))
            else:
                lines.append(text(tracker, "status_case_closed", **values))
        say(dispatcher, tracker, "status_list", cases="\n".join(lines))
        return []


def _status(the_desk: Desk, resident: str) -> tuple[list[CaseRecord], dict[str, Officer], datetime]:
    """The resident's latest cases, the officers of the active ones, and the desk's time."""
    cases = the_desk.resident_cases(resident)[:STATUS_LIMIT]
    officers = {case.officer_id: the_desk.officer(case.officer_id) for case in cases if case.is_active}
    return cases, officers, the_desk.now()


def case_number_in(tracker: Tracker) -> str | None:
    """A case number from a button's entity or typed in the message ("cancel HM-2026-000123")."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "case_number" and entity.get("value"):
            return find_case_number(str(entity["value"]))
    return find_case_number(tracker.latest_message.get("text") or "")


async def offer_cases_to_cancel(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Buttons for each active case; False when the resident has none (or the store is away)."""
    resident = resident_id(tracker)
    try:
        every = await at_desk(lambda the_desk: the_desk.resident_cases(resident))
    except Exception:
        log.exception("could not read cases for %s", resident)
        return False
    cases = [case for case in every if case.is_active]
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


def _withdraw(the_desk: Desk, resident: str, number: str) -> tuple[bool, CaseRecord, Officer]:
    """(kept, case, officer): the case cancelled, or for a danger case kept open with "I'm safe now".

    A danger case stays open: the resident's "cancel" tells the officer they are safe now, and the
    officer decides (issue 10: an urgent violence case was withdrawn by one tap)."""
    try:
        case, kept = the_desk.cancel(resident, number), False
    except CaseRefused as refusal:
        if refusal.reason != "danger":
            raise
        case, kept = the_desk.say_safe(resident, number), True
    return kept, case, the_desk.officer(case.officer_id)


async def cancel_case(dispatcher: CollectingDispatcher, tracker: Tracker, number: str) -> list[EventType]:
    """Withdraws one of the resident's cases and tells the officer (through the outbox)."""
    lang = language(tracker)
    resident = resident_id(tracker)
    try:
        kept, case, officer = await at_desk(lambda the_desk: _withdraw(the_desk, resident, number))
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
    if kept:
        say(dispatcher, tracker, "safe_now_noted", number=case.number, **_officer_names(officer, lang))
        return []
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
        return await cancel_named_or_offer(dispatcher, tracker)


async def cancel_named_or_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The case the message names is cancelled; with none named, the open cases are offered."""
    number = case_number_in(tracker)
    if number:
        return await cancel_case(dispatcher, tracker, number)
    if not await offer_cases_to_cancel(dispatcher, tracker):
        say(dispatcher, tracker, "nothing_to_cancel")
    return []
