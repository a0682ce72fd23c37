"""Each resident message is handled once (README, "What is never lost"): journalled before Rasa sees it,
its answer journalled before it is sent, looked up in Rasa's tracker before a replay, and set aside as a
dead letter when Rasa keeps failing on it — through the real gateway, with the scripted Rasa stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import relay, replay
from bot.texts import text
from hemu import clock as hemu_clock
from hemu.store import InboundStatus
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import wait_until

RESIDENT = 1001


@pytest.fixture
async def gw(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningGateway]:
    monkeypatch.setattr(relay, "TYPING_EVERY", 0.3)
    async with running_gateway(tmp_path, rasa_url=rasa.url, env={"HEMU_RASA_TIMEOUT": "1"}) as running:
        running.api._user_chat(RESIDENT)  # type: ignore[attr-defined] - the resident's chat exists
        yield running


async def bot_texts(gw: RunningGateway, count: int, timeout: float = 15) -> list[str]:
    return [m["text"] for m in await gw.control.wait_for(RESIDENT, count, timeout=timeout)]


def push_message(gw: RunningGateway, message_id: int, words: str) -> None:
    """Telegram delivers a message update (again, when a test repeats it: after a crash it does)."""
    gw.api._push_update(  # type: ignore[attr-defined]
        "message",
        {
            "message_id": message_id,
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R", "language_code": "en"},
            "chat": {"id": RESIDENT, "type": "private", "first_name": "R"},
            "date": 1,
            "text": words,
        },
    )


async def test_a_timed_out_turn_is_answered_from_rasas_tracker_not_sent_twice(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    """Rasa answers after the gateway's timeout: the old replay sent the message again (duplicate
    details, duplicate pages). Now the replay finds the finished turn in the tracker and uses its answer."""
    rasa.delay = 2.5
    await gw.control.send_text(RESIDENT, "the neighbours drill at night", language_code="en")
    assert await bot_texts(gw, 1) == [text("assistant_unavailable", "en", emergency="110")]
    said = await bot_texts(gw, 3)
    assert said[1:] == [text("back_online", "en"), "echo: the neighbours drill at night"]
    assert rasa.texts() == ["the neighbours drill at night"]  # Rasa took it once
    [record] = await wait_until(
        lambda: [m for m in gw.store.inbound.messages() if m.status is InboundStatus.DELIVERED]
    )
    assert record.answers


async def test_telegram_delivering_an_update_twice_relays_it_once(gw: RunningGateway, rasa: FakeRasa) -> None:
    push_message(gw, 501, "first")
    await bot_texts(gw, 1)
    push_message(gw, 501, "first")  # the same message again, as after a gateway crash
    push_message(gw, 502, "second")
    said = await bot_texts(gw, 2)
    assert said == ["echo: first", "echo: second"]
    assert rasa.texts() == ["first", "second"]


async def test_an_answer_journalled_before_a_crash_is_sent_without_asking_rasa_again(
    gw: RunningGateway, rasa: FakeRasa
) -> None:
    """A gateway killed between Rasa's answer and Telegram: the next one sends the kept answer."""
    inbound = gw.store.inbound
    kept = inbound.add(str(RESIDENT), RESIDENT, "hello", {"language": "en"}, hemu_clock.now(), "m:1001:9")
    assert kept is not None
    inbound.answer(kept, [{"recipient_id": str(RESIDENT), "text": "kept answer"}])
    gw.gateway.resident_state().wake.set()
    assert await bot_texts(gw, 1) == ["kept answer"]
    await wait_until(lambda: inbound.messages()[0].status is InboundStatus.DELIVERED)
    assert rasa.texts() == []


