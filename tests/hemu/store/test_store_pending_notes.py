"""The resolution note the gateway waits for (hemu/store/pending_notes.py): one per officer chat, a new
"Resolve" replaces the old question, and taking it is once only."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hemu.store import Store

NOW = datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)
CHAT = 5_000_000_001


def test_a_new_question_replaces_the_old_and_is_taken_once(store: Store) -> None:
    store.pending_notes.ask(CHAT, "HM-2026-000001", 1, 17, NOW)
    store.pending_notes.ask(CHAT, "HM-2026-000002", 3, None, NOW)
    note = store.pending_notes.get(CHAT)
    assert note is not None
    assert (note.case_number, note.version, note.message_id) == ("HM-2026-000002", 3, None)
    assert note.asked_at == NOW
    assert store.pending_notes.take(CHAT) == note
    assert store.pending_notes.take(CHAT) is None and store.pending_notes.get(CHAT) is None


def test_a_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.pending_notes.ask(CHAT, "HM-2026-000001", 1, 17, NOW.replace(tzinfo=None))
