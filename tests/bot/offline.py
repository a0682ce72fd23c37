"""Rendering notices without Telegram: a gateway over a test desk, and an outbox row to render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.config import load_gateway_config
from bot.gateway import Gateway
from hemu.desk import Desk
from hemu.store import NotificationRecord, OutboxStatus


def offline_gateway(desk: Desk, linked: dict[str, int] | None = None, language: str | None = None) -> Gateway:
    """A gateway with no Telegram behind it; ``linked`` officers' chats (id → chat), registered from a
    Telegram app in ``language``."""
    for officer_id, chat_id in (linked or {}).items():
        code = desk.store.officers.create_invite(officer_id, desk.now(), timedelta(days=1))
        desk.store.officers.redeem_invite(code, chat_id, desk.now(), language=language)
    return Gateway(config=load_gateway_config({}), settings=desk.settings, store=desk.store, desk=desk)


def notice(desk: Desk, recipient: str, kind: str, payload: dict[str, Any]) -> NotificationRecord:
    """A pending outbox row as the notifier would claim it."""
    now = desk.now()
    return NotificationRecord(
        id=1,
        case_id=1,
        created_at=now,
        updated_at=now,
        recipient=recipient,
        kind=kind,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        sent_at=None,
        last_error=None,
    )
