"""Messages the actions send, from ``content/messages.yml``, in the resident's language.

Responses that rules send live in ``domain.yml``; the ones actions send live here, because an
action knows the language it is answering in (a domain response rendered by an action would use the
language of the previous turn) and Rasa's validator cannot see responses used only inside code.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

from pydantic import BaseModel, Extra, constr, validator

from hemu.config import REPO_ROOT, Text, load_model
from hemu.errors import ConfigError

NonEmpty = constr(strip_whitespace=True, min_length=1)

# Every message the actions use; a missing one is a start-up error, not a silent reply.
REQUIRED = (
    "clarify",
    "report_started",
    "ask_area",
    "ask_parties",
    "ask_duration",
    "ask_harm",
    "ask_contact_consent",
    "ask_contact",
    "confirm_details",
    "ask_which_field",
    "report_cancelled",
    "nothing_to_cancel",
    "guidance",
    "guidance_after_danger",
    "safety",
    "case_opened",
    "case_extended",
    "case_already_open",
    "urgent_case_opened",
    "urgent_case_extended",
    "case_desk_unavailable",
    "case_limit_reached",
    "urgent_limit_extended",
    "officer_needs_report",
    "contact_via_phone",
    "contact_via_chat",
    "status_none",
    "status_list",
    "status_case",
    "status_case_closed",
    "cancel_which",
    "cancel_case_button",
    "case_cancelled",
    "case_not_found",
    "case_not_active",
)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Button(BaseModel):
    title: Text
    payload: NonEmpty  # type: ignore[valid-type]

    class Config:
        extra = Extra.forbid


class Message(BaseModel):
    zh: NonEmpty  # type: ignore[valid-type]
    en: NonEmpty  # type: ignore[valid-type]
    buttons: List[Button] = []

    class Config:
        extra = Extra.forbid

    @validator("en")
    def _same_placeholders(cls, value: str, values: Dict[str, Any]) -> str:
        zh = values.get("zh")
        if zh is not None and placeholders(zh) != placeholders(value):
            raise ValueError(f"zh uses {sorted(placeholders(zh))} but en uses {sorted(placeholders(value))}")
        return value


class Catalogue(BaseModel):
    __root__: Dict[str, Message]


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: List[Dict[str, str]]


@dataclass(frozen=True)
class Messages:
    entries: Dict[str, Message]

    def render(self, key: str, language: str, **values: Any) -> Rendered:
        """The message in ``language`` with its placeholders filled; missing values are an error."""
        entry = self.entries[key]
        template = entry.en if language == "en" else entry.zh
        missing = placeholders(template) - set(values)
        if missing:
            raise KeyError(f"message {key!r} needs {sorted(missing)}")
        return Rendered(
            text=template.format(**values),
            buttons=[{"title": b.title.get(language), "payload": b.payload} for b in entry.buttons],
        )


def messages_path() -> Path:
    return Path(os.environ.get("HEMU_CONTENT_DIR", REPO_ROOT / "content")) / "messages.yml"


@lru_cache(maxsize=4)
def load_messages(path: Path | None = None) -> Messages:
    path = path or messages_path()
    catalogue = load_model(path, Catalogue)
    missing = [key for key in REQUIRED if key not in catalogue.__root__]
    if missing:
        raise ConfigError(f"{path}: {', '.join(missing)}: message missing")
    return Messages(entries=catalogue.__root__)
