"""Claiming notifications for sending, and the inbound queue of residents' messages Rasa could not take."""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

import pytest

from hemu.store import InboundStatus, OutboxStatus, Store
from tests.hemu.store.support import NOW, open_case
from tests.hemu.store.test_store_concurrency import run_together

LEASE = timedelta(minutes=2)


def test_a_claim_hides_the_notification_for_the_lease_and_counts_the_attempt(store: Store) -> None:
    first = open_case(store)
    open_case(store)
    claimed = store.outbox.claim(NOW, LEASE, limit=1)
    assert [n.payload["number"] for n in claimed] == [first.number]
    (card,) = claimed
    assert (card.attempts, card.next_attempt_at, card.status) == (1, NOW + LEASE, OutboxStatus.PENDING)
    # The other one is still there; the claimed one is not, until its lease runs out.
    assert [n.id for n in store.outbox.claim(NOW, LEASE)] == [card.id + 1]
    assert store.outbox.claim(NOW + LEASE - timedelta(seconds=1), LEASE) == []
    again = store.outbox.claim(NOW + LEASE, LEASE)
    assert [(n.id, n.attempts) for n in again] == [(card.id, 2), (card.id + 1, 2)]


def test_reporting_after_a_claim_does_not_count_the_attempt_twice(store: Store) -> None:
    open_case(store)
    open_case(store)
    sent, failed = store.outbox.claim(NOW, LEASE)
    assert store.outbox.mark_sent(sent.id, NOW).attempts == 1
    retry = NOW + timedelta(minutes=5)
    record = store.outbox.mark_failed(failed.id, NOW, "Timed out", retry_at=retry)
    assert (record.attempts, record.next_attempt_at, record.status) == (1, retry, OutboxStatus.PENDING)
    (retried,) = store.outbox.claim(retry, LEASE)
    assert retried.attempts == 2
    assert store.outbox.drop(retried.id, retry, "blocked").attempts == 2
    # Without a claim (an old-style sender) each report still counts its attempt.
    open_case(store)
    (unclaimed,) = store.outbox.pending(NOW)
    assert store.outbox.mark_sent(unclaimed.id, NOW).attempts == 1


