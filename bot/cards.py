"""The officer's case card and the buttons that travel with it: pure functions, no I/O.

Everything a resident (or an officer, for notes) wrote is untrusted text inside an HTML message, so it
goes through :func:`html.escape` here, in one place, and never anywhere else — after the characters that
reorder or hide text are dropped (:func:`hemu.hygiene.visible`); the card always fits
Telegram's limit because everything typed on it is shortened together (:mod:`bot.fit`) rather than the
card failing to send. Button data carries the case version so a press on an old card is recognised as
stale instead of acting on a case that has moved on.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, fit, texts
from hemu.cases import TRANSITIONS, CaseState
from hemu.config import RISK_KINDS
from hemu.desk import Desk
from hemu.guidance import load_content
from hemu.hygiene import visible
from hemu.settings import Settings
from hemu.store import CaseRecord
from hemu.when import describe_due

# How many cases /cases lists with a button each (Telegram allows 100 buttons; a phone screen far fewer).
LIST_LIMIT = 30

# Button verb → desk verb, and the state the press leads to (used to recognise a repeated press).
ACT_VERBS: dict[str, str] = {"ack": "acknowledge", "contact": "contacted", "resolve": "resolve"}
VERB_TARGETS: dict[str, CaseState] = {
    "ack": CaseState.ACKNOWLEDGED,
    "contact": CaseState.CONTACTED,
    "resolve": CaseState.RESOLVED,
    "handover": CaseState.HANDED_OVER,
}

TEXT_KEYS: tuple[str, ...] = (
    "card_title",
    "card_line",
    "card_category",
    "card_priority",
    "card_state",
    "card_summary",
    "card_risk",
    "card_promise",
    "card_contact_not_given",
    "card_officer",
    "card_officer_value",
    "card_note",
    "card_rating",
    "card_rating_value",
    "card_area_value",
    "card_minimal_note",
    *(f"state_{state.value}" for state in CaseState),
    *(f"risk_{kind}" for kind in RISK_KINDS),
    "button_ack",
    "button_contact",
    "button_resolve",
    "button_handover",
    "button_auto",
    "button_back",
    "list_line",
    "list_more",
)


def _e(value: object) -> str:
    return html.escape(visible(str(value)), quote=False)


def officer_name(settings: Settings, officer_id: str, language: str) -> str:
    """Title and name as the card shows them; an id the roster no longer has is shown as is."""
    officer = settings.roster.officer(officer_id)
    if officer is None:
        return officer_id
    return texts.text(
        "card_officer_value", language, title=officer.title.get(language), name=officer.name.get(language)
    )


def area_name(settings: Settings, area_id: str | None, language: str) -> str | None:
    return settings.station.area_name(area_id, language)


def state_name(state: CaseState | str, language: str) -> str:
    return texts.text(f"state_{CaseState(state).value}", language)


def risk_names(flags: Iterable[str], language: str) -> str:
    return ", ".join(texts.text(f"risk_{flag}", language) if flag in RISK_KINDS else flag for flag in flags)


def promise_text(case: CaseRecord, now: datetime, settings: Settings, language: str) -> str:
    return describe_due(case.promise_due_at, now, settings.station.station.tz, language)


def card_text(
    case: CaseRecord,
    settings: Settings,
    now: datetime,
    language: str,
    header: str | None = None,
) -> str:
    """The case card in HTML; ``header`` is an already-HTML line put on top (e.g. "handed over to you").

    Everything typed on the card (the resident's words, the officer's note) is one budget for
    :func:`bot.fit.fit`, so the card fits Telegram however much was written; raises
    :class:`bot.fit.TooLong` only if Hemu's own lines do not fit (see :func:`minimal_card_text`).
    """
    typed = {
        "summary": case.summary,
        "area_text": case.area_text,
        "parties": case.parties,
        "duration": case.duration,
        "contact": case.contact if case.contact_consent else None,
        "note": case.resolution_note,
        "comment": case.rating_comment if case.rating is not None else None,
    }
    return fit.fit(lambda values: _card(case, settings, now, language, header, values), typed)


def _line(label: str, value: object, language: str) -> str:
    return texts.text("card_line", language, label=_e(label), value=_e(value))


def _labelled(key: str, value: object, language: str) -> str:
    """A card line whose label is one of the gateway's texts."""
    return _line(texts.text(key, language), value, language)


