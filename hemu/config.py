"""Station configuration: loaded from YAML that station staff edit, rejected loudly when wrong.

Every problem is reported as ``file: entry: problem`` so an admin can fix it without reading
code, and all problems of a file are reported at once.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Type, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Extra, ValidationError, constr, validator

from hemu import LANGUAGES
from hemu.countries import is_supported_country
from hemu.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
RISK_KINDS = ("violence", "weapon", "threat", "self_harm")

NonEmpty = constr(strip_whitespace=True, min_length=1)
Model = TypeVar("Model", bound=BaseModel)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class Text(_Strict):
    """A user-visible text in both languages."""

    zh: NonEmpty  # type: ignore[valid-type]
    en: NonEmpty  # type: ignore[valid-type]

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.zh


class Station(_Strict):
    name: Text
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"
    phone: NonEmpty  # type: ignore[valid-type]
    address: Text
    hours: Text

    @validator("timezone")
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r}") from error
        return value

    @validator("default_language")
    def _supported_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PhoneLine(_Strict):
    number: constr(strip_whitespace=True, regex=r"^[0-9][0-9 \-]{1,19}$")  # type: ignore[valid-type]
    label: Text


class Helpline(PhoneLine):
    for_: List[str]

    class Config:
        fields = {"for_": "for"}

    @validator("for_", each_item=True)
    def _known_kind(cls, value: str) -> str:
        if value not in RISK_KINDS:
            raise ValueError(f"unknown danger kind {value!r}; use {', '.join(RISK_KINDS)}")
        return value


class MediationCommittee(_Strict):
    name: Text
    phone: NonEmpty  # type: ignore[valid-type]
    address: Text


class GeoPoint(_Strict):
    """Where an area is, so a resident can answer "where?" by sharing a Telegram location.

    ``radius_m`` is how far from this point a shared location still counts as this area: a village
    spreads wider than an estate, so each area says its own.
    """

    latitude: float
    longitude: float
    radius_m: float = 1500

    @validator("latitude")
    def _latitude(cls, value: float) -> float:
        if not -90 <= value <= 90:
            raise ValueError("latitude must be between -90 and 90")
        return value

    @validator("longitude")
    def _longitude(cls, value: float) -> float:
        if not -180 <= value <= 180:
            raise ValueError("longitude must be between -180 and 180")
        return value

    @validator("radius_m")
    def _radius(cls, value: float) -> float:
        if not 0 < value <= 50_000:
            raise ValueError("radius_m must be more than 0 and at most 50000 (metres)")
        return value


class Area(_Strict):
    id: constr(regex=r"^[a-z][a-z0-9_-]*$")  # type: ignore[valid-type]
    name: Text
    aliases: List[NonEmpty] = []  # type: ignore[valid-type]
    location: GeoPoint | None = None


class CalendarSettings(_Strict):
    """Which days are working days: the country's public holidays and make-up working days (from a
    maintained library, see :mod:`hemu.workcal`) plus the station's own exceptions."""

    country: constr(regex=r"^[A-Z]{2}$") = "CN"  # type: ignore[valid-type]
    extra_holidays: List[date] = []
    extra_working_days: List[date] = []

    @validator("country")
    def _known_country(cls, value: str) -> str:
        if not is_supported_country(value):
            raise ValueError(f"{value!r} is not a country the holidays library knows (e.g. CN)")
        return value

    @validator("extra_working_days")
    def _not_both(cls, value: List[date], values: Dict[str, Any]) -> List[date]:
        both = sorted(set(value) & set(values.get("extra_holidays") or []))
        if both:
            raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and as a working day")
        return value


class StationProfile(_Strict):
    station: Station
    calendar: CalendarSettings = CalendarSettings()
    emergency_numbers: List[PhoneLine]
    helplines: List[Helpline] = []
    mediation_committee: MediationCommittee
    areas: List[Area]

    @property
    def first_emergency_number(self) -> str:
        """The police number that every "we can't answer now" or "we are late" text to a resident in
        danger carries."""
        return self.emergency_numbers[0].number

    def area_name(self, area_id: str | None, language: str) -> str | None:
        """The configured area's name; an id no longer configured is shown as is (None stays None)."""
        area = next((area for area in self.areas if area.id == area_id), None)
        return area.name.get(language) if area else area_id

    @validator("emergency_numbers")
    def _has_numbers(cls, value: List[PhoneLine]) -> List[PhoneLine]:
        if not value:
            raise ValueError("at least one emergency number is required")
        return value

    @validator("areas")
    def _unique_areas(cls, value: List[Area]) -> List[Area]:
        if not value:
            raise ValueError("at least one area is required")
        seen: Dict[str, str] = {}
        for area in value:
            if area.id in seen:
                raise ValueError(f"area id {area.id!r} is used twice")
            seen[area.id] = area.id
            for alias in [area.name.zh, area.name.en, *area.aliases]:
                key = alias.casefold()
                if seen.get(key, area.id) != area.id:
                    raise ValueError(f"name or alias {alias!r} belongs to two areas")
                seen[key] = area.id
        return value

    def helplines_for(self, kinds: List[str]) -> List[Helpline]:
        return [line for line in self.helplines if set(line.for_) & set(kinds)]

    def area(self, area_id: str) -> Area | None:
        return next((area for area in self.areas if area.id == area_id), None)


def _entry(location: tuple[Any, ...]) -> str:
    parts: List[str] = []
    for item in location:
        if item == "__root__":
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + ("for" if item == "for_" else str(item)))
    return "".join(parts) or "(top level)"


def _problem(path: Path, location: tuple[Any, ...], message: str) -> str:
    entry = _entry(location)
    # Cross-entry checks (validators over the whole file) name their own entry: "officers[2].backup: …".
    if entry == "(top level)" and re.match(r"^[\w\[\]\.]+: ", message):
        return f"{path}: {message}"
    return f"{path}: {entry}: {message}"


def read_mapping(path: Path, what: str = "settings") -> Dict[str, Any]:
    """The YAML mapping in ``path``; unreadable, invalid or non-mapping files are a :class:`ConfigError`."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping of {what}")
    return content


def load_model(path: Path, model: Type[Model]) -> Model:
    """Reads ``path`` as ``model``; any problem becomes a :class:`ConfigError` naming the entry."""
    content = read_mapping(path)
    try:
        return model.parse_obj(content)
    except ValidationError as error:
        problems = [_problem(path, e["loc"], e["msg"]) for e in error.errors()]
        raise ConfigError("\n".join(problems)) from error


def config_dir() -> Path:
    """``HEMU_CONFIG_DIR`` if set (tests, other stations), else the repository's ``config/``."""
    return Path(os.environ.get("HEMU_CONFIG_DIR", REPO_ROOT / "config"))


@lru_cache(maxsize=4)
def load_station(directory: Path | None = None) -> StationProfile:
    return load_model((directory or config_dir()) / "station.yml", StationProfile)
