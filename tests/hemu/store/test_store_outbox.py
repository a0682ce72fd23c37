"""The outbox: what the bot sends, retries and gives up on."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

import pytest

from hemu.store import Notification, NotificationNotFound, OutboxError, OutboxStatus, Store
from tests.hemu.store.support import NOW, assign_to, new_case, open_case


def test_pending_oldest_first_and_only_when_due(store: Store) -> None:
    first = open_case(store, now=NOW)
    second = store.open_case(
        new_case(),
        assign_to("zhang_wei"),
        NOW + timedelta(minutes=1),
        "resident:42",
        notify=[Notification("resident:42", "case_update", {"n": 2})],
    )
    assert [n.recipient for n in store.outbox.pending(NOW)] == ["officer:wang_li"]
    due = store.outbox.pending(NOW + timedelta(minutes=1))
    assert [(n.recipient, n.payload) for n in due] == [
        ("officer:wang_li", {"number": first.number}),
        ("officer:zhang_wei", {"number": second.number}),
        ("resident:42", {"n": 2}),
    ]
    assert [n.id for n in store.outbox.pending(NOW + timedelta(days=1), limit=2)] == [d.id for d in due[:2]]


def test_lifecycle(store: Store) -> None:
    open_case(store)
    open_case(store)
    card, other = store.outbox.pending(NOW)
    later = NOW + timedelta(seconds=30)

    sent = store.outbox.mark_sent(card.id, later)
    assert (sent.status, sent.sent_at, sent.attempts, sent.updated_at) == (OutboxStatus.SENT, later, 1, later)

    retry_at = NOW + timedelta(minutes=5)
    failed = store.outbox.mark_failed(other.id, later, "Telegram: Timed out", retry_at=retry_at)
    assert (failed.status, failed.attempts, failed.last_error, failed.next_attempt_at) == (
        OutboxStatus.PENDING,
        1,
        "Telegram: Timed out",
        retry_at,
    )
    assert store.outbox.pending(later) == []
    assert [n.id for n in store.outbox.pending(retry_at)] == [other.id]

    gave_up = store.outbox.mark_failed(
        other.id, retry_at, "Forbidden: bot was blocked by the user", retry_at=None
    )
    assert (gave_up.status, gave_up.attempts) == (OutboxStatus.FAILED, 2)
    assert store.outbox.pending(NOW + timedelta(days=365)) == []
    assert [n.id for n in store.outbox.notifications(status="failed")] == [other.id]

    dropped = store.outbox.drop(other.id, retry_at, "officer has no linked chat")
    assert (dropped.status, dropped.last_error) == (OutboxStatus.DROPPED, "officer has no linked chat")


def test_status_changes_that_make_no_sense_are_refused(store: Store) -> None:
    open_case(store)
    (card,) = store.outbox.pending(NOW)
    store.outbox.mark_sent(card.id, NOW)
    with pytest.raises(OutboxError, match=f"notification {card.id} is sent; it cannot be marked sent"):
        store.outbox.mark_sent(card.id, NOW)
    with pytest.raises(OutboxError, match="is sent; it cannot be marked failed"):
        store.outbox.mark_failed(card.id, NOW, "x", retry_at=None)
    with pytest.raises(OutboxError, match="is sent; it cannot be dropped"):
        store.outbox.drop(card.id, NOW, "x")
    assert store.outbox.notifications()[0].attempts == 1
    with pytest.raises(NotificationNotFound, match="there is no notification 999"):
        store.outbox.mark_sent(999, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.outbox.mark_failed(card.id, NOW, "x", retry_at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("notification", "problem"),
    [
        (Notification("resident:42", "case_opened"), "unknown notification kind"),
        (Notification("admin", "case_update"), "officer:<id> or resident:<id>"),
    ],
)
def test_a_notification_nobody_could_send_is_refused_with_its_change(
    store: Store, notification: Notification, problem: str
) -> None:
    """The notifier would only drop it, long after the change that queued it was committed."""
    with pytest.raises(ValueError, match=problem):
        store.open_case(new_case(), assign_to("wang_li"), NOW, "resident:42", notify=[notification])
    assert store.cases() == []


def test_a_notice_without_a_case_is_queued_once_since_a_moment_even_by_racing_writers(
    make_store: Callable[[], Store],
) -> None:
    """The supervisor's daily summary: several watchers (threads, each its own engine) write it once."""
    first = make_store()
    first.migrate()
    stores = [first, *(make_store() for _ in range(3))]
    summary = Notification("officer:zhou_jian", "daily_summary", {"numbers": ["HM-2026-000001"]})
    barrier = threading.Barrier(len(stores))
    written: list[bool] = []

    def write(store: Store) -> None:
        barrier.wait()
        written.append(store.outbox.add_once(summary, since=NOW, now=NOW + timedelta(minutes=1)))

    threads = [threading.Thread(target=write, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written) == [False, False, False, True]
    queued = [n for n in first.outbox.notifications() if n.kind == "daily_summary"]
    assert [(n.case_id, n.recipient) for n in queued] == [(None, "officer:zhou_jian")]
    # The next day's moment: written again.
    assert first.outbox.add_once(summary, since=NOW + timedelta(days=1), now=NOW + timedelta(days=1))
