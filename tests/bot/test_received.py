"""Telegram updates are journalled before Telegram hears they arrived (bot/received.py): a gateway killed
between acknowledging a resident's message and handling it no longer loses it — the next gateway handles
it. Through the real gateway against the local Bot API server, with the scripted Rasa stand-in."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot import received
from bot.received import JournallingQueue
from hemu.store import Store
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import running_gateway
from tests.bot.conftest import wait_until

RESIDENT = 1001
NOW = datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)


def message_update(update_id: int, words: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": "en"},
            "chat": {"id": RESIDENT, "type": "private", "first_name": "R"},
            "date": 1,
            "text": words,
        },
    }


def migrated(tmp_path: Path) -> Store:
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    return store


async def test_an_update_the_last_gateway_acknowledged_but_never_handled_is_handled_now(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa
) -> None:
    """What a gateway killed right after getUpdates leaves behind: Telegram will not send it again (the
    offset moved on), only the journal has it. Before the journal it was lost (2 in 100 kill trials)."""
    store = migrated(tmp_path)
    store.received.keep(41, RESIDENT, message_update(41, "the neighbours drill at night"), NOW)
    async with running_gateway(tmp_path, rasa_url=rasa.url, store=store) as gw:
        gw.api._user_chat(RESIDENT)  # type: ignore[attr-defined] - the resident's chat exists
        said = await gw.control.wait_for(RESIDENT, 1, timeout=15)
        assert [m["text"] for m in said] == ["echo: the neighbours drill at night"]
        await wait_until(lambda: store.received.count() == 0)
    assert rasa.texts() == ["the neighbours drill at night"]


async def test_a_message_is_journalled_before_it_is_handled_and_cleared_after(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa
) -> None:
    seen_while_handling: list[int] = []
    store = migrated(tmp_path)

    def script(body: dict[str, Any]) -> list[dict[str, Any]]:
        seen_while_handling.append(store.received.count())
        return [{"recipient_id": body["sender"], "text": "noted"}]

    rasa.script = script
    async with running_gateway(tmp_path, rasa_url=rasa.url, store=store) as gw:
        await gw.control.send_text(RESIDENT, "hello", language_code="en")
        await gw.control.wait_for(RESIDENT, 1, timeout=15)
        await wait_until(lambda: store.received.count() == 0)
    assert seen_while_handling == [1]


async def test_an_update_sent_again_while_it_is_being_handled_is_queued_once(tmp_path: Path) -> None:
    store = migrated(tmp_path)
    queue = JournallingQueue(store, lambda: NOW)
    update = Update.de_json(message_update(9, "hi"), None)
    await queue.put(update)
    await queue.put(Update.de_json(message_update(9, "hi"), None))  # Telegram's second copy
    await queue.put(object())  # PTB's stop signal is not an update: queued, never journalled
    assert queue.qsize() == 2 and store.received.count() == 1


async def test_when_the_store_cannot_journal_the_update_is_still_handled(tmp_path: Path) -> None:
    """Availability over the journal: a resident in danger must not wait for a locked database."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")  # no tables: every write fails
    queue = JournallingQueue(store, lambda: NOW)
    await queue.put(Update.de_json(message_update(3, "help"), None))
    assert queue.qsize() == 1


async def test_a_press_left_over_by_a_killed_gateway_is_handled_though_its_answer_is_too_late(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa
) -> None:
    """Found by make chaos: Telegram refuses to answer a press that old, the refusal aborted the handler
    and the resident was asked to send it again — the press lost after all."""
    store = migrated(tmp_path)
    press = {
        "update_id": 51,
        "callback_query": {
            "id": "9999",
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": "en"},
            "chat_instance": "1",
            "data": "r:/request_officer",
            "message": {
                "message_id": 12,
                "from": {"id": 123456789, "is_bot": True, "first_name": "Hemu"},
                "chat": {"id": RESIDENT, "type": "private", "first_name": "R"},
                "date": 1,
                "text": "Would you like a community officer to follow it up?",
            },
        },
    }
    store.received.keep(51, RESIDENT, press, NOW)
    async with running_gateway(tmp_path, rasa_url=rasa.url, store=store) as gw:
        gw.api._user_chat(RESIDENT)  # type: ignore[attr-defined] - the resident's chat exists
        said = await gw.control.wait_for(RESIDENT, 1, timeout=15)
        assert [m["text"] for m in said] == ["echo: /request_officer"]
        await wait_until(lambda: store.received.count() == 0)
    assert rasa.texts() == ["/request_officer"]


async def test_a_slow_journal_does_not_hold_the_update_and_its_late_entry_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make chaos: with the store locked 40 s, a danger message waited the whole lock for its journal
    entry (110 came 40 s late)."""
    monkeypatch.setattr(received, "JOURNAL_WAIT", 0.2)
    store = migrated(tmp_path)
    unlocked = threading.Event()
    keep = store.received.keep

    def locked_keep(*args: Any) -> bool:
        unlocked.wait(30)
        return keep(*args)

    monkeypatch.setattr(store.received, "keep", locked_keep)
    queue = JournallingQueue(store, lambda: NOW)
    await asyncio.wait_for(queue.put(Update.de_json(message_update(7, "he has a knife"), None)), 5)
    await asyncio.wait_for(queue.put(Update.de_json(message_update(8, "help"), None)), 1)  # no wait now
    assert queue.qsize() == 2  # handed on, not waiting for the store
    unlocked.set()
    for _ in range(200):
        if not queue._late:  # noqa: SLF001 - the late writes have finished
            break
        await asyncio.sleep(0.05)
    assert store.received.count() == 0  # written late, deleted at once: not handled again after a restart
