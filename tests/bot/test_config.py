"""Gateway settings from the environment: offline defaults, and clear refusals of bad values."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_LOCAL_API, TelegramTimeouts, load_gateway_config
from hemu.errors import ConfigError


def test_without_a_token_the_gateway_uses_the_local_bot_api_server() -> None:
    config = load_gateway_config({})
    assert config.api_url == DEFAULT_LOCAL_API
    assert config.base_url == f"{DEFAULT_LOCAL_API}/bot"
    assert config.rasa_url == "http://127.0.0.1:5005"
    assert config.actions_url == "http://127.0.0.1:5055"
    assert config.webhook_url is None


def test_a_real_token_talks_to_telegram_unless_an_api_url_is_given() -> None:
    config = load_gateway_config({"TELEGRAM_BOT_TOKEN": "123:abc"})
    assert config.token == "123:abc" and config.base_url is None
    local = load_gateway_config({"TELEGRAM_BOT_TOKEN": "123:abc", "HEMU_BOT_API_URL": "http://127.0.0.1:9/"})
    assert local.base_url == "http://127.0.0.1:9/bot"


def test_ports_follow_the_make_run_variables() -> None:
    config = load_gateway_config({"HEMU_RASA_PORT": "6005", "HEMU_ACTIONS_PORT": "6055"})
    assert config.rasa_url.endswith(":6005") and config.actions_url.endswith(":6055")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"HEMU_WEBHOOK_URL": "https://example.invalid/hook"}, "HEMU_WEBHOOK_SECRET"),
        ({"HEMU_WEBHOOK_SECRET": "has spaces"}, "HEMU_WEBHOOK_SECRET"),
        ({"HEMU_NOTIFY_INTERVAL": "soon"}, "HEMU_NOTIFY_INTERVAL"),
        ({"HEMU_WATCH_INTERVAL": "0"}, "HEMU_WATCH_INTERVAL"),
        ({"HEMU_WEBHOOK_PORT": "70000"}, "HEMU_WEBHOOK_PORT"),
        ({"HEMU_TELEGRAM_READ_TIMEOUT": "600"}, "HEMU_TELEGRAM_READ_TIMEOUT"),
        ({"HEMU_TELEGRAM_CONNECT_TIMEOUT": "0"}, "HEMU_TELEGRAM_CONNECT_TIMEOUT"),
        ({"HEMU_TELEGRAM_POLL_TIMEOUT": "a minute"}, "HEMU_TELEGRAM_POLL_TIMEOUT"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_gateway_config(env)


def test_telegram_timeouts_have_defaults_that_leave_an_urgent_page_time_to_retry() -> None:
    timeouts = load_gateway_config({}).telegram
    assert timeouts == TelegramTimeouts(connect=5.0, read=10.0, write=10.0, pool=5.0, poll=10.0)
    # One stuck attempt costs well under a minute of a 15-minute promise.
    assert timeouts.connect + timeouts.write + timeouts.read <= 30
    changed = load_gateway_config({"HEMU_TELEGRAM_POOL_TIMEOUT": "2", "HEMU_TELEGRAM_POLL_TIMEOUT": "0"})
    assert (changed.telegram.pool, changed.telegram.poll) == (2.0, 0.0)
