"""Messages kept while Rasa was away (:mod:`bot.relay`), handed to Rasa in order once it is back."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest
from telegram.ext import Application

from bot import loops
from bot.danger import emergency_number
from bot.gateway import Gateway
from bot.rasa_client import GRACE, IN_FLIGHT, RasaError, RasaUnavailable
from bot.rasa_pool import RasaPool
from bot.relay import NOT_SENT, PAGED_MARK, SOURCE_KEY, UNSURE, say, send_replies, typing
from bot.sending import send
from hemu.clock import now
from hemu.store import InboundRecord
from hemu.store.inbound import DEAD_LETTER
from hemu.store.records import RESET_MARK

# After a gateway restart, for a message the dead one had in flight (its request was cut off).
RESTART_GRACE = timedelta(seconds=20)

log = logging.getLogger(__name__)


async def replay_once(application: Application, gateway: Gateway) -> int:
    """Delivers kept messages, oldest first per resident, once both servers are up; returns how many.

    A resident's messages go strictly in order (the first failure stops that resident until next time);
    different residents are replayed side by side. Rasa's answer is journalled before it is sent, so a
    Telegram hiccup or a crash never makes Rasa see a message twice (the answer itself may be sent again).
    """
    store = gateway.store
    pending = await asyncio.to_thread(store.inbound.pending, 100)
    if not pending:
        return 0
    state = gateway.resident_state()
    if not await state.client.healthy():
        return 0
    senders = list(dict.fromkeys(record.sender for record in pending))
    # As many residents at once as Rasa's workers can take (and a few in hand): a gateway claims a
    # resident as it starts on them, so with several gateways the others take the rest meanwhile.
    at_once = asyncio.Semaphore(2 * IN_FLIGHT * len(state.client.clients))

    async def one(sender: str) -> int:
        async with at_once:
            return await replay_sender(application, gateway, sender)

    return sum(await asyncio.gather(*(one(sender) for sender in senders)))


async def replay_sender(application: Application, gateway: Gateway, sender: str) -> int:
    """One resident's kept messages, in order, under their lock.

    A message that may already have reached Rasa (its request timed out, or a gateway died with it in
    flight) is looked up in Rasa's tracker first: found, its answer is taken from there; not found, it
    is sent again only once Rasa cannot still be working on it (:func:`_too_soon`) — so a
    replay never makes Rasa take a message twice. A message Rasa keeps failing on while both servers
    answer is set aside as a dead letter after ``delivery.inbound_max_failures`` tries, the resident
    told, so it cannot block their later messages for ever.

    Another gateway working on this resident's messages (several on one database) owns them for a lease
    (``InboundQueue.claim_sender``): this one leaves them alone until that gateway is done or gone.

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
        claimed_until = None
        for record in records:
            # Several gateways on one database: this resident's messages go to Rasa from one of them,
            # in order. Renewed once half the lease is gone, so a long queue never outlives it (and a
            # flood of kept messages costs a write per half lease, not one per message).
            if claimed_until is None or now() >= claimed_until - gateway.lease / 2:
                claim = store.inbound.claim_sender
                if not await asyncio.to_thread(claim, sender, state.owner, now(), gateway.lease):
                    break
                claimed_until = now() + gateway.lease
            metadata = dict(record.metadata or {})
            language = metadata.get("language") or gateway.settings.station.station.default_language
            paged = metadata.get(PAGED_MARK)
            if paged and not await asyncio.to_thread(_still_active, gateway, str(paged)):
                why = f"paged as {paged} on arrival; that case has moved on"
                await asyncio.to_thread(store.inbound.drop, record.id, now(), why)
                continue
            if _hopeless(gateway, record) and await state.client.healthy(fresh=True):
                await _dead_letter(application, gateway, record, language)
                continue
            try:
                if metadata.get(RESET_MARK):
                    await state.client.reset(sender)
                    await asyncio.to_thread(store.inbound.mark_delivered, record.id, now())
                    delivered += 1
                    continue
                answers = await _answers(application, gateway, record, metadata)
            except RasaUnavailable as error:
                why = f"{UNSURE if error.reached else NOT_SENT}{error}"[:500]
                await asyncio.to_thread(store.inbound.mark_attempt, record.id, now(), why)
                state.failed_turn(record.id, error.timed_out)
                break
            except RasaError as error:
                # Rasa will never take this one; say so instead of retrying it forever.
                log.error("Rasa refused a kept message %s from %s: %s", record.id, sender, error)
                await asyncio.to_thread(store.inbound.drop, record.id, now(), f"Rasa refused it: {error}")
                emergency = emergency_number(gateway)
                await send(application, record.chat_id, say("internal_error", language, emergency=emergency))
                continue
            if answers is None:
                break  # Rasa may still be working on it: the next round looks again
            if sender in state.told_unavailable:
                state.told_unavailable.discard(sender)
                await send(application, record.chat_id, say("back_online", language))
            try:
                await send_replies(application, state, record.chat_id, answers, language)
            except BadRequest as error:  # Telegram refuses the text itself: sending again cannot help
                log.error("the answer to kept message %s was refused: %s", record.id, error)
            await asyncio.to_thread(store.inbound.mark_delivered, record.id, now())
            state.tried.pop(record.id, None)
            delivered += 1
    return delivered


