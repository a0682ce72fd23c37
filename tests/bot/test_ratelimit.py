"""The rate limiter meters messages and lets chat actions and callback answers through unqueued."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

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


@pytest.mark.parametrize(
    "error",
    [
        TimedOut(),
        NetworkError("Connection lost"),
        BadRequest("Query is too old and response timeout expired"),
    ],
)
async def test_a_press_answer_that_does_not_get_through_does_not_abort_the_handler(error: Exception) -> None:
    """`make fuzz`: an answer timing out on a loaded machine aborted the press's handler."""
    limiter = MessageRateLimiter(max_retries=0)

    async def fails(*_args: Any) -> bool:
        raise error

    await limiter.initialize()
    try:
        assert await limiter.process_request(fails, (), {}, "answerCallbackQuery", {}, None) is False
        with pytest.raises(type(error)):  # a message that does not get through is the caller's to retry
            await limiter.process_request(fails, (), {}, "sendMessage", {"chat_id": 1}, None)
        with pytest.raises(BadRequest):  # any other refusal of an answer is still an error
            await limiter.process_request(
                lambda: _raise(BadRequest("Message is too long")), (), {}, "answerCallbackQuery", {}, None
            )
    finally:
        await limiter.shutdown()


async def _raise(error: Exception) -> bool:
    raise error
