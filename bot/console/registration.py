"""``/register <code>``: an officer links this chat with a one-time invite from the admin command line."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    ContextTypes,
)

from bot import cards, languages, texts
from bot.console.common import PENDING_NOTE, reply
from bot.gateway import Gateway, gateway_of
from hemu.store import InviteError

log = logging.getLogger(__name__)

# Wrong invite codes a chat may send per window before /register stops trying them.
REGISTER_TRIES = 5
REGISTER_WINDOW = timedelta(hours=1)


async def on_register(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    gateway = gateway_of(context)
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    code = " ".join(context.args or []).strip()
    language = languages.telegram_app(update)
    if not code:
        await reply(update, cards.escape(texts.text("register_usage", language)))
        raise ApplicationHandlerStop
    now = gateway.desk.now()
    refused = _recent_refusals(gateway, chat.id, now)
    if len(refused) >= REGISTER_TRIES:
        await reply(update, cards.escape(texts.text("register_too_many", language)))
        raise ApplicationHandlerStop
    try:
        officer_id = await asyncio.to_thread(gateway.store.officers.redeem_invite, code, chat.id, now)
    except InviteError as error:
        log.info("chat %s: invite refused: %s", chat.id, error)
        refused.append(now)
        await reply(update, cards.escape(texts.text(_invite_problem(error), language)))
        raise ApplicationHandlerStop from None
    context.chat_data.pop(PENDING_NOTE, None)
    language = languages.for_officer(gateway, officer_id)
    officer = gateway.settings.roster.officer(officer_id)
    name = officer.name.get(language) if officer else officer_id
    log.info("officer %s linked chat %s", officer_id, chat.id)
    await reply(update, cards.escape(texts.text("register_done", language, name=name)))
    raise ApplicationHandlerStop


def _recent_refusals(gateway: Gateway, chat_id: int, now: datetime) -> list[datetime]:
    """The chat's refused codes within ``REGISTER_WINDOW``: codes are long and short-lived, but guessing
    should still cost time, not just messages."""
    tries = gateway.console.register_refusals
    recent = [at for at in tries.get(chat_id, []) if now - at < REGISTER_WINDOW]
    tries[chat_id] = recent
    return recent


def _invite_problem(error: InviteError) -> str:
    """The text key for a refused invite, from the store's reason."""
    known = {"unknown", "used", "expired", "deactivated", "chat_taken"}
    return f"register_{error.reason}" if error.reason in known else "register_failed"
