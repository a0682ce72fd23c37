"""Which configured area a shared Telegram location lies in.

A resident on a phone can answer "where is this happening?" by sharing their location instead of
typing an address they may not know how to spell. Distances are great-circle (haversine): at the
scale of one police station's beat the error against the real ellipsoid is far below the radius of
an area, and it needs no geodesy library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from hemu.config import Area

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), metres


def haversine_m(latitude1: float, longitude1: float, latitude2: float, longitude2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points given in degrees."""
    phi1, phi2 = math.radians(latitude1), math.radians(latitude2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(longitude2 - longitude1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class AreaMatch:
    area: Area
    distance_m: float


def nearest_area(
    latitude: float, longitude: float, areas: Iterable[Area], radius_m: float | None = None
) -> AreaMatch | None:
    """The nearest area whose centre is within its radius (or ``radius_m`` when given), else None.

    Areas without a configured location are skipped: they can still be named in words. None means
    "not one of ours, or we cannot tell" — the caller asks the resident to type the place, rather
    than guessing a neighbouring beat and sending the wrong officer.
    """
    best: AreaMatch | None = None
    for area in areas:
        point = area.location
        if point is None:
            continue
        distance = haversine_m(latitude, longitude, point.latitude, point.longitude)
        limit = point.radius_m if radius_m is None else radius_m
        if distance <= limit and (best is None or distance < best.distance_m):
            best = AreaMatch(area=area, distance_m=distance)
    return best
