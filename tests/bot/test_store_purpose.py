"""A gateway on real Telegram refuses the sandbox's play database before it answers anyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import load_gateway_config
from hemu.settings import load_settings
from hemu.store import Store, purpose
from hemu.store.purpose import Purpose, WrongDatabase


def _store(tmp_path: Path, mark: Purpose | None) -> Store:
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    if mark is not None:
        purpose.claim(store.engine, mark, "the case store")
    return store


async def test_real_telegram_refuses_the_sandboxs_database(tmp_path: Path) -> None:
    # A real token and no local Bot API URL: the gateway would talk to api.telegram.org. post_init is
    # called by hand (run_polling would first ask Telegram who the bot is), and stops at the store.
    config = load_gateway_config({"TELEGRAM_BOT_TOKEN": "123456:NOT-A-REAL-TOKEN"})
    assert config.api_url is None
    application = build_application(config, store=_store(tmp_path, Purpose.SANDBOX), settings=load_settings())
    assert application.post_init is not None
    with pytest.raises(WrongDatabase, match="sandbox's play cases"):
        await application.post_init(application)
