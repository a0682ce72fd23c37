"""The report's words (``content/report.yml``) and the names it shows: categories, areas, officers — in
the reader's language. A missing word or language is a start-up error (``python -m hemu check``), not a
blank on the station head's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

from pydantic import ValidationError, parse_obj_as

from hemu.config import Text, read_mapping
from hemu.errors import ConfigError
from hemu.guidance import content_dir, load_content
from hemu.settings import Settings
from hemu.stats import UNKNOWN_AREA

FILE = "report.yml"


@lru_cache(maxsize=4)
def load_words(directory: Path | None = None) -> Dict[str, Text]:
    path = (directory or content_dir()) / FILE
    raw = read_mapping(path, "report words")
    try:
        return parse_obj_as(Dict[str, Text], raw)
    except ValidationError as error:
        problems = [f"{path}: {'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()]
        raise ConfigError("\n".join(problems)) from error


@dataclass(frozen=True)
class Words:
    """Everything the report writes, in one language."""

    language: str
    settings: Settings

    def __call__(self, key: str, **values: Any) -> str:
        words = load_words()
        if key not in words:
            raise ConfigError(f"{content_dir() / FILE}: {key}: missing")
        return words[key].get(self.language).format(**values)

    def category(self, category: str) -> str:
        return load_content().category_name(category, self.language)

    def area(self, area_id: str) -> str:
        if area_id == UNKNOWN_AREA:
            return self("unknown_area")
        return self.settings.station.area_name(area_id, self.language) or area_id

    def officer(self, officer_id: str) -> str:
        officer = self.settings.roster.officer(officer_id)
        return officer.name.get(self.language) if officer else officer_id

    def duration(self, value: timedelta | None) -> str:
        if value is None:
            return self("none")
        minutes = max(0, round(value.total_seconds() / 60))
        if minutes < 60:
            return self("minutes", minutes=minutes)
        if minutes < 48 * 60:
            return self("hours", hours=minutes // 60, minutes=minutes % 60)
        return self("days", days=round(minutes / (24 * 60), 1))

    def percent(self, value: float | None) -> str:
        return self("none") if value is None else self("percent", value=round(100 * value))

    def share(self, part: int, whole: int) -> str:
        """``91% (32 of 35)``: the rate always shown with what it is made of."""
        if not whole:
            return self("none")
        return f"{self.percent(part / whole)} ({self('of', part=part, whole=whole)})"


__all__ = ["FILE", "Words", "load_words"]
