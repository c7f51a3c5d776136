"""Small geodesy for the app (great-circle distance, bearing, walking time) and the shipped wards."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared_schemas.venues import WALKING_M_PER_MIN
from shared_schemas.venues import walking_minutes as shared_walking_minutes

EARTH_RADIUS_M = 6_371_008.8
WALKING_SPEED_MPS = WALKING_M_PER_MIN / 60  # the simulated walk's pace
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
WARDS_FILE = Path(__file__).resolve().parent.parent / "data" / "wigan_wards_2023.geojson"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def compass_point(bearing: float) -> str:
    """N, NE, E... for a bearing in degrees."""
    return COMPASS[int(((bearing % 360) + 22.5) // 45) % 8]


def walking_minutes(distance_m: float) -> int:
    """Whole minutes to walk a distance (at least 1): the server's rule, so both agree."""
    return shared_walking_minutes(distance_m)


def interpolate(
    lat1: float, lon1: float, lat2: float, lon2: float, f: float
) -> tuple[float, float]:
    """The point a fraction ``f`` of the way along a short segment (linear is fine at street scale)."""
    return lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f


def format_distance(distance_m: float) -> str:
    """ "350 m" or "1.2 km"."""
    if distance_m < 1000:
        return f"{round(distance_m / 10) * 10:.0f} m"
    return f"{distance_m / 1000:.1f} km"


@lru_cache(maxsize=1)
def wards() -> list[dict[str, Any]]:
    """The shipped ward outlines: ``[{code, name, rings: [[(lon, lat), ...], ...]}]``."""
    data = json.loads(WARDS_FILE.read_text(encoding="utf-8"))
    out = []
    for feature in data["features"]:
        geom = feature["geometry"]
        polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        rings = [[(float(x), float(y)) for x, y in ring] for poly in polygons for ring in poly]
        out.append(
            {
                "code": feature["properties"]["code"],
                "name": feature["properties"]["name"],
                "rings": rings,
            }
        )
    return out


def wards_bounds() -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of all wards."""
    xs = [x for w in wards() for ring in w["rings"] for x, _ in ring]
    ys = [y for w in wards() for ring in w["rings"] for _, y in ring]
    return min(xs), min(ys), max(xs), max(ys)


def ward_at(lat: float, lon: float) -> dict[str, Any] | None:
    """The shipped ward containing a point (even-odd rule over its rings), offline."""
    for ward in wards():
        inside = False
        for ring in ward["rings"]:
            j = len(ring) - 1
            for i in range(len(ring)):
                xi, yi = ring[i]
                xj, yj = ring[j]
                if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                    inside = not inside
                j = i
        if inside:
            return {"code": ward["code"], "name": ward["name"]}
    return None


# --- markers on a screen -------------------------------------------------------------------

Placed = tuple[float, float, int, dict[str, Any]]  # x, y on screen, list number, place


def cluster_markers(
    placed: list[Placed], size: float
) -> list[tuple[float, float, list[tuple[int, dict[str, Any]]]]]:
    """Markers closer on screen than ``size`` (either way) become one, at the first one's
    place, holding the list numbers and places it stands for: none covers another."""
    groups: list[tuple[float, float, list[tuple[int, dict[str, Any]]]]] = []
    for x, y, number, place in placed:
        for gx, gy, members in groups:
            if abs(gx - x) < size and abs(gy - y) < size:
                members.append((number, place))
                break
        else:
            groups.append((x, y, [(number, place)]))
    return groups


def marker_text(numbers: list[int]) -> str:
    """'4', or the numbers a cluster holds: '3-5' when consecutive, else '1,6'."""
    if len(numbers) == 1:
        return str(numbers[0])
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ",".join(map(str, numbers))
