"""Rasa's SQL tracker store, with "replace the conversation" meaning replace.

`make run` keeps conversations in SQL so a Rasa restart does not forget half-finished reports
(:mod:`scripts.endpoints`). Rasa 3.6's ``SQLTrackerStore`` only ever appends: ``save`` writes the events
beyond as many as it already holds for the current session. The gateway's ``/forget`` and its reset of a
conversation replay (``PUT /conversations/<id>/tracker/events`` with a lone ``restart``) hand it a tracker
of one event, so nothing was written and nothing removed: the resident's words stayed in the tracker
store, and the conversation carried on as if never reset. The in-memory store (Rasa's default before)
replaced the tracker whole, as the HTTP API documents.

Here a tracker that does not continue the stored conversation replaces it: every stored event of that
sender, all sessions, is deleted first. A turn's tracker always continues it (Rasa retrieved it from
this store and appended), so ordinary turns are written exactly as Rasa writes them.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker


class HemuSQLTrackerStore(SQLTrackerStore):
    """Configured like Rasa's ``type: SQL`` store (dialect, url, port, db, username, password, query)."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self._replaces(tracker):
            # Committed before the new events are written: a crash in between leaves an empty
            # conversation (a fresh start), never the old words.
            self.forget(tracker.sender_id)
        await super().save(tracker)

    def forget(self, sender_id: str) -> int:
        """Deletes every stored event of ``sender_id``; returns how many."""
        with self.session_scope() as session:
            deleted = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
        return int(deleted)

    def _replaces(self, tracker: DialogueStateTracker) -> bool:
        """Whether ``tracker`` is not the stored conversation continued: it starts with another event
        than the stored current session does, or holds fewer events than are stored."""
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False)
            first = stored.first()
            if first is None:
                return False
            if len(tracker.events) < stored.count():
                return True
        return not tracker.events or not _same_event(json.loads(first.data), tracker.events[0].as_dict())


def _same_event(stored: dict[str, Any], given: dict[str, Any]) -> bool:
    return stored.get("event") == given.get("event") and stored.get("timestamp") == given.get("timestamp")
