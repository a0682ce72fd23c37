"""Random and hostile updates through the real gateway and the local Bot API server.

``HEMU_FUZZ_UPDATES`` of them (1,500 in `make test`; `make fuzz` sends 100,000), from
``HEMU_FUZZ_SEED`` (printed). Goals, each a failure when missed:

* **0 crashes**: no exception in any handler, loop or the error handler, other than Telegram answering
  "chat not found" for a group or channel (the sandbox has none, as Telegram has none we joined);
* **0 unescaped resident text in officers' messages**: no officer-bound text carries the markup marker
  raw or a right-to-left override (danger in the fuzz opens urgent cases, so cards with fuzz words go out);
* **0 state changes by non-officers**: the cases opened before the fuzz keep state, version and officer,
  and no audit event names an officer (officers never write in their own chats here);
* the gateway still answers afterwards, and every journalled update was handled.
"""

from __future__ import annotations

import logging
import os
import random
import resource
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from telegram.error import BadRequest

from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import OFFICER_CHATS, open_case_now, register, wait_until
from tests.bot.fuzz_updates import MARKER, RLO, Cast, HostileUpdates

UPDATES = int(os.environ.get("HEMU_FUZZ_UPDATES", "1500"))
SEED = int(os.environ.get("HEMU_FUZZ_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)
RESIDENTS = [9_200_000 + n for n in range(200)]
GROUPS = [-1_001_000_000_001, -1_001_000_000_002, -1_000_000_003]
OWNER = 9_100_001  # the pre-existing cases' resident: never a fuzz sender
BATCH = 500
PROGRESS = 5_000  # a line of progress every so many pushed updates, for the long runs


class Crashes(logging.Handler):
    """Every error logged with an exception, except Telegram's "chat not found" for groups/channels, and
    the test's own servers (the local Bot API server, the fake Rasa: aiohttp) noting that the gateway
    gave up a request (its timeout) — what the gateway then did is the gateway's own record."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []
        self.chat_not_found = 0
        self.given_up = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or record.exc_info[1] is None:
            return
        error = record.exc_info[1]
        if record.name.startswith("aiohttp.") and isinstance(error, ConnectionResetError):
            self.given_up += 1
            return
        cause = error.__context__
        if any(isinstance(e, BadRequest) and "chat not found" in e.message.lower() for e in (error, cause)):
            self.chat_not_found += 1
            return
        self.found.append(f"{record.name}: {record.getMessage()}: {error!r}")


@pytest.fixture
async def gw(tmp_path: Path, clock_file: Path, rasa: FakeRasa) -> AsyncIterator[RunningGateway]:
    async with running_gateway(tmp_path, rasa_url=rasa.url) as running:
        yield running


async def test_hostile_updates_crash_nothing_leak_nothing_and_change_nothing(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    print(f"\nfuzz: {UPDATES} updates, HEMU_FUZZ_SEED={SEED}")
    await register(gw, "wang_li")
    await register(gw, "zhou_jian")
    for user in (*RESIDENTS, OWNER):
        gw.api._user_chat(user)  # type: ignore[attr-defined] - they have written to the bot before
    before = [
        await open_case_now(gw, resident_id=str(OWNER), category=category, summary=f"about {category}")
        for category in ("report_noise", "report_pet_dispute", "report_shared_space")
    ]
    before = [gw.store.get(case.number) for case in before]  # as they are once opened (a repeat adds)
    assert len({case.number for case in before}) == 3
    await wait_until(lambda: all(gw.store.officer_messages.count(c.number) for c in before), timeout=30)
    cast = Cast(
        residents=RESIDENTS,
        officers=list(OFFICER_CHATS.values()),
        groups=GROUPS,
        case_numbers=[c.number for c in before],
    )

    def waiting_below(limit: int) -> Callable[[], bool]:
        return lambda: len(gw.api.updates) + gw.store.received.count() < limit  # type: ignore[attr-defined]

    crashes = Crashes()
    logging.getLogger().addHandler(crashes)
    started = time.monotonic()
    try:
        updates = iter(HostileUpdates(SEED, cast))
        sent = 0
        while sent < UPDATES:
            for _ in range(min(BATCH, UPDATES - sent)):
                gw.api._push_update(*next(updates))  # type: ignore[attr-defined]
                sent += 1
            # Back-pressure: no more than two batches waiting, at the local server or in the gateway's
            # journal (fetched, not yet handled): a run measures handling, not how fast a backlog grows.
            await wait_until(waiting_below(2 * BATCH), timeout=600, step=0.5)
            if sent % PROGRESS == 0:
                print(f"fuzz: {sent} sent at {time.monotonic() - started:.0f} s", flush=True)
        await wait_until(waiting_below(1), timeout=900, step=0.5)
        elapsed = time.monotonic() - started
        # Still answering: a resident nobody fuzzed writes and gets Rasa's answer.
        await gw.control.send_text(OWNER, "still there?", language_code="en")

        async def answered() -> bool:
            return any(
                m["text"] == "echo: still there?" for m in await gw.control.messages(OWNER, from_bot=True)
            )

        await wait_until(answered, timeout=60)
    finally:
        logging.getLogger().removeHandler(crashes)

    officer_chats = {OFFICER_CHATS["wang_li"], OFFICER_CHATS["zhou_jian"]}
    to_officers = [
        c["params"].get("text", "")
        for method in ("sendMessage", "editMessageText")
        for c in await gw.control.calls(method)
        if int(c["params"].get("chat_id", 0) or 0) in officer_chats
    ]
    leaks = [t[:120] for t in to_officers if MARKER in t or RLO in t]
    changed = []
    for case in before:
        now = gw.store.get(case.number)
        assert now is not None
        if (now.state, now.version, now.officer_id) != (case.state, case.version, case.officer_id):
            events = [(e.kind, e.actor) for e in gw.store.events(case.number)]
            changed.append(f"{case.number}: {case.state}/{case.version} → {now.state}/{now.version} {events}")
    officer_events = [
        (c.number, e.kind, e.actor)
        for c in gw.store.cases()
        for e in gw.store.events(c.number)
        if e.actor.startswith("officer:")
    ]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"fuzz: {UPDATES} updates in {elapsed:.1f} s ({UPDATES / elapsed:.0f}/s), "
        f"crashes {len(crashes.found)}, unescaped in officers' messages {len(leaks)} "
        f"(of {len(to_officers)} messages to officers), state changes by non-officers "
        f"{len(changed) + len(officer_events)}, Rasa turns {len(rasa.texts())}, "
        f"cases opened by danger {len(gw.store.cases()) - len(before)}, "
        f"answers refused as chat-not-found {crashes.chat_not_found}, requests given up by the gateway "
        f"{crashes.given_up}, peak RSS {peak_mb:.0f} MB"
    )
    assert crashes.found == [], "\n".join(crashes.found[:20])
    assert leaks == []
    assert changed == [] and officer_events == []
    assert to_officers, "no card reached an officer: the escaping check saw nothing"
