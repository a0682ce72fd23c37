"""An officer's chat: /cases, /case N, /stats, /cancel, and the resolution note being written; claims
every update from an officer's chat so it never reaches Rasa as a resident's words."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
)

from bot import cards, fit, languages, texts
from bot.console.buttons import resolve_with_note
from bot.console.common import (
    NOTE_WAIT,
    Officer,
    alert,
    in_own_chat,
    may_act,
    officer_of,
    reply,
    show_card,
)
from bot.console.stats import show_stats
from bot.gateway import Gateway, gateway_of
from bot.resident.common import screen_command_words
from hemu.cases import normalise_case_number
from hemu.store import CaseRecord

log = logging.getLogger(__name__)

OFFICER_COMMANDS = ("cases", "case", "stats")


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
    officer = await officer_of(gateway, update)
    message = update.message
    text = (message.text or "").strip() if message else ""
    name, args = _command(text)
    if officer is None:
        if name in OFFICER_COMMANDS:
            # The words after it are a resident's all the same: danger in them is answered (with the
            # emergency number, and paged) before they are told the command is not theirs.
            await screen_command_words(update, context)
            key = "officer_only" if in_own_chat(update) else "officer_private_only"
            await reply(update, cards.escape(texts.text(key, languages.telegram_app(update))))
            raise ApplicationHandlerStop
        return
    language = officer.language
    if update.callback_query is not None:  # not an o: button (those have their own handler)
        await alert(update.callback_query, texts.text("refused_forged", language))
    elif message is None:
        pass  # edits, reactions, …: nothing to do, but they are not a resident's
    elif name == "cases":
        await show_cases(update, gateway, officer)
    elif name == "case":
        await show_case(update, gateway, officer, " ".join(args))
    elif name == "stats":
        await show_stats(update, gateway, officer, " ".join(args))
    elif name == "cancel":
        pending = await asyncio.to_thread(gateway.store.pending_notes.take, chat.id)
        if pending:
            await reply(
                update, cards.escape(texts.text("resolve_cancelled", language, number=pending.case_number))
            )
        else:
            await reply(update, cards.escape(texts.text("nothing_to_cancel", language)))
    elif (
        text
        and name is None
        and (pending := await asyncio.to_thread(gateway.store.pending_notes.get, chat.id))
    ):
        if gateway.desk.now() - pending.asked_at > NOTE_WAIT:
            # Hours later this text is more likely a new thought than the note; say the resolve lapsed.
            await asyncio.to_thread(gateway.store.pending_notes.take, chat.id)
            await reply(
                update, cards.escape(texts.text("resolve_cancelled", language, number=pending.case_number))
            )
        else:
            await resolve_with_note(update, context, gateway, officer, text)
    else:
        await reply(update, cards.escape(texts.text("officer_help", language)))
    raise ApplicationHandlerStop


async def show_cases(update: Update, gateway: Gateway, officer: Officer) -> None:
    """The officer's active cases (the supervisor sees the whole station's), soonest promise first."""
    language = officer.language
    supervisor = officer.id == gateway.settings.roster.supervisor
    found = await asyncio.to_thread(
        gateway.store.cases, officer_id=None if supervisor else officer.id, active_only=True
    )
    if not found:
        await reply(update, cards.escape(texts.text("cases_none", language)))
        return
    found = sorted(found, key=lambda case: case.promise_due_at)
    lines, markup = cards.case_list(found, gateway.settings, gateway.desk.now(), language)
    title = texts.text("cases_all" if supervisor else "cases_mine", language, count=len(found))
    body = [title, *lines]
    while fit.visible_len("\n".join(body)) > fit.MAX_TEXT and len(body) > 2:
        body.pop(-2)  # the buttons still reach every listed case
    await reply(update, "\n".join(body), markup)


async def show_case(update: Update, gateway: Gateway, officer: Officer, typed: str) -> None:
    language = officer.language
    try:
        number = normalise_case_number(typed)
    except ValueError:
        await reply(update, cards.escape(texts.text("case_usage", language)))
        return
    case = await asyncio.to_thread(gateway.store.get, number)
    if case is None:
        await reply(update, cards.escape(texts.text("case_not_found", language, number=number)))
    elif not await may_act(gateway, case, officer.id):
        await reply(update, cards.escape(texts.text("case_not_yours", language, number=number)))
    else:
        try:
            await show_card(update, gateway, case, officer, allowed=True)
        except (BadRequest, fit.TooLong) as error:
            # The card is built to fit; should Telegram refuse it all the same, the officer still gets the
            # case and its buttons rather than silence.
            log.warning(
                "/case %s: the full card was refused (%s); sending it without typed text", number, error
            )
            await reply(update, *case_fallback(gateway, case, officer))


def case_fallback(
    gateway: Gateway, case: CaseRecord, officer: Officer
) -> tuple[str, InlineKeyboardMarkup | None]:
    """``/case N`` when the full card is refused: the card without anything anyone typed
    (:func:`bot.cards.minimal_card_text`, which always fits) and the same buttons."""
    language = officer.language
    text = cards.minimal_card_text(case, gateway.settings, gateway.desk.now(), language)
    return text, cards.card_keyboard(case, language)
