"""Every Bot API call the gateway makes gives up in time (issue 13): a page to an officer stuck on a dead
connection would otherwise wait for ever, and the urgent promise with it. Servers here take the
connection and never answer, or never take it, on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path

import pytest
from telegram.error import TimedOut
from telegram.ext import Application

from bot.app import build_application
from bot.config import load_gateway_config
from hemu.settings import load_settings
from hemu.store import Store
from tests.auxil.silent import HOST, full_server, silent_server


@asynccontextmanager
async def gateway_against(
    server: Callable[[], AbstractContextManager[int]], tmp_path: Path, env: dict[str, str]
) -> AsyncIterator[Application]:
    """The gateway's application (not started) with its Bot API URL pointing at ``server``."""
    with server() as port, Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}") as store:
        config = load_gateway_config({"HEMU_BOT_API_URL": f"http://{HOST}:{port}", **env})
        application = build_application(config, store=store, settings=load_settings())
        try:
            yield application
        finally:
            await application.bot.shutdown()


async def elapsed_until_timed_out(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await call()  # type: ignore[misc]
    return time.monotonic() - started


async def test_a_bot_api_that_never_answers_times_out_at_the_read_timeout(tmp_path: Path) -> None:
    env = {"HEMU_TELEGRAM_READ_TIMEOUT": "0.5"}
    async with gateway_against(silent_server, tmp_path, env) as application:
        # initialize() asks getMe; PTB's own default would wait 5 s.
        assert await elapsed_until_timed_out(application.bot.initialize) < 3
        assert await elapsed_until_timed_out(lambda: application.bot.send_message(1, "x")) < 3


async def test_a_long_poll_that_never_returns_times_out_after_the_poll_and_the_read_timeout(
    tmp_path: Path,
) -> None:
    env = {"HEMU_TELEGRAM_READ_TIMEOUT": "0.5", "HEMU_TELEGRAM_POLL_TIMEOUT": "1"}
    async with gateway_against(silent_server, tmp_path, env) as application:
        took = await elapsed_until_timed_out(lambda: application.bot.get_updates(timeout=1))
        # getUpdates' own read timeout (0.5 s) on top of the long poll (1 s); PTB's default 5 s + 1 s.
        assert 1.0 <= took < 4


async def test_a_bot_api_that_takes_no_connection_times_out_at_the_connect_timeout(tmp_path: Path) -> None:
    env = {"HEMU_TELEGRAM_CONNECT_TIMEOUT": "0.5", "HEMU_TELEGRAM_READ_TIMEOUT": "30"}
    async with gateway_against(full_server, tmp_path, env) as application:
        assert await elapsed_until_timed_out(lambda: application.bot.send_message(1, "x")) < 3
        assert await elapsed_until_timed_out(lambda: application.bot.get_updates(timeout=0)) < 3
