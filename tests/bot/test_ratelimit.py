"""The rate limiter meters messages and lets chat actions and callback answers through unqueued."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.ratelimit import MessageRateLimiter


async def test_chat_actions_skip_the_queue_while_messages_wait() -> None:
    limiter = MessageRateLimiter(overall_max_rate=1, overall_time_period=1, max_retries=0)
    done: list[str] = []

    async def call(name: str) -> dict[str, Any]:
        done.append(name)
        return {"ok": True}

    async def request(endpoint: str, name: str) -> None:
        await limiter.process_request(call, (name,), {}, endpoint, {"chat_id": 1}, None)

    await limiter.initialize()
    try:
        messages = [asyncio.create_task(request("sendMessage", f"message {i}")) for i in range(3)]
        await asyncio.sleep(0.05)
        await asyncio.wait_for(request("sendChatAction", "typing"), 0.5)
        await asyncio.wait_for(request("answerCallbackQuery", "answer"), 0.5)
        assert "typing" in done and "answer" in done
        assert sum(name.startswith("message") for name in done) < 3  # messages are still metered
        await asyncio.wait_for(asyncio.gather(*messages), 5)
    finally:
        await limiter.shutdown()
