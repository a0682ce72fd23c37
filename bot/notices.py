"""What each queued notice says: rendered at send time from the case as it is *now* (a card delivered
late shows the current state), in the recipient's language. :mod:`bot.notifier` delivers what this
renders; :class:`Drop` is a notice that should no longer be sent to anyone (the case moved on, the
recipient is gone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, cards, languages, texts
from bot.gateway import Gateway
from hemu.guidance import load_content
from hemu.kinds import CardReason, NoticeKind, Update
from hemu.parties import Party
from hemu.policy import ESCALATION_ROLES
from hemu.store import (
    CaseRecord,
    NotificationRecord,
)
from hemu.when import describe_due, describe_overdue

log = logging.getLogger(__name__)

# A resident's own words inside an officer's update are capped so the message always fits.
QUOTE_CAP = 3000


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
)


class Drop(Exception):
    """This notification can never be delivered (no chat, not a Telegram user, case gone): say why."""


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


def render(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """The message for one notification, from the current case; :class:`Drop` when there is none."""
    party = Party.parse(record.recipient)
    if party is None:
        raise Drop(f"unknown recipient {record.recipient!r}")
    if record.kind == NoticeKind.DAILY_SUMMARY and party.role == "officer":
        return render_summary(gateway, record, party.ident)
    number = record.payload.get("number")
    if not number:
        raise Drop("notification without a case number")
    try:
        case = gateway.store.get(str(number))
    except ValueError:
        raise Drop(f"not a case number: {number!r}") from None
    if case is None:
        raise Drop(f"case {number} does not exist")
    if party.role == "resident":
        return render_resident(gateway, record, case, party.ident)
    return render_officer(gateway, record, case, party.ident)


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


def render_resident(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    if not ident.isdigit():
        raise Drop("not a Telegram resident")
    if case.resident_id != ident:
        raise Drop("the case no longer belongs to this resident")
    language = languages.of_case(case, gateway.officer_language)
    payload = record.payload
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    number = cards.escape(case.number)
    if record.kind == NoticeKind.FOLLOW_UP:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.text("button_fu_back", language),
                        callback_data=callbacks.follow_up(case.number, came_back=True),
                    ),
                    InlineKeyboardButton(
                        texts.text("button_fu_fine", language),
                        callback_data=callbacks.follow_up(case.number, came_back=False),
                    ),
                ]
            ]
        )
        return Outgoing(int(ident), texts.text("follow_up", language, number=number), markup)
    if record.kind != NoticeKind.CASE_UPDATE:
        raise Drop(f"unknown notification kind {record.kind!r}")
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
    if event == Update.RESOLVED:  # the officer's own words on what was done, escaped like a resident's
        values["note"] = cards.escape(cards.cap(case.resolution_note or "—", QUOTE_CAP))
    markup = cards.rating_keyboard(case.number) if event == Update.RESOLVED else None
    text = texts.render(f"update_{event}", language, **values).text
    # Someone in danger is told again whom to call.
    if event in (Update.PROMISE_BROKEN, Update.STILL_WAITING) and case.is_danger:
        emergency = cards.escape(gateway.settings.station.first_emergency_number)
        text += "\n" + texts.text("update_danger_line", language, emergency=emergency)
    return Outgoing(int(ident), text, markup)


def render_officer(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> Outgoing:
    account = gateway.store.officers.reachable(ident)
    if account is None or account.telegram_chat_id is None:
        raise Drop(f"officer {ident} has no linked Telegram chat")
    chat_id = account.telegram_chat_id
    language = languages.with_app(gateway, ident, account.language)
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
        if not gateway.desk.may_act(case, ident):
            raise Drop(f"case {case.number} is no longer assigned to {ident}")
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
        if not case.is_active or case.officer_id != ident:
            raise Drop(f"case {case.number} no longer waits for {ident}")
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
    if record.kind != NoticeKind.CASE_UPDATE:
        raise Drop(f"unknown notification kind {record.kind!r}")
    event = str(payload.get("event") or "")
    if event == Update.DETAILS_ADDED:
        quoted = cards.escape(cards.cap(str(payload.get("text") or ""), QUOTE_CAP))
        text = texts.text("officer_details_added", language, number=number, text=quoted)
    elif event == Update.CANCELLED_BY_RESIDENT:
        text = texts.text("officer_cancelled", language, number=number)
    elif event == Update.RESIDENT_SAYS_SAFE:
        text = texts.text("officer_resident_safe", language, number=number)
    elif event == Update.RATED:
        comment = payload.get("comment")
        said = (
            texts.text("officer_comment", language, comment=cards.escape(cards.cap(str(comment), QUOTE_CAP)))
            if comment
            else ""
        )
        rating = cards.escape(payload.get("rating", case.rating or "?"))
        text = texts.text("officer_rated", language, number=number, rating=rating, comment=said).rstrip()
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
    contact when it is sent (one answered since is left out; none left, nothing is sent)."""
    account = gateway.store.officers.reachable(ident)
    if account is None or account.telegram_chat_id is None:
        raise Drop(f"officer {ident} has no linked Telegram chat")
    chat_id = account.telegram_chat_id
    language = languages.with_app(gateway, ident, account.language)
    now = gateway.desk.now()
    tz = gateway.settings.station.station.tz
    content = load_content()
    lines = []
    for number in record.payload.get("numbers") or []:
        try:
            case = gateway.store.get(str(number))
        except ValueError:
            continue
        if case is None or not case.awaits_response:
            continue
        lines.append(
            texts.text(
                "officer_daily_summary_line",
                language,
                number=cards.escape(case.number),
                priority=cards.escape(content.priority_name(case.priority, language)),
                officer=cards.escape(cards.officer_name(gateway.settings, case.officer_id, language)),
                old=cards.escape(describe_overdue(case.promise_due_at, now, tz, language)),
            )
        )
    if not lines:
        raise Drop("every case in the daily summary has been answered since")
    text = texts.text("officer_daily_summary", language, count=len(lines), cases="\n".join(lines))
    return Outgoing(chat_id, text)
