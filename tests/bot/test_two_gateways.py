"""Two gateways on one PostgreSQL (issue 15, point 2): their replay loops, notifiers and promise watchers
all run at once over the same rows, and still every kept message reaches Rasa once and in order, every
notification is sent once, and a broken promise is broken once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from bot.relay import NOT_SENT
from hemu import clock as hemu_clock
from hemu.kinds import EventKind
from hemu.store import InboundStatus, OutboxStatus, Store
from tests.auxil.fakerasa import FakeRasa, rasa_fixture  # noqa: F401 - the ``rasa`` fixture
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.auxil.pgserver import PgServer, server_or_skip
from tests.bot.conftest import OFFICER_CHATS, open_case_now, wait_until

pytestmark = pytest.mark.postgres

RESIDENTS = [7_000 + n for n in range(20)]
REPORTERS = [7_100 + n for n in range(12)]
SAID = ("first {n}", "second {n}", "third {n}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    with server_or_skip() as server:
        yield server


@pytest.fixture
async def two(
    postgres: PgServer, tmp_path: Path, clock_file: Path, rasa: FakeRasa
) -> AsyncIterator[list[RunningGateway]]:
    url = postgres.create_database()
    async with AsyncExitStack() as stack:
        gateways = []
        for name in ("A", "B"):
            store = Store.from_url(url)
            stack.callback(store.close)
            env = {"HEMU_GATEWAY_ID": f"gateway-{name}", "HEMU_WATCH_INTERVAL": "0.1"}
            running = await stack.enter_async_context(
                running_gateway(tmp_path / name, rasa_url=rasa.url, env=env, store=store)
            )
            for chat in [*RESIDENTS, *REPORTERS, *OFFICER_CHATS.values()]:
                running.api._user_chat(chat)  # type: ignore[attr-defined] - the chat exists in both
            gateways.append(running)
        yield gateways


async def test_kept_messages_reach_rasa_once_each_and_in_order(
    two: list[RunningGateway], rasa: FakeRasa
) -> None:
    await rasa.down()
    store = two[0].store
    for round_, line in enumerate(SAID):
        for n in RESIDENTS:
            store.inbound.add(str(n), n, line.format(n=n), {}, hemu_clock.now(), f"m:{n}:{round_}", NOT_SENT)
    rasa.delay = 0.3  # a few seconds of work: both replay loops are at it at the same time
    await rasa.up()
    await wait_until(
        lambda: all(r.status is InboundStatus.DELIVERED for r in store.inbound.messages()), timeout=60
    )
    for n in RESIDENTS:
        assert rasa.texts(str(n)) == [line.format(n=n) for line in SAID], n
    owners = Counter(record.owner for record in store.inbound.messages())
    assert set(owners) == {"gateway-A", "gateway-B"}, owners  # both did part of the work


async def test_notifications_are_sent_once_and_promises_broken_once(
    two: list[RunningGateway], clock_file: Path
) -> None:
    store = two[0].store
    for officer_id, chat in OFFICER_CHATS.items():
        code = store.officers.create_invite(officer_id, hemu_clock.now(), timedelta(days=1))
        store.officers.redeem_invite(code, chat, hemu_clock.now())
    cases = [
        await open_case_now(two[n % 2], resident_id=str(chat), summary=f"drilling {n}")
        for n, chat in enumerate(REPORTERS)
    ]
    # The cards are out before the clock jumps hours ahead: a jump would also end every send's lease.
    await wait_until(
        lambda: all(n.status is OutboxStatus.SENT for n in store.outbox.notifications()), timeout=60
    )
    due = max(case.promise_due_at for case in cases)
    hemu_clock.advance(due - hemu_clock.now() + timedelta(minutes=1), clock_file)

    def broken() -> dict[str, int]:
        return {case.number: _events(store, case.number, EventKind.PROMISE_BROKEN) for case in cases}

    await wait_until(lambda: all(broken().values()), timeout=60)
    await wait_until(
        lambda: all(n.status is OutboxStatus.SENT for n in store.outbox.notifications()), timeout=60
    )
    assert set(broken().values()) == {1}
    sent: Counter[tuple[int, str]] = Counter()
    for running in two:
        for call in await running.control.calls("sendMessage"):
            sent[(int(call["params"]["chat_id"]), call["params"]["text"])] += 1
    twice = [key for key, count in sent.items() if count > 1]
    assert sent and not twice, twice
    assert {n.attempts for n in store.outbox.notifications()} == {1}  # each claimed once, by one of them
    assert len(sent) == len(store.outbox.notifications())


def _events(store: Store, number: str, kind: EventKind) -> int:
    return sum(1 for event in store.events(number) if event.kind == kind)
