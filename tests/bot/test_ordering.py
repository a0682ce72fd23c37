"""One chat's updates are handled in order; different chats do not wait for each other."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update

from bot.ordering import PerChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat, text="hi"))  # type: ignore[arg-type]


async def test_same_chat_in_order_other_chats_concurrently() -> None:
    processor = PerChatUpdateProcessor(16)
    log: list[str] = []
    release_first = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        log.append(f"start {name}")
        if wait:
            await wait.wait()
        log.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(update(1, 10), handle("a1", release_first)))
    second = asyncio.create_task(processor.process_update(update(2, 10), handle("a2")))
    other = asyncio.create_task(processor.process_update(update(3, 20), handle("b1")))
    await asyncio.wait_for(other, 2)
    assert "end b1" in log  # chat 20 was not held up by chat 10's slow update
    assert "start a2" not in log  # chat 10's second update waits for its first
    release_first.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert log.index("end a1") < log.index("start a2")
    assert not processor._locks  # idle chats are forgotten
