"""The resident side of the gateway: a resident's Telegram chat relayed to Rasa and back.

Residents write in their own words; Rasa (with the action server) decides every answer. This module only
carries messages across, and covers what Rasa cannot: Telegram's commands menu, things that are not text
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import danger, screening, texts
from bot import replies as rendering
from bot.danger import emergency_number
from bot.gateway import Gateway, ResidentState, gateway_of
from bot.rasa_client import RasaError, RasaUnavailable
from bot.sending import send
from hemu import LANGUAGES
from hemu.clock import now
from hemu.geo import nearest_area
from hemu.language import client_language

log = logging.getLogger(__name__)

GROUP = 0
TYPING_EVERY = 4.0  # Telegram shows "typing…" for about 5 s per chat action
# Commands relayed to Rasa as intent payloads (domain.yml); /language and /forget are handled here.
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/help",
    "status": "/ask_status",
    "privacy": "/ask_privacy",
    "cancel": "/cancel",
}
MENU = ("start", "help", "status", "language", "privacy", "forget", "cancel")
# Stored instead of a message when /forget could not reach Rasa: the replay loop resets the conversation.
RESET_MARK = "hemu_reset"
# Set on a kept message the gateway found dangerous and paged on arrival: the urgent case's number.
PAGED_MARK = "hemu_urgent_case"
# Callback data other gateway modules own (console, ratings): not ours to answer.
FOREIGN_CALLBACKS = ("o:", "rate:", "fu:")

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


# -- shared state -------------------------------------------------------------------------------------


# -- language -----------------------------------------------------------------------------------------


def chosen_language(user_data: dict[str, Any] | None) -> str | None:
    value = (user_data or {}).get("language")
    return value if value in LANGUAGES else None


def gateway_language(gateway: Gateway, user: User | None, user_data: dict[str, Any] | None) -> str:
    """Language of the gateway's own texts: /language choice > Telegram client > station default."""
    return (
        chosen_language(user_data)
        or client_language(user.language_code if user else None)
        or gateway.settings.station.station.default_language
    )


def rasa_metadata(user: User, chat_id: int, user_data: dict[str, Any] | None) -> dict[str, Any]:
    """What Rasa's ``action_track_context`` reads: the client's language and who is writing."""
    metadata: dict[str, Any] = {}
    language = chosen_language(user_data) or client_language(user.language_code)
    if language:
        metadata["language"] = language
    metadata["telegram_user_id"] = user.id
    metadata["telegram_chat_id"] = chat_id
    return metadata


def say(key: str, language: str, **values: Any) -> str:
    return rendering.escape(texts.text(key, language, **values))


# -- sending ------------------------------------------------------------------------------------------


async def send_replies(
    application: Application, state: ResidentState, chat_id: int, replies: list[dict[str, Any]], language: str
) -> None:
    outgoing = rendering.render(replies, state.keys)
    if not outgoing:
        outgoing = [rendering.Outgoing(text=say("empty_reply", language))]
    for message in outgoing:
        await send(application, chat_id, message.text, message.reply_markup)


@asynccontextmanager
async def typing(application: Application, chat_id: int) -> AsyncIterator[None]:
    """Shows "typing…" while Rasa thinks, renewed every few seconds for slow turns.

    The first chat action is started before Rasa is asked and never cancelled half-way, so even a fast
    turn shows it; the renewals stop with the turn.
    """
    state = application.bot_data["gateway"].resident_state()

    async def once() -> None:
        try:
            await application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            log.debug("typing action for chat %s failed: %s", chat_id, error)

    first = asyncio.ensure_future(once())
    state.background.add(first)
    first.add_done_callback(state.background.discard)

    async def renew() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await asyncio.shield(once())

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


# -- the relay ----------------------------------------------------------------------------------------


async def relay_words(
    application: Application,
    gateway: Gateway,
    user: User,
    chat_id: int,
    written: str,
    user_data: dict[str, Any] | None,
) -> None:
    """What a resident wrote (a message, a caption, an unknown "/command") to Rasa as their words."""
    words = screening.as_words(written)
    if not words.strip():  # "/" alone: nothing to read
        language = gateway_language(gateway, user, user_data)
        await send(application, chat_id, say("empty_reply", language))
        return
    await relay(application, gateway, user, chat_id, words, user_data, words=True)


