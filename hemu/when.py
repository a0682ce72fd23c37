"""How a promised time reads to a resident: "by 16:30 today (within 4 hours)" / "今天16:30前（4小时内）".

Both an absolute local time and a relative one, because a resident reads the message later than it was
sent and "within 4 hours" alone goes stale, while "16:30" alone makes them do arithmetic. The words are
in ``content/time.yml`` (station staff may reword them); this module only picks and fills them.
The relative part is always rounded up, so the promise never sounds sooner than it is.
"""

from __future__ import annotations

import math
import os
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Tuple

from hemu import LANGUAGES
from hemu.config import REPO_ROOT, read_mapping
from hemu.errors import ConfigError
from hemu.times import require_aware

# key: (placeholders it may use, placeholders it must use)
_TEXTS: Dict[str, Tuple[FrozenSet[str], FrozenSet[str]]] = {
    "today": (frozenset({"time"}), frozenset({"time"})),
    "tomorrow": (frozenset({"time"}), frozenset({"time"})),
    "date": (frozenset({"time", "weekday", "day", "month", "month_number"}), frozenset({"time", "day"})),
    "date_other_year": (
        frozenset({"time", "weekday", "day", "month", "month_number", "year"}),
        frozenset({"time", "day", "year"}),
    ),
    "minutes_one": (frozenset(), frozenset()),
    "minutes": (frozenset({"n"}), frozenset({"n"})),
    "hours_one": (frozenset(), frozenset()),
    "hours": (frozenset({"n"}), frozenset({"n"})),
    "days": (frozenset({"n"}), frozenset({"n"})),
    "due": (frozenset({"when", "within"}), frozenset({"when", "within"})),
    "overdue": (frozenset({"when"}), frozenset({"when"})),
}
_LISTS = {"weekdays": 7, "months": 12}


@dataclass(frozen=True)
class TimeWords:
    texts: Dict[str, Dict[str, str]]
    names: Dict[str, Dict[str, List[str]]]

    def text(self, key: str, language: str, **values: Any) -> str:
        return self.texts[key][language].format(**values)


def time_words_path() -> Path:
    return Path(os.environ.get("HEMU_CONTENT_DIR", REPO_ROOT / "content")) / "time.yml"


def _placeholders(template: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ConfigError(f"{where}: malformed placeholder: {error}") from error


def _check_language_map(content: Dict[str, Any], key: str, path: Path) -> Dict[str, Any]:
    entry = content.get(key)
    if entry is None:
        raise ConfigError(f"{path}: {key}: missing")
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: {key}: expected zh and en")
    unknown = sorted(set(entry) - set(LANGUAGES))
    if unknown:
        raise ConfigError(f"{path}: {key}.{unknown[0]}: unknown language; use {', '.join(LANGUAGES)}")
    for language in LANGUAGES:
        if language not in entry:
            raise ConfigError(f"{path}: {key}.{language}: missing")
    return entry


@lru_cache(maxsize=4)
def load_time_words(path: Path | None = None) -> TimeWords:
    """Reads and checks ``content/time.yml``; every problem names the file and the key."""
    path = path or time_words_path()
    content = read_mapping(path, "texts")
    unknown = sorted(set(content) - set(_TEXTS) - set(_LISTS))
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown entry")

    texts: Dict[str, Dict[str, str]] = {}
    for key, (allowed, required) in _TEXTS.items():
        entry = _check_language_map(content, key, path)
        texts[key] = {}
        for language in LANGUAGES:
            where = f"{path}: {key}.{language}"
            value = entry[language]
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: expected a non-empty text")
            used = _placeholders(value, where)
            if used - allowed:
                raise ConfigError(
                    f"{where}: unknown placeholder {{{sorted(used - allowed)[0]}}}; "
                    f"use {', '.join('{' + name + '}' for name in sorted(allowed)) or 'none'}"
                )
            if required - used:
                raise ConfigError(f"{where}: must contain {{{sorted(required - used)[0]}}}")
            texts[key][language] = value.strip()

    names: Dict[str, Dict[str, List[str]]] = {}
    for key, count in _LISTS.items():
        entry = _check_language_map(content, key, path)
        names[key] = {}
        for language in LANGUAGES:
            value = entry[language]
            if (
                not isinstance(value, list)
                or len(value) != count
                or not all(isinstance(item, str) and item.strip() for item in value)
            ):
                raise ConfigError(f"{path}: {key}.{language}: expected a list of {count} non-empty names")
            names[key][language] = [item.strip() for item in value]
    return TimeWords(texts=texts, names=names)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; use {', '.join(LANGUAGES)}")


def _absolute(due: datetime, now: datetime, tz: tzinfo, language: str, texts: TimeWords) -> str:
    local_due = due.astimezone(tz)
    local_now = now.astimezone(tz)
    clock = f"{local_due.hour:02d}:{local_due.minute:02d}"
    days_apart = (local_due.date() - local_now.date()).days
    if days_apart == 0:
        return texts.text("today", language, time=clock)
    if days_apart == 1:
        return texts.text("tomorrow", language, time=clock)
    key = "date" if local_due.year == local_now.year else "date_other_year"
    return texts.text(
        key,
        language,
        time=clock,
        weekday=texts.names["weekdays"][language][local_due.weekday()],
        day=local_due.day,
        month=texts.names["months"][language][local_due.month - 1],
        month_number=local_due.month,
        year=local_due.year,
    )


def _relative(remaining: timedelta, language: str, texts: TimeWords) -> str:
    minutes = max(1, math.ceil(remaining / timedelta(minutes=1)))
    if minutes < 60:
        return texts.text("minutes_one" if minutes == 1 else "minutes", language, n=minutes)
    hours = math.ceil(remaining / timedelta(hours=1))
    if remaining < timedelta(hours=48):
        return texts.text("hours_one" if hours == 1 else "hours", language, n=hours)
    days = math.ceil(remaining / timedelta(days=1))
    return texts.text("days", language, n=days)


def describe_due(due: datetime, now: datetime, tz: tzinfo, language: str) -> str:
    """The promise as the resident reads it at ``now``, in local time of the station.

    A due time that has already passed is described as overdue (:func:`describe_overdue`) rather than
    as "within 0 minutes".
    """
    due_utc = require_aware(due, "due")
    now_utc = require_aware(now, "now")
    _check_language(language)
    texts = load_time_words()
    if due_utc <= now_utc:
        return describe_overdue(due, now, tz, language)
    when = _absolute(due_utc, now_utc, tz, language, texts)
    within = _relative(due_utc - now_utc, language, texts)
    return texts.text("due", language, when=when, within=within)


def describe_overdue(due: datetime, now: datetime, tz: tzinfo, language: str) -> str:
    """A promise that was not kept, said plainly: "was due by 16:30 today — overdue"."""
    due_utc = require_aware(due, "due")
    now_utc = require_aware(now, "now")
    _check_language(language)
    texts = load_time_words()
    return texts.text("overdue", language, when=_absolute(due_utc, now_utc, tz, language, texts))


__all__ = ["TimeWords", "describe_due", "describe_overdue", "load_time_words"]
