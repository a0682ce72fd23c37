"""A fault proxy between the gateway and Rasa, and between Rasa (and the gateway's health check) and the
action server: it can refuse, drop, black-hole, fail or delay requests, so an outage or a slow model can
be played without killing a process (a killed Rasa forgets every conversation and needs 20 s to start
again, which would measure the cold start rather than how the gateway copes).

It runs on its own event loop in a thread of the test process: the test changes the fault with a plain
method call and reads the request log afterwards. Faults apply only to paths starting with one of
``paths`` (all paths when empty), so "Rasa is slow" can delay turns while ``/status`` stays quick.

Kinds:

* ``pass``: forward as is.
* ``refuse``: the server is gone: the proxy stops listening (new connections are refused, as by a port
  nobody listens on) and resets the connections it had open, so the client learns nothing reached it.
* ``drop``: forward, let the upstream do the work, then close without answering (the answer is lost:
  Rasa has taken the turn, the gateway does not know it).
* ``blackhole``: hold the connection, never answer (until the client gives up or the fault ends).
* ``error``: answer 503 without forwarding.
* ``delay``: wait ``seconds``, then forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

HOST = "127.0.0.1"
KINDS = ("pass", "refuse", "drop", "blackhole", "error", "delay")
# Hop-by-hop headers and those aiohttp sets itself: never copied across.
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


@dataclass(frozen=True)
class Fault:
    kind: str = "pass"
    seconds: float = 0.0  # delay
    paths: tuple[str, ...] = ()
    until: float = math.inf  # time.monotonic() when the fault ends by itself

    def applies(self, path: str) -> bool:
        if self.kind == "pass" or time.monotonic() >= self.until:
            return False
        return not self.paths or path.startswith(self.paths)


@dataclass
class Passage:
    """One request through the proxy, for the evidence of a failed check."""

    at: float
    method: str
    path: str
    fault: str
    status: int | None = None
    elapsed: float | None = None


@dataclass
class FaultProxy:
    """``start()`` binds a free port on 127.0.0.1 and forwards to ``upstream_port``."""

    name: str
    upstream_port: int
    port: int = 0
    fault: Fault = field(default_factory=Fault)
    log: list[Passage] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    _session: ClientSession | None = None
    _reopen: asyncio.TimerHandle | None = None
    # While refusing: the port bound but not listening (see _hold_port).
    _held_port: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> FaultProxy:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as error:  # noqa: BLE001 - reported to start()
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"fault-proxy-{self.name}", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError(f"fault proxy {self.name} did not start") from failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def set(
        self, kind: str, seconds: float = 0.0, paths: tuple[str, ...] = (), duration: float | None = None
    ) -> None:
        """From now on (for ``duration`` seconds, or until :meth:`clear`), requests on ``paths`` get
        ``kind``; requests already waiting in a ``blackhole`` or ``delay`` are released by a change."""
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {kind!r}")
        until = math.inf if duration is None else time.monotonic() + duration
        self._in_loop(self._listen(True))
        self.fault = Fault(kind=kind, seconds=seconds, paths=paths, until=until)
        if kind == "refuse":
            self._in_loop(self._refuse(duration))

    def clear(self) -> None:
        self.fault = Fault()
        self._in_loop(self._listen(True))

    def _in_loop(self, work: Any) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(work, self._loop).result(30)

    async def _refuse(self, duration: float | None) -> None:
        """Stops listening and resets every open connection; listens again after ``duration``."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
            self._hold_port()
        assert self._runner is not None and self._runner.server is not None
        for transport in list(self._runner.server._connections.values()):
            transport.abort()
        if duration is not None:
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(duration, lambda: loop.create_task(self._listen(False)))

    async def _listen(self, cancel_timer: bool) -> None:
        """Listens on the proxy's port again (a no-op while listening)."""
        if cancel_timer and self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._site is not None:
            return
        assert self._runner is not None
        held, self._held_port = self._held_port, None
        site: web.BaseSite
        if held is not None:  # listen on the very socket that kept the port
            site = web.SockSite(self._runner, held)
        else:
            site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await site.start()
        self._site = site
        if self.fault.kind == "refuse":
            self.fault = Fault()

    def _hold_port(self) -> None:
        """Keeps the port bound while nothing listens on it. Connections are still refused (the kernel
        answers a port nobody listens on with a reset), but no other socket can take the port meanwhile:
        chaos s4 once failed to listen again with "address already in use" (an outgoing connection's
        ephemeral port had landed on it while it was free)."""
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind((HOST, self.port))
        held.setblocking(False)
        self._held_port = held

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self._site = site
        # No total timeout: a slow turn is the point of some faults; the client decides when to give up.
        self._session = ClientSession(trust_env=False, timeout=ClientTimeout(total=None, sock_read=600))

    async def _close(self) -> None:
        if self._held_port is not None:
            self._held_port.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _held(self, fault: Fault, seconds: float) -> None:
        """Waits ``seconds`` (inf: for ever) or until the fault in force is no longer ``fault``."""
        deadline = time.monotonic() + seconds
        while self.fault is fault and time.monotonic() < min(deadline, fault.until):
            await asyncio.sleep(0.05)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        fault = self.fault
        kind = fault.kind if fault.applies(request.path) else "pass"
        passage = Passage(at=time.time(), method=request.method, path=request.path_qs, fault=kind)
        self.log.append(passage)
        started = time.monotonic()
        if kind == "refuse":
            return self._cut(request, passage)
        body = await request.read()
        if kind == "error":
            passage.status = 503
            return web.Response(status=503, text=f"fault proxy {self.name}: service unavailable")
        if kind == "blackhole":
            await self._held(fault, math.inf)
            return self._cut(request, passage)
        if kind == "delay":
            await self._held(fault, fault.seconds)
        try:
            response = await self._upstream(request, body)
        except Exception:  # noqa: BLE001 - the upstream is down: so is the proxy's answer
            return self._cut(request, passage)
        passage.elapsed = time.monotonic() - started
        if kind == "drop":
            return self._cut(request, passage)
        passage.status = response.status
        return response

    async def _upstream(self, request: web.Request, body: bytes) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        url = f"http://{HOST}:{self.upstream_port}{request.path_qs}"
        async with self._session.request(request.method, url, data=body or None, headers=headers) as answer:
            content = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _SKIP}
            return web.Response(status=answer.status, body=content, headers=kept)

    @staticmethod
    def _cut(request: web.Request, passage: Passage) -> web.Response:
        passage.status = None
        if request.transport is not None:
            request.transport.abort()  # the response below is never written
        return web.Response(status=502)

    def passages(self, since: float = 0.0, path: str | None = None) -> list[dict[str, Any]]:
        return [
            vars(p) for p in list(self.log) if p.at >= since and (path is None or p.path.startswith(path))
        ]


def stop_all(proxies: list[FaultProxy]) -> None:
    for proxy in proxies:
        with contextlib.suppress(Exception):
            proxy.stop()
