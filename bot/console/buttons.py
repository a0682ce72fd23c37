"""The buttons on a case card: open, acknowledge, contacted, resolve (asking for the note), hand over
(choosing an officer). A button carries the case version, so a press on an old card is refused."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
)

from bot import callbacks, cards, languages, notifier, texts
from bot.console.common import (
    Officer,
    alert,
    edit,
    keep_copy,
    may_act,
    officer_of,
    refresh,
    render_card,
    reply,
    show_card,
)
from bot.gateway import Gateway, gateway_of
from hemu.cases import CaseState, InvalidTransition
from hemu.store import CaseNotFound, CaseRecord, ConcurrentUpdate

log = logging.getLogger(__name__)


async def resolve_with_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, gateway: Gateway, officer: Officer, note: str
) -> None:
    """The officer's text after "Resolve" is the note; the case is resolved only if it did not change."""
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    pending = await asyncio.to_thread(gateway.store.pending_notes.take, chat_id)
    if pending is None:  # answered meanwhile (a second text at the same moment)
        return
    language = officer.language
    number, version = pending.case_number, pending.version
    try:
        result = await asyncio.to_thread(
            gateway.desk.officer_act, number, officer.id, "resolve", expected_version=version, note=note
        )
    except (ConcurrentUpdate, InvalidTransition, PermissionError, CaseNotFound) as error:
        log.info("officer %s: resolving %s refused: %s", officer.id, number, error)
        case = await asyncio.to_thread(gateway.store.get, number)
        if case is not None and case.state is CaseState.RESOLVED:
            await reply(update, cards.escape(texts.text("already_done", language)))
        elif isinstance(error, PermissionError) or case is None:
            await reply(update, cards.escape(texts.text("refused_not_allowed", language, number=number)))
        else:
            await reply(update, cards.escape(texts.text("refused_stale", language, number=number)))
            if await may_act(gateway, case, officer.id):
                await show_card(update, gateway, case, officer, allowed=True)
        return
    notifier.wake(gateway)
    await reply(update, cards.escape(texts.text("done_resolve", language, number=number)))
    allowed = await may_act(gateway, result.case, officer.id)
    text, markup = render_card(gateway, result.case, officer, allowed)
    if pending.message_id is None:  # the press came without its card: send it afresh
        await keep_copy(gateway, result.case, officer, await reply(update, text, markup))
        return
    try:
        await context.bot.edit_message_text(
            text,
            chat_id=update.effective_chat.id,  # type: ignore[union-attr]
            message_id=pending.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
    except BadRequest as error:  # the card was deleted or is too old to edit: send it afresh
        log.info("card for %s not edited (%s); sending it again", number, error)
        await keep_copy(gateway, result.case, officer, await reply(update, text, markup))


# ---------------------------------------------------------------- buttons


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every ``o:`` press: refused with an alert unless it is a current button of this officer's case."""
    query = update.callback_query
    assert query is not None
    gateway = gateway_of(context)
    officer = await officer_of(gateway, update)
    if officer is None:
        await alert(query, texts.text("officer_only", languages.telegram_app(update)))
        raise ApplicationHandlerStop
    language = officer.language
    pressed = callbacks.parse_officer(query.data)
    if pressed is None:
        log.warning("officer %s pressed malformed button %r", officer.id, query.data)
        await alert(query, texts.text("refused_forged", language))
        raise ApplicationHandlerStop
    case = await asyncio.to_thread(gateway.store.get, pressed.number)
    if case is None:
        await alert(query, texts.text("case_not_found", language, number=pressed.number))
        raise ApplicationHandlerStop
    if not await may_act(gateway, case, officer.id):
        if _repeated_hand_over(case, pressed):
            await query.answer(texts.text("already_done", language))
            raise ApplicationHandlerStop
        key = "case_not_yours" if pressed.verb == "open" else "refused_not_allowed"
        await alert(query, texts.text(key, language, number=case.number))
        raise ApplicationHandlerStop
    if pressed.verb == "open":
        await _open(query, gateway, case, officer)
    elif pressed.verb in ("ack", "contact"):
        await _act(query, gateway, case, officer, pressed)
    elif pressed.verb == "resolve":
        await _ask_note(query, context, gateway, case, officer, pressed)
    elif pressed.verb == "handover":
        await _choose_officer(query, gateway, case, officer, pressed)
    else:  # "to" / "auto"
        await _hand_over(query, gateway, case, officer, pressed)
    raise ApplicationHandlerStop


def _repeated_hand_over(case: CaseRecord, pressed: callbacks.OfficerButton) -> bool:
    """A second press on the hand-over choice that already went through (the case left this officer)."""
    if pressed.verb not in ("to", "auto") or case.state is not CaseState.HANDED_OVER:
        return False
    return case.version == (pressed.version or 0) + 1 and pressed.officer_id in (None, case.officer_id)


async def _open(query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer: Officer) -> None:
    text, markup = render_card(gateway, case, officer, await may_act(gateway, case, officer.id))
    await query.answer()
    if query.message is not None and cards.is_handover_keyboard(query.message.reply_markup, case.number):
        await edit(query, text, markup)  # "back" from the hand-over choice: the card again, in place
    else:
        sent = await query.get_bot().send_message(
            query.message.chat.id,  # type: ignore[union-attr]
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
        await keep_copy(gateway, case, officer, sent)


async def _stale_or_done(
    query: CallbackQuery,
    gateway: Gateway,
    officer: Officer,
    number: str,
    done: Callable[[CaseRecord], bool],
) -> None:
    """After a refused change: a repeated press of what already happened is "already done"; anything
    else is a stale card, refreshed so the officer sees why."""
    language = officer.language
    current = await asyncio.to_thread(gateway.store.get, number)
    if current is None:
        await alert(query, texts.text("case_not_found", language, number=number))
        return
    if done(current):
        await query.answer(texts.text("already_done", language))
    else:
        await alert(query, texts.text("refused_stale", language, number=number))
    await refresh(query, gateway, current, officer)


async def _refuse_invalid(
    query: CallbackQuery,
    gateway: Gateway,
    case: CaseRecord,
    officer: Officer,
    done: Callable[[CaseRecord], bool] | None = None,
) -> None:
    """After the desk found the press invalid for the case's state: the alert names the state the case is
    in now (a repeat of what already happened is just "already done"), and the card shows it."""
    language = officer.language
    current = await asyncio.to_thread(gateway.store.get, case.number) or case
    if done is not None and done(current):
        await query.answer(texts.text("already_done", language))
    else:
        state = cards.state_name(current.state, language)
        await alert(query, texts.text("refused_invalid", language, number=case.number, state=state))
    await refresh(query, gateway, current, officer)


async def _act(
    query: CallbackQuery,
    gateway: Gateway,
    case: CaseRecord,
    officer: Officer,
    pressed: callbacks.OfficerButton,
) -> None:
    language = officer.language
    target = cards.VERB_TARGETS[pressed.verb]
    try:
        result = await asyncio.to_thread(
            gateway.desk.officer_act,
            case.number,
            officer.id,
            cards.ACT_VERBS[pressed.verb],
            expected_version=pressed.version,
        )
    except PermissionError:
        await alert(query, texts.text("refused_not_allowed", language, number=case.number))
        return
    except ConcurrentUpdate:
        await _stale_or_done(query, gateway, officer, case.number, lambda c: c.state is target)
        return
    except InvalidTransition:
        await _refuse_invalid(query, gateway, case, officer, lambda c: c.state is target)
        return
    except CaseNotFound:
        await alert(query, texts.text("case_not_found", language, number=case.number))
        return
    if result.changed:
        notifier.wake(gateway)
    await query.answer(texts.text(f"done_{pressed.verb}" if result.changed else "already_done", language))
    await refresh(query, gateway, result.case, officer)


def _precheck(case: CaseRecord, pressed: callbacks.OfficerButton, language: str) -> str | None:
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
    officer: Officer,
    pressed: callbacks.OfficerButton,
) -> None:
    language = officer.language
    if case.state is CaseState.RESOLVED:
        await query.answer(texts.text("already_done", language))
        await refresh(query, gateway, case, officer)
        return
    refusal = _precheck(case, pressed, language)
    if refusal is not None:
        await alert(query, refusal)
        await refresh(query, gateway, case, officer)
        return
    await asyncio.to_thread(
        gateway.store.pending_notes.ask,
        query.message.chat.id,  # type: ignore[union-attr]
        case.number,
        case.version,
        query.message.message_id if query.message else None,
        gateway.desk.now(),
    )
    await query.answer()
    await query.get_bot().send_message(
        query.message.chat.id,  # type: ignore[union-attr]
        cards.escape(texts.text("resolve_ask_note", language, number=case.number)),
        parse_mode=ParseMode.HTML,
    )


async def _choose_officer(
    query: CallbackQuery,
    gateway: Gateway,
    case: CaseRecord,
    officer: Officer,
    pressed: callbacks.OfficerButton,
) -> None:
    language = officer.language
    refusal = _precheck(case, pressed, language)
    if refusal is not None:
        if refusal:
            await alert(query, refusal)
        else:
            await query.answer(texts.text("already_done", language))
        await refresh(query, gateway, case, officer)
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
    query: CallbackQuery,
    gateway: Gateway,
    case: CaseRecord,
    officer: Officer,
    pressed: callbacks.OfficerButton,
) -> None:
    language = officer.language
    to_officer = pressed.officer_id if pressed.verb == "to" else None
    if to_officer is not None and gateway.settings.roster.officer(to_officer) is None:
        await alert(query, texts.text("refused_unknown_officer", language))
        return

    def done(current: CaseRecord) -> bool:
        return current.state is CaseState.HANDED_OVER and current.officer_id == to_officer

    try:
        outcome = await asyncio.to_thread(
            gateway.desk.hand_over_to,
            case.number,
            officer.id,
            to_officer,
            expected_version=pressed.version,
        )
    except PermissionError:
        await alert(query, texts.text("refused_not_allowed", language, number=case.number))
        return
    except ConcurrentUpdate:
        await _stale_or_done(query, gateway, officer, case.number, done)
        return
    except InvalidTransition:
        await _refuse_invalid(query, gateway, case, officer)
        return
    except CaseNotFound:
        await alert(query, texts.text("case_not_found", language, number=case.number))
        return
    except (LookupError, ValueError) as error:  # no one the roster can give it to, or an unknown officer
        log.info("hand-over of %s by %s refused: %s", case.number, officer.id, error)
        await alert(query, texts.text("refused_no_candidate", language, number=case.number))
        return
    notifier.wake(gateway)
    new_officer = cards.officer_name(gateway.settings, outcome.case.officer_id, language)
    await query.answer(texts.text("done_handover", language, number=case.number, officer=new_officer))
    allowed = await may_act(gateway, outcome.case, officer.id)
    text, markup = render_card(gateway, outcome.case, officer, allowed)
    await edit(query, text, markup)
