"""No way around the screening with several Rasa workers or several gateways (issue 15): the paths the
scale-out added — a worker passed over, every worker away, a resident's messages owned by another
gateway — still give danger the safety reply with the emergency number and one urgent page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import relay
from bot.rasa_pool import RasaPool
from bot.texts import text
from hemu import clock as hemu_clock
from hemu.store import InboundStatus
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import DANGER_ZH, RESIDENT, wait_until
from tests.bot.test_danger import EMERGENCY, assert_safety_and_one_page, bot_texts, urgent_cases

SENDER = str(RESIDENT)


def dead_worker_first(live: str) -> list[str]:
    """Two workers, the resident's own (by the pool's hashing) refusing connections: port 9 on loopback,
    under a path that makes its hash rank first (any path is refused all the same)."""
    for n in range(100_000):
        urls = [f"http://127.0.0.1:9/w{n}", live]
        if RasaPool.from_urls(urls, urls).order(SENDER)[0].rasa_url == urls[0]:
            return urls
    raise AssertionError("no dead worker ranks first for the resident")


@pytest.fixture
async def two_workers(
    tmp_path: Path, clock_file: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningGateway]:
    monkeypatch.setattr(relay, "TYPING_EVERY", 0.3)
    urls = ",".join(dead_worker_first(rasa.url))
    async with running_gateway(tmp_path, rasa_url=urls) as running:
        yield running


async def test_danger_whose_worker_is_dead_reaches_the_other_worker(
    two_workers: RunningGateway, rasa: FakeRasa
) -> None:
    """The live worker (real Rasa: its safety policy) answers; nothing is kept, nobody waits."""
    await two_workers.control.send_text(RESIDENT, DANGER_ZH)
    assert await bot_texts(two_workers, 1) == [f"echo: {DANGER_ZH}"]
    assert rasa.texts() == [DANGER_ZH]
    await wait_until(
        lambda: [m.status for m in two_workers.store.inbound.messages()] == [InboundStatus.DELIVERED]
    )


async def test_danger_with_every_worker_away_gets_the_number_and_one_page(
    two_workers: RunningGateway, rasa: FakeRasa
) -> None:
    await rasa.down()
    await two_workers.control.send_text(RESIDENT, DANGER_ZH)
    said = await bot_texts(two_workers, 3)
    assert_safety_and_one_page(two_workers, said, DANGER_ZH, "zh")
    assert said[2] == text("assistant_unavailable", "zh", emergency=EMERGENCY)
    assert len(urgent_cases(two_workers)) == 1


@pytest.fixture
async def gw(tmp_path: Path, clock_file: Path, rasa: FakeRasa) -> AsyncIterator[RunningGateway]:
    async with running_gateway(
        tmp_path, rasa_url=rasa.url, env={"HEMU_GATEWAY_ID": "this-gateway"}
    ) as running:
        yield running


async def test_danger_behind_messages_another_gateway_owns_is_answered_here_at_once(
    gw: RunningGateway, rasa: FakeRasa, clock_file: Path
) -> None:
    """Another gateway is replaying this resident (its lease runs 10 minutes): the danger message queues
    behind, but its safety reply and page come from this gateway now; once that gateway is gone (its lease
    ran out), this one hands both messages to Rasa, in order."""
    now = hemu_clock.now()
    lease = now + timedelta(minutes=10)
    gw.store.inbound.add(
        SENDER, RESIDENT, "earlier words", {}, now, "m:1:1", owner="other", lease_until=lease
    )
    await gw.control.send_text(RESIDENT, DANGER_ZH)
    said = await bot_texts(gw, 3)
    case = assert_safety_and_one_page(gw, said, DANGER_ZH, "zh")
    assert said[2] == text("queued_behind", "zh", emergency=EMERGENCY)
    kept = gw.store.inbound.messages()[-1]
    assert kept.text == DANGER_ZH and kept.metadata[relay.PAGED_MARK] == case.number and kept.owner is None

    hemu_clock.advance(timedelta(minutes=11), clock_file)
    await wait_until(lambda: rasa.texts() == ["earlier words", DANGER_ZH], timeout=30)
    assert [c.number for c in urgent_cases(gw)] == [case.number]
