"""A resident's words to Rasa and Rasa's answers back, or — when Rasa cannot take them now — kept in the
case store and answered later, with the emergency number at once (SPEC §6: nothing waits in silence).

Shared by the resident handlers (:mod:`bot.resident`) and the replay of kept messages
(:mod:`bot.replay`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from telegram import Update, User
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application

from bot import danger, languages, screening, texts
from bot import replies as rendering
from bot.danger import emergency_number
from bot.gateway import Gateway, ResidentState
from bot.ordering import acquire_or_meanwhile
from bot.rasa_client import RasaError, RasaUnavailable
from bot.sending import send
from hemu.clock import now
from hemu.language import client_language

log = logging.getLogger(__name__)

TYPING_EVERY = 4.0  # Telegram shows "typing…" for about 5 s per chat action
# Set on a kept message the gateway found dangerous and paged on arrival: the urgent case's number.
PAGED_MARK = "hemu_urgent_case"
# The Telegram message a turn comes from (:func:`source_of`), in Rasa's metadata for the actions.
SOURCE_KEY = "hemu_source"
# Rasa taking longer than this over a message: the resident is told (danger answered) while it goes on.
SLOW_AFTER = 4.0
# The store taking longer than this to journal a message (locked by another writer): danger in it is
# answered and paged now, not after the lock (make chaos: 110 came 40 s late with SQLite locked).
JOURNAL_SLOW = 1.0
# A message waiting longer than this for its resident's turn (an earlier message of theirs still with
# Rasa or the replay): danger in it is answered and paged now (make chaos: 110 came 31 s late behind a
# replay waiting for a locked store). The update processor waits as long (bot.ordering).
TURN_SLOW = 1.0
# Why a journalled message is pending, at the start of its last_error: Rasa certainly never saw it
# (replayed at once), or it may have (the request went out and timed out or failed: the replay first
# looks in Rasa's tracker for it).
NOT_SENT = "not sent: "
UNSURE = "maybe seen: "


def rasa_metadata(user: User, chat_id: int, user_data: dict[str, Any] | None) -> dict[str, Any]:
    """What Rasa's ``action_track_context`` reads: the client's language and who is writing."""
    metadata: dict[str, Any] = {}
    language = languages.chosen(user_data) or client_language(user.language_code)
    if language:
        metadata["language"] = language
    metadata["telegram_user_id"] = user.id
    metadata["telegram_chat_id"] = chat_id
    return metadata


def say(key: str, language: str, **values: Any) -> str:
    return rendering.escape(texts.text(key, language, **values))


# -- sending ------------------------------------------------------------------------------------------


async def send_replies(
    application: Application,
    state: ResidentState,
    chat_id: int,
    replies: list[dict[str, Any]],
    language: str,
    skip: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Rasa's replies as Telegram messages; ``skip``: texts the gateway already sent for this message
    (its own safety reply while Rasa was slow or the store away), not shown twice."""
    outgoing = rendering.render(replies, state.keys)
    if not outgoing:
        outgoing = [rendering.Outgoing(text=say("empty_reply", language))]
    for message in outgoing:
        if message.text in skip and message.reply_markup is None:
            continue
        await send(application, chat_id, message.text, message.reply_markup)


@asynccontextmanager
async def typing(application: Application, chat_id: int) -> AsyncIterator[None]:
    """Shows "typing…" while Rasa thinks, renewed every few seconds for slow turns.

    The first chat action is started before Rasa is asked and never cancelled half-way, so even a fast
    turn shows it; the renewals stop with the turn.
    """
    state = application.bot_data["gateway"].resident_state()

    async def once() -> None:
        try:
            await application.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            log.debug("typing action for chat %s failed: %s", chat_id, error)

    first = asyncio.ensure_future(once())
    state.background.add(first)
    first.add_done_callback(state.background.discard)

    async def renew() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await asyncio.shield(once())

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


# -- the relay ----------------------------------------------------------------------------------------


def source_of(update: object) -> str | None:
    """The Telegram message (or button press) an update carries, as the inbound journal's key: Telegram
    delivering the same update again after a gateway crash is then relayed once. It also travels to
    Rasa (``hemu_source`` metadata) so the actions change a case once per message."""
    if not isinstance(update, Update):
        return None
    if update.callback_query is not None:
        return f"q:{update.callback_query.id}"[:64]
    message = update.effective_message
    if message is not None and update.effective_chat is not None:
        return f"m:{update.effective_chat.id}:{message.message_id}"
    return None


