"""`make bench-gateway` (first part): where one resident turn's wall time goes inside the gateway.

The end-to-end figure (bench/gateway_bench.py) says the gateway adds a few tens of milliseconds to a turn;
this says which steps they are. The real gateway (``build_application``), the local Bot API server and a
stand-in Rasa that answers at once, all in this process; residents write one at a time, so every step is
on the turn's critical path. Each store call and the Rasa request are timed where the gateway makes
them (their time inside the worker thread; the hop to it is in the rest). Numbers only.

    PYTHONPATH=. .venv/bin/python bench/gateway_path.py [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import relay  # noqa: E402
from tests.auxil.fakerasa import FakeRasa  # noqa: E402
from tests.auxil.gateway import running_gateway  # noqa: E402

SPANS: dict[str, list[float]] = {}
WARM_UP = 5


def timed(owner: Any, name: str, label: str) -> None:
    """Replaces ``owner.name`` (a function or a coroutine function) by one that records its duration."""
    original: Callable[..., Any] = getattr(owner, name)

    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def waited(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                SPANS.setdefault(label, []).append(time.perf_counter() - started)

        setattr(owner, name, waited)
        return

    @functools.wraps(original)
    def called(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPANS.setdefault(label, []).append(time.perf_counter() - started)

    setattr(owner, name, called)


async def measure(turns: int) -> None:
    rasa = FakeRasa()
    await rasa.start()
    try:
        with tempfile.TemporaryDirectory() as work:
            async with running_gateway(Path(work), rasa_url=rasa.url) as running:
                store = running.store
                for owner, name, label in [
                    (store.received, "keep", "update journalled (received.keep)"),
                    (store.officers, "account_for_chat", "officer? (account_for_chat)"),
                    (store.inbound, "add", "message journalled (inbound.add)"),
                    (store.inbound, "waiting_before", "earlier ones waiting? (waiting_before)"),
                    (running.gateway.resident_state().client, "turn", "Rasa request (instant stand-in)"),
                    (store.inbound, "answer", "answer journalled (inbound.answer)"),
                    (relay, "send", "sendMessage"),
                    (store.inbound, "mark_delivered", "after: delivered (mark_delivered)"),
                    (store.received, "done", "after: update done (received.done)"),
                ]:
                    timed(owner, name, label)
                loop = asyncio.get_running_loop()
                took: list[float] = []
                for n in range(turns + WARM_UP):
                    resident = 7_000_000 + n  # one turn each: the message limit stays out of the way
                    started = loop.time()
                    await running.control.send_text(resident, f"楼上天天半夜拖椅子 {n}", language_code="zh")
                    await running.control.wait_for(resident, 1, timeout=30)
                    if n >= WARM_UP:
                        took.append(loop.time() - started)
    finally:
        await rasa.stop()
    took.sort()
    print(f"{turns} turns, one at a time, Rasa answering at once:")
    print(
        f"  message in → answer visible: p50 {statistics.median(took) * 1000:.1f} ms, "
        f"p95 {took[int(len(took) * 0.95)] * 1000:.1f} ms"
    )
    on_path = 0.0
    for label, spans in SPANS.items():
        median = statistics.median(spans[WARM_UP:] or spans) * 1000
        if not label.startswith("after"):
            on_path += median
        print(f"  {label:42s} median {median:6.2f} ms")
    print(f"  sum of the medians on the path: {on_path:.1f} ms")
    print("  (the rest of the turn: PTB, HTTP, thread hops, the local Bot API server, the test's client)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(measure(args.turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
