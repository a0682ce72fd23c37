"""What the officers' handlers share: the officer behind a chat, their language, replying, and
showing a case card only to someone who may act on it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest

from bot import cards, languages
from bot.gateway import Gateway
from hemu.store import CaseRecord

log = logging.getLogger(__name__)

# How long the officer's next message is taken as the resolution note after pressing "Resolve".
NOTE_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class Officer:
    """The officer behind a chat, and the language every reply to them is in (:mod:`bot.languages`)."""

    id: str
    language: str


def in_own_chat(update: Update) -> bool:
    """The officer's console works only in a private chat, pressed or written by its own person.

    In a group, the chat is not the person: authorising by the chat would let every member see and act
    on cases (and a card forwarded into a group carries its buttons). In a private chat Telegram's chat
    id is the user's id; anything else (a channel post, a group, a user id that is not the chat) is not
    an officer's console."""
    chat, user = update.effective_chat, update.effective_user
    return chat is not None and user is not None and chat.type == ChatType.PRIVATE and user.id == chat.id


async def officer_of(gateway: Gateway, update: Update) -> Officer | None:
    """The officer behind the update, or None: a private chat of its own person (:func:`in_own_chat`),
    linked and not switched off in the store, in the roster and not ``active: false`` there. One query:
    the account brings the language stored at /register with it."""
    if not in_own_chat(update):
        return None
    assert update.effective_chat is not None
    account = await asyncio.to_thread(gateway.store.officers.account_for_chat, update.effective_chat.id)
    if account is None or not gateway.settings.roster.in_service(account.officer_id):
        return None
    return Officer(account.officer_id, languages.with_app(gateway, account.officer_id, account.language))


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    assert update.effective_chat is not None
    return await update.get_bot().send_message(
        update.effective_chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def keep_copy(gateway: Gateway, case: CaseRecord, officer: Officer, message: Message) -> None:
    """A card shown in the officer's chat is recorded, so /forget can edit it (:mod:`bot.erasure`)."""
    try:
        await asyncio.to_thread(
            gateway.store.officer_messages.keep,
            case.number,
            officer.id,
            message.chat_id,
            message.message_id,
            gateway.desk.now(),
        )
    except Exception:  # noqa: BLE001 - the card is shown; only its later erasure is at risk
        log.exception("could not record card message %s for %s", message.message_id, case.number)


async def show_card(
    update: Update, gateway: Gateway, case: CaseRecord, officer: Officer, allowed: bool
) -> None:
    """The case card as a new message in the officer's chat, recorded (:func:`keep_copy`)."""
    message = await reply(update, *render_card(gateway, case, officer, allowed))
    await keep_copy(gateway, case, officer, message)


async def may_act(gateway: Gateway, case: CaseRecord, officer_id: str) -> bool:
    """:meth:`hemu.desk.Desk.may_act` reads the store: off the event loop."""
    return await asyncio.to_thread(gateway.desk.may_act, case, officer_id)


def render_card(
    gateway: Gateway, case: CaseRecord, officer: Officer, allowed: bool, header: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Card text in the officer's language, with buttons only when they may press them (``allowed``)."""
    language = officer.language
    text = cards.card_text(case, gateway.settings, gateway.desk.now(), language, header=header)
    return text, cards.card_keyboard(case, language) if allowed else None


async def edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def refresh(query: CallbackQuery, gateway: Gateway, case: CaseRecord, officer: Officer) -> None:
    """Show the case as it is now on the pressed card, if the officer may see it at all."""
    if await may_act(gateway, case, officer.id):
        await edit(query, *render_card(gateway, case, officer, allowed=True))


async def alert(query: CallbackQuery, text: str) -> None:
    await query.answer(text, show_alert=True)
