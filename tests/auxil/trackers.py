"""Builds rasa-sdk trackers for action tests, with sensible defaults for every field."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def make_tracker(
    text: str = "",
    intent: str | None = None,
    *,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    active_loop: str | None = None,
    requested_slot: str | None = None,
    sender_id: str = "resident-1",
) -> Tracker:
    """A tracker whose latest message is ``text`` classified as ``intent``."""
    all_slots: dict[str, Any] = {"language": "zh", "wants_officer": False}
    all_slots.update(slots or {})
    if requested_slot:
        all_slots["requested_slot"] = requested_slot
    ranking_dicts = [{"name": name, "confidence": confidence} for name, confidence in ranking or []]
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
        "metadata": metadata or {},
        "intent_ranking": ranking_dicts,
    }
    return Tracker.from_dict(
        {
            "sender_id": sender_id,
            "slots": all_slots,
            "latest_message": latest,
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


def risk(value: str, start: int = 0, end: int = 1) -> dict[str, Any]:
    """A ``risk`` entity as the risk component produces it."""
    return {"entity": "risk", "value": value, "start": start, "end": end, "extractor": "RiskEntityExtractor"}


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots an action set, by name (later events win)."""
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
