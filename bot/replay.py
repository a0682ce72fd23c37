"""Messages kept while Rasa was away (:mod:`bot.relay`), handed to Rasa in order once it is back."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError
from telegram.ext import Application

from bot import loops
from bot.danger import emergency_number
from bot.gateway import Gateway
from bot.rasa_client import RasaError, RasaUnavailable
from bot.relay import PAGED_MARK, RESET_MARK, say, send_replies, typing
from bot.sending import send
from hemu.clock import now

log = logging.getLogger(__name__)


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
    interval = gateway.config.replay_interval

    async def round_() -> float:
        count = await replay_once(application, gateway)
        if count:
            log.info("replayed %d kept resident message(s)", count)
        return interval

    await loops.forever("replay", round_, interval, gateway.resident_state().wake)