async def relay(
    application: Application,
    gateway: Gateway,
    user: User,
    chat_id: int,
    text: str,
    user_data: dict[str, Any] | None,
    *,
    words: bool = False,
) -> None:
    """One resident message to Rasa, and its answer back.

    ``text`` is a payload of the gateway's own (a command's, a button's) or, with ``words``, what the
    resident wrote, already through :func:`bot.screening.as_words` (use :func:`relay_words`). Rasa screens
    the words it takes; words it cannot take now are screened here before they are kept (:func:`_keep`).

    While the resident has messages waiting from an outage, this one waits behind them: answering it first
    would let Rasa see "yes" before the question it answers.
    """
    state = gateway.resident_state()
    sender = str(user.id)
    if words:
        language = danger.language_for(gateway, text, user, user_data)
    else:
        language = gateway_language(gateway, user, user_data)
    metadata = rasa_metadata(user, chat_id, user_data)
    async with state.lock(sender):
        if await asyncio.to_thread(gateway.store.inbound.has_pending, sender):
            await _keep(
                application, gateway, chat_id, sender, text, metadata, language, words=words, behind=True
            )
            return
        try:
            async with typing(application, chat_id):
                answers = await state.client.turn(sender, text, metadata)
        except RasaUnavailable as error:
            log.warning("keeping a message from %s for later: %s", sender, error)
            await _keep(
                application, gateway, chat_id, sender, text, metadata, language, words=words, behind=False
            )
            return
        except RasaError:
            # Rasa refused the turn (the error handler apologises); the words still get screened.
            if words:
                await danger.answer_if_dangerous(application, gateway, sender, chat_id, text, language)
            raise
        await send_replies(application, state, chat_id, answers, language)


async def _keep(
    application: Application,
    gateway: Gateway,
    chat_id: int,
    sender: str,
    text: str,
    metadata: dict[str, Any],
    language: str,
    *,
    words: bool,
    behind: bool,
) -> None:
    """Keeps a message for the replay loop and tells the resident so, with the emergency number.

    A resident's words are screened first: danger must not wait for Rasa, so it gets the safety reply and
    an urgent page now (:mod:`bot.danger`), and the kept row is marked with that case (:data:`PAGED_MARK`)
    for :func:`replay_sender`. ``behind``: kept only because earlier messages are still waiting.
    """
    state = gateway.resident_state()
    if words:
        answered = await danger.answer_if_dangerous(application, gateway, sender, chat_id, text, language)
        if answered is not None and answered.case_number:
            metadata = {**metadata, PAGED_MARK: answered.case_number}
    await asyncio.to_thread(gateway.store.inbound.add, sender, chat_id, text, metadata, now())
    emergency = emergency_number(gateway)
    if behind:
        await send(application, chat_id, say("queued_behind", language, emergency=emergency))
        state.wake.set()
        return
    state.told_unavailable.add(sender)
    await send(application, chat_id, say("assistant_unavailable", language, emergency=emergency))


# -- replay -------------------------------------------------------------------------------------------


async def replay_once(application: Application, gateway: Gateway) -> int:
    """Delivers kept messages, oldest first per resident, once both servers are up; returns how many.

    A resident's messages go strictly in order (the first failure stops that resident until next time);
    different residents are replayed side by side. A message counts as delivered as soon as Rasa has
    answered it, before the answer reaches Telegram, so a Telegram hiccup never makes Rasa see it twice.
    """
    store = gateway.store
    pending = await asyncio.to_thread(store.inbound.pending, 100)
    if not pending:
        return 0
    state = gateway.resident_state()
    if not await state.client.healthy():
        return 0
    senders = list(dict.fromkeys(record.sender for record in pending))
    done = await asyncio.gather(*(replay_sender(application, gateway, sender) for sender in senders))
    return sum(done)


