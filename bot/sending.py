"""Sending one message to a resident's chat, patiently: shared by the relay and the gateway's own safety
answer (:mod:`bot.danger`), which must not depend on the relay to reach a resident in danger.

Flood-control waits are honoured as Telegram asks and do not count as failures; a message that still
cannot be sent after ``SEND_ATTEMPTS`` network failures, or after waiting ``MAX_WAIT`` seconds in all,
is handed to the notifier (:func:`bot.delivery.queue_resident_reply`), which keeps trying until the
delivery deadline — a safety reply is never given up after three tries.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.delivery import queue_resident_reply
from bot.notifier import retry_seconds

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 3
# The longest a resident's answer is held up here (flood control included) before the notifier takes over.
MAX_WAIT = 30.0


async def send(
    application: Application,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Sends HTML ``text``; None when it was handed to the notifier instead or the chat is closed to us.

    A blocked bot is logged, not raised (nobody to tell). A refused message (``BadRequest``) is raised:
    retrying the same text cannot help, and the caller's error handler apologises.
    """
    started = time.monotonic()
    failures = 0
    notifier = application.bot_data["gateway"].notifier
    while True:
        held = notifier.held_for(chat_id)  # Telegram asked us to wait on this chat (any message)
        if held:
            if time.monotonic() - started + held > MAX_WAIT:
                return await _hand_over(application, chat_id, text, f"flood control for {held:.0f}s")
            await asyncio.sleep(held)
        try:
            return await application.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup
            )
        except RetryAfter as error:
            seconds = retry_seconds(error)
            log.warning("flood limit for chat %s: waiting %.1f s", chat_id, seconds)
            notifier.hold(chat_id, seconds)  # the loop waits it out, or hands the message over
        except Forbidden as error:
            log.warning("chat %s cannot be written to: %s", chat_id, error)
            return None
        except BadRequest as error:
            if "chat not found" in error.message.lower():  # the resident's chat is gone: nobody to tell
                log.warning("chat %s cannot be written to: %s", chat_id, error)
                return None
            raise
        except TelegramError as error:
            failures += 1
            if failures >= SEND_ATTEMPTS or time.monotonic() - started > MAX_WAIT:
                return await _hand_over(application, chat_id, text, repr(error))
            log.warning("sending to chat %s failed, retrying", chat_id, exc_info=True)
            await asyncio.sleep(0.5 * failures)


async def _hand_over(application: Application, chat_id: int, text: str, why: str) -> None:
    """The notifier keeps trying until the delivery deadline (without the buttons: by the time it gets
    through, a question's keyboard may be stale; the text still says what to type)."""
    log.warning("reply to chat %s not sent now (%s): handed to the notifier", chat_id, why)
    gateway = application.bot_data["gateway"]
    await asyncio.to_thread(queue_resident_reply, gateway, str(chat_id), chat_id, text)
    gateway.notifier.wake.set()
    return None
