"""Builds the gateway: one PTB ``Application``, its handlers, its background loops, one error handler.

Shape follows python-telegram-bot's examples: thin handlers in their own modules, shared state created in
``post_init`` and kept in ``bot_data``, long-running loops started there and cancelled in
``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import html
import logging
from functools import partial
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import (
    console,
    danger,
    delivery,
    erasure,
    languages,
    notices,
    notifier,
    ratings,
    received,
    relay,
    resident,
    screening,
    texts,
    watcher,
)
from bot.config import GatewayConfig
from bot.gateway import Gateway, gateway_of
from bot.ordering import PerChatUpdateProcessor
from bot.ratelimit import MessageRateLimiter
from bot.resident import waiting
from hemu.bootstrap import open_desk
from hemu.settings import Settings, load_settings
from hemu.store import Store, purpose
from hemu.store.purpose import Purpose

log = logging.getLogger(__name__)

# How long shutdown waits for the background loops to end once cancelled.
SHUTDOWN_GRACE = 10.0


def all_text_keys() -> list[str]:
    return [
        *resident.TEXT_KEYS,
        *danger.TEXT_KEYS,
        *console.TEXT_KEYS,
        *notices.TEXT_KEYS,
        *ratings.TEXT_KEYS,
        *watcher.TEXT_KEYS,
        *delivery.TEXT_KEYS,
        *erasure.TEXT_KEYS,
    ]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log it with the update's ids and tell the person, never fail in silence.
    Ids only: the update itself holds what the person wrote, their name and maybe a phone number."""
    log.error("error while handling %s", describe_update(update), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        gateway = gateway_of(context)
        language = languages.resident(gateway, update.effective_user, context.user_data)
        emergency = danger.emergency_number(gateway)
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                html.escape(texts.text("internal_error", language, emergency=emergency)),
                parse_mode=ParseMode.HTML,
            )
        except Exception:  # noqa: BLE001 - the error handler must not raise
            log.exception("could not tell chat %s about the error", update.effective_chat.id)


def describe_update(update: object) -> str:
    """``update 12 (callback_query) in chat 7001 from 7001``: enough to find it, nothing anyone wrote."""
    if not isinstance(update, Update):
        return f"a {type(update).__name__}"
    kind = next((name for name in Update.ALL_TYPES if getattr(update, name, None) is not None), "unknown")
    chat = update.effective_chat.id if update.effective_chat else "-"
    user = update.effective_user.id if update.effective_user else "-"
    return f"update {update.update_id} ({kind}) in chat {chat} from {user}"


def check_configuration(settings: Settings | None = None) -> Settings:
    """Everything the gateway needs from files, checked without touching the network or the store: the
    settings, every text it uses, and the danger rules it screens with (:mod:`bot.screening`)."""
    settings = settings or load_settings()
    texts.check_keys(["internal_error", *all_text_keys()])
    screening.check()
    return settings


def webhook_options(config: GatewayConfig) -> dict[str, Any]:
    """How the gateway listens for Telegram's pushes, for ``run_webhook`` and ``Updater.start_webhook`` alike,
    so ``python -m bot`` and the tests cannot drift apart.

    PTB checks X-Telegram-Bot-Api-Secret-Token on every request and answers 403 when it is wrong.
    """
    return {
        "listen": config.webhook_listen,
        "port": config.webhook_port,
        "url_path": config.webhook_path,
        "webhook_url": config.webhook_url,
        "secret_token": config.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def build_application(
    config: GatewayConfig, store: Store | None = None, settings: Settings | None = None
) -> Application:
    """The gateway, ready for ``run_polling``/``run_webhook`` or manual ``initialize``/``start`` in tests."""
    settings = check_configuration(settings)
    desk = open_desk(settings, store, migrate=False)
    store = desk.store
    gateway = Gateway(config=config, settings=settings, store=store, desk=desk)

    async def post_init(application: Application) -> None:
        store.migrate()
        if config.api_url is None:  # real Telegram: never the sandbox's play database (hemu.store.purpose)
            await asyncio.to_thread(purpose.claim, store.engine, Purpose.STATION, "the case store")
        application.bot_data["gateway"] = gateway
        await updates.hand_back(application.bot)
        await resident.on_start(application, gateway)
        await console.on_start(application, gateway)
        gateway.tasks += [
            asyncio.create_task(notifier.run(application, gateway), name="notifier"),
            asyncio.create_task(watcher.run(application, gateway), name="watcher"),
            *resident.background_tasks(application, gateway),
        ]

    async def post_stop(application: Application) -> None:
        # The bot can still send here (post_shutdown comes after its client closed): let the sends in
        # flight finish and hand back the rest of the notifier's claim for the next gateway.
        running = next((task for task in gateway.tasks if task.get_name() == "notifier"), None)
        await notifier.stop(gateway, running)

    async def post_shutdown(application: Application) -> None:
        for task in gateway.tasks:
            task.cancel()
        # Bounded: a task that ignores its cancel is logged, and the gateway still shuts down.
        if gateway.tasks:
            _, stuck = await asyncio.wait(gateway.tasks, timeout=SHUTDOWN_GRACE)
            for task in stuck:
                log.error("%s did not stop within %ss of its cancel", task.get_name(), SHUTDOWN_GRACE)
        await resident.on_stop(application, gateway)

    # Journalled before Telegram hears they arrived, cleared once handled (bot/received.py).
    updates = received.JournallingQueue(store, desk.now)

    processor = PerChatUpdateProcessor(finished=received.finished(store), wait=relay.TURN_SLOW)
    timeouts = config.telegram
    builder = (
        ApplicationBuilder()
        .token(config.token)
        # Explicit, never PTB's defaults (bot/config.py TelegramTimeouts says why these values).
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .write_timeout(timeouts.write)
        .pool_timeout(timeouts.pool)
        .get_updates_connect_timeout(timeouts.connect)
        .get_updates_read_timeout(timeouts.read)
        .get_updates_write_timeout(timeouts.write)
        .get_updates_pool_timeout(timeouts.pool)
        .rate_limiter(MessageRateLimiter(max_retries=0))
        .update_queue(updates)
        .concurrent_updates(processor)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if config.base_url:
        builder = builder.base_url(config.base_url).base_file_url(config.base_file_url)
    application = builder.build()
    application.bot_data["gateway"] = gateway
    # Danger in a message waiting behind the resident's earlier one is answered while it waits.
    processor.waiting = partial(waiting.screen_waiting, application)
    # Order matters: officer chats and pending rating comments are claimed before the resident relay.
    console.register(application)
    ratings.register(application)
    resident.register(application)
    application.add_error_handler(on_error)
    return application
