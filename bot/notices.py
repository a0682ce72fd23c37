"""What each queued notice says: rendered at send time from the case as it is *now* (a card delivered
late shows the current state), in the recipient's language. :mod:`bot.notifier` delivers what this
renders; :class:`Drop` is a notice that should no longer be sent to anyone (the case moved on, the
recipient is gone). Every message fits Telegram whatever was typed into it (:mod:`bot.fit`), and each has a
short stand-in without any typed words, :func:`render_minimal`, for a message Telegram refuses anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, cards, fit, recipients, texts
from bot.gateway import Gateway
from bot.recipients import Drop, Outgoing
from hemu.guidance import load_content
from hemu.kinds import CardReason, NoticeKind, Update
from hemu.policy import ESCALATION_ROLES
from hemu.store import (
    CaseRecord,
    NotificationRecord,
)
from hemu.when import describe_due, describe_overdue

log = logging.getLogger(__name__)

# What a short notice (render_minimal) says each notice was: officers by kind and by case-update event.
OFFICER_MINIMAL = (
    NoticeKind.CASE_ASSIGNED,
    NoticeKind.PROMISE_REMINDER,
    NoticeKind.PROMISE_BROKEN,
    NoticeKind.CASE_UPDATE,
    Update.DETAILS_ADDED,
    Update.CANCELLED_BY_RESIDENT,
    Update.RESIDENT_SAYS_SAFE,
    Update.RATED,
    Update.FOLLOW_UP_CAME_BACK,
)

# Case updates a resident is sent. Closing (a rating) and reopening (a low rating, "it came back") are
# the resident's own presses, answered by bot.ratings at once: the desk queues nothing for them.
RESIDENT_EVENTS = (
    Update.ACKNOWLEDGED,
    Update.CONTACTED,
    Update.RESOLVED,
    Update.HANDED_OVER,
    Update.PROMISE_BROKEN,
    Update.STILL_WAITING,
)

TEXT_KEYS: tuple[str, ...] = (
    *cards.TEXT_KEYS,
    *(f"update_{event.value}" for event in RESIDENT_EVENTS),
    "update_other",
    "update_danger_line",
    "follow_up",
    "button_fu_back",
    "button_fu_fine",
    "button_view",
    "header_assigned",
    "header_handed_over",
    "header_urgent_breach",
    "header_breach",
    "header_low_rating",
    "header_came_back",
    "officer_details_added",
    "officer_cancelled",
    "officer_rated",
    "officer_comment",
    "officer_follow_up_came_back",
    "officer_update_other",
    "officer_reminder",
    "officer_broken_assigned",
    "officer_broken_backup",
    "officer_broken_supervisor",
    "officer_broken_on_duty",
    "officer_escalation_level",
    "officer_call_list",
    "officer_daily_summary",
    "officer_daily_summary_line",
    "list_more",
    "minimal_officer",
    *(f"minimal_officer_{kind.value}" for kind in OFFICER_MINIMAL),
    "minimal_officer_daily_summary",
    "minimal_resident",
    *(f"minimal_resident_{event.value}" for event in RESIDENT_EVENTS),
    "minimal_resident_follow_up",
    "minimal_resident_other",
)


def render(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """The message for one notification, from the current case; :class:`Drop` when there is none.

    It always fits Telegram: typed text is shortened to fit (:mod:`bot.fit`), and a message whose own
    words still would not fit is sent as :func:`render_minimal` instead of being refused.
    """
    party, case = recipients.subject(gateway, record)
    try:
        if case is None:
            outgoing = render_summary(gateway, record, party.ident)
        elif party.role == "resident":
            outgoing = render_resident(gateway, record, case, party.ident)
        else:
            outgoing = render_officer(gateway, record, case, party.ident)
        if fit.visible_len(outgoing.text) > fit.MAX_TEXT:
            raise fit.TooLong(f"{fit.visible_len(outgoing.text)} UTF-16 units visible")
    except fit.TooLong as error:
        log.warning("notification %s does not fit Telegram (%s): sending it short", record.id, error)
        return render_minimal(gateway, record)
    return outgoing


def _when(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo is not None else fallback
    return value if isinstance(value, datetime) else fallback


def officer_values(gateway: Gateway, officer_id: str, language: str) -> dict[str, str]:
    """Who has the case, escaped for a resident's HTML message (bot.ratings names them the same way);
    an id the roster no longer has is shown as is."""
    officer = gateway.settings.roster.officer(officer_id)
    return {
        "officer_name": cards.escape(officer.name.get(language) if officer else officer_id),
        "officer_title": cards.escape(officer.title.get(language) if officer else ""),
        "station_name": cards.escape(gateway.settings.station.station.name.get(language)),
    }


def _follow_up_markup(number: str, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.text("button_fu_back", language),
                    callback_data=callbacks.follow_up(number, came_back=True),
                ),
                InlineKeyboardButton(
                    texts.text("button_fu_fine", language),
                    callback_data=callbacks.follow_up(number, came_back=False),
                ),
            ]
        ]
    )


def _danger_line(gateway: Gateway, case: CaseRecord, event: str, language: str) -> str:
    """Someone in danger whose promise broke is told again whom to call."""
    if event in (Update.PROMISE_BROKEN, Update.STILL_WAITING) and case.is_danger:
        emergency = cards.escape(gateway.settings.station.first_emergency_number)
        return "\n" + texts.text("update_danger_line", language, emergency=emergency)
    return ""


def render_resident(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    language = recipients.resident_language(gateway, record, case, ident)
    payload = record.payload
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    number = cards.escape(case.number)
    if record.kind == NoticeKind.FOLLOW_UP:
        text = texts.text("follow_up", language, number=number)
        return Outgoing(int(ident), text, _follow_up_markup(case.number, language))
    event = str(payload.get("event") or "")
    if event not in RESIDENT_EVENTS:
        state = cards.escape(load_content().state_name(case.state, language))
        return Outgoing(int(ident), texts.text("update_other", language, number=number, state=state))
    officer_id = str(payload.get("officer_id") or case.officer_id)
    due = _when(payload.get("new_due"), case.promise_due_at)
    values = {
        "number": number,
        "promise": cards.escape(describe_due(due, now, tz, language)),
        **officer_values(gateway, officer_id, language),
    }

    def build(typed: Mapping[str, str | None]) -> str:
        # The officer's own words on what was done, escaped and shortened like a resident's.
        note = {"note": cards.escape(typed["note"])} if typed["note"] is not None else {}
        text = texts.render(f"update_{event}", language, **values, **note).text
        return text + _danger_line(gateway, case, event, language)

    note = (case.resolution_note or "—") if event == Update.RESOLVED else None
    markup = cards.rating_keyboard(case.number) if event == Update.RESOLVED else None
    return Outgoing(int(ident), fit.fit(build, {"note": note}), markup)


def render_officer(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    chat_id, language = recipients.officer_chat(gateway, ident)
    recipients.check_officer_notice(gateway, record, case, ident)
    payload = record.payload
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    number = cards.escape(case.number)
    view = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.text("button_view", language),
                    callback_data=callbacks.officer_button("open", case.number),
                )
            ]
        ]
    )

    def name(officer_id: Any) -> str:
        return cards.escape(cards.officer_name(gateway.settings, str(officer_id), language))

    if record.kind == NoticeKind.CASE_ASSIGNED:
        from_officer = payload.get("from_officer")
        reason = payload.get("reason")
        if reason in (CardReason.URGENT_BREACH, CardReason.BREACH):
            header = texts.text(f"header_{reason}", language, officer=name(from_officer))
        elif reason == CardReason.LOW_RATING:
            rating = cards.escape(payload.get("rating", "?"))
            header = texts.text("header_low_rating", language, officer=name(from_officer), rating=rating)
        elif reason == CardReason.CAME_BACK:
            header = texts.text("header_came_back", language)
        elif from_officer and from_officer != ident:
            header = texts.text("header_handed_over", language, officer=name(from_officer))
        else:
            header = texts.text("header_assigned", language)
        text = cards.card_text(case, gateway.settings, now, language, header=header)
        return Outgoing(chat_id, text, cards.viewer_keyboard(case, ident, gateway.desk, language))
    if record.kind == NoticeKind.PROMISE_REMINDER:
        promise = cards.escape(describe_due(case.promise_due_at, now, tz, language))
        return Outgoing(
            chat_id, texts.text("officer_reminder", language, number=number, promise=promise), view
        )
    if record.kind == NoticeKind.PROMISE_BROKEN:
        role = str(payload.get("role") or "assigned")
        key = f"officer_broken_{role}" if role in ESCALATION_ROLES else "officer_broken_supervisor"
        old = _when(payload.get("old_due"), case.promise_due_at)
        new = _when(payload.get("new_due"), case.promise_due_at)
        text = texts.text(
            key,
            language,
            number=number,
            officer=name(payload.get("officer_id") or case.officer_id),
            old=cards.escape(describe_overdue(old, now, tz, language)),
            new=cards.escape(describe_due(new, now, tz, language)),
        )
        text += escalation_lines(gateway, payload, language)
        return Outgoing(chat_id, text, view if gateway.desk.may_act(case, ident) else None)
    event = str(payload.get("event") or "")
    if event == Update.DETAILS_ADDED:

        def details(typed: Mapping[str, str | None]) -> str:
            quoted = cards.escape(typed["text"] or "")
            return texts.text("officer_details_added", language, number=number, text=quoted)

        text = fit.fit(details, {"text": str(payload.get("text") or "")})
    elif event == Update.CANCELLED_BY_RESIDENT:
        text = texts.text("officer_cancelled", language, number=number)
    elif event == Update.RESIDENT_SAYS_SAFE:
        text = texts.text("officer_resident_safe", language, number=number)
    elif event == Update.RATED:
        rating = cards.escape(payload.get("rating", case.rating or "?"))

        def rated(typed: Mapping[str, str | None]) -> str:
            comment = typed["comment"]
            said = texts.text("officer_comment", language, comment=cards.escape(comment)) if comment else ""
            return texts.text("officer_rated", language, number=number, rating=rating, comment=said).rstrip()

        comment = payload.get("comment")
        text = fit.fit(rated, {"comment": str(comment) if comment else None})
    elif event == Update.FOLLOW_UP_CAME_BACK:
        text = texts.text("officer_follow_up_came_back", language, number=number)
    else:
        text = texts.text("officer_update_other", language, number=number, event=cards.escape(event))
    return Outgoing(chat_id, text, view if gateway.desk.may_act(case, ident) else None)


def escalation_lines(gateway: Gateway, payload: Mapping[str, Any], language: str) -> str:
    """Which escalation level a breach message is, and the station's numbers to ring when the level
    says so (Hemu cannot telephone; the people it tells can)."""
    lines = ""
    level, levels = payload.get("level"), payload.get("levels")
    if isinstance(level, int) and isinstance(levels, int) and levels > 1:
        lines += " " + texts.text("officer_escalation_level", language, level=level, levels=levels)
    calls = gateway.settings.policy.escalation.call_list
    if payload.get("call") and calls:
        listed = "；".join if language == "zh" else "; ".join
        numbers = listed(f"{line.label.get(language)} {line.number}" for line in calls)
        lines += "\n" + texts.text("officer_call_list", language, calls=cards.escape(numbers))
    return lines


def render_summary(gateway: Gateway, record: NotificationRecord, ident: str) -> Outgoing:
    """The supervisor's daily summary: the cases past every escalation level that still wait for first
    contact when it is sent (none left, nothing is sent); as many as fit, then how many more."""
    chat_id, language = recipients.officer_chat(gateway, ident)
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    content = load_content()
    waiting = recipients.still_waiting(gateway, record)
    lines = [
        texts.text(
            "officer_daily_summary_line",
            language,
            number=cards.escape(case.number),
            priority=cards.escape(content.priority_name(case.priority, language)),
            officer=cards.escape(cards.officer_name(gateway.settings, case.officer_id, language)),
            old=cards.escape(describe_overdue(case.promise_due_at, now, tz, language)),
        )
        for case in waiting
    ]

    def build(shown: Sequence[str], hidden: int) -> str:
        more = [texts.text("list_more", language, count=hidden)] if hidden else []
        cases = "\n".join([*shown, *more])
        return texts.text("officer_daily_summary", language, count=len(lines), cases=cases)

    return Outgoing(chat_id, fit.fit_lines(build, lines))


def render_minimal(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """A short stand-in for a notification Telegram refused (:mod:`bot.notifier` sends it after a
    ``BadRequest`` to the full message): the case number, what kind of notice it was and where to read
    the rest (``/case N`` for an officer, ``/status`` for a resident), in the recipient's language.

    It holds no word anyone typed, so it always fits and always parses. A resident still gets the
    buttons the notice asked them to press (the rating, the follow-up answer) and, on a danger case whose
    promise broke, the emergency number. Raises :class:`Drop` exactly when :func:`render` would: both ask
    :mod:`bot.recipients`.
    """
    party, case = recipients.subject(gateway, record)
    if case is not None and party.role == "resident":
        return _minimal_resident(gateway, record, case, party.ident)
    chat_id, language = recipients.officer_chat(gateway, party.ident)
    if case is None:
        count = len(recipients.still_waiting(gateway, record))
        return Outgoing(chat_id, texts.text("minimal_officer_daily_summary", language, count=count))
    recipients.check_officer_notice(gateway, record, case, party.ident)
    event = str(record.payload.get("event") or "")
    named = {kind.value for kind in OFFICER_MINIMAL}
    name = (
        event if record.kind == NoticeKind.CASE_UPDATE and event in named else NoticeKind(record.kind).value
    )
    kind = texts.text(f"minimal_officer_{name}", language)
    number = cards.escape(case.number)
    return Outgoing(chat_id, texts.text("minimal_officer", language, kind=kind, number=number))


def _minimal_resident(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    language = recipients.resident_language(gateway, record, case, ident)
    event = str(record.payload.get("event") or "")
    markup: InlineKeyboardMarkup | None = None
    if record.kind == NoticeKind.FOLLOW_UP:
        name, markup = "follow_up", _follow_up_markup(case.number, language)
    elif event in RESIDENT_EVENTS:
        name = event
        markup = cards.rating_keyboard(case.number) if event == Update.RESOLVED else None
    else:
        name = "other"
    kind = texts.text(f"minimal_resident_{name}", language)
    text = texts.text("minimal_resident", language, number=cards.escape(case.number), kind=kind)
    return Outgoing(int(ident), text + _danger_line(gateway, case, event, language), markup)


# Drop and Outgoing live in bot.recipients; the notifier and bot.delivery import them from here.
__all__ = [
    "OFFICER_MINIMAL",
    "RESIDENT_EVENTS",
    "TEXT_KEYS",
    "Drop",
    "Outgoing",
    "escalation_lines",
    "officer_values",
    "render",
    "render_minimal",
    "render_officer",
    "render_resident",
    "render_summary",
]
