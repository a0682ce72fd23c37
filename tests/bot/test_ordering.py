"""One chat's updates are handled in order; different chats do not wait for each other."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from pathlib import Path

from telegram import Chat, Message, Update

from bot.ordering import PerChatUpdateProcessor
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import OFFICER_CHATS, bot_messages, register


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


async def test_a_chat_waits_for_its_turn_before_it_takes_one_of_the_slots() -> None:
    """One chat's queue must not hold the global slots: with two slots, a chat with five updates
    waiting behind a slow first one leaves the second slot free for everyone else."""
    processor = PerChatUpdateProcessor(2)
    release = asyncio.Event()
    done: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait:
            await wait.wait()
        done.append(name)

    flood = [
        asyncio.create_task(
            processor.process_update(update(n, 10), handle(f"a{n}", release if n == 1 else None))
        )
        for n in range(1, 6)
    ]
    other = asyncio.create_task(processor.process_update(update(9, 20), handle("b1")))
    await asyncio.wait_for(other, 2)
    assert done == ["b1"]
    assert processor.current_concurrent_updates == 1  # only the flood's first update holds a slot
    release.set()
    await asyncio.wait_for(asyncio.gather(*flood), 2)
    assert done == ["b1", "a1", "a2", "a3", "a4", "a5"]
    assert not processor._locks and processor.current_concurrent_updates == 0


async def test_an_update_waiting_for_its_turn_is_handed_to_the_hook_meanwhile_and_keeps_its_place() -> None:
    """bot.resident.waiting screens a resident's words there: danger behind a slow turn is answered while
    it waits. The waiting update still runs after the slow one, and a failing hook loses nothing."""
    handed: list[int] = []
    release = asyncio.Event()
    log: list[str] = []

    async def hook(waiting: object) -> None:
        assert isinstance(waiting, Update)
        handed.append(waiting.update_id)
        if len(handed) == 2:
            release.set()  # both waited while the first still held the chat
        if waiting.update_id == 3:
            raise RuntimeError("the hook broke")

    processor = PerChatUpdateProcessor(16, waiting=hook, wait=0.05)

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait:
            await wait.wait()
        log.append(name)

    first = asyncio.create_task(processor.process_update(update(1, 10), handle("a1", release)))
    others = [asyncio.create_task(processor.process_update(update(n, 10), handle(f"a{n}"))) for n in (2, 3)]
    alone = asyncio.create_task(processor.process_update(update(9, 20), handle("b1")))
    await asyncio.wait_for(asyncio.gather(first, *others, alone), 10)
    assert sorted(handed) == [2, 3]  # never the ones that got their turn at once (1, and 9 on its own chat)
    assert [name for name in log if name.startswith("a")] == ["a1", "a2", "a3"]
    assert not processor._locks and processor.current_concurrent_updates == 0


async def test_an_update_cancelled_while_it_waits_does_not_keep_its_chat() -> None:
    waited = asyncio.Event()

    async def hook(_: object) -> None:
        waited.set()

    processor = PerChatUpdateProcessor(16, waiting=hook, wait=0.01)
    release = asyncio.Event()
    handled: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait:
            await wait.wait()
        handled.append(name)

    first = asyncio.create_task(processor.process_update(update(1, 10), handle("a1", release)))
    waiting = asyncio.create_task(processor.process_update(update(2, 10), handle("a2")))
    await asyncio.wait_for(waited.wait(), 5)  # the second is waiting; cancelled, as a shutdown would
    waiting.cancel()
    release.set()
    await asyncio.wait_for(first, 5)
    third = asyncio.create_task(processor.process_update(update(3, 10), handle("a3")))
    await asyncio.wait_for(third, 5)  # the chat's turn was not left taken by the cancelled update
    assert handled == ["a1", "a3"]


# -- through the real gateway ---------------------------------------------------------------------------

FLOOD = 3001
NEIGHBOUR = 3002
FLOOD_SIZE = 300
SAMPLES = 5  # answers timed per person; with 2 people the p95 is the slowest of 10
TURN = 0.08  # seconds the fake Rasa takes per turn while the answers are timed


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def timed_answers(
    running: RunningGateway, chat_id: int, text: str, before: int, samples: int
) -> list[float]:
    """Sends ``text`` ``samples`` times, each after the previous was answered; the seconds each took."""
    loop = asyncio.get_running_loop()
    took = []
    for n in range(samples):
        started = loop.time()
        await running.control.send_text(chat_id, text, language_code="en")
        await running.control.wait_for(chat_id, before + n + 1, timeout=60)
        took.append(loop.time() - started)
    return took


async def test_a_flooding_resident_does_not_hold_up_other_residents_or_officers(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa
) -> None:
    """300 messages from one resident are answered in order, one at a time, while a neighbour and an
    officer writing at the same time are answered as if nobody were flooding. Before the fix the flood
    held all 256 update slots while waiting for its own chat, and the others waited behind it."""
    async with running_gateway(tmp_path, rasa_url=rasa.url) as running:
        # The message limit would leave 280 of the flood unread; here the update processor alone is tested.
        settings = running.gateway.settings
        unlimited = settings.policy.resident_limits.copy(update={"messages_per_minute": 10_000})
        running.gateway.settings = replace(
            settings, policy=settings.policy.copy(update={"resident_limits": unlimited})
        )
        await register(running, "wang_li")
        officer_before = len(await bot_messages(running, OFFICER_CHATS["wang_li"]))
        # Each turn takes at least TURN: with the old processor the neighbour's and the officer's first
        # messages waited for a slot behind about 300 - 256 = 44 flood turns: over 3 s on any machine.
        rasa.delay = TURN
        for n in range(FLOOD_SIZE):
            running.api.inject_message(FLOOD, {"text": f"flood {n}"}, language_code="en")
        neighbour, officer = await asyncio.gather(
            timed_answers(running, NEIGHBOUR, "the dog barks all night", 0, SAMPLES),
            timed_answers(running, OFFICER_CHATS["wang_li"], "/cases", officer_before, SAMPLES),
        )
        flooded_so_far = len(rasa.texts(str(FLOOD)))
        rasa.delay = 0.0
        print(
            f"\nneighbour p95 {p95(neighbour):.3f}s {neighbour}\nofficer p95 {p95(officer):.3f}s {officer}"
            f"\nflood turns answered meanwhile: {flooded_so_far}"
        )
        assert flooded_so_far < FLOOD_SIZE / 2  # they were measured while the flood was going on
        assert p95(neighbour + officer) < 1.5  # about 0.2 s here; generous for a busy CI machine
        await running.control.wait_for(FLOOD, FLOOD_SIZE, timeout=120)
        assert rasa.texts(str(FLOOD)) == [f"flood {n}" for n in range(FLOOD_SIZE)]  # in order, once each