def _card_top(case: CaseRecord, language: str, header: str | None) -> list[str]:
    """Header, title, category, priority and state: the lines every card starts with."""
    content = load_content()
    lines: list[str] = [header] if header else []
    lines.append(texts.text("card_title", language, number=_e(case.number)))
    lines.append(_labelled("card_category", content.category_name(case.category, language), language))
    lines.append(_labelled("card_priority", content.priority_name(case.priority, language), language))
    lines.append(_labelled("card_state", state_name(case.state, language), language))
    return lines


def _card(
    case: CaseRecord,
    settings: Settings,
    now: datetime,
    language: str,
    header: str | None,
    typed: Mapping[str, str | None],
) -> str:
    content = load_content()

    def line(label: str, value: object) -> str:
        return _line(label, value, language)

    def label(key: str) -> str:
        return texts.text(key, language)

    lines = _card_top(case, language, header)
    area = area_name(settings, case.area_id, language)
    area_text = typed["area_text"]
    if area and area_text:
        area_value = texts.text("card_area_value", language, area=area, text=area_text)
    else:
        area_value = area or area_text or content.labels.unknown.get(language)
    lines.append(line(content.field_name("area", language), area_value))
    lines.append(line(label("card_summary"), typed["summary"] or ""))
    for field in ("parties", "duration"):
        value = typed[field]
        if value:
            lines.append(line(content.field_name(field, language), value))
    if case.harm:
        lines.append(
            line(content.field_name("harm", language), content.answer_label("harm", case.harm, language))
        )
    if case.risk_flags:
        lines.append("⚠️ " + line(label("card_risk"), risk_names(case.risk_flags, language)))
    if case.contact_consent and case.contact:
        contact = typed["contact"]
    elif case.is_danger:
        contact = label("card_contact_not_given")
    else:
        contact = content.labels.no_contact.get(language)
    lines.append(line(content.field_name("contact", language), contact))
    if case.is_active:
        lines.append(line(label("card_promise"), promise_text(case, now, settings, language)))
    lines.append(line(label("card_officer"), officer_name(settings, case.officer_id, language)))
    if case.resolution_note:
        lines.append(line(label("card_note"), typed["note"]))
    if case.rating is not None:
        rating = texts.text(
            "card_rating_value", language, rating=case.rating, comment=typed["comment"] or ""
        ).rstrip(" :：—-")
        lines.append(line(label("card_rating"), rating))
    return "\n".join(lines)


def minimal_card_text(case: CaseRecord, settings: Settings, now: datetime, language: str) -> str:
    """The card without anything anyone typed, for when Telegram refuses the full one: what the case is,
    where it stands, who has it, and where the full record can be read. Always fits (Hemu's words only)."""
    lines = _card_top(case, language, None)
    if case.is_active:
        lines.append(_labelled("card_promise", promise_text(case, now, settings, language), language))
    lines.append(_labelled("card_officer", officer_name(settings, case.officer_id, language), language))
    lines.append(texts.text("card_minimal_note", language, number=_e(case.number)))
    return "\n".join(lines)


def available_verbs(case: CaseRecord) -> list[str]:
    """The card buttons the case's state allows (hemu.cases.TRANSITIONS is the one source of rules)."""
    allowed = TRANSITIONS[CaseState(case.state)]
    verbs = [verb for verb in callbacks.CASE_VERBS if VERB_TARGETS[verb] in allowed]
    # Resolving is the officer's work on an active case; RESOLVED → CLOSED/REOPENED is the resident's.
    return verbs if case.is_active else []