async def relay_words(
    application: Application,
    gateway: Gateway,
    user: User,
    chat_id: int,
    written: str,
    user_data: dict[str, Any] | None,
    source: str | None = None,
) -> None:
    """What a resident wrote (a message, a caption, an unknown "/command") to Rasa as their words."""
    words = screening.as_words(written)
    if not words.strip():  # "/" alone: nothing to read
        language = languages.resident(gateway, user, user_data)
        await send(application, chat_id, say("empty_reply", language))
        return
    await relay(application, gateway, user, chat_id, words, user_data, words=True, source=source)


async def relay(
    application: Application,
    gateway: Gateway,
    user: User,
    chat_id: int,
    text: str,
    user_data: dict[str, Any] | None,
    *,
    words: bool = False,
    source: str | None = None,
) -> None:
    """One resident message to Rasa, and its answer back — journalled first (:mod:`hemu.store.inbound`).

    ``text`` is a payload of the gateway's own (a command's, a button's) or, with ``words``, what the
    resident wrote, already through :func:`bot.screening.as_words` (use :func:`relay_words`). Rasa screens
    the words it takes; words it cannot take now are screened here before they are kept (:func:`_keep`).

    The message is in the journal before Rasa sees it and leaves it only once the answer is sent, so a
    gateway killed at any moment loses nothing: the replay loop finds it. Rasa's answer is journalled
    before it is sent: after a crash it is sent again, Rasa is not asked twice.

    While the resident has messages waiting from an outage, this one waits behind them: answering it first
    would let Rasa see "yes" before the question it answers.
    """
    state = gateway.resident_state()
    sender = str(user.id)
    if words:
        language = danger.language_for(gateway, text, user, user_data)
    else:
        language = languages.resident(gateway, user, user_data)
    metadata = rasa_metadata(user, chat_id, user_data)
    if source:
        metadata[SOURCE_KEY] = source
    message = Message(chat_id, sender, text, metadata, language, words)
    inbound = gateway.store.inbound
    async with _turn_of(application, gateway, message, state.take_answered(source)) as said:
        # Journalled as this gateway's for a lease: another gateway's replay leaves it alone meanwhile.
        journal = partial(inbound.add, owner=state.owner, lease_until=now() + gateway.lease)
        add = asyncio.ensure_future(
            asyncio.to_thread(journal, sender, chat_id, text, metadata, now(), source)
        )
        await asyncio.wait({add}, timeout=JOURNAL_SLOW)
        if not add.done() and words and not said:  # the store is slow (locked): danger does not wait
            log.warning("journal slow: screening a message from %s before it is kept", sender)
            said = await answer_danger(application, gateway, message)
        try:
            kept = await add
        except Exception:  # noqa: BLE001 - the store itself is away (locked, unreachable)
            log.exception("could not journal a message from %s: relaying it without the journal", sender)
            await _relay_unjournalled(application, gateway, message, said)
            return
        if kept is None:
            log.info("update %s from %s was relayed before: not again", source, sender)
            return
        if await asyncio.to_thread(inbound.waiting_before, sender, kept):
            await _keep(application, gateway, kept, replace(message, words=words and not said), NOT_SENT)
            return
        turn = asyncio.ensure_future(state.client.turn(sender, text, metadata))
        try:
            async with typing(application, chat_id):
                await asyncio.wait({turn}, timeout=SLOW_AFTER)
                if not turn.done() and not said:
                    said = await _while_slow(application, gateway, message)
                answers = await turn
        except RasaUnavailable as error:
            log.warning("keeping a message from %s for later: %s", sender, error)
            why = f"{NOT_SENT if not error.reached else UNSURE}{error}"[:500]
            await asyncio.to_thread(inbound.mark_attempt, kept, now(), why)
            state.failed_turn(kept, error.timed_out)
            if not error.reached:  # Rasa never had it: any gateway's replay may take it at once
                await asyncio.to_thread(inbound.release, kept)
            screen = words and not said  # danger already answered while Rasa was slow: not twice
            await _keep(application, gateway, kept, replace(message, words=screen), None)
            return
        except RasaError:
            # Rasa refused the turn (the error handler apologises); the words still get screened.
            await asyncio.to_thread(inbound.drop, kept, now(), "Rasa refused it")
            if words and not said:
                await _screen(application, gateway, message)
            raise
        finally:
            if not turn.done():  # the handler was cancelled (shutdown): the journal keeps the message
                turn.cancel()
        await asyncio.to_thread(inbound.answer, kept, answers)
        await send_replies(application, state, chat_id, answers, language, skip=said)
        await asyncio.to_thread(inbound.mark_delivered, kept, now())


