"""The officers' side of the bot: /register (:mod:`.registration`), /cases, /case, /stats and the
resolution note (:mod:`.commands`) and the buttons on case cards (:mod:`.buttons`).

Runs in handler group -2, before the rating and resident handlers, and claims every update from a chat
linked to an officer (``ApplicationHandlerStop``) so an officer's words never reach Rasa as if a resident
had written them. Every change goes through :class:`hemu.desk.Desk`, which checks who may do what; the
gateway checks the same rules first only to answer a refused press with a clear alert and to leave the
card untouched. A button carries the case version, so a press on an old card is refused instead of acting
on a case that moved on in the meantime.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, TypeHandler

from bot import callbacks, cards
from bot.callbacks import Prefix
from bot.console.buttons import on_button
from bot.console.commands import on_update
from bot.console.registration import on_register
from bot.gateway import Gateway

log = logging.getLogger(__name__)

GROUP = -2

TEXT_KEYS: tuple[str, ...] = (
    *cards.TEXT_KEYS,
    "register_usage",
    "register_done",
    "register_too_many",
    "register_unknown",
    "register_used",
    "register_expired",
    "register_deactivated",
    "register_chat_taken",
    "register_revoked",
    "register_linked_elsewhere",
    "register_private",
    "register_failed",
    "officer_help",
    "officer_only",
    "officer_private_only",
    "cases_none",
    "cases_mine",
    "cases_all",
    "case_usage",
    "case_not_found",
    "case_not_yours",
    "refused_forged",
    "refused_stale",
    "refused_not_allowed",
    "refused_invalid",
    "refused_unknown_officer",
    "refused_no_candidate",
    "already_done",
    "done_ack",
    "done_contact",
    "done_resolve",
    "done_handover",
    "handover_choose",
    "resolve_ask_note",
    "resolve_cancelled",
    "nothing_to_cancel",
    "stats_title",
    "stats_bad_period",
)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("register", on_register), group=GROUP)
    application.add_handler(
        CallbackQueryHandler(on_button, pattern=callbacks.pattern(Prefix.OFFICER)), group=GROUP
    )
    application.add_handler(TypeHandler(Update, on_update), group=GROUP)


async def on_start(application: Application, gateway: Gateway) -> None:
    """Only says how many officers can be reached: a gateway with none linked delivers no case cards."""
    accounts = await asyncio.to_thread(gateway.store.officers.accounts)
    linked = [a.officer_id for a in accounts if a.active and a.telegram_chat_id is not None]
    log.info("officers linked to Telegram: %s", ", ".join(linked) or "none (use /register with an invite)")
