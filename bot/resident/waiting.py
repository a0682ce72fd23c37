"""A resident's message that waits for its chat's turn is screened while it waits, and danger in it is
answered now (SPEC §6: nothing waits in silence, least of all danger).

One chat's updates are handled one at a time (:mod:`bot.ordering`), so a message sent while the
resident's previous one is still with Rasa waits for that turn — up to ``rasa_timeout`` when Rasa is
busy. The update processor hands such a message here after :data:`bot.relay.TURN_SLOW`: its words are
screened by the rules and, when dangerous, the gateway sends the safety reply and pages an officer
(:func:`bot.relay.answer_danger`), and records that it did (keyed by the message,
:meth:`bot.gateway.ResidentState.answered_while_waiting`) so the message's own turn — Rasa's answer, a
command's words, a rating comment — neither repeats the reply nor pages again.

Only new messages with words: an edit is answered by the gateway in its own turn anyway, a press carries
no words. Officers' chats are the console's: their words are never a resident's.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application

from bot import danger, screening
from bot.console.common import officer_of
from bot.gateway import Gateway
from bot.relay import Message, answer_danger, rasa_metadata, source_of
from bot.resident.common import sender

log = logging.getLogger(__name__)


async def screen_waiting(application: Application, update: object) -> None:
    """The update processor's ``waiting`` hook (:class:`bot.ordering.PerChatUpdateProcessor`)."""
    if not isinstance(update, Update) or update.message is None:
        return
    who = sender(update)
    written = update.message.text or update.message.caption
    source = source_of(update)
    if who is None or not written or source is None or update.message.chat.type != ChatType.PRIVATE:
        return
    gateway: Gateway = application.bot_data["gateway"]
    words = screening.as_words(written)
    if not await danger.screen_fairly(gateway, words):
        return
    if await _officer(gateway, update):
        return
    user, chat_id = who
    user_data = application.user_data.get(user.id)
    language = danger.language_for(gateway, words, user, user_data)
    log.warning("a message of %s waits for an earlier one: danger answered meanwhile", user.id)
    message = Message(chat_id, str(user.id), words, rasa_metadata(user, chat_id, user_data), language, True)
    said = await answer_danger(application, gateway, message)
    if said:
        gateway.resident_state().answered_while_waiting(source, said)


async def _officer(gateway: Gateway, update: Update) -> bool:
    """Whether an officer wrote it; a store that cannot say counts as a resident (danger first)."""
    try:
        return await officer_of(gateway, update) is not None
    except Exception:  # noqa: BLE001 - the store away: the words are treated as a resident's
        log.exception("could not tell whether chat %s is an officer's", update.effective_chat)
        return False
