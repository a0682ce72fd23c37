"""A resident's text, commands and presses on Rasa's buttons: relayed to Rasa as their words (or as
the gateway's own payloads for the commands it maps)."""

from __future__ import annotations

import logging

from telegram import (
    Update,
)
from telegram.ext import (
    ContextTypes,
)

from bot import callbacks, languages, texts
from bot import replies as rendering
from bot.gateway import gateway_of
from bot.relay import (
    relay_words,
    say,
    source_of,
)
from bot.resident.common import (
    close_keyboard,
    first_press,
    markup,
    relay_payload,
    screen_command_words,
    sender,
)

log = logging.getLogger(__name__)

# Commands relayed to Rasa as intent payloads (domain.yml); /language and /forget are handled here.
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/help",
    "status": "/ask_status",
    "privacy": "/ask_privacy",
    "cancel": "/cancel",
}


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = sender(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    await relay_words(
        context.application,
        gateway_of(context),
        who[0],
        who[1],
        message.text,
        context.user_data,
        source=source_of(update),
    )


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = sender(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    name = message.text.split()[0][1:].split("@")[0].lower()
    payload = COMMAND_PAYLOADS.get(name)
    if payload is None:
        return
    await screen_command_words(update, context)
    await relay_payload(update, context, who, payload)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other "/…" a resident types is their words, not a command: ``/report_noise{"a":1}`` or
    ``/affirm`` must not run as an intent, and "/他拿着刀" must be screened like any message."""
    await on_text(update, context)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from a Rasa reply: its payload goes to Rasa as the resident's next message."""
    query = update.callback_query
    who = sender(update)
    if query is None or who is None:
        return
    gateway = gateway_of(context)
    state = gateway.resident_state()
    language = languages.resident(gateway, who[0], context.user_data)
    payload = state.keys.payload_for(query.data or "")
    if payload is None:
        await query.answer(text=texts.text("button_expired", language), show_alert=True)
        await close_keyboard(query, None)
        return
    await query.answer()
    if not first_press(gateway, query):
        return
    title = rendering.chosen_title(markup(query), query.data or "")
    await close_keyboard(query, say("button_chosen", language, choice=title) if title else None)
    await relay_payload(update, context, who, payload)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops the spinner on a button nobody handles (a keyboard from an older version of the bot)."""
    query = update.callback_query
    if query is None or callbacks.starts_with(query.data, callbacks.GATEWAY_BUTTONS):
        return
    who = sender(update)
    language = languages.resident(gateway_of(context), who[0] if who else None, context.user_data)
    await query.answer(text=texts.text("button_expired", language), show_alert=True)
