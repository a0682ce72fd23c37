"""The SQL tracker store appends a turn as Rasa's own does, and replacing a conversation (the gateway's
``/forget`` and reset) removes what the resident said, from every session."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from rasa_addons.tracker_store import HemuSQLTrackerStore

SENDER = "resident-1"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "trackers.sqlite3"


@pytest.fixture
def store(path: Path) -> HemuSQLTrackerStore:
    return HemuSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(path))


def session(*said: str, at: float) -> list:
    events: list = [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at)]
    for offset, words in enumerate(said, start=1):
        events += [
            ActionExecuted("action_listen", timestamp=at + offset),
            UserUttered(words, timestamp=at + offset),
        ]
    return events


def stored_texts(path: Path, sender: str = SENDER) -> list[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
            )
            return [row.data for row in rows]
    finally:
        engine.dispose()


async def test_turns_are_appended_as_rasa_does(store: HemuSQLTrackerStore, path: Path) -> None:
    await store.save(DialogueStateTracker.from_events(SENDER, session("楼上天天拖椅子", at=100.0)))
    tracker = await store.retrieve(SENDER)
    assert tracker is not None
    tracker.update(ActionExecuted("action_listen", timestamp=200.0))
    tracker.update(UserUttered("滨河社区3栋", timestamp=201.0))
    await store.save(tracker)
    again = await store.retrieve(SENDER)
    assert again is not None and [e.text for e in again.events if isinstance(e, UserUttered)] == [
        "楼上天天拖椅子",
        "滨河社区3栋",
    ]
    assert len(stored_texts(path)) == len(again.events) == 6  # nothing written twice


async def test_replacing_the_conversation_forgets_every_session_of_it(
    store: HemuSQLTrackerStore, path: Path
) -> None:
    older = session("上个月的邻居纠纷", at=100.0)
    await store.save(DialogueStateTracker.from_events(SENDER, older + session("楼上天天拖椅子", at=500.0)))
    await store.save(DialogueStateTracker.from_events("resident-2", session("别人的话", at=100.0)))
    # PUT /conversations/<id>/tracker/events with a lone restart, as the gateway's /forget sends it.
    await store.save(DialogueStateTracker.from_events(SENDER, [Restarted(timestamp=900.0)]))
    rows = stored_texts(path)
    assert len(rows) == 1 and '"restart"' in rows[0]
    assert not any("拖椅子" in row or "上个月" in row for row in rows)
    assert len(stored_texts(path, "resident-2")) == 4  # nobody else's conversation is touched
    tracker = await store.retrieve(SENDER)
    assert tracker is not None and [type(e) for e in tracker.events] == [Restarted]
