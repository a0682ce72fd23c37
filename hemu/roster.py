"""The officers roster (``config/roster.yml``): who serves which area, when they are on duty, who backs
them up.

Station staff edit the roster; Telegram chat ids are never typed here — an officer links their chat by
sending an invite code made with ``python -m hemu officers invite``.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal

from pydantic import Field, constr, root_validator, validator

from hemu.config import Text, _Strict, config_dir, load_model

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Day sets resolved against the station's calendar: holidays and make-up working days move with it.
CALENDAR_DAYS = ("working_days", "non_working_days", "every_day")

OfficerId = constr(regex=r"^[a-z][a-z0-9_]*$")


class Shift(_Strict):
    """One duty period on the given days; ``to`` at or before ``from`` means it ends the next morning."""

    days: Literal["working_days", "non_working_days", "every_day"] | List[str]
    start: time = Field(..., alias="from")
    end: time = Field(..., alias="to")

    class Config:
        allow_population_by_field_name = True

    @validator("days")
    def _known_days(cls, value: str | List[str]) -> str | List[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("list at least one day")
            unknown = [day for day in value if day not in WEEKDAYS]
            if unknown:
                raise ValueError(
                    f"unknown day {unknown[0]!r}; use {', '.join(WEEKDAYS)} "
                    f"or one of {', '.join(CALENDAR_DAYS)}"
                )
        return value

    @validator("start", "end", pre=True)
    def _clock_time(cls, value: object) -> object:
        # YAML reads an unquoted 08:30 as a number of minutes (sexagesimal); accept it, but say so otherwise.
        if isinstance(value, int) and 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        if isinstance(value, str) and value.strip() in ("24:00", "24:00:00"):
            return time(0, 0)
        return value

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


class Officer(_Strict):
    id: OfficerId  # type: ignore[valid-type]
    name: Text
    title: Text
    areas: List[str] = []
    duty: List[Shift]
    backup: OfficerId | None = None  # type: ignore[valid-type]
    # The station's duty officer (值班民警): after the area's officers and their backups, the first
    # asked to take a case, and the first to take over an urgent case whose promise broke.
    duty_officer: bool = False
    active: bool = True
    # The language of the officer's own Telegram messages; None: their Telegram app's at /register, else
    # the station's default_language (bot/languages.py).
    language: Literal["zh", "en"] | None = None

    @validator("duty")
    def _has_duty(cls, value: List[Shift]) -> List[Shift]:
        if not value:
            raise ValueError("at least one duty shift is required")
        return value


class Roster(_Strict):
    supervisor: OfficerId  # type: ignore[valid-type]
    officers: List[Officer]
    invite_valid_days: int = Field(7, ge=1, le=90)

    @root_validator(skip_on_failure=True)
    def _references(cls, values: Dict[str, object]) -> Dict[str, object]:
        officers: List[Officer] = values["officers"]  # type: ignore[assignment]
        if not officers:
            raise ValueError("officers: at least one officer is required")
        ids: Dict[str, int] = {}
        for index, officer in enumerate(officers):
            if officer.id in ids:
                raise ValueError(f"officers[{index}].id: {officer.id!r} is used twice")
            ids[officer.id] = index
        for index, officer in enumerate(officers):
            if officer.backup is None:
                continue
            if officer.backup == officer.id:
                raise ValueError(f"officers[{index}].backup: an officer cannot be their own backup")
            if officer.backup not in ids:
                raise ValueError(f"officers[{index}].backup: no officer with id {officer.backup!r}")
        supervisor = values["supervisor"]
        if supervisor not in ids:
            raise ValueError(f"supervisor: no officer with id {supervisor!r}")
        if not officers[ids[supervisor]].active:  # type: ignore[index]
            raise ValueError(f"supervisor: {supervisor!r} is marked inactive")
        return values

    def officer(self, officer_id: str) -> Officer | None:
        return next((officer for officer in self.officers if officer.id == officer_id), None)

    def get(self, officer_id: str) -> Officer:
        officer = self.officer(officer_id)
        if officer is None:
            raise KeyError(f"no officer with id {officer_id!r} in the roster")
        return officer

    @property
    def supervisor_officer(self) -> Officer:
        return self.get(self.supervisor)

    def in_service(self, officer_id: str) -> bool:
        """In the roster and not marked ``active: false``: anyone else gets no console and no case cards."""
        officer = self.officer(officer_id)
        return officer is not None and officer.active

    def active_officers(self) -> List[Officer]:
        return [officer for officer in self.officers if officer.active]

    def responsible_for(self, area_id: str | None) -> List[Officer]:
        """Active officers who serve ``area_id``, in roster order (the first is the area's own officer)."""
        if area_id is None:
            return []
        return [officer for officer in self.active_officers() if area_id in officer.areas]


@lru_cache(maxsize=4)
def load_roster(directory: Path | None = None) -> Roster:
    return load_model((directory or config_dir()) / "roster.yml", Roster)


__all__ = ["CALENDAR_DAYS", "WEEKDAYS", "Officer", "Roster", "Shift", "load_roster"]
