"""A shared Telegram location → the configured area it lies in (or none)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hemu.config import StationProfile, load_model, load_station
from hemu.errors import ConfigError
from hemu.geo import haversine_m, nearest_area

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_haversine_known_distances() -> None:
    assert haversine_m(30.0, 120.0, 30.0, 120.0) == 0
    # One degree of latitude is about 111.2 km everywhere.
    assert haversine_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195, rel=1e-3)
    # Shanghai People's Square → Hangzhou West Lake, about 165 km.
    assert haversine_m(31.2304, 121.4737, 30.2590, 120.1388) == pytest.approx(165_000, rel=0.03)
    # Antipodes do not blow up.
    assert haversine_m(0, 0, 0, 180) == pytest.approx(20_015_000, rel=1e-3)


def test_nearest_configured_area_within_its_radius() -> None:
    areas = load_station(REPO_ROOT / "config").areas
    binhe = next(a for a in areas if a.id == "binhe")
    assert binhe.location is not None
    match = nearest_area(binhe.location.latitude + 0.001, binhe.location.longitude, areas)
    assert match is not None and match.area.id == "binhe"
    assert match.distance_m == pytest.approx(111, abs=2)


def test_between_two_areas_the_nearer_wins() -> None:
    areas = load_station(REPO_ROOT / "config").areas
    binhe, liuan = (next(a for a in areas if a.id == i).location for i in ("binhe", "liuan"))
    assert binhe and liuan
    # 60 % of the way from Binhe to Liu'an: inside both radii? whichever is nearer must win.
    lat = binhe.latitude + 0.6 * (liuan.latitude - binhe.latitude)
    lon = binhe.longitude + 0.6 * (liuan.longitude - binhe.longitude)
    match = nearest_area(lat, lon, areas)
    assert match is not None and match.area.id == "liuan"


def test_far_away_or_unconfigured_is_none() -> None:
    areas = load_station(REPO_ROOT / "config").areas
    assert nearest_area(39.9042, 116.4074, areas) is None  # Beijing
    unplaced = [a.copy(update={"location": None}) for a in areas]
    assert nearest_area(30.2080, 120.2120, unplaced) is None


def test_an_explicit_radius_overrides_the_areas_own() -> None:
    areas = load_station(REPO_ROOT / "config").areas
    assert nearest_area(30.2080 + 0.02, 120.2120, areas) is None  # ~2.2 km north of Binhe
    match = nearest_area(30.2080 + 0.02, 120.2120, areas, radius_m=5000)
    assert match is not None


def test_bad_coordinates_are_refused_naming_the_entry(tmp_path: Path) -> None:
    content = yaml.safe_load((REPO_ROOT / "config" / "station.yml").read_text(encoding="utf-8"))
    content["areas"][1]["location"] = {"latitude": 95, "longitude": 120.0}
    content["areas"][2]["location"] = {"latitude": 30, "longitude": 120.0, "radius_m": 0}
    path = tmp_path / "station.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_model(path, StationProfile)
    assert "areas[1].location.latitude: latitude must be between -90 and 90" in str(error.value)
    assert "areas[2].location.radius_m" in str(error.value)


def test_location_is_optional() -> None:
    content = yaml.safe_load((REPO_ROOT / "config" / "station.yml").read_text(encoding="utf-8"))
    for area in content["areas"]:
        area.pop("location", None)
    assert all(a.location is None for a in StationProfile.parse_obj(content).areas)
