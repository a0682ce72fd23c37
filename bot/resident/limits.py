"""The message limit at the door of the resident handlers: past ``messages_per_minute`` a message is not
read — no Rasa turn, no gateway reply — and the resident is told once (:mod:`bot.throttle`).

It wraps each resident handler that reads what someone sent (text, commands, captions, media, locations,
edits), so nothing behind it — Rasa, the case desk, the outbox — sees a flood. Buttons are not metered:
each keyboard answers once (:func:`bot.resident.common.first_press`). Danger is never throttled: past the
limit the words are screened (:func:`bot.screening.dangers`) and a dangerous message goes on as usual,
to Rasa's safety flow or, when Rasa is down, to :mod:`bot.danger`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot import languages, screening, texts
from bot import replies as rendering
from bot.danger import emergency_number
from bot.gateway import gateway_of
from bot.resident.common import sender
from bot.sending import send
from bot.throttle import Verdict
from hemu.clock import now

log = logging.getLogger(__name__)

TEXT_KEYS: tuple[str, ...] = ("messages_throttled",)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


async def admitted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether this message is read; when it is the first one past the limit, the resident is told."""
    who = sender(update)
    message = update.effective_message
    if who is None or message is None:
        return True
    user, chat_id = who
    gateway = gateway_of(context)
    limit = gateway.settings.policy.resident_limits.messages_per_minute
    written = message.text or message.caption or ""
    verdict = gateway.resident_state().window.admit(
        str(user.id), now(), limit, lambda: bool(screening.dangers(written))
    )
    if verdict is Verdict.READ:
        return True
    log.info("message from %s not read: over %d a minute", user.id, limit)
    if verdict is Verdict.TELL:
        language = languages.resident(gateway, user, context.user_data)
        notice = texts.text("messages_throttled", language, emergency=emergency_number(gateway))
        await send(context.application, chat_id, rendering.escape(notice))
    return False


def metered(handler: Handler) -> Handler:
    """``handler`` behind the message limit."""

    @functools.wraps(handler)
    async def read_if_admitted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await admitted(update, context):
            await handler(update, context)

    return read_if_admitted