def card_keyboard(case: CaseRecord, language: str) -> InlineKeyboardMarkup | None:
    verbs = available_verbs(case)
    if not verbs:
        return None
    buttons = [
        InlineKeyboardButton(
            texts.text(f"button_{verb}", language),
            callback_data=callbacks.officer_button(verb, case.number, case.version),
        )
        for verb in verbs
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows)


def viewer_keyboard(
    case: CaseRecord, officer_id: str, desk: Desk, language: str
) -> InlineKeyboardMarkup | None:
    """Buttons only for someone allowed to press them (:meth:`~hemu.desk.Desk.may_act`): an officer who
    handed the case over, or was switched off, sees the card without buttons."""
    return card_keyboard(case, language) if desk.may_act(case, officer_id) else None


def handover_candidates(case: CaseRecord, settings: Settings, inactive: Iterable[str] = ()) -> list[str]:
    """Officers a case can be handed to: active in the roster and not switched off, not the current one."""
    skip = {case.officer_id, *inactive}
    return [officer.id for officer in settings.roster.active_officers() if officer.id not in skip]


def handover_keyboard(
    case: CaseRecord, settings: Settings, language: str, inactive: Iterable[str] = ()
) -> InlineKeyboardMarkup:
    buttons: list[list[InlineKeyboardButton]] = []
    for officer_id in handover_candidates(case, settings, inactive):
        try:
            data = callbacks.officer_button("to", case.number, case.version, officer_id)
        except ValueError:
            continue  # an id too long for a button; "let the roster pick" still reaches them
        officer = settings.roster.get(officer_id)
        title = f"{officer.name.get(language)} · {officer.title.get(language)}"
        buttons.append([InlineKeyboardButton(title, callback_data=data)])
    buttons.append(
        [
            InlineKeyboardButton(
                texts.text("button_auto", language),
                callback_data=callbacks.officer_button("auto", case.number, case.version),
            )
        ]
    )
    buttons.append(
        [
            InlineKeyboardButton(
                texts.text("button_back", language),
                callback_data=callbacks.officer_button("open", case.number),
            )
        ]
    )
    return InlineKeyboardMarkup(buttons)


def is_handover_keyboard(markup: InlineKeyboardMarkup | None, number: str) -> bool:
    """Whether a message currently shows the hand-over choice for ``number`` (so "back" edits it in place)."""
    if markup is None:
        return False
    prefixes = (callbacks.officer_button("to", number) + ":", callbacks.officer_button("auto", number) + ":")
    return any(
        isinstance(button.callback_data, str) and button.callback_data.startswith(prefixes)
        for row in markup.inline_keyboard
        for button in row
    )


def case_list(
    cases: Sequence[CaseRecord], settings: Settings, now: datetime, language: str
) -> tuple[list[str], InlineKeyboardMarkup | None]:
    """One line and one ``o:open`` button per case, the first :data:`LIST_LIMIT` of them."""
    content = load_content()
    shown = list(cases)[:LIST_LIMIT]
    lines = [
        texts.text(
            "list_line",
            language,
            number=_e(case.number),
            category=_e(content.category_name(case.category, language)),
            priority=_e(content.priority_name(case.priority, language)),
            state=_e(state_name(case.state, language)),
            promise=_e(promise_text(case, now, settings, language)),
            officer=_e(officer_name(settings, case.officer_id, language)),
        )
        for case in shown
    ]
    if len(cases) > len(shown):
        lines.append(texts.text("list_more", language, count=len(cases) - len(shown)))
    buttons = [
        [InlineKeyboardButton(case.number, callback_data=callbacks.officer_button("open", case.number))]
        for case in shown
    ]
    return lines, InlineKeyboardMarkup(buttons) if buttons else None


def rating_keyboard(number: str) -> InlineKeyboardMarkup:
    """Five buttons in one row, ``rate:<number>:1..5``; numbers read the same in both languages."""
    row = [InlineKeyboardButton(f"{n} ⭐", callback_data=callbacks.rating(number, n)) for n in range(1, 6)]
    return InlineKeyboardMarkup([row])


def escape(value: object) -> str:
    """The one escaping function the gateway's HTML messages use for values."""
    return _e(value)
