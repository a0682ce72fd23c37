"""The background loops' one helper: a failed round does not end the loop, a wake cuts a wait short, and
something queued while a round runs is picked up by the next round rather than waiting a whole interval."""

from __future__ import annotations

import asyncio

from bot import loops

# Long enough that a test passing through one of these waits would time out instead.
LONG = 3600.0


async def test_a_failed_round_is_retried_and_the_loop_goes_on() -> None:
    rounds: list[int] = []
    done = asyncio.Event()

    async def round_() -> float:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database hiccup")
        if len(rounds) == 3:
            done.set()
        return 0

    task = asyncio.create_task(loops.forever("test", round_, after_failure=0.01))
    await asyncio.wait_for(done.wait(), timeout=30)
    task.cancel()
    assert rounds[:3] == [0, 1, 2]


async def test_a_wake_cuts_the_wait_short_and_one_set_during_a_round_is_not_lost() -> None:
    wake = asyncio.Event()
    second = asyncio.Event()
    third = asyncio.Event()
    count = 0

    async def round_() -> float:
        nonlocal count
        count += 1
        if count == 1:
            wake.set()  # something queued while this round runs: the next round comes at once
        elif count == 2:
            second.set()
        else:
            third.set()
        return LONG

    task = asyncio.create_task(loops.forever("test", round_, after_failure=LONG, wake=wake))
    await asyncio.wait_for(second.wait(), timeout=30)
    wake.set()  # a wake during the long wait
    await asyncio.wait_for(third.wait(), timeout=30)
    task.cancel()
    assert count == 3


async def test_cancelling_ends_the_loop() -> None:
    started = asyncio.Event()

    async def round_() -> float:
        started.set()
        return LONG

    task = asyncio.create_task(loops.forever("test", round_, after_failure=LONG))
    await asyncio.wait_for(started.wait(), timeout=30)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=30)
    assert task in done and task.cancelled()


async def test_a_cancel_arriving_with_a_wake_still_ends_the_loop() -> None:
    """The gateway's shutdown wakes the notifier and then cancels it. Python 3.10's ``asyncio.wait_for``
    returns the inner result instead of raising when the cancel lands just as the wake completes, and
    the loop then ran on forever: post_shutdown's gather hung and CI timed out. Every interleaving of
    the wake and the cancel (0–8 loop steps apart) must end the loop."""
    for steps in range(9):
        wake = asyncio.Event()
        waiting = asyncio.Event()

        async def round_(waiting: asyncio.Event = waiting) -> float:
            waiting.set()
            return LONG

        task = asyncio.create_task(loops.forever("test", round_, after_failure=LONG, wake=wake))
        await asyncio.wait_for(waiting.wait(), timeout=30)
        for _ in range(3):  # into pause()'s wait
            await asyncio.sleep(0)
        wake.set()
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=30)
        assert task in done and task.cancelled(), f"the cancel was lost {steps} steps after the wake"