def test_claims_refuse_nonsense(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.outbox.claim(NOW.replace(tzinfo=None), LEASE)
    with pytest.raises(ValueError, match="some time"):
        store.outbox.claim(NOW, timedelta(0))
    assert store.outbox.claim(NOW, LEASE) == []


def test_parallel_senders_never_claim_the_same_notification(
    store: Store, make_store: Callable[[], Store]
) -> None:
    for index in range(40):
        open_case(store, resident_id=str(index))
    senders = [make_store() for _ in range(6)]

    def drain(_index: int, sender: Store) -> list[int]:
        taken: list[int] = []
        while batch := sender.outbox.claim(NOW, LEASE, limit=3):
            taken += [n.id for n in batch]
        return taken

    results = run_together(senders, drain)
    assert not [r for r in results if isinstance(r, Exception)], results
    ids = [nid for batch in results for nid in batch]
    assert sorted(ids) == sorted({n.id for n in store.outbox.notifications()})  # each exactly once
    assert {n.attempts for n in store.outbox.notifications()} == {1}


def test_inbound_messages_queue_in_order_per_sender(store: Store) -> None:
    first = store.inbound.add("42", 42, "楼上又吵了", {"language": "zh", "telegram_chat_id": 42}, NOW)
    second = store.inbound.add("7", 7, "hello", {"language": "en"}, NOW + timedelta(seconds=1))
    third = store.inbound.add("42", 42, "还在吵", {}, NOW + timedelta(seconds=2))
    assert first < second < third
    pending = store.inbound.pending()
    assert [(m.id, m.sender, m.text) for m in pending] == [
        (first, "42", "楼上又吵了"),
        (second, "7", "hello"),
        (third, "42", "还在吵"),
    ]
    assert pending[0].metadata == {"language": "zh", "telegram_chat_id": 42}
    assert (pending[0].chat_id, pending[0].created_at, pending[0].attempts) == (42, NOW, 0)
    assert [m.id for m in store.inbound.pending(limit=1)] == [first]
    assert [m.id for m in store.inbound.pending(sender="42")] == [first, third]
    assert store.inbound.has_pending("42") and not store.inbound.has_pending("8")


def test_inbound_delivery_attempts_and_giving_up(store: Store) -> None:
    chat_id = 9_000_000_000  # Telegram ids need more than 32 bits
    message = store.inbound.add("r", chat_id, "hi", {}, NOW)
    assert store.inbound.mark_attempt(message, NOW, "Rasa: connection refused")
    (waiting,) = store.inbound.pending()
    assert (waiting.attempts, waiting.last_error, waiting.chat_id) == (1, "Rasa: connection refused", chat_id)
    assert store.inbound.mark_delivered(message, NOW + timedelta(seconds=5))
    assert not store.inbound.mark_delivered(message, NOW + timedelta(seconds=6))  # a second report: no-op
    assert store.inbound.pending() == [] and not store.inbound.has_pending("r")
    (done,) = store.inbound.messages("r")
    assert (done.status, done.attempts, done.delivered_at) == (
        InboundStatus.DELIVERED,
        2,
        NOW + timedelta(seconds=5),
    )
    other = store.inbound.add("r", chat_id, "later", {}, NOW)
    assert store.inbound.drop(other, NOW, "older than a day")
    assert not store.inbound.mark_attempt(other, NOW, "x")
    assert store.inbound.messages("r")[-1].status is InboundStatus.DROPPED


def test_inbound_refuses_what_it_could_not_replay(store: Store) -> None:
    with pytest.raises(TypeError, match="chat_id"):
        store.inbound.add("42", "42", "hi", {}, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON"):
        store.inbound.add("42", 42, "hi", {"when": NOW}, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.inbound.add("42", 42, "hi", {}, NOW.replace(tzinfo=None))
    assert store.inbound.pending() == []


def test_a_residents_kept_messages_belong_to_one_gateway_while_its_lease_runs(store: Store) -> None:
    first = store.inbound.add("42", 42, "one", {}, NOW, "m:42:1", owner="A", lease_until=NOW + LEASE)
    store.inbound.add("42", 42, "two", {}, NOW, "m:42:2")
    assert not store.inbound.claim_sender("42", "B", NOW, LEASE)  # A's live turn holds the first
    assert {r.owner for r in store.inbound.messages("42")} == {"A", None}  # a refused claim changes nothing
    assert store.inbound.claim_sender("42", "A", NOW, LEASE)  # its own, and the rest with them
    assert {r.owner for r in store.inbound.messages("42")} == {"A"}
    assert store.inbound.claim_sender("42", "B", NOW + LEASE + timedelta(seconds=1), LEASE)  # A is gone
    assert store.inbound.release(first)
    assert store.inbound.claim_sender("42", "A", NOW + LEASE + timedelta(seconds=2), LEASE) is False
    assert store.inbound.claim_sender("7", "A", NOW, LEASE)  # nobody's messages: nothing to refuse
    with pytest.raises(ValueError, match="lease"):
        store.inbound.claim_sender("42", "A", NOW, timedelta(0))


def test_parallel_gateways_never_both_claim_a_resident(store: Store, make_store: Callable[[], Store]) -> None:
    for sender in range(30):
        for n in range(2):
            store.inbound.add(str(sender), sender + 1, f"m{n}", {}, NOW, f"m:{sender}:{n}")
    gateways = [make_store() for _ in range(4)]

    def claim_all(index: int, gateway: Store) -> list[str]:
        return [str(s) for s in range(30) if gateway.inbound.claim_sender(str(s), f"g{index}", NOW, LEASE)]

    results = run_together(gateways, claim_all)
    assert not [r for r in results if isinstance(r, Exception)], results
    won = [sender for batch in results for sender in batch]
    assert sorted(won, key=int) == [str(s) for s in range(30)]  # each resident exactly once
    for sender in range(30):
        assert len({r.owner for r in store.inbound.messages(str(sender))}) == 1
