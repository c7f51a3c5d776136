"""Small geodesy for the app (great-circle distance, bearing, walking time) and the shipped wards."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
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


# --- markers and labels on a screen ------------------------------------------------------

Placed = tuple[float, float, int, dict[str, Any]]  # x, y on screen, list number, place
Box = tuple[float, float, float, float]  # x, y (bottom left), width, height on screen
Group = tuple[float, float, list[tuple[int, dict[str, Any]]]]


def boxes_overlap(a: Box, b: Box, gap: float = 0.0) -> bool:
    """True when the boxes overlap or come closer than ``gap``."""
    return (
        a[0] < b[0] + b[2] + gap
        and b[0] < a[0] + a[2] + gap
        and a[1] < b[1] + b[3] + gap
        and b[1] < a[1] + a[3] + gap
    )


def marker_box(x: float, y: float, width: float, height: float) -> Box:
    return (x - width / 2, y - height / 2, width, height)


def cluster_markers(
    placed: list[Placed],
    size: float,
    width: Callable[[str], float] | None = None,
    gap: float = 0.0,
) -> list[Group]:
    """Markers that would touch become one, at the first one's place, holding the list
    numbers and places it stands for: none covers another. A marker is ``size`` high and
    ``width(its text)`` wide (at least ``size``); ``gap`` more is kept between two."""

    def box(group: Group) -> Box:
        text = marker_text([n for n, _p in group[2]])
        wide = max(size, width(text)) if width is not None else size
        return marker_box(group[0], group[1], wide, size)

    groups: list[Group] = []
    for x, y, number, place in placed:
        for gx, gy, members in groups:
            if abs(gx - x) < size and abs(gy - y) < size:
                members.append((number, place))
                break
        else:
            groups.append((x, y, [(number, place)]))
    # A cluster's text makes it wider than one marker: merge until no two boxes touch.
    merged = True
    while merged:
        merged = False
        for i, first in enumerate(groups):
            for later in groups[i + 1 :]:
                if boxes_overlap(box(first), box(later), gap):
                    first[2].extend(later[2])
                    first[2].sort(key=lambda member: member[0])
                    groups.remove(later)
                    merged = True
                    break
            if merged:
                break
    return groups


def marker_text(numbers: list[int]) -> str:
    """'4', or the numbers a cluster holds: '3-5' when consecutive, else '1,6'."""
    if len(numbers) == 1:
        return str(numbers[0])
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ",".join(map(str, numbers))


def place_labels(
    labels: list[tuple[Any, float, float, float, float]],
    keep_clear: list[Box],
    bounds: Box,
    gap: float,
) -> list[tuple[Any, Box]]:
    """Where to put each label ``(key, centre x, centre y, width, height)``: at its centre,
    else the nearest of a few spots around it, where it covers nothing of ``keep_clear``
    (markers, my position), no label placed before it, and stays inside ``bounds``; a label
    with no such spot is left out (a name is never worth hiding a place)."""
    placed: list[tuple[Any, Box]] = []
    taken = list(keep_clear)
    for key, cx, cy, w, h in labels:
        step_y, step_x = h + gap, w / 2 + gap
        spots = [(0.0, 0.0)]
        for k in (1, 2, 3):
            spots += [(0.0, k * step_y), (0.0, -k * step_y)]
        for k in (1, 2):
            spots += [(k * step_x, 0.0), (-k * step_x, 0.0)]
            spots += [(k * step_x, step_y), (-k * step_x, step_y)]
            spots += [(k * step_x, -step_y), (-k * step_x, -step_y)]
        for dx, dy in spots:
            box = (cx + dx - w / 2, cy + dy - h / 2, w, h)
            inside = (
                box[0] >= bounds[0]
                and box[1] >= bounds[1]
                and box[0] + w <= bounds[0] + bounds[2]
                and box[1] + h <= bounds[1] + bounds[3]
            )
            if inside and not any(boxes_overlap(box, other, gap) for other in taken):
                placed.append((key, box))
                taken.append(box)
                break
    return placed
