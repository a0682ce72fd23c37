"""The officers' side of the bot: /register, /cases, /case, /stats and the buttons on case cards.

Runs in handler group -2, before the rating and resident handlers, and claims every update from a chat
linked to an officer (``ApplicationHandlerStop``) so an officer's words never reach Rasa as if a resident
had written them. Every change goes through :class:`hemu.desk.Desk`, which checks who may do what; the
gateway checks the same rules first only to answer a refused press with a clear alert and to leave the
card untouched. A button carries the case version, so a press on an old card is refused instead of acting
on a case that moved on in the meantime.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from bot import cards, notifier, texts
from bot.gateway import Gateway, gateway_of
from hemu.cases import CaseState, InvalidTransition, normalise_case_number
from hemu.guidance import load_content
from hemu.stats import UNKNOWN_AREA
from hemu.store import CaseNotFound, CaseRecord, ConcurrentUpdate, InviteError

log = logging.getLogger(__name__)

GROUP = -2
# chat_data key of a resolution note being written: {"number", "version", "message_id"}.
PENDING_NOTE = "hemu_pending_note"
OFFICER_COMMANDS = ("cases", "case", "stats")
# How long the officer's next message is taken as the resolution note after pressing "Resolve".
NOTE_WAIT = timedelta(hours=1)
# Wrong invite codes a chat may send per window before /register stops trying them.
REGISTER_TRIES = 5
REGISTER_WINDOW = timedelta(hours=1)

TEXT_KEYS: tuple[str, ...] = (
    *cards.TEXT_KEYS,
    "register_usage",
    "register_done",
    "register_too_many",
    "register_unknown",
    "register_used",
    "register_expired",
    "register_deactivated",
    "register_chat_taken",
    "register_failed",
    "officer_help",
    "officer_only",
    "cases_none",
    "cases_mine",
    "cases_all",
    "case_usage",
    "case_not_found",
    "case_not_yours",
    "refused_forged",
    "refused_stale",
    "refused_not_allowed",
    "refused_invalid",
    "refused_unknown_officer",
    "refused_no_candidate",
    "already_done",
    "done_ack",
    "done_contact",
    "done_resolve",
    "done_handover",
    "handover_choose",
    "resolve_ask_note",
    "resolve_cancelled",
    "nothing_to_cancel",
    "stats",
    "stats_line",
    "stats_none",
    "stats_minutes",
    "stats_hours",
    "stats_unknown_area",
)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("register", on_register), group=GROUP)
    application.add_handler(CallbackQueryHandler(on_button, pattern=r"^o:"), group=GROUP)
    application.add_handler(TypeHandler(Update, on_update), group=GROUP)


async def on_start(application: Application, gateway: Gateway) -> None:
    """Only says how many officers can be reached: a gateway with none linked delivers no case cards."""
    accounts = await asyncio.to_thread(gateway.store.officers.accounts)
    linked = [a.officer_id for a in accounts if a.active and a.telegram_chat_id is not None]
    log.info("officers linked to Telegram: %s", ", ".join(linked) or "none (use /register with an invite)")


# ---------------------------------------------------------------- helpers


def language_of(gateway: Gateway, officer_id: str | None) -> str:
    return cards.officer_language(gateway.settings, officer_id, gateway.officer_language)


async def _officer_of(gateway: Gateway, chat_id: int) -> str | None:
    return await asyncio.to_thread(gateway.store.officers.officer_for_chat, chat_id)


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert update.effective_chat is not None
    await update.get_bot().send_message(
        update.effective_chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def _may_act(gateway: Gateway, case: CaseRecord, officer_id: str) -> bool:
    """:meth:`hemu.desk.Desk.may_act` reads the store: off the event loop."""
    return await asyncio.to_thread(gateway.desk.may_act, case, officer_id)


def render_card(
    gateway: Gateway, case: CaseRecord, officer_id: str, allowed: bool, header: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Card text in the officer's language, with buttons only when they may press them (``allowed``)."""
    language = language_of(gateway, officer_id)
    text = cards.card_text(case, gateway.settings, gateway.desk.now(), language, header=header)
    return text, cards.card_keyboard(case, language) if allowed else None


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def _refresh(query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer_id: str) -> None:
    """Show the case as it is now on the pressed card, if the officer may see it at all."""
    if await _may_act(gateway, case, officer_id):
        await _edit(query, *render_card(gateway, case, officer_id, allowed=True))


