"""Several Rasa workers behind one gateway: each resident's turns go to one worker, and a worker that does
not answer is passed over.

Rasa scales out as several servers sharing one tracker store (PostgreSQL) and one lock store (Redis), so any
worker can continue any conversation (SPEC §8). The gateway still prefers one worker per resident
(rendezvous hashing on the conversation id): the resident's turns do not queue on the lock store behind
each other on two workers, and when a worker leaves or comes back only its own residents move — everyone
else keeps their worker.

A worker whose request never reached it (refused, not answering, its action server down: what
:class:`RasaUnavailable` reports with ``reached=False``) is passed over for the next one in the resident's
order; its client remembers "down" for a couple of seconds (``RasaClient.health_ttl``), so a burst of
messages does not knock on a dead worker each time, and it is back in the rotation as soon as its health
check answers again. A turn that *may* have reached a worker (timed out, connection dropped mid-turn) is
not sent anywhere else: the gateway keeps the message, and the replay asks the shared tracker whether Rasa
already has it before sending it again (bot/replay.py) — sending it to a second worker at once could make
the resident's report twice.

With one worker this is exactly :class:`RasaClient`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from bot.rasa_client import RasaClient, RasaUnavailable

T = TypeVar("T")


def _score(sender: str, worker: str) -> bytes:
    return hashlib.blake2b(f"{worker}\0{sender}".encode(), digest_size=8).digest()


class RasaPool:
    """``turn``, ``events``, ``reset``, ``healthy`` as on :class:`RasaClient`, over several workers."""

    def __init__(self, clients: Sequence[RasaClient]) -> None:
        if not clients:
            raise ValueError("a pool needs at least one Rasa worker")
        self.clients = list(clients)

    @classmethod
    def from_urls(cls, rasa_urls: Sequence[str], actions_urls: Sequence[str], **options: Any) -> RasaPool:
        """Worker i is Rasa ``rasa_urls[i]`` with the action server it calls, ``actions_urls[i % M]``
        (how `make run WORKERS=N` pairs them: scripts/stack.py)."""
        return cls(
            [
                RasaClient(url, actions_urls[index % len(actions_urls)], **options)
                for index, url in enumerate(rasa_urls)
            ]
        )

    def order(self, sender: str) -> list[RasaClient]:
        """The workers in this resident's order of preference: their own first, then the fallbacks;
        workers last seen down go to the end (tried only if every other one fails too)."""
        ranked = sorted(self.clients, key=lambda client: _score(sender, client.rasa_url), reverse=True)
        return [client for client in ranked if client.known_health is not False] + [
            client for client in ranked if client.known_health is False
        ]

    async def _first_that_answers(self, sender: str, call: Callable[[RasaClient], Awaitable[T]]) -> T:
        failure: RasaUnavailable | None = None
        for client in self.order(sender):
            try:
                return await call(client)
            except RasaUnavailable as error:
                if error.reached:  # it may be working on it: never a second worker at once
                    raise
                failure = error
        assert failure is not None
        raise failure

    async def turn(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._first_that_answers(sender, lambda client: client.turn(sender, message, metadata))

    async def events(self, sender: str) -> list[dict[str, Any]]:
        return await self._first_that_answers(sender, lambda client: client.events(sender))

    async def reset(self, sender: str) -> None:
        await self._first_that_answers(sender, lambda client: client.reset(sender))

    async def healthy(self, fresh: bool = False) -> bool:
        """At least one worker (Rasa and its action server) answers: messages can be taken."""
        for client in self.clients:
            if await client.healthy(fresh=fresh):
                return True
        return False

    def forget_health(self) -> None:
        for client in self.clients:
            client.forget_health()

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
