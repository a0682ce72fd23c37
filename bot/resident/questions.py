"""The gateway's own questions, answered with its own buttons rather than Rasa's: /language and
/forget (erasing the resident's personal data after they confirm)."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import (
    ContextTypes,
)

from bot import callbacks, languages, texts
from bot import replies as rendering
from bot.callbacks import Prefix
from bot.gateway import gateway_of
from bot.rasa_client import RasaError, RasaUnavailable
from bot.relay import say
from bot.resident.common import (
    close_keyboard,
    first_press,
    markup,
    relay_payload,
    screen_command_words,
    sender,
)
from bot.sending import send
from hemu import LANGUAGES
from hemu.clock import now

log = logging.getLogger(__name__)


def _keyboard(key: str, language: str) -> InlineKeyboardMarkup:
    """The buttons of a gateway text; their payloads are callback data (``lang:zh``, ``forget:yes``)."""
    buttons = texts.render(key, language).buttons
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["title"], callback_data=b["payload"]) for b in buttons]]
    )


async def _ask_with_buttons(key: str, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A gateway question whose answers are its own buttons (``lang:…``, ``forget:…``), not Rasa's."""
    who = sender(update)
    if who is None:
        return
    language = languages.resident(gateway_of(context), who[0], context.user_data)
    await send(context.application, who[1], say(key, language), _keyboard(key, language))


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await screen_command_words(update, context)
    await _ask_with_buttons("language_choose", update, context)


async def on_language_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    who = sender(update)
    if query is None or who is None:
        return
    choice = callbacks.choice(query.data, Prefix.LANGUAGE)
    if choice not in LANGUAGES:
        await query.answer()
        return
    await query.answer()
    if not first_press(gateway_of(context), query):
        return
    if context.user_data is not None:
        context.user_data["language"] = choice
    await close_keyboard(query, say("language_chosen", choice))
    payload = "/change_language" + json.dumps({"language": choice}, separators=(",", ":"))
    await relay_payload(update, context, who, payload)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await screen_command_words(update, context)
    await _ask_with_buttons("forget_confirm", update, context)


async def on_forget_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erases the resident's personal data in the case store and their conversation in Rasa.

    If Rasa cannot be reached, the reset is kept in the inbound queue (after the erasure dropped everything
    else waiting there) so the conversation history is erased as soon as Rasa is back.
    """
    query = update.callback_query
    who = sender(update)
    if query is None or who is None:
        return
    user, chat_id = who
    gateway = gateway_of(context)
    language = languages.resident(gateway, user, context.user_data)
    await query.answer()
    if not first_press(gateway, query):
        return
    answer = callbacks.choice(query.data, Prefix.FORGET)
    title = rendering.chosen_title(markup(query), query.data or "")
    await close_keyboard(query, say("button_chosen", language, choice=title) if title else None)
    if answer != "yes":
        await send(context.application, chat_id, say("forget_cancelled", language))
        return
    state = gateway.resident_state()
    resident_id = str(user.id)
    async with state.lock(resident_id):
        cases = await asyncio.to_thread(gateway.desk.forget_resident, resident_id)
        if context.user_data is not None:
            context.user_data.clear()
        state.told_unavailable.discard(resident_id)
        try:
            await state.client.reset(resident_id)
            key = "forget_done"
        except (RasaUnavailable, RasaError) as error:
            log.warning("could not reset the Rasa conversation of %s now: %s", resident_id, error)
            await asyncio.to_thread(gateway.store.inbound.queue_reset, resident_id, chat_id, now())
            key = "forget_done_later"
    await send(context.application, chat_id, say(key, language, cases=cases))
