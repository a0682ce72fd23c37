"""The gateway's settings, from the environment (12-factor: the same code runs offline and in production).

Everything has a default that works with ``make run`` on one machine; a wrong value stops the gateway at
start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlparse

from hemu.environment import number
from hemu.errors import ConfigError

DEFAULT_LOCAL_API = "http://127.0.0.1:8081"


@dataclass(frozen=True)
class TelegramTimeouts:
    """How long one Bot API call may take, per phase, in seconds.

    PTB's defaults (5 s, pool 1 s) are kept close, made explicit so they cannot drift with a PTB upgrade.
    What sets them is the urgent promise: an officer's page must arrive within minutes of 15, so a call
    stuck on a dead connection has to fail in seconds and leave the notifier time to retry (it backs off
    and tries again; a call that never returns would hold the page for ever). With the defaults one
    attempt gives up after at most connect + write + read = 25 s; each is capped at 60 s so no setting
    can spend the promise on waiting.
    """

    connect: float = 5.0
    read: float = 10.0  # Telegram answers sendMessage in well under a second, or with 429 at once
    write: float = 10.0
    pool: float = 5.0  # waiting for a free connection while many sends run at once
    # getUpdates is held open by Telegram this long when nothing happens; its read timeout is
    # ``read`` on top of it (PTB adds them), so a dropped long poll is noticed within 20 s.
    poll: float = 10.0


# Variable → (field, lowest, highest) in seconds; the defaults are TelegramTimeouts' own.
TELEGRAM_TIMEOUT_ENV = {
    "HEMU_TELEGRAM_CONNECT_TIMEOUT": ("connect", 0.5, 60),
    "HEMU_TELEGRAM_READ_TIMEOUT": ("read", 0.5, 60),
    "HEMU_TELEGRAM_WRITE_TIMEOUT": ("write", 0.5, 60),
    "HEMU_TELEGRAM_POOL_TIMEOUT": ("pool", 0.1, 60),
    "HEMU_TELEGRAM_POLL_TIMEOUT": ("poll", 0, 50),
}


@dataclass(frozen=True)
class GatewayConfig:
    # Telegram. Without a real token the gateway talks to the local Bot API server (sandbox, tests).
    token: str
    api_url: str | None  # e.g. http://127.0.0.1:8081 → requests go to {api_url}/bot<token>/<method>
    # Rasa's REST channel and the action server's health URL (the gateway checks both before a turn);
    # several Rasa workers (bot/rasa_pool.py): worker i calls action server i mod len(actions_urls).
    rasa_urls: tuple[str, ...]
    actions_urls: tuple[str, ...]
    # Webhook mode (off: long polling). Telegram must reach webhook_url; the gateway listens on listen:port.
    webhook_url: str | None
    webhook_secret: str | None
    webhook_listen: str
    webhook_port: int
    # Background loops, in seconds.
    notify_interval: float
    watch_interval: float
    replay_interval: float
    # Seconds between two messages to one chat (Telegram allows about one per second per chat).
    per_chat_pace: float
    rasa_timeout: float
    telegram: TelegramTimeouts = field(default_factory=TelegramTimeouts)
    # Rasa's HTTP API token (rasa_addons.serve): the gateway reads conversations (/forget, the replay's
    # look in the tracker) and Rasa's status with it. None: Rasa runs without one (not with make run).
    rasa_token: str | None = field(default=None, repr=False)
    # This gateway among several on one database (the kept messages it works on are its own for a
    # while): stable across restarts, so a restarted gateway takes its own back at once.
    gateway_id: str = "gateway"

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def actions_url(self) -> str:
        return self.actions_urls[0]

    @property
    def webhook_path(self) -> str:
        """The path the gateway listens on: the one in the public webhook URL (a proxy forwards it as is)."""
        return urlparse(self.webhook_url or "").path.strip("/")

    @property
    def base_url(self) -> str | None:
        return f"{self.api_url.rstrip('/')}/bot" if self.api_url else None

    @property
    def base_file_url(self) -> str | None:
        return f"{self.api_url.rstrip('/')}/file/bot" if self.api_url else None


def telegram_timeouts(env: Mapping[str, str]) -> TelegramTimeouts:
    defaults = TelegramTimeouts()
    return TelegramTimeouts(
        **{
            name: number(env, variable, getattr(defaults, name), low, high)
            for variable, (name, low, high) in TELEGRAM_TIMEOUT_ENV.items()
        }
    )


def gateway_id(env: Mapping[str, str], webhook_url: str | None) -> str:
    """``HEMU_GATEWAY_ID``, else this machine and the way updates arrive: only one gateway can poll a
    bot, so several on one machine are webhook gateways on different ports."""
    chosen = env.get("HEMU_GATEWAY_ID", "").strip()
    if not chosen:
        how = f"webhook{env.get('HEMU_WEBHOOK_PORT', '8443')}" if webhook_url else "polling"
        chosen = f"{socket.gethostname()}:{how}"
    return chosen[-32:]


def url_list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """One URL, or several separated by commas (one per Rasa worker or action server)."""
    urls = tuple(url.strip().rstrip("/") for url in (env.get(name) or default).split(",") if url.strip())
    for url in urls:
        if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
            raise ConfigError(f"environment: {name}: {url!r} is not an http(s) URL")
    if not urls:
        raise ConfigError(f"environment: {name}: no URL given")
    return urls


def load_gateway_config(env: Mapping[str, str] | None = None) -> GatewayConfig:
    env = os.environ if env is None else env
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    api_url = env.get("HEMU_BOT_API_URL", "").strip() or None
    if not token:
        # Offline: the local Bot API server accepts any well-formed token.
        token = env.get("HEMU_LOCAL_BOT_TOKEN", "123456789:HEMU-LOCAL-SANDBOX-TOKEN")
        api_url = api_url or DEFAULT_LOCAL_API
    if ":" not in token:
        raise ConfigError("environment: TELEGRAM_BOT_TOKEN: not a bot token (expected 123456:ABC…)")
    webhook_url = env.get("HEMU_WEBHOOK_URL", "").strip() or None
    secret = env.get("HEMU_WEBHOOK_SECRET", "").strip() or None
    if webhook_url and urlparse(webhook_url).scheme not in ("http", "https"):
        raise ConfigError(f"environment: HEMU_WEBHOOK_URL: {webhook_url!r} is not an http(s) URL")
    if webhook_url and not secret:
        raise ConfigError("environment: HEMU_WEBHOOK_SECRET: required with HEMU_WEBHOOK_URL")
    if secret and not all(c.isalnum() or c in "_-" for c in secret):
        raise ConfigError("environment: HEMU_WEBHOOK_SECRET: only A-Z, a-z, 0-9, _ and - are allowed")
    rasa_port = env.get("HEMU_RASA_PORT", "5005")
    actions_port = env.get("HEMU_ACTIONS_PORT", "5055")
    return GatewayConfig(
        token=token,
        api_url=api_url,
        rasa_urls=url_list(env, "HEMU_RASA_URL", f"http://127.0.0.1:{rasa_port}"),
        actions_urls=url_list(env, "HEMU_ACTIONS_URL", f"http://127.0.0.1:{actions_port}"),
        webhook_url=webhook_url,
        webhook_secret=secret,
        webhook_listen=env.get("HEMU_WEBHOOK_LISTEN", "127.0.0.1"),
        webhook_port=int(number(env, "HEMU_WEBHOOK_PORT", 8443, 1, 65535)),
        notify_interval=number(env, "HEMU_NOTIFY_INTERVAL", 0.25, 0.05, 60),
        watch_interval=number(env, "HEMU_WATCH_INTERVAL", 30.0, 0.1, 600),
        replay_interval=number(env, "HEMU_REPLAY_INTERVAL", 5.0, 0.1, 600),
        per_chat_pace=number(env, "HEMU_PER_CHAT_PACE", 1.0, 0, 10),
        rasa_timeout=number(env, "HEMU_RASA_TIMEOUT", 60.0, 1, 600),
        rasa_token=env.get("HEMU_RASA_TOKEN", "").strip() or None,
        gateway_id=gateway_id(env, webhook_url),
        telegram=telegram_timeouts(env),
    )