async def replay_sender(application: Application, gateway: Gateway, sender: str) -> int:
    """One resident's kept messages, in order, under their lock.

    A message the gateway paged on arrival (:data:`PAGED_MARK`) is still handed to Rasa while its urgent
    case is active: the conversation must know about the danger (no mediation advice after violence, the
    risk in the report), and Rasa's own urgent-case action then finds that case open and adds to it — the
    desk keeps one urgent case per resident, so no second case and no second card. Once that case has
    moved on (an officer resolved it meanwhile), the message is not replayed: Rasa would page again, for
    danger an officer has already dealt with.
    """
    state = gateway.resident_state()
    store = gateway.store
    delivered = 0
    async with state.lock(sender):
        # Re-read under the lock: /forget may have dropped these messages since the loop looked.
        records = await asyncio.to_thread(store.inbound.pending, 500, sender)
        for record in records:
            metadata = dict(record.metadata or {})
            language = metadata.get("language") or gateway.settings.station.station.default_language
            paged = metadata.get(PAGED_MARK)
            if paged and not await asyncio.to_thread(_still_active, gateway, str(paged)):
                why = f"paged as {paged} on arrival; that case has moved on"
                await asyncio.to_thread(store.inbound.drop, record.id, now(), why)
                continue
            try:
                if metadata.get(RESET_MARK):
                    await state.client.reset(sender)
                    await asyncio.to_thread(store.inbound.mark_delivered, record.id, now())
                    delivered += 1
                    continue
                async with typing(application, record.chat_id):
                    answers = await state.client.turn(sender, record.text, metadata)
            except RasaUnavailable as error:
                await asyncio.to_thread(store.inbound.mark_attempt, record.id, now(), str(error))
                break
            except RasaError as error:
                # Rasa will never take this one; say so instead of retrying it forever.
                log.error("Rasa refused a kept message %s from %s: %s", record.id, sender, error)
                await asyncio.to_thread(store.inbound.mark_delivered, record.id, now())
                emergency = emergency_number(gateway)
                await send(application, record.chat_id, say("internal_error", language, emergency=emergency))
                continue
            await asyncio.to_thread(store.inbound.mark_delivered, record.id, now())
            delivered += 1
            if sender in state.told_unavailable:
                state.told_unavailable.discard(sender)
                await send(application, record.chat_id, say("back_online", language))
            try:
                await send_replies(application, state, record.chat_id, answers, language)
            except TelegramError:
                log.exception("could not send the answer to kept message %s", record.id)
    return delivered


def _still_active(gateway: Gateway, number: str) -> bool:
    case = gateway.store.get(number)
    return case is not None and case.is_active


async def replay_loop(application: Application, gateway: Gateway) -> None:
    """Runs for the gateway's life; wakes every ``replay_interval`` or when a message queues up."""
    state = gateway.resident_state()
    interval = gateway.config.replay_interval
    while True:
        try:
            count = await replay_once(application, gateway)
            if count:
                log.info("replayed %d kept resident message(s)", count)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the loop must survive a bad round (database hiccup, …)
            log.exception("replaying kept resident messages failed; will retry")
        state.wake.clear()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(state.wake.wait(), timeout=interval)


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
    language = gateway_language(gateway_of(context), who[0], context.user_data)
    await send(context.application, who[1], say(key, language), _keyboard(key, language))


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _screen_command_words(update, context)
    await _ask_with_buttons("language_choose", update, context)


async def on_language_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    who = _who(update)
    if query is None or who is None:
        return
    choice = (query.data or "").partition(":")[2]
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
    language = gateway_language(gateway, user, context.user_data)
    await query.answer()
    if not _first_press(gateway, query):
        return
    answer = (query.data or "").partition(":")[2]
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
    language = gateway_language(gateway, who[0], context.user_data)
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
    if query is None or (query.data or "").startswith(FOREIGN_CALLBACKS):
        return
    who = _who(update)
    language = gateway_language(gateway_of(context), who[0] if who else None, context.user_data)
    await query.answer(text=texts.text("button_expired", language), show_alert=True)


async def _reply_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str
) -> tuple[User, int] | None:
    who = _who(update)
    if who is None:
        return None
    language = gateway_language(gateway_of(context), who[0], context.user_data)
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
    language = gateway_language(gateway, who[0], context.user_data)
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
    callbacks = [
        CallbackQueryHandler(on_button, pattern=r"^rk?:"),
        CallbackQueryHandler(on_language_choice, pattern=r"^lang:"),
        CallbackQueryHandler(on_forget_choice, pattern=r"^forget:"),
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
    for handler in [*commands, *callbacks, *messages]:
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
