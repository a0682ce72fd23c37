"""The resident's answers to a resolved case: the 1–5 rating, an optional comment, and the follow-up a
week after closing ("has it come back?").

Runs in handler group -1, after the officers' console and before the resident relay. Only updates it
actually consumes (a rating button, a follow-up button, the one comment it asked for) stop there; every
other message goes on to Rasa untouched. The comment window lives in ``user_data`` and lasts
:data:`COMMENT_WINDOW`: after that the resident's next message is a new conversation, not a comment.

A comment never reaches Rasa, so it is screened here (SPEC §6: no channel lets danger past): "he came
back last night with a knife" is kept as the comment *and* answered by :mod:`bot.danger` — the safety
reply and an urgent case paged to an officer on duty.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import callbacks, cards, danger, languages, notices, notifier, texts
from bot.callbacks import Prefix
from bot.gateway import Gateway, gateway_of
from bot.relay import source_of
from hemu.desk import CaseRefused
from hemu.store import CaseRecord
from hemu.when import describe_due

log = logging.getLogger(__name__)

GROUP = -1
PENDING_COMMENT = "hemu_rating_comment"
COMMENT_WINDOW = timedelta(minutes=30)

TEXT_KEYS: tuple[str, ...] = (
    "rating_thanks",
    "rating_reopened",
    "rating_closed",
    "rating_ask_comment",
    "button_skip",
    "rating_comment_thanks",
    "rating_skipped",
    "rating_already",
    "rating_refused",
    "follow_up_fine",
    "follow_up_back",
    "follow_up_refused",
)


def register(application: Application) -> None:
    application.add_handler(
        CallbackQueryHandler(on_rate, pattern=callbacks.pattern(Prefix.RATE)), group=GROUP
    )
    application.add_handler(
        CallbackQueryHandler(on_follow_up, pattern=callbacks.pattern(Prefix.FOLLOW_UP)), group=GROUP
    )
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text
        ),
        group=GROUP,
    )


async def _language_of_case(gateway: Gateway, number: str | None, update: Update) -> str:
    """The case's language when there is a case to read it from; the Telegram app's otherwise."""
    if number:
        try:
            case = await asyncio.to_thread(gateway.store.get, number)
        except ValueError:
            case = None
        if case is not None and case.language in ("zh", "en"):
            return case.language
    return languages.telegram_app(update)


def _promise_values(gateway: Gateway, case: CaseRecord) -> dict[str, str]:
    language = languages.of_case(case, gateway.officer_language)
    promise = describe_due(
        case.promise_due_at, gateway.desk.now(), gateway.settings.station.station.tz, language
    )
    return {
        "number": cards.escape(case.number),
        "promise": cards.escape(promise),
        **notices.officer_values(gateway, case.officer_id, language),
    }


async def _drop_buttons(query: CallbackQuery) -> None:
    """A pressed choice is spent: take its buttons away so it cannot be pressed again by mistake."""
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        log.debug("buttons not removed: %s", error)


async def on_rate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.from_user is not None
    gateway = gateway_of(context)
    parsed = callbacks.parse_rating(query.data)
    if parsed is None:
        await query.answer()
        raise ApplicationHandlerStop
    verb, number, rating = parsed
    if verb == "skip":
        await _skip(query, context, gateway, number, update)
        raise ApplicationHandlerStop
    resident_id = str(query.from_user.id)
    try:
        result = await asyncio.to_thread(gateway.desk.rate, resident_id, number, rating)
    except CaseRefused as refused:
        language = await _language_of_case(gateway, number, update)
        key = "rating_already" if refused.reason == "already_rated" else "rating_refused"
        shown = cards.escape(refused.number or number)
        await query.answer(texts.text(key, language, number=shown), show_alert=key != "rating_already")
        await _drop_buttons(query)
        raise ApplicationHandlerStop from None
    except (LookupError, ValueError) as error:
        log.info("rating %r by %s refused: %s", query.data, resident_id, error)
        language = await _language_of_case(gateway, number, update)
        await query.answer(
            texts.text("rating_refused", language, number=cards.escape(number)), show_alert=True
        )
        raise ApplicationHandlerStop from None
    notifier.wake(gateway)
    case: CaseRecord = result.case
    language = languages.of_case(case, languages.telegram_app(update))
    values = _promise_values(gateway, case)
    parts = [texts.text("rating_thanks", language, number=values["number"], rating=rating)]
    if result.reopened:
        parts.append(texts.text("rating_reopened", language, **values))
    else:
        parts.append(texts.text("rating_closed", language, number=values["number"]))
    parts.append(texts.text("rating_ask_comment", language))
    skip = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.text("button_skip", language),
                    callback_data=callbacks.skip_rating(case.number),
                )
            ]
        ]
    )
    await query.answer()
    await _drop_buttons(query)
    assert query.message is not None
    sent = await context.bot.send_message(
        query.message.chat.id, "\n\n".join(parts), parse_mode=ParseMode.HTML, reply_markup=skip
    )
    context.user_data[PENDING_COMMENT] = {
        "number": case.number,
        "until": gateway.desk.now() + COMMENT_WINDOW,
        "chat_id": sent.chat_id,
        "message_id": sent.message_id,
        "language": language,
    }
    raise ApplicationHandlerStop


async def _skip(
    query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, gateway: Gateway, number: str, update: Update
) -> None:
    pending = context.user_data.get(PENDING_COMMENT)
    if pending and pending["number"] == number:
        context.user_data.pop(PENDING_COMMENT, None)
    language = pending["language"] if pending else await _language_of_case(gateway, number, update)
    await query.answer(texts.text("rating_skipped", language))
    await _drop_buttons(query)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The comment the rating asked for; anything else (or too late) passes on to the conversation.

    A kept comment is screened: a dangerous one gets the safety reply and an urgent case instead of the
    thanks (what the resident must read now is what to do and who is coming). A comment that cannot be
    kept goes on to Rasa, which screens it itself.
    """
    pending = context.user_data.get(PENDING_COMMENT) if context.user_data is not None else None
    message = update.effective_message
    user = update.effective_user
    if not pending or message is None or not message.text or user is None:
        return
    gateway = gateway_of(context)
    until: datetime = pending["until"]
    if gateway.desk.now() > until:
        context.user_data.pop(PENDING_COMMENT, None)
        return
    context.user_data.pop(PENDING_COMMENT, None)
    resident_id = str(user.id)
    try:
        await asyncio.to_thread(gateway.desk.add_rating_comment, resident_id, pending["number"], message.text)
    except (CaseRefused, LookupError, ValueError) as error:
        log.info("rating comment on %s not kept: %s", pending["number"], error)
        return  # not a comment after all: let the conversation have it
    notifier.wake(gateway)
    try:
        await context.bot.edit_message_reply_markup(
            pending["chat_id"], pending["message_id"], reply_markup=None
        )
    except BadRequest as error:
        log.debug("skip button not removed: %s", error)
    language = danger.language_for(
        gateway, message.text, user, context.user_data, previous=pending["language"]
    )
    # Danger in it may have been answered while the comment waited for its turn (bot.resident.waiting).
    early = gateway.resident_state().take_answered(source_of(update))
    answered = (
        None
        if early
        else await danger.answer_if_dangerous(
            context.application, gateway, resident_id, message.chat_id, message.text, language
        )
    )
    if answered is None and not early:
        await message.reply_text(
            cards.escape(texts.text("rating_comment_thanks", pending["language"])), parse_mode=ParseMode.HTML
        )
    raise ApplicationHandlerStop


