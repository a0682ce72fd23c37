"""The journal of fetched Telegram updates (hemu/store/received.py), on SQLite and PostgreSQL: kept once,
cleared when handled, handed to the next gateway oldest first, and set aside after too many restarts."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hemu.store import Store
from hemu.store.received import MAX_RESTARTS

NOW = datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)


def payload(update_id: int, text: str = "hello") -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": text}}


def test_an_update_is_kept_once_and_cleared_when_handled(store: Store) -> None:
    assert store.received.keep(7, 1001, payload(7), NOW)
    assert not store.received.keep(7, 1001, payload(7), NOW)  # Telegram sending it again
    assert store.received.count() == 1
    assert store.received.done(7)
    assert store.received.count() == 0
    assert not store.received.done(7)


def test_the_next_gateway_gets_what_was_left_oldest_first(store: Store) -> None:
    for update_id in (12, 10, 11):
        store.received.keep(update_id, 1001, payload(update_id, f"m{update_id}"), NOW)
    store.received.done(11)
    left = store.received.left_over()
    assert [row.update_id for row in left] == [10, 12]
    assert left[0].payload == payload(10, "m10") and left[0].restarts == 1


def test_an_update_that_outlives_every_gateway_is_set_aside(store: Store) -> None:
    store.received.keep(5, None, payload(5), NOW)
    for _ in range(MAX_RESTARTS):
        assert [row.update_id for row in store.received.left_over()] == [5]
    assert store.received.left_over() == []
    assert store.received.count() == 0


def test_a_naive_time_or_a_non_integer_id_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.received.keep(1, 1, payload(1), NOW.replace(tzinfo=None))
    with pytest.raises(TypeError):
        store.received.keep("1", 1, payload(1), NOW)  # type: ignore[arg-type]
