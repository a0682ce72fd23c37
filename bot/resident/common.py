"""What the resident handlers share: who wrote, the words after a command screened, and a pressed
keyboard closed so it cannot be pressed twice."""

from __future__ import annotations

import html
import logging

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ContextTypes,
)

from bot import danger
from bot import replies as rendering
from bot.gateway import Gateway, gateway_of
from bot.relay import relay, source_of

log = logging.getLogger(__name__)


async def relay_payload(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: tuple[User, int], payload: str
) -> None:
    """A payload of the gateway's own (a command's, a button's, an area's name) to Rasa for the resident
    who sent ``update``, keyed by that update so it is relayed once (:func:`bot.relay.source_of`)."""
    await relay(
        context.application,
        gateway_of(context),
        who[0],
        who[1],
        payload,
        context.user_data,
        source=source_of(update),
    )


def sender(update: Update) -> tuple[User, int] | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    return user, chat.id


async def screen_command_words(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The words after a known command ("/help he has a knife") are the resident's too, but the command
    goes to Rasa as its payload and the words never would: they are screened here, and danger is answered
    (:mod:`bot.danger`) before the command runs as usual."""
    who = sender(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    after = message.text.strip().split(maxsplit=1)[1:]
    if not after:
        return
    gateway = gateway_of(context)
    if gateway.resident_state().take_answered(source_of(update)):
        return  # danger in them answered while the command waited for its turn (bot.resident.waiting)
    language = danger.language_for(gateway, after[0], who[0], context.user_data)
    await danger.answer_if_dangerous(context.application, gateway, str(who[0].id), who[1], after[0], language)


def markup(query: CallbackQuery) -> InlineKeyboardMarkup | None:
    message = query.message
    return message.reply_markup if isinstance(message, Message) else None


def first_press(gateway: Gateway, query: CallbackQuery) -> bool:
    message = query.message
    if message is None:
        return True
    return gateway.resident_state().first_press(message.chat.id, message.message_id)


async def close_keyboard(query: CallbackQuery, note: str | None) -> None:
    """Removes the keyboard that was answered, adding what was chosen under the question when it fits.

    The chat then reads like a conversation ("Is this enough? ➜ I'd like an officer") and an old keyboard
    cannot be pressed again.
    """
    message = query.message
    if not isinstance(message, Message):
        return
    try:
        if note and message.text:
            added = 2 + rendering.telegram_length(html.unescape(note))
            if rendering.telegram_length(message.text) + added <= rendering.TEXT_LIMIT:
                combined = f"{message.text_html}\n\n{note}"
                await message.edit_text(combined, parse_mode=ParseMode.HTML, reply_markup=None)
                return
        await message.edit_reply_markup(reply_markup=None)
    except BadRequest as error:  # too old to edit, or already edited by a double tap
        log.debug("could not close keyboard: %s", error)
