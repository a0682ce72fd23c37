from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hemu.config import StationProfile, load_model, load_station
from hemu.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "station.yml"


def write_station(tmp_path: Path, change) -> Path:
    content = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    change(content)
    path = tmp_path / "station.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def test_sample_station_loads() -> None:
    station = load_station(SAMPLE.parent)
    assert station.station.tz.key == "Asia/Shanghai"
    assert [line.number for line in station.emergency_numbers][:2] == ["110", "120"]


def test_unknown_timezone_names_file_entry_and_problem(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["station"].update(timezone="Mars/Olympus"))
    with pytest.raises(ConfigError) as error:
        load_model(path, StationProfile)
    assert f"{path}: station.timezone: unknown timezone 'Mars/Olympus'" in str(error.value)


def test_missing_english_name_of_an_area_is_reported_with_its_index(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["areas"][2]["name"].pop("en"))
    with pytest.raises(ConfigError, match=r"areas\[2\]\.name\.en: field required"):
        load_model(path, StationProfile)


def test_an_alias_shared_by_two_areas_is_refused(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["areas"][1]["aliases"].append("binhe"))
    with pytest.raises(ConfigError, match="'binhe' belongs to two areas"):
        load_model(path, StationProfile)


def test_helpline_for_an_unknown_danger_kind_is_refused(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["helplines"][0].update({"for": ["flood"]}))
    with pytest.raises(ConfigError, match=r"helplines\[0\]\.for\[0\]: unknown danger kind 'flood'"):
        load_model(path, StationProfile)


def test_misspelt_setting_is_refused_not_ignored(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["station"].update(phonne="123"))
    with pytest.raises(ConfigError, match="station.phonne: extra fields not permitted"):
        load_model(path, StationProfile)


def test_broken_yaml_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "station.yml"
    path.write_text("station: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_model(path, StationProfile)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    def break_two(c):
        c["station"]["default_language"] = "fr"
        c["emergency_numbers"] = []

    path = write_station(tmp_path, break_two)
    with pytest.raises(ConfigError) as error:
        load_model(path, StationProfile)
    assert "default_language" in str(error.value) and "emergency_numbers" in str(error.value)


def test_unknown_calendar_country_names_the_file(tmp_path: Path) -> None:
    path = write_station(tmp_path, lambda c: c["calendar"].update(country="XX"))
    with pytest.raises(ConfigError, match=r"station.yml: calendar.country: 'XX' is not a country"):
        load_model(path, StationProfile)


def test_a_day_both_holiday_and_working_day_is_refused(tmp_path: Path) -> None:
    path = write_station(
        tmp_path,
        lambda c: c["calendar"].update(extra_holidays=["2026-12-31"], extra_working_days=["2026-12-31"]),
    )
    with pytest.raises(ConfigError, match="2026-12-31 is listed both as a holiday and as a working day"):
        load_model(path, StationProfile)