@asynccontextmanager
async def _turn_of(
    application: Application, gateway: Gateway, message: Message, said: set[str]
) -> AsyncIterator[set[str]]:
    """The resident's turn (one message of theirs at a time reaches Rasa), yielding the texts already
    sent for this message (``said``: danger answered while it waited in the update processor).

    The turn can be held for many seconds by an earlier message — the replay waiting for a locked store, a
    slow Rasa turn. Danger does not wait for it: after ``TURN_SLOW`` the words are screened and danger
    answered and paged; then the message waits its turn as before, and Rasa's answer does not repeat the
    safety reply (the desk keeps one urgent case per resident)."""
    lock = gateway.resident_state().lock(message.sender)

    async def meanwhile() -> None:
        nonlocal said
        if message.words and not said and await danger.screen_fairly(gateway, message.text):
            log.warning("an earlier message of %s holds the turn: danger answered meanwhile", message.sender)
            said = await answer_danger(application, gateway, message)

    await acquire_or_meanwhile(lock, TURN_SLOW, meanwhile)
    try:
        yield said
    finally:
        lock.release()


@dataclass(frozen=True)
class Message:
    """One resident message on its way to Rasa, as the slow, unjournalled and kept paths all need it.
    ``words``: what the resident wrote (screened for danger), not a payload of the gateway's own."""

    chat_id: int
    sender: str
    text: str
    metadata: dict[str, Any]
    language: str
    words: bool


async def _while_slow(application: Application, gateway: Gateway, message: Message) -> set[str]:
    """Rasa has not answered within ``SLOW_AFTER``: nobody waits in silence. Danger in the words gets the
    gateway's safety reply and page now; anything else a word that the answer is coming. Returns the
    texts sent, so Rasa's answer does not repeat them."""
    said = await answer_danger(application, gateway, message) if message.words else set()
    if said:
        return said
    slow = say("assistant_slow", message.language, emergency=emergency_number(gateway))
    await send(application, message.chat_id, slow)
    return set()


async def answer_danger(application: Application, gateway: Gateway, message: Message) -> set[str]:
    """The gateway's own safety reply and page for danger in ``text``; the safety text sent (so Rasa's
    later answer does not repeat it), or nothing when the rules find no danger."""
    answered = await _screen(application, gateway, message)
    if answered is None:
        return set()
    return {danger.safety_reply(gateway.settings.station, answered.risks, message.language, message.text)}


async def _screen(application: Application, gateway: Gateway, message: Message) -> danger.Answered | None:
    return await danger.answer_if_dangerous(
        application, gateway, message.sender, message.chat_id, message.text, message.language
    )


async def _relay_unjournalled(
    application: Application, gateway: Gateway, message: Message, said: set[str]
) -> None:
    """The store cannot take the message: it still reaches Rasa now, and danger in it is answered and
    paged by the gateway (unless ``said`` already holds that answer), which keeps trying to open the
    urgent case until the store is back (:func:`bot.danger.answer_if_dangerous`). Only if Rasa fails too
    is the resident asked to send it again — with the emergency number; nothing could keep it."""
    state = gateway.resident_state()
    if message.words and not said:
        said = await answer_danger(application, gateway, message)
    try:
        async with typing(application, message.chat_id):
            answers = await state.client.turn(message.sender, message.text, message.metadata)
    except (RasaUnavailable, RasaError) as error:
        log.warning("Rasa could not take an unjournalled message from %s either: %s", message.sender, error)
        sorry = say("internal_error", message.language, emergency=emergency_number(gateway))
        await send(application, message.chat_id, sorry)
        return
    await send_replies(application, state, message.chat_id, answers, message.language, skip=said)


async def _keep(
    application: Application, gateway: Gateway, kept: int, message: Message, behind: str | None
) -> None:
    """Leaves a journalled message for the replay loop and tells the resident so, with the emergency
    number.

    A resident's words are screened first: danger must not wait for Rasa, so it gets the safety reply and
    an urgent page now (:mod:`bot.danger`), and the kept row is marked with that case (:data:`PAGED_MARK`)
    for :func:`bot.replay.replay_sender`. ``behind``: kept only because earlier messages are still
    waiting (the reason recorded: Rasa never saw it).
    """
    state = gateway.resident_state()
    if message.words:
        answered = await _screen(application, gateway, message)
        if answered is not None and answered.case_number:
            metadata = {**message.metadata, PAGED_MARK: answered.case_number}
            await asyncio.to_thread(gateway.store.inbound.note, kept, metadata, None)
    if behind:
        # Released in the same write: whichever gateway replays the earlier ones takes this one with them.
        why = f"{behind}behind earlier messages"
        await asyncio.to_thread(gateway.store.inbound.note, kept, None, why, True)
    emergency = emergency_number(gateway)
    if behind:
        await send(application, message.chat_id, say("queued_behind", message.language, emergency=emergency))
        state.wake.set()
        return
    state.told_unavailable.add(message.sender)
    await send(
        application, message.chat_id, say("assistant_unavailable", message.language, emergency=emergency)
    )
