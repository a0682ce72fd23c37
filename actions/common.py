"""What every action needs: the resident's language, the station profile and the content files."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from hemu.config import StationProfile, load_station
from hemu.guidance import Content, load_content
from hemu.messages import load_messages

RISK_ENTITY = "risk"


def language(tracker: Tracker) -> str:
    """The language replies are written in (set every turn by ``action_track_context``)."""
    return tracker.get_slot("language") or station().station.default_language


def say(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    key: str,
    buttons: list[dict[str, str]] | None = None,
    **values: Any,
) -> None:
    """Sends message ``key`` of ``content/messages.yml`` in the resident's language."""
    rendered = load_messages().render(key, language(tracker), **values)
    dispatcher.utter_message(text=rendered.text, buttons=rendered.buttons + (buttons or []))


def text(tracker: Tracker, key: str, **values: Any) -> str:
    """Message ``key`` rendered in the resident's language, for composing a larger message."""
    return load_messages().render(key, language(tracker), **values).text


def station() -> StationProfile:
    return load_station()


def content() -> Content:
    return load_content()


def latest_risks(tracker: Tracker) -> list[str]:
    """Danger labels the risk component found in the latest message, in order, without repeats."""
    values: list[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") == RISK_ENTITY and value and value not in values:
            values.append(str(value))
    return values


def metadata(tracker: Tracker) -> dict[str, Any]:
    """The gateway's metadata for the latest message (``language``, ``telegram_user_id``)."""
    return tracker.latest_message.get("metadata") or {}
