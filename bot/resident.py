"""The resident side of the gateway: a resident's Telegram chat relayed to Rasa and back.

Residents write in their own words; Rasa (with the action server) decides every answer. These handlers
only carry messages across (:mod:`bot.relay`; kept messages are replayed by :mod:`bot.replay`), and
cover what Rasa cannot: Telegram's commands menu, things that are not text
(photos, voice, locations), erasing personal data, and — most of all — outages. A resident who writes about
a neighbour's threat while Rasa restarts must not get silence: the message is kept in the case store
(``inbound``), they are told so (with the emergency number), and it is answered, in order, once Rasa and the
action server are back. Nothing a resident sends is dropped on the floor.

No way around the screening (SPEC §6): everything a resident wrote — text, a caption, an unknown "/command"
— goes to Rasa as their words (:func:`bot.screening.as_words`), never as an intent payload; payloads are
only ever the gateway's own (commands it maps, buttons Rasa sent). What gets no Rasa turn now — a message
kept during an outage, an edit, the words after a known command — is screened here and, when dangerous,
answered at once by :mod:`bot.danger` (safety reply and an urgent page).

Officers' chats are claimed earlier by the console (handler group -2) and never reach group 0.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import callbacks, danger, languages, screening, texts
from bot import replies as rendering
from bot.callbacks import Prefix
from bot.gateway import Gateway, gateway_of
from bot.rasa_client import RasaError, RasaUnavailable
from bot.relay import (
    RESET_MARK,
    relay,
    relay_words,
    say,
)
from bot.replay import replay_loop
from bot.sending import send
from hemu import LANGUAGES
from hemu.clock import now
from hemu.geo import nearest_area

log = logging.getLogger(__name__)

GROUP = 0
# Commands relayed to Rasa as intent payloads (domain.yml); /language and /forget are handled here.
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/help",
    "status": "/ask_status",
    "privacy": "/ask_privacy",
    "cancel": "/cancel",
}
MENU = ("start", "help", "status", "language", "privacy", "forget", "cancel")

TEXT_KEYS: tuple[str, ...] = (
    "internal_error",
    *(f"command_{name}" for name in MENU),
    "assistant_unavailable",
    "queued_behind",
    "back_online",
    "empty_reply",
    "button_expired",
    "button_chosen",
    "language_choose",
    "language_chosen",
    "forget_confirm",
    "forget_done",
    "forget_done_later",
    "forget_cancelled",
    "media_photo",
    "media_document",
    "media_voice",
    "media_sticker",
    "media_contact",
    "media_other",
    "location_area",
    "location_unknown",
    "edited_ignored",
)


# -- handlers -----------------------------------------------------------------------------------------


def _who(update: Update) -> tuple[User, int] | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    return user, chat.id


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = _who(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    await relay_words(
        context.application, gateway_of(context), who[0], who[1], message.text, context.user_data
    )


async def _screen_command_words(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The words after a known command ("/help he has a knife") are the resident's too, but the command
    goes to Rasa as its payload and the words never would: they are screened here, and danger is answered
    (:mod:`bot.danger`) before the command runs as usual."""
    who = _who(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    after = message.text.strip().split(maxsplit=1)[1:]
    if not after:
        return
    gateway = gateway_of(context)
    language = danger.language_for(gateway, after[0], who[0], context.user_data)
    await danger.answer_if_dangerous(context.application, gateway, str(who[0].id), who[1], after[0], language)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = _who(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    name = message.text.split()[0][1:].split("@")[0].lower()
    payload = COMMAND_PAYLOADS.get(name)
    if payload is None:
        return
    await _screen_command_words(update, context)
    await relay(context.application, gateway_of(context), who[0], who[1], payload, context.user_data)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other "/…" a resident types is their words, not a command: ``/report_noise{"a":1}`` or
    ``/affirm`` must not run as an intent, and "/他拿着刀" must be screened like any message."""
    who = _who(update)
    message = update.effective_message
    if who is None or message is None or not message.text:
        return
    await relay_words(
        context.application, gateway_of(context), who[0], who[1], message.text, context.user_data
    )


def _keyboard(key: str, language: str) -> InlineKeyboardMarkup:
    """The buttons of a gateway text; their payloads are callback data (``lang:zh``, ``forget:yes``)."""
    buttons = texts.render(key, language).buttons
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["title"], callback_data=b["payload"]) for b in buttons]]
    )


async def _ask_with_buttons(key: str, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A gateway question whose answers are its own buttons (``lang:…``, ``forget:…``), not Rasa's."""
    who = _who(update)
    if who is None:
        return
    language = languages.resident(gateway_of(context), who[0], context.user_data)
    await send(context.application, who[1], say(key, language), _keyboard(key, language))


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _screen_command_words(update, context)
    await _ask_with_buttons("language_choose", update, context)


async def on_language_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    who = _who(update)
    if query is None or who is None:
        return
    choice = callbacks.choice(query.data, Prefix.LANGUAGE)
    if choice not in LANGUAGES:
        await query.answer()
        return
    await query.answer()
    if not _first_press(gateway_of(context), query):
        return
    if context.user_data is not None:
        context.user_data["language"] = choice
    await _close_keyboard(query, say("language_chosen", choice))
    payload = "/change_language" + json.dumps({"language": choice}, separators=(",", ":"))
    await relay(context.application, gateway_of(context), who[0], who[1], payload, context.user_data)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _screen_command_words(update, context)
    await _ask_with_buttons("forget_confirm", update, context)


async def on_forget_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erases the resident's personal data in the case store and their conversation in Rasa.

    If Rasa cannot be reached, the reset is kept in the inbound queue (after the erasure dropped everything
    else waiting there) so the conversation history is erased as soon as Rasa is back.
    """
    query = update.callback_query
    who = _who(update)
    if query is None or who is None:
        return
    user, chat_id = who
    gateway = gateway_of(context)
    language = languages.resident(gateway, user, context.user_data)
    await query.answer()
    if not _first_press(gateway, query):
        return
    answer = callbacks.choice(query.data, Prefix.FORGET)
    title = rendering.chosen_title(_markup(query), query.data or "")
    await _close_keyboard(query, say("button_chosen", language, choice=title) if title else None)
    if answer != "yes":
        await send(context.application, chat_id, say("forget_cancelled", language))
        return
    state = gateway.resident_state()
    sender = str(user.id)
    async with state.lock(sender):
        cases = await asyncio.to_thread(gateway.desk.forget_resident, sender)
        if context.user_data is not None:
            context.user_data.clear()
        state.told_unavailable.discard(sender)
        try:
            await state.client.reset(sender)
            key = "forget_done"
        except (RasaUnavailable, RasaError) as error:
            log.warning("could not reset the Rasa conversation of %s now: %s", sender, error)
            await asyncio.to_thread(
                gateway.store.inbound.add, sender, chat_id, "/restart", {RESET_MARK: True}, now()
            )
            key = "forget_done_later"
    await send(context.application, chat_id, say(key, language, cases=cases))


def _markup(query: CallbackQuery) -> InlineKeyboardMarkup | None:
    message = query.message
    return message.reply_markup if isinstance(message, Message) else None


def _first_press(gateway: Gateway, query: CallbackQuery) -> bool:
    message = query.message
    if message is None:
        return True
    return gateway.resident_state().first_press(message.chat.id, message.message_id)


async def _close_keyboard(query: CallbackQuery, note: str | None) -> None:
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


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from a Rasa reply: its payload goes to Rasa as the resident's next message."""
    query = update.callback_query
    who = _who(update)
    if query is None or who is None:
        return
    gateway = gateway_of(context)
    state = gateway.resident_state()
    language = languages.resident(gateway, who[0], context.user_data)
    payload = state.keys.payload_for(query.data or "")
    if payload is None:
        await query.answer(text=texts.text("button_expired", language), show_alert=True)
        await _close_keyboard(query, None)
        return
    await query.answer()
    if not _first_press(gateway, query):
        return
    title = rendering.chosen_title(_markup(query), query.data or "")
    await _close_keyboard(query, say("button_chosen", language, choice=title) if title else None)
    await relay(context.application, gateway, who[0], who[1], payload, context.user_data)


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stops the spinner on a button nobody handles (a keyboard from an older version of the bot)."""
    query = update.callback_query
    if query is None or callbacks.starts_with(query.data, callbacks.GATEWAY_BUTTONS):
        return
    who = _who(update)
    language = languages.resident(gateway_of(context), who[0] if who else None, context.user_data)
    await query.answer(text=texts.text("button_expired", language), show_alert=True)


async def _reply_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str
) -> tuple[User, int] | None:
    who = _who(update)
    if who is None:
        return None
    language = languages.resident(gateway_of(context), who[0], context.user_data)
    await send(context.application, who[1], say(key, language))
    return who


async def _relay_caption(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: tuple[User, int] | None
) -> None:
    """A caption is what the resident wrote about the photo, video or file: it goes to Rasa as their
    words, screened like any message, whatever the media it hangs from."""
    message = update.effective_message
    if who is not None and message is not None and message.caption:
        await relay_words(
            context.application, gateway_of(context), who[0], who[1], message.caption, context.user_data
        )


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo is evidence worth keeping, but nothing here can read it: ask for words; relay any caption."""
    await _relay_caption(update, context, await _reply_text(update, context, "media_photo"))


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _relay_caption(update, context, await _reply_text(update, context, "media_document"))


async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _relay_caption(update, context, await _reply_text(update, context, "media_voice"))


async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers and GIFs; a GIF may carry a caption."""
    await _relay_caption(update, context, await _reply_text(update, context, "media_sticker"))


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply_text(update, context, "media_contact")


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _relay_caption(update, context, await _reply_text(update, context, "media_other"))


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location answers "where?": the area's name goes to Rasa as if the resident had typed it."""
    who = _who(update)
    message = update.effective_message
    if who is None or message is None:
        return
    location = message.location or (message.venue.location if message.venue else None)
    if location is None:
        return
    gateway = gateway_of(context)
    language = languages.resident(gateway, who[0], context.user_data)
    match = nearest_area(location.latitude, location.longitude, gateway.settings.station.areas)
    if match is None:
        await send(context.application, who[1], say("location_unknown", language))
        return
    name = match.area.name.get(language)
    await send(context.application, who[1], say("location_area", language, area=name))
    await relay(context.application, gateway, who[0], who[1], name, context.user_data)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message (or caption) is screened again; it is not relayed.

    Rasa has already answered the original, and a new turn for the edit would answer twice and pull the
    conversation back to an old message. A harmless edit gets a note asking for a new message. A
    dangerous one is answered here, by :mod:`bot.danger` — the safety reply and an urgent page — because
    that answer must not depend on Rasa being up, or on Rasa agreeing with the rules, for words the
    resident changed after the conversation had moved on.
    """
    who = _who(update)
    message = update.effective_message
    if who is None or message is None:
        return
    written = message.text or message.caption or ""
    gateway = gateway_of(context)
    language = danger.language_for(gateway, screening.as_words(written), who[0], context.user_data)
    answered = await danger.answer_if_dangerous(
        context.application, gateway, str(who[0].id), who[1], written, language
    )
    if answered is None:
        await send(context.application, who[1], say("edited_ignored", language))


def register(application: Application) -> None:
    """Resident handlers, in group 0 (after the officer console and ratings)."""
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    commands = [
        CommandHandler(list(COMMAND_PAYLOADS), on_command, filters=new),
        CommandHandler("language", on_language, filters=new),
        CommandHandler("forget", on_forget, filters=new),
    ]
    buttons = [
        CallbackQueryHandler(on_button, pattern=callbacks.pattern(Prefix.REPLY)),
        CallbackQueryHandler(on_button, pattern=callbacks.pattern(Prefix.REPLY_KEY)),
        CallbackQueryHandler(on_language_choice, pattern=callbacks.pattern(Prefix.LANGUAGE)),
        CallbackQueryHandler(on_forget_choice, pattern=callbacks.pattern(Prefix.FORGET)),
        CallbackQueryHandler(on_unknown_button),
    ]
    messages = [
        MessageHandler(
            filters.UpdateType.EDITED_MESSAGE & private & (filters.TEXT | filters.CAPTION), on_edited
        ),
        MessageHandler(new & filters.COMMAND, on_unknown_command),
        MessageHandler(new & filters.TEXT, on_text),
        MessageHandler(new & (filters.LOCATION | filters.VENUE), on_location),
        MessageHandler(new & filters.PHOTO, on_photo),
        MessageHandler(new & filters.Document.ALL, on_document),
        MessageHandler(new & (filters.VOICE | filters.AUDIO | filters.VIDEO | filters.VIDEO_NOTE), on_voice),
        MessageHandler(new & (filters.Sticker.ALL | filters.ANIMATION), on_sticker),
        MessageHandler(new & filters.CONTACT, on_contact),
        MessageHandler(new & ~filters.StatusUpdate.ALL, on_other),
    ]
    for handler in [*commands, *buttons, *messages]:
        application.add_handler(handler, GROUP)


async def on_start(application: Application, gateway: Gateway) -> None:
    """Creates the Rasa client and sets the commands menu in both languages (default: station's)."""
    gateway.resident_state()

    def menu(language: str) -> list[BotCommand]:
        return [BotCommand(name, texts.text(f"command_{name}", language)) for name in MENU]

    default = gateway.settings.station.station.default_language
    try:
        await application.bot.set_my_commands(menu(default))
        for language in LANGUAGES:
            await application.bot.set_my_commands(menu(language), language_code=language)
    except TelegramError as error:
        # A missing menu is cosmetic; the gateway must still come up and answer residents.
        log.warning("could not set the commands menu: %s", error)


def background_tasks(application: Application, gateway: Gateway) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(replay_loop(application, gateway), name="resident-replay")]


async def on_stop(application: Application, gateway: Gateway) -> None:
    state, gateway.resident = gateway.resident, None
    if state is not None:
        for task in list(state.background):
            task.cancel()
        await state.client.aclose()