async def _alert(query: CallbackQuery, text: str) -> None:
    await query.answer(text, show_alert=True)


# ---------------------------------------------------------------- /register


async def on_register(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gateway = gateway_of(context)
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    code = " ".join(context.args or []).strip()
    language = cards.telegram_language(update)
    if not code:
        await _reply(update, cards.escape(texts.text("register_usage", language)))
        raise ApplicationHandlerStop
    now = gateway.desk.now()
    refused = _recent_refusals(gateway, chat.id, now)
    if len(refused) >= REGISTER_TRIES:
        await _reply(update, cards.escape(texts.text("register_too_many", language)))
        raise ApplicationHandlerStop
    try:
        officer_id = await asyncio.to_thread(gateway.store.officers.redeem_invite, code, chat.id, now)
    except InviteError as error:
        log.info("chat %s: invite refused: %s", chat.id, error)
        refused.append(now)
        await _reply(update, cards.escape(texts.text(_invite_problem(error), language)))
        raise ApplicationHandlerStop from None
    context.chat_data.pop(PENDING_NOTE, None)
    language = language_of(gateway, officer_id)
    officer = gateway.settings.roster.officer(officer_id)
    name = officer.name.get(language) if officer else officer_id
    log.info("officer %s linked chat %s", officer_id, chat.id)
    await _reply(update, cards.escape(texts.text("register_done", language, name=name)))
    raise ApplicationHandlerStop


def _recent_refusals(gateway: Gateway, chat_id: int, now: datetime) -> list[datetime]:
    """The chat's refused codes within ``REGISTER_WINDOW``: codes are long and short-lived, but guessing
    should still cost time, not just messages."""
    tries = gateway.console.register_refusals
    recent = [at for at in tries.get(chat_id, []) if now - at < REGISTER_WINDOW]
    tries[chat_id] = recent
    return recent


def _invite_problem(error: InviteError) -> str:
    """The text key for a refused invite, from the store's reason."""
    known = {"unknown", "used", "expired", "deactivated", "chat_taken"}
    return f"register_{error.reason}" if error.reason in known else "register_failed"


# ---------------------------------------------------------------- officer chats


def _command(text: str) -> tuple[str | None, list[str]]:
    if not text.startswith("/"):
        return None, []
    head, *args = text.split()
    return head[1:].split("@", 1)[0].lower(), args


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claims everything from an officer's chat; a resident's update passes on untouched."""
    chat = update.effective_chat
    if chat is None:
        return
    gateway = gateway_of(context)
    officer_id = await _officer_of(gateway, chat.id)
    message = update.message
    text = (message.text or "").strip() if message else ""
    name, args = _command(text)
    if officer_id is None:
        if name in OFFICER_COMMANDS:
            await _reply(update, cards.escape(texts.text("officer_only", cards.telegram_language(update))))
            raise ApplicationHandlerStop
        return
    language = language_of(gateway, officer_id)
    if update.callback_query is not None:  # not an o: button (those have their own handler)
        await _alert(update.callback_query, texts.text("refused_forged", language))
    elif message is None:
        pass  # edits, reactions, …: nothing to do, but they are not a resident's
    elif name == "cases":
        await show_cases(update, gateway, officer_id)
    elif name == "case":
        await show_case(update, gateway, officer_id, " ".join(args))
    elif name == "stats":
        await show_stats(update, gateway, officer_id)
    elif name == "cancel":
        pending = context.chat_data.pop(PENDING_NOTE, None)
        if pending:
            await _reply(
                update, cards.escape(texts.text("resolve_cancelled", language, number=pending["number"]))
            )
        else:
            await _reply(update, cards.escape(texts.text("nothing_to_cancel", language)))
    elif text and name is None and context.chat_data.get(PENDING_NOTE):
        pending = context.chat_data[PENDING_NOTE]
        if gateway.desk.now() - pending["asked_at"] > NOTE_WAIT:
            # Hours later this text is more likely a new thought than the note; say the resolve lapsed.
            context.chat_data.pop(PENDING_NOTE, None)
            await _reply(
                update, cards.escape(texts.text("resolve_cancelled", language, number=pending["number"]))
            )
        else:
            await resolve_with_note(update, context, gateway, officer_id, text)
    else:
        await _reply(update, cards.escape(texts.text("officer_help", language)))
    raise ApplicationHandlerStop


async def show_cases(update: Update, gateway: Gateway, officer_id: str) -> None:
    """The officer's active cases (the supervisor sees the whole station's), soonest promise first."""
    language = language_of(gateway, officer_id)
    supervisor = officer_id == gateway.settings.roster.supervisor
    found = await asyncio.to_thread(
        gateway.store.cases, officer_id=None if supervisor else officer_id, active_only=True
    )
    if not found:
        await _reply(update, cards.escape(texts.text("cases_none", language)))
        return
    found = sorted(found, key=lambda case: case.promise_due_at)
    lines, markup = cards.case_list(found, gateway.settings, gateway.desk.now(), language)
    title = texts.text("cases_all" if supervisor else "cases_mine", language, count=len(found))
    body = [title, *lines]
    while cards.utf16_len("\n".join(body)) > cards.MAX_TEXT and len(body) > 2:
        body.pop(-2)  # the buttons still reach every listed case
    await _reply(update, "\n".join(body), markup)


async def show_case(update: Update, gateway: Gateway, officer_id: str, typed: str) -> None:
    language = language_of(gateway, officer_id)
    try:
        number = normalise_case_number(typed)
    except ValueError:
        await _reply(update, cards.escape(texts.text("case_usage", language)))
        return
    case = await asyncio.to_thread(gateway.store.get, number)
    if case is None:
        await _reply(update, cards.escape(texts.text("case_not_found", language, number=number)))
    elif not await _may_act(gateway, case, officer_id):
        await _reply(update, cards.escape(texts.text("case_not_yours", language, number=number)))
    else:
        await _reply(update, *render_card(gateway, case, officer_id, allowed=True))


def _percent(part: int, whole: int, language: str) -> str:
    return f"{round(100 * part / whole)}%" if whole else texts.text("stats_none", language)


def _duration(value: timedelta | None, language: str) -> str:
    if value is None:
        return texts.text("stats_none", language)
    minutes = max(0, round(value.total_seconds() / 60))
    if minutes < 60:
        return texts.text("stats_minutes", language, minutes=minutes)
    return texts.text("stats_hours", language, hours=minutes // 60, minutes=minutes % 60)


def stats_text(stats: Any, gateway: Gateway, language: str) -> str:
    """/stats in HTML; rates are computed from the counts so they always agree with them."""
    content = load_content()
    none = texts.text("stats_none", language)

    def lines(counts: dict[Any, int], name_of: Any) -> str:
        rows = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
        return (
            "\n".join(
                texts.text("stats_line", language, name=cards.escape(name_of(key)), count=count)
                for key, count in rows
            )
            or none
        )

    def area(area_id: str | None) -> str:
        if not area_id or area_id == UNKNOWN_AREA:
            return texts.text("stats_unknown_area", language)
        return cards.area_name(gateway.settings, area_id, language) or area_id

    rated, satisfied = int(stats.rated or 0), int(stats.satisfied or 0)
    due, kept = int(stats.promises_due or 0), int(stats.promises_kept or 0)
    return texts.text(
        "stats",
        language,
        satisfaction=_percent(satisfied, rated, language),
        satisfied=satisfied,
        rated=rated,
        kept_rate=_percent(kept, due, language),
        kept=kept,
        due=due,
        median=_duration(stats.median_first_response, language),
        open_total=stats.open_total,
        by_category=lines(dict(stats.open_by_category), lambda c: content.category_name(c, language)),
        by_area=lines(dict(stats.open_by_area), area),
    )


async def show_stats(update: Update, gateway: Gateway, officer_id: str) -> None:
    language = language_of(gateway, officer_id)
    stats = await asyncio.to_thread(gateway.desk.stats)
    await _reply(update, stats_text(stats, gateway, language))


# ---------------------------------------------------------------- resolving with a note


async def resolve_with_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, gateway: Gateway, officer_id: str, note: str
) -> None:
    """The officer's text after "Resolve" is the note; the case is resolved only if it did not change."""
    pending = context.chat_data.pop(PENDING_NOTE)
    language = language_of(gateway, officer_id)
    number, version = pending["number"], pending["version"]
    try:
        result = await asyncio.to_thread(
            gateway.desk.officer_act, number, officer_id, "resolve", expected_version=version, note=note
        )
    except (ConcurrentUpdate, InvalidTransition, PermissionError, CaseNotFound) as error:
        log.info("officer %s: resolving %s refused: %s", officer_id, number, error)
        case = await asyncio.to_thread(gateway.store.get, number)
        if case is not None and case.state is CaseState.RESOLVED:
            await _reply(update, cards.escape(texts.text("already_done", language)))
        elif isinstance(error, PermissionError) or case is None:
            await _reply(update, cards.escape(texts.text("refused_not_allowed", language, number=number)))
        else:
            await _reply(update, cards.escape(texts.text("refused_stale", language, number=number)))
            if await _may_act(gateway, case, officer_id):
                await _reply(update, *render_card(gateway, case, officer_id, allowed=True))
        return
    notifier.wake(gateway)
    await _reply(update, cards.escape(texts.text("done_resolve", language, number=number)))
    allowed = await _may_act(gateway, result.case, officer_id)
    text, markup = render_card(gateway, result.case, officer_id, allowed)
    try:
        await context.bot.edit_message_text(
            text,
            chat_id=update.effective_chat.id,  # type: ignore[union-attr]
            message_id=pending["message_id"],
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
    except BadRequest as error:  # the card was deleted or is too old to edit: send it afresh
        log.info("card for %s not edited (%s); sending it again", number, error)
        await _reply(update, text, markup)


# ---------------------------------------------------------------- buttons


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every ``o:`` press: refused with an alert unless it is a current button of this officer's case."""
    query = update.callback_query
    assert query is not None
    gateway = gateway_of(context)
    chat = query.message.chat if query.message is not None else None
    officer_id = await _officer_of(gateway, chat.id) if chat is not None else None
    if officer_id is None:
        await _alert(query, texts.text("officer_only", cards.telegram_language(update)))
        raise ApplicationHandlerStop
    language = language_of(gateway, officer_id)
    pressed = cards.parse_officer_data(query.data)
    if pressed is None:
        log.warning("officer %s pressed malformed button %r", officer_id, query.data)
        await _alert(query, texts.text("refused_forged", language))
        raise ApplicationHandlerStop
    case = await asyncio.to_thread(gateway.store.get, pressed.number)
    if case is None:
        await _alert(query, texts.text("case_not_found", language, number=pressed.number))
        raise ApplicationHandlerStop
    if not await _may_act(gateway, case, officer_id):
        if _repeated_hand_over(case, pressed):
            await query.answer(texts.text("already_done", language))
            raise ApplicationHandlerStop
        key = "case_not_yours" if pressed.verb == "open" else "refused_not_allowed"
        await _alert(query, texts.text(key, language, number=case.number))
        raise ApplicationHandlerStop
    if pressed.verb == "open":
        await _open(query, gateway, case, officer_id)
    elif pressed.verb in ("ack", "contact"):
        await _act(query, gateway, case, officer_id, pressed)
    elif pressed.verb == "resolve":
        await _ask_note(query, context, gateway, case, officer_id, pressed)
    elif pressed.verb == "handover":
        await _choose_officer(query, gateway, case, officer_id, pressed)
    else:  # "to" / "auto"
        await _hand_over(query, gateway, case, officer_id, pressed)
    raise ApplicationHandlerStop


def _repeated_hand_over(case: CaseRecord, pressed: cards.OfficerButton) -> bool:
    """A second press on the hand-over choice that already went through (the case left this officer)."""
    if pressed.verb not in ("to", "auto") or case.state is not CaseState.HANDED_OVER:
        return False
    return case.version == (pressed.version or 0) + 1 and pressed.officer_id in (None, case.officer_id)


async def _open(query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer_id: str) -> None:
    text, markup = render_card(gateway, case, officer_id, await _may_act(gateway, case, officer_id))
    await query.answer()
    if query.message is not None and cards.is_handover_keyboard(query.message.reply_markup, case.number):
        await _edit(query, text, markup)  # "back" from the hand-over choice: the card again, in place
    else:
        await query.get_bot().send_message(
            query.message.chat.id,  # type: ignore[union-attr]
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )


async def _stale_or_done(
    query: CallbackQuery,
    gateway: Gateway,
    officer_id: str,
    number: str,
    done: Callable[[CaseRecord], bool],
) -> None:
    """After a refused change: a repeated press of what already happened is "already done"; anything
    else is a stale card, refreshed so the officer sees why."""
    language = language_of(gateway, officer_id)
    current = await asyncio.to_thread(gateway.store.get, number)
    if current is None:
        await _alert(query, texts.text("case_not_found", language, number=number))
        return
    if done(current):
        await query.answer(texts.text("already_done", language))
    else:
        await _alert(query, texts.text("refused_stale", language, number=number))
    await _refresh(query, gateway, current, officer_id)


async def _refuse_invalid(
    query: CallbackQuery,
    gateway: Gateway,
    case: CaseRecord,
    officer_id: str,
    done: Callable[[CaseRecord], bool] | None = None,
) -> None:
    """After the desk found the press invalid for the case's state: the alert names the state the case is
    in now (a repeat of what already happened is just "already done"), and the card shows it."""
    language = language_of(gateway, officer_id)
    current = await asyncio.to_thread(gateway.store.get, case.number) or case
    if done is not None and done(current):
        await query.answer(texts.text("already_done", language))
    else:
        state = cards.state_name(current.state, language)
        await _alert(query, texts.text("refused_invalid", language, number=case.number, state=state))
    await _refresh(query, gateway, current, officer_id)


async def _act(
    query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer_id: str, pressed: cards.OfficerButton
) -> None:
    language = language_of(gateway, officer_id)
    target = cards.VERB_TARGETS[pressed.verb]
    try:
        result = await asyncio.to_thread(
            gateway.desk.officer_act,
            case.number,
            officer_id,
            cards.ACT_VERBS[pressed.verb],
            expected_version=pressed.version,
        )
    except PermissionError:
        await _alert(query, texts.text("refused_not_allowed", language, number=case.number))
        return
    except ConcurrentUpdate:
        await _stale_or_done(query, gateway, officer_id, case.number, lambda c: c.state is target)
        return
    except InvalidTransition:
        await _refuse_invalid(query, gateway, case, officer_id, lambda c: c.state is target)
        return
    except CaseNotFound:
        await _alert(query, texts.text("case_not_found", language, number=case.number))
        return
    if result.changed:
        notifier.wake(gateway)
    await query.answer(texts.text(f"done_{pressed.verb}" if result.changed else "already_done", language))
    await _refresh(query, gateway, result.case, officer_id)


def _precheck(case: CaseRecord, pressed: cards.OfficerButton, language: str) -> str | None:
    """Why a press that does not go to the desk straight away (resolve, hand over) is refused, if it is."""
    target = cards.VERB_TARGETS[pressed.verb]
    if case.version != pressed.version:
        return texts.text("refused_stale", language, number=case.number)
    if pressed.verb not in cards.available_verbs(case):
        state = cards.state_name(case.state, language)
        return (
            texts.text("refused_invalid", language, number=case.number, state=state)
            if case.state is not target
            else ""
        )
    return None


async def _ask_note(
    query: CallbackQuery,
    context: ContextTypes.DEFAULT_TYPE,
    gateway: Gateway,
    case: CaseRecord,
    officer_id: str,
    pressed: cards.OfficerButton,
) -> None:
    language = language_of(gateway, officer_id)
    if case.state is CaseState.RESOLVED:
        await query.answer(texts.text("already_done", language))
        await _refresh(query, gateway, case, officer_id)
        return
    refusal = _precheck(case, pressed, language)
    if refusal is not None:
        await _alert(query, refusal)
        await _refresh(query, gateway, case, officer_id)
        return
    context.chat_data[PENDING_NOTE] = {
        "number": case.number,
        "version": case.version,
        "message_id": query.message.message_id if query.message else None,
        "asked_at": gateway.desk.now(),
    }
    await query.answer()
    await query.get_bot().send_message(
        query.message.chat.id,  # type: ignore[union-attr]
        cards.escape(texts.text("resolve_ask_note", language, number=case.number)),
        parse_mode=ParseMode.HTML,
    )


async def _choose_officer(
    query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer_id: str, pressed: cards.OfficerButton
) -> None:
    language = language_of(gateway, officer_id)
    refusal = _precheck(case, pressed, language)
    if refusal is not None:
        if refusal:
            await _alert(query, refusal)
        else:
            await query.answer(texts.text("already_done", language))
        await _refresh(query, gateway, case, officer_id)
        return
    accounts = await asyncio.to_thread(gateway.store.officers.accounts)
    inactive = [account.officer_id for account in accounts if not account.active]
    markup = cards.handover_keyboard(case, gateway.settings, language, inactive)
    await query.answer(texts.text("handover_choose", language, number=case.number))
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def _hand_over(
    query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer_id: str, pressed: cards.OfficerButton
) -> None:
    language = language_of(gateway, officer_id)
    to_officer = pressed.officer_id if pressed.verb == "to" else None
    if to_officer is not None and gateway.settings.roster.officer(to_officer) is None:
        await _alert(query, texts.text("refused_unknown_officer", language))
        return

    def done(current: CaseRecord) -> bool:
        return current.state is CaseState.HANDED_OVER and current.officer_id == to_officer

    try:
        outcome = await asyncio.to_thread(
            gateway.desk.hand_over_to,
            case.number,
            officer_id,
            to_officer,
            expected_version=pressed.version,
        )
    except PermissionError:
        await _alert(query, texts.text("refused_not_allowed", language, number=case.number))
        return
    except ConcurrentUpdate:
        await _stale_or_done(query, gateway, officer_id, case.number, done)
        return
    except InvalidTransition:
        await _refuse_invalid(query, gateway, case, officer_id)
        return
    except CaseNotFound:
        await _alert(query, texts.text("case_not_found", language, number=case.number))
        return
    except (LookupError, ValueError) as error:  # no one the roster can give it to, or an unknown officer
        log.info("hand-over of %s by %s refused: %s", case.number, officer_id, error)
        await _alert(query, texts.text("refused_no_candidate", language, number=case.number))
        return
    notifier.wake(gateway)
    new_officer = cards.officer_name(gateway.settings, outcome.case.officer_id, language)
    await query.answer(texts.text("done_handover", language, number=case.number, officer=new_officer))
    allowed = await _may_act(gateway, outcome.case, officer_id)
    text, markup = render_card(gateway, outcome.case, officer_id, allowed)
    await _edit(query, text, markup)
