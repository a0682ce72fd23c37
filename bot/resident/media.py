"""What is not plain text: captions are relayed as words, photos, voice and stickers get a clear answer,
a location finds the nearest area, and an edited message is screened for danger but not re-run."""

from __future__ import annotations

import logging

from telegram import (
    Update,
    User,
)
from telegram.ext import (
    ContextTypes,
)

from bot import danger, languages, screening
from bot.gateway import gateway_of
from bot.relay import (
    relay_words,
    say,
    source_of,
)
from bot.resident.common import relay_payload, sender
from bot.sending import send
from hemu.geo import nearest_area

log = logging.getLogger(__name__)


async def _reply_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str
) -> tuple[User, int] | None:
    who = sender(update)
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
            context.application,
            gateway_of(context),
            who[0],
            who[1],
            message.caption,
            context.user_data,
            source=source_of(update),
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
    who = sender(update)
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
    await relay_payload(update, context, who, name)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message (or caption) is screened again; it is not relayed.

    Rasa has already answered the original, and a new turn for the edit would answer twice and pull the
    conversation back to an old message. A harmless edit gets a note asking for a new message. A
    dangerous one is answered here, by :mod:`bot.danger` — the safety reply and an urgent page — because
    that answer must not depend on Rasa being up, or on Rasa agreeing with the rules, for words the
    resident changed after the conversation had moved on.
    """
    who = sender(update)
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
