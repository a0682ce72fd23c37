"""``/register <code>``: an officer links this chat with a one-time invite from the admin command line; their
Telegram app's language is kept with the link (the roster's ``language`` still comes first, bot.languages)."""

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
from bot.console.common import in_own_chat, reply
from bot.gateway import Gateway, gateway_of
from hemu.language import client_language
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
    if not in_own_chat(update):  # a group's chat is not one person: its members would all be the officer
        await reply(update, cards.escape(texts.text("register_private", language)))
        raise ApplicationHandlerStop
    if not code:
        await reply(update, cards.escape(texts.text("register_usage", language)))
        raise ApplicationHandlerStop
    user = update.effective_user
    app = client_language(user.language_code if user else None)  # stored: None unless zh or en
    now = gateway.desk.now()
    refused = _recent_refusals(gateway, chat.id, now)
    if len(refused) >= REGISTER_TRIES:
        await reply(update, cards.escape(texts.text("register_too_many", language)))
        raise ApplicationHandlerStop
    try:
        officer_id = await asyncio.to_thread(
            gateway.store.officers.redeem_invite, code, chat.id, now, language=app
        )
    except InviteError as error:
        log.info("chat %s: invite refused: %s", chat.id, error)
        refused.append(now)
        await reply(update, cards.escape(texts.text(_invite_problem(error), language)))
        raise ApplicationHandlerStop from None
    await asyncio.to_thread(gateway.store.pending_notes.take, chat.id)  # a new account starts clean
    language = languages.with_app(gateway, officer_id, app)
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
    known = {"unknown", "used", "revoked", "expired", "deactivated", "linked_elsewhere", "chat_taken"}
    return f"register_{error.reason}" if error.reason in known else "register_failed"
