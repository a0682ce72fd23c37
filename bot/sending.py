"""Sending one message to a resident's chat, patiently: shared by the relay and the gateway's own safety
answer (:mod:`bot.danger`), which must not depend on the relay to reach a resident in danger."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.notifier import retry_seconds

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 3


async def send(
    application: Application,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Sends HTML ``text``; waits out flood limits; a blocked bot is logged, not raised (nobody to tell)."""
    for attempt in range(SEND_ATTEMPTS):
        try:
            return await application.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup
            )
        except RetryAfter as error:
            seconds = retry_seconds(error)
            log.warning("flood limit for chat %s: waiting %.1f s", chat_id, seconds)
            await asyncio.sleep(seconds)
        except Forbidden as error:
            log.warning("chat %s cannot be written to: %s", chat_id, error)
            return None
        except TelegramError:
            if attempt == SEND_ATTEMPTS - 1:
                raise
            log.warning("sending to chat %s failed, retrying", chat_id, exc_info=True)
            await asyncio.sleep(0.5 * (attempt + 1))
    return None