async def test_a_message_rasa_keeps_failing_on_is_set_aside_and_the_resident_told(
    gw: RunningGateway, rasa: FakeRasa, clock_file: Path
) -> None:
    """It used to be retried for ever, and every later message of the resident waited behind it."""
    rasa.webhook_status = 503
    await gw.control.send_text(RESIDENT, "poison", language_code="en")
    await bot_texts(gw, 1)
    rule = gw.gateway.settings.policy.delivery
    await wait_until(lambda: gw.store.inbound.messages()[0].attempts >= rule.inbound_max_failures, timeout=20)
    hemu_clock.advance(timedelta(minutes=rule.inbound_dead_after_minutes + 1), clock_file)
    said = await bot_texts(gw, 2)
    assert said[1] == text("inbound_dead_letter", "en", emergency="110")
    [record] = gw.store.inbound.messages()
    assert record.status is InboundStatus.DROPPED and record.last_error.startswith(replay.DEAD_LETTER)
    rasa.webhook_status = 200
    await gw.control.send_text(RESIDENT, "next", language_code="en")
    assert (await bot_texts(gw, 3))[2] == "echo: next"  # not stuck behind it any more


async def test_a_message_that_may_still_be_inside_rasa_waits_for_the_grace(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Left in flight by a gateway that died, not in the tracker: not sent again until a turn Rasa may
    still have been running would be in its tracker."""
    monkeypatch.setattr(replay, "RESTART_GRACE", timedelta(seconds=2))
    inbound = gw.store.inbound
    kept = inbound.add(str(RESIDENT), RESIDENT, "in flight", {}, hemu_clock.now(), "m:1001:7")
    assert kept is not None  # a gateway died with it in flight: no error recorded, attempts 0
    started = asyncio.get_running_loop().time()
    gw.gateway.resident_state().wake.set()
    assert await bot_texts(gw, 1) == ["echo: in flight"]
    assert asyncio.get_running_loop().time() - started >= 1.8  # the grace, from when it was journalled
    assert rasa.texts() == ["in flight"]


async def test_when_the_store_cannot_journal_danger_is_still_answered_and_rasa_still_asked(
    gw: RunningGateway, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked or unreachable store must not silence a resident: the message goes to Rasa without the
    journal, and danger in it gets the safety reply and the page from the gateway at once."""

    def locked(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(gw.store.inbound, "add", locked)
    await gw.control.send_text(RESIDENT, "he has a knife and says he will kill me", language_code="en")
    said = await bot_texts(gw, 3)
    assert "110" in said[0] and "urgent case" in said[1]
    assert said[2] == "echo: he has a knife and says he will kill me"
    assert rasa.texts() == ["he has a knife and says he will kill me"]


async def test_a_slow_turn_is_not_a_silent_one(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa (or the action server) slow: the resident hears that the answer is coming; danger gets the
    safety reply and the page without waiting for Rasa. Rasa holds each turn until the test has seen what
    the resident was told meanwhile (a fixed delay under this module's 1 s timeout was flaky on a loaded
    machine: the turn timed out instead of being slow), so this gateway gets Rasa's usual 10 s."""
    monkeypatch.setattr(relay, "SLOW_AFTER", 0.3)
    async with running_gateway(tmp_path, rasa_url=rasa.url) as gw:
        gw.api._user_chat(RESIDENT)  # type: ignore[attr-defined] - the resident's chat exists
        rasa.hold = asyncio.Event()
        await gw.control.send_text(RESIDENT, "the neighbours drill at night", language_code="en")
        assert await bot_texts(gw, 1) == [text("assistant_slow", "en", emergency="110")]
        rasa.hold.set()
        said = await bot_texts(gw, 2)
        assert said[1] == "echo: the neighbours drill at night"
        rasa.hold = asyncio.Event()
        await gw.control.send_text(RESIDENT, "he has a knife and says he will kill me", language_code="en")
        said = (await bot_texts(gw, 4))[2:]
        assert "110" in said[0] and "urgent case" in said[1]  # while Rasa still holds the turn
        rasa.hold.set()
        said = (await bot_texts(gw, 5))[2:]
        assert said[2] == "echo: he has a knife and says he will kill me"
        assert len([c for c in gw.store.cases() if c.priority.value == "urgent"]) == 1
