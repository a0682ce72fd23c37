"""Telegram's flood limits are about messages; the rate limiter should spend its budget on them only.

PTB's ``AIORateLimiter`` counts every request that names a chat, "typing…" included. A resident turn is
one chat action and one message (plus a renewed action on slow turns), so at ten turns a second the
chat actions alone ate half of the 30-per-second budget, and the limiter's queue — not Rasa — decided
who waited: some residents waited twice as long as others. Chat actions and callback answers are
not messages; they go straight through (a refused one only costs a missing "typing…").

Every request passes here, so so does one more rule about callback answers: Telegram refuses to answer
a press after a while ("query is too old"). A press a killed gateway had fetched but not handled is
handled by the next one (:mod:`bot.received`), seconds later; refusing its answer used to abort the
handler, and the press was lost after all. The answer only stops the button's spinner (or shows a short
alert): a refused one is logged and the handler goes on. The same for an answer Telegram does not take in
time (``TimedOut``, a dropped connection): `make fuzz` saw one time out on a loaded machine and abort
the handler of a press.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

UNMETERED = frozenset({"sendChatAction", "answerCallbackQuery"})


class MessageRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "answerCallbackQuery":
            try:
                return await callback(*args, **kwargs)
            except BadRequest as error:
                if "query is too old" not in error.message.lower():
                    raise
                log.info("a press answered too late (%s); handling it all the same", error.message)
                return False
            except NetworkError as error:  # TimedOut included; BadRequest, a subclass, is caught above
                log.warning("a press's answer did not get through (%r); handling it all the same", error)
                return False
        if endpoint in UNMETERED:
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
