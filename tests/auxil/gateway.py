"""The real gateway (PTB ``Application``) in the test's event loop, against the local Bot API server.

Only Telegram's cloud is replaced: the gateway polls ``sandbox.server.LocalBotApi`` on 127.0.0.1 exactly as it
would poll api.telegram.org, with a temporary SQLite case store. Rasa is whatever URL the test gives (a real
server in end-to-end tests, an aiohttp stand-in in the gateway's own tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bot.app import build_application, webhook_options
from bot.config import load_gateway_config
from bot.gateway import Gateway
from hemu.settings import load_settings
from hemu.store import Store
from sandbox.client import AsyncControlClient
from sandbox.server import LocalBotApi


@dataclass
class RunningGateway:
    application: Application
    api: LocalBotApi
    control: AsyncControlClient
    store: Store

    @property
    def gateway(self) -> Gateway:
        return self.application.bot_data["gateway"]


@asynccontextmanager
async def running_gateway(
    tmp_path: Path,
    rasa_url: str = "http://127.0.0.1:9",
    actions_url: str | None = None,
    env: dict[str, str] | None = None,
    store: Store | None = None,
    api: LocalBotApi | None = None,
) -> AsyncIterator[RunningGateway]:
    """Starts API server (unless given), store and gateway; stops them in reverse order."""
    own_api = api is None
    api = api or LocalBotApi()
    if own_api:
        await api.start()
    store = store or Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    config = load_gateway_config(
        {
            "HEMU_BOT_API_URL": api.url,
            "HEMU_RASA_URL": rasa_url,
            "HEMU_ACTIONS_URL": actions_url or rasa_url,
            "HEMU_NOTIFY_INTERVAL": "0.1",
            "HEMU_WATCH_INTERVAL": "0.2",
            "HEMU_REPLAY_INTERVAL": "0.2",
            "HEMU_PER_CHAT_PACE": "0",
            "HEMU_RASA_TIMEOUT": "10",
            **(env or {}),
        }
    )
    application = build_application(config, store=store, settings=load_settings())
    await application.initialize()
    # post_init runs only inside run_polling/run_webhook; a manually started application calls it itself.
    if application.post_init:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    if config.webhook_url:
        # As `python -m bot` does with HEMU_WEBHOOK_URL: Telegram (here the local server) pushes updates.
        await application.updater.start_webhook(**webhook_options(config))
    else:
        await application.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
    control = AsyncControlClient(api.url)
    try:
        yield RunningGateway(application=application, api=api, control=control, store=store)
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        if application.post_shutdown:
            await application.post_shutdown(application)
        await application.shutdown()
        if own_api:
            await api.stop()