async def on_follow_up(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``fu:<number>:back|fine`` from the week-after message."""
    query = update.callback_query
    assert query is not None and query.from_user is not None
    gateway = gateway_of(context)
    pressed = callbacks.parse_follow_up(query.data)
    if pressed is None:
        await query.answer()
        raise ApplicationHandlerStop
    number, came_back = pressed
    try:
        case = await asyncio.to_thread(
            gateway.desk.follow_up_answer, str(query.from_user.id), number, came_back
        )
    except (CaseRefused, LookupError, ValueError) as error:
        log.info("follow-up answer %r refused: %s", query.data, error)
        language = await _language_of_case(gateway, number, update)
        await query.answer(
            texts.text("follow_up_refused", language, number=cards.escape(number)), show_alert=True
        )
        await _drop_buttons(query)
        raise ApplicationHandlerStop from None
    notifier.wake(gateway)
    language = languages.of_case(case, languages.telegram_app(update))
    if came_back:
        text = texts.text("follow_up_back", language, **_promise_values(gateway, case))
    else:
        text = cards.escape(texts.text("follow_up_fine", language))
    await query.answer()
    await _drop_buttons(query)
    assert query.message is not None
    await context.bot.send_message(query.message.chat.id, text, parse_mode=ParseMode.HTML)
    raise ApplicationHandlerStop
