"""Everything a running Hemu is configured with, loaded together so cross-file mistakes are caught at
start-up: a roster naming an area that ``station.yml`` does not define is as fatal as a typo in either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hemu.config import StationProfile, config_dir, load_station
from hemu.errors import ConfigError
from hemu.policy import Policy, load_policy
from hemu.roster import Roster, load_roster


@dataclass(frozen=True)
class Settings:
    station: StationProfile
    roster: Roster
    policy: Policy


def check_roster_areas(station: StationProfile, roster: Roster, path: Path) -> None:
    """Every area an officer serves must exist, and every area must have someone serving it."""
    known = {area.id for area in station.areas}
    problems = [
        f"{path}: officers[{index}].areas: unknown area {area!r}; "
        f"station.yml defines {', '.join(sorted(known))}"
        for index, officer in enumerate(roster.officers)
        for area in officer.areas
        if area not in known
    ]
    served = {area for officer in roster.active_officers() for area in officer.areas}
    problems += [
        f"{path}: officers: no active officer serves area {area.id!r}"
        for area in station.areas
        if area.id not in served
    ]
    if problems:
        raise ConfigError("\n".join(problems))


def load_settings(directory: Path | None = None) -> Settings:
    """Station, roster and policy from ``directory`` (default: ``HEMU_CONFIG_DIR`` or ``config/``)."""
    return _load_settings(directory or config_dir())


@lru_cache(maxsize=4)
def _load_settings(folder: Path) -> Settings:
    problems: list[str] = []
    loaded: dict[str, object] = {}
    for name, loader in (("station", load_station), ("roster", load_roster), ("policy", load_policy)):
        try:
            loaded[name] = loader(folder)
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))
    settings = Settings(**loaded)  # type: ignore[arg-type]
    check_roster_areas(settings.station, settings.roster, folder / "roster.yml")
    return settings