async def _answers(
    application: Application, gateway: Gateway, record: InboundRecord, metadata: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Rasa's answer to a kept message: kept already, found in its tracker, or asked for now; None when
    it may still be inside Rasa (ask again later). Journalled before it is returned for sending."""
    state = gateway.resident_state()
    if record.answers is not None:
        return record.answers
    answers = None
    if not (record.last_error or "").startswith(NOT_SENT):
        answers = answers_in(await _events(state.client, record.sender), record.source)
        if answers is None and _too_soon(gateway, record):
            return None
    if answers is None:
        async with typing(application, record.chat_id):
            answers = await state.client.turn(record.sender, record.text, metadata)
    await asyncio.to_thread(gateway.store.inbound.answer, record.id, answers)
    return answers


async def _events(client: RasaPool, sender: str) -> list[dict[str, Any]]:
    """The conversation's events, or none when Rasa will not show them (its API off or behind a token):
    the message is then sent again after the grace, as if Rasa never had it."""
    try:
        return await client.events(sender)
    except RasaError as error:
        log.warning("cannot read %s's conversation in Rasa (%s): replaying after the grace", sender, error)
        return []


def answers_in(events: list[dict[str, Any]], source: str | None) -> list[dict[str, Any]] | None:
    """The replies Rasa gave to the message ``source`` (as the REST channel sends them), from the
    conversation's events; None when Rasa never stored that message."""
    if not source:
        return None
    found: list[dict[str, Any]] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if found is not None:
                break
            if (event.get("metadata") or {}).get(SOURCE_KEY) == source:
                found = []
        elif kind == "bot" and found is not None:
            data = event.get("data") or {}
            reply = {key: value for key, value in data.items() if value}
            if event.get("text"):
                reply["text"] = event["text"]
            if reply:
                found.append(reply)
    return found


def _hopeless(gateway: Gateway, record: InboundRecord) -> bool:
    """Failed often enough, for long enough, to be the message's fault rather than a passing outage."""
    rule = gateway.settings.policy.delivery
    waited = (now() - record.created_at).total_seconds() / 60
    return record.attempts >= rule.inbound_max_failures and waited >= rule.inbound_dead_after_minutes


def _too_soon(gateway: Gateway, record: InboundRecord) -> bool:
    """Rasa may still be inside a turn for this message.

    Tried by this gateway and timed out less than ``GRACE`` ago: Rasa may go on with the turn for as
    long as it holds the conversation's lock. Cut off (the connection dropped, Rasa died) or journalled
    by a gateway that died with it in flight: a turn Rasa still finished is in its tracker within
    ``RESTART_GRACE``.
    """
    state = gateway.resident_state()
    tried = state.tried.get(record.id)
    if tried is not None:
        failed_at, timed_out = tried
        grace = GRACE if timed_out else RESTART_GRACE
        return time.monotonic() - failed_at < grace.total_seconds()
    return now() - max(record.created_at, state.started_at) < RESTART_GRACE


async def _dead_letter(
    application: Application, gateway: Gateway, record: InboundRecord, language: str
) -> None:
    log.error("message %s from %s set aside after %s failed tries", record.id, record.sender, record.attempts)
    why = f"{DEAD_LETTER}{record.attempts} tries failed; last: {record.last_error}"[:500]
    await asyncio.to_thread(gateway.store.inbound.drop, record.id, now(), why)
    emergency = emergency_number(gateway)
    await send(application, record.chat_id, say("inbound_dead_letter", language, emergency=emergency))


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
