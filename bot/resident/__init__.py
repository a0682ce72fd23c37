"""The resident side of the gateway: a resident's Telegram chat relayed to Rasa and back — text and
commands (:mod:`.messages`), the gateway's own questions (:mod:`.questions`), everything else
(:mod:`.media`), each behind the per-resident message limit (:mod:`.limits`; danger is never throttled).

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
import logging

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import callbacks, texts
from bot.callbacks import Prefix
from bot.gateway import Gateway
from bot.replay import replay_loop
from bot.resident import limits
from bot.resident.limits import metered
from bot.resident.media import (
    on_contact,
    on_document,
    on_edited,
    on_location,
    on_other,
    on_photo,
    on_sticker,
    on_voice,
)
from bot.resident.messages import (
    COMMAND_PAYLOADS,
    on_button,
    on_command,
    on_text,
    on_unknown_button,
    on_unknown_command,
)
from bot.resident.questions import on_forget, on_forget_choice, on_language, on_language_choice
from hemu import LANGUAGES

log = logging.getLogger(__name__)

GROUP = 0
MENU = ("start", "help", "status", "language", "privacy", "forget", "cancel")

TEXT_KEYS: tuple[str, ...] = (
    "internal_error",
    *(f"command_{name}" for name in MENU),
    "assistant_unavailable",
    "assistant_slow",
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
    *limits.TEXT_KEYS,
)


# -- handlers -----------------------------------------------------------------------------------------


def register(application: Application) -> None:
    """Resident handlers, in group 0 (after the officer console and ratings). Everything a resident sends
    is behind the message limit (:func:`metered`); presses on buttons are not."""
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    commands = [
        CommandHandler(list(COMMAND_PAYLOADS), metered(on_command), filters=new),
        CommandHandler("language", metered(on_language), filters=new),
        CommandHandler("forget", metered(on_forget), filters=new),
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
            filters.UpdateType.EDITED_MESSAGE & private & (filters.TEXT | filters.CAPTION), metered(on_edited)
        ),
        MessageHandler(new & filters.COMMAND, metered(on_unknown_command)),
        MessageHandler(new & filters.TEXT, metered(on_text)),
        MessageHandler(new & (filters.LOCATION | filters.VENUE), metered(on_location)),
        MessageHandler(new & filters.PHOTO, metered(on_photo)),
        MessageHandler(new & filters.Document.ALL, metered(on_document)),
        MessageHandler(
            new & (filters.VOICE | filters.AUDIO | filters.VIDEO | filters.VIDEO_NOTE), metered(on_voice)
        ),
        MessageHandler(new & (filters.Sticker.ALL | filters.ANIMATION), metered(on_sticker)),
        MessageHandler(new & filters.CONTACT, metered(on_contact)),
        MessageHandler(new & ~filters.StatusUpdate.ALL, metered(on_other)),
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
