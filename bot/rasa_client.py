"""The gateway's HTTP client for Rasa's REST channel and the action server.

One pooled ``httpx.AsyncClient`` for the whole gateway: a hundred residents writing at once must not open
a hundred fresh TCP connections per second, nor wait for each other behind a small pool.

Rasa answers a turn even when the action server is down — with the replies of the steps before the failing
action and nothing after (the resident's report is silently dropped half-way). So once a request has failed
(or before the first), and whenever a turn comes back empty, the client asks both servers whether they are
up (cached for a couple of seconds so a burst of messages costs one check) and reports
:class:`RasaUnavailable` instead; the gateway then keeps the message for later. While the servers answer,
the turn itself is the check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 100  # one per resident in the largest burst we plan for
# Turns in flight inside Rasa at once. Rasa works one message at a time on its CPU, so more in flight adds
# no throughput; it only shares the CPU among them, and a burst of 100 then finishes all together, late.
# Waiting here instead (first come, first served) keeps each resident's wait close to their place in line.
IN_FLIGHT = 4
# Rasa's lock on a conversation lasts this long: a turn that was still running has ended by then (the
# replay's wait before sending a timed-out message again, and the lease a gateway holds on a message).
GRACE = timedelta(seconds=60)
# Failures that prove the request never reached Rasa.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RasaUnavailable(Exception):
    """Rasa or the action server cannot take a turn now (down, timing out, 5xx): try again later.

    ``reached``: the message may have reached Rasa, which may still be working on it (the request went
    out and timed out or the connection dropped) — before it is sent again, Rasa's tracker must be asked
    whether it already has it. False when Rasa certainly did not take it, or finished it unusably.
    """

    def __init__(self, message: str, reached: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.reached = reached
        # Rasa may still be running the turn (only a timeout leaves it running; a dropped connection
        # or a 5xx means the turn ended, or Rasa did).
        self.timed_out = timed_out


class RasaError(Exception):
    """Rasa refused the request for a reason retrying will not fix (4xx, malformed answer)."""


class RasaClient:
    """``turn`` (one resident message, guarded by ``healthy``), ``reset`` a conversation (``/forget``)."""

    def __init__(
        self,
        rasa_url: str,
        actions_url: str,
        timeout: float = 60.0,
        health_timeout: float = 3.0,
        health_ttl: float = 2.0,
        max_connections: int = MAX_CONNECTIONS,
        in_flight: int = IN_FLIGHT,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        # Rasa's API token, for its API (status, trackers); the REST channel's webhook needs none.
        self._api = {"token": token} if token else {}
        self.actions_url = actions_url.rstrip("/")
        self.health_timeout = health_timeout
        self.health_ttl = health_ttl
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            trust_env=False,  # never route residents' words through a proxy from the environment
        )
        self._turns = asyncio.Semaphore(in_flight)
        self._health: bool | None = None
        self._reported = True
        self._health_at = 0.0
        self._health_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- health -------------------------------------------------------------------------------------

    @property
    def known_health(self) -> bool | None:
        """The last health check's answer while it is fresh (``health_ttl``); None: ask again before use.

        A pool of workers (bot/rasa_pool.py) passes over one known to be down, and tries it again once
        this has expired, so a worker that comes back is back in the rotation within seconds."""
        if self._health is None or time.monotonic() - self._health_at > self.health_ttl:
            return None
        return self._health

    def forget_health(self) -> None:
        """A failed request proves more than a cached "healthy": check again next time."""
        self._health = None

    async def healthy(self, fresh: bool = False) -> bool:
        """Both Rasa (model loaded) and the action server answer; cached for ``health_ttl`` seconds."""
        if not fresh and (known := self.known_health) is not None:
            return known
        asked = time.monotonic()
        async with self._health_lock:
            # Whoever held the lock may have just checked: one check per burst, not one per message.
            if self._health is not None and self._health_at >= asked:
                return self._health
            rasa, actions = await asyncio.gather(self._rasa_up(), self._actions_up())
            healthy = rasa and actions
            if healthy != self._reported:  # log changes, not every check of a long outage
                if healthy:
                    log.info("Rasa and the action server answer again")
                else:
                    state = f"Rasa {'up' if rasa else 'DOWN'}, action server {'up' if actions else 'DOWN'}"
                    log.warning("%s: resident messages are kept until both answer", state)
                self._reported = healthy
            self._health = healthy
            self._health_at = time.monotonic()
            return healthy

    async def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response | None:
        try:
            return await self._http.get(url, params=params, timeout=self.health_timeout)
        except httpx.HTTPError as error:
            log.debug("health check %s failed: %r", url, error)
            return None

    async def _rasa_up(self) -> bool:
        # /status answers 200 only once a model is loaded (409 while loading); it exists only with
        # --enable-api, and may need a token: then the bare "Hello from Rasa" root is the best we have.
        response = await self._get(f"{self.rasa_url}/status", self._api)
        if response is None:
            return False
        if response.status_code in (401, 403, 404, 405):
            response = await self._get(f"{self.rasa_url}/")
            return response is not None and response.status_code == 200
        return response.status_code == 200

    async def _actions_up(self) -> bool:
        response = await self._get(f"{self.actions_url}/health")
        return response is not None and response.status_code == 200

    # -- turns --------------------------------------------------------------------------------------

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Rasa's replies to one message; raises :class:`RasaUnavailable` or :class:`RasaError`."""
        body = {"sender": sender, "message": message, "metadata": metadata}
        async with self._turns:
            response = await self._request("POST", f"{self.rasa_url}/webhooks/rest/webhook", json=body)
        try:
            replies = response.json()
        except ValueError as error:
            raise RasaError(
                f"Rasa answered with something that is not JSON: {response.text[:200]!r}"
            ) from error
        if not isinstance(replies, list):
            raise RasaError(f"Rasa answered {type(replies).__name__}, expected a list of replies")
        return [reply for reply in replies if isinstance(reply, dict)]

    async def turn(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """``send`` guarded by the health check.

        An empty answer while the action server has just gone away means an action failed half-way: that
        is an outage, not Rasa choosing silence, so it is reported as one and the message is kept.
        """
        # While things work, the turn itself is the health check: under load Rasa answers /status only
        # after the queued turns, so checking first would make every resident wait behind everyone.
        # Only when the last word was "down" (or nothing is known yet) is it asked first.
        if self._health is not True and not await self.healthy():
            raise RasaUnavailable("Rasa or the action server is not answering")
        replies = await self.send(sender, message, metadata)
        if not replies and not await self.healthy(fresh=True):
            # Rasa finished the turn without the action's part: the message must be taken again.
            raise RasaUnavailable("the action server went away during the turn")
        return replies

    async def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's stored events (the replay looks for a message Rasa may already have)."""
        url = f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker"
        response = await self._request(
            "GET", url, params={"include_events": "ALL", **self._api}, timeout=self.health_timeout * 5
        )
        try:
            events = response.json().get("events") or []
        except (ValueError, AttributeError) as error:
            raise RasaError(f"Rasa's tracker is not JSON: {response.text[:200]!r}") from error
        return [event for event in events if isinstance(event, dict)]

    async def reset(self, sender: str) -> None:
        """Replaces the conversation's stored events with a single restart: the history is gone.

        ``PUT .../tracker/events`` overwrites the tracker (``POST`` would only append a restart and keep
        everything said before it in Rasa's tracker store).
        """
        url = f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker/events"
        await self._request("PUT", url, params=self._api, json=[{"event": "restart"}])

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:  # connect refused, timeouts, dropped connections
            self.forget_health()
            # Refused or never connected: Rasa has not seen it. Anything later: it may have.
            reached = not isinstance(error, NOT_SENT_ERRORS)
            timed_out = isinstance(error, httpx.TimeoutException) and reached
            raise RasaUnavailable(
                f"{method} {url}: {error!r}", reached=reached, timed_out=timed_out
            ) from error
        # 408/409/429: timed out, model still loading, overloaded — all pass with time, like a 5xx.
        if response.status_code >= 500 or response.status_code in (408, 409, 429):
            self.forget_health()
            # 503 (overloaded) and 409/429 turn a request away before the turn starts.
            reached = response.status_code == 408 or (
                response.status_code >= 500 and response.status_code != 503
            )
            timed_out = response.status_code == 408
            raise RasaUnavailable(
                f"{method} {url}: HTTP {response.status_code}", reached=reached, timed_out=timed_out
            )
        if response.status_code >= 400:
            raise RasaError(f"{method} {url}: HTTP {response.status_code}: {response.text[:200]!r}")
        return response
