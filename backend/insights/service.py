"""Ward hotspots for the partnership's weekly tasking: this period against the previous
period of the same length, per ward and category, ranked; small cells suppressed."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.areas import service as areas
from backend.auth.models import User
from backend.db import utcnow
from backend.errors import field_error
from backend.reports import service as reports
from backend.reports.categories import get_category

DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=366)
DEFAULT_MIN_COUNT = 5


@dataclass
class Hotspots:
    """The ranked cells of one query and how it was asked."""

    start: datetime
    end: datetime
    previous_from: datetime
    by: str
    category: str | None
    min_count: int
    cells: list[dict[str, Any]] = field(default_factory=list)

    @property
    def suppressed_cells(self) -> int:
        return sum(1 for c in self.cells if c["suppressed"])


def period(
    start: datetime | None, end: datetime | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The asked period, defaulting to the 7 days to now; raises ValidationError naming
    ``from``/``to`` when inverted or longer than a year."""
    now = now or utcnow()
    if end is None:
        end = now if start is None else min(now, start + DEFAULT_PERIOD)
    if start is None:
        start = end - DEFAULT_PERIOD
    if end <= start:
        raise field_error("from", "must be before 'to'")
    if end - start > MAX_PERIOD:
        raise field_error("from", "the period may not be longer than 366 days")
    return start, end


def hotspots(
    actor: User,
    start: datetime | None,
    end: datetime | None,
    *,
    by: str = "ward",
    category: str | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    now: datetime | None = None,
) -> Hotspots:
    """Counts per ward and category in [start, end) and in the equal period before, with
    the change, ranked by change then count. For non-admins a cell with a count in
    1..min_count-1 in either period shows no numbers. Raises ValidationError."""
    if by != "ward":
        raise field_error("by", "only 'ward' is supported")
    if category is not None:
        category = get_category(category).code
    start, end = period(start, end, now=now)
    previous_from = start - (end - start)
    names = areas.ward_names()
    suppress = not actor.is_admin
    cells: list[dict[str, Any]] = []
    for ward, cat, current, previous in reports.ward_category_counts(
        previous_from, start, end, category
    ):
        hidden = suppress and any(0 < n < min_count for n in (current, previous))
        cells.append(
            {
                "ward_code": ward,
                "ward_name": names.get(ward, ward),
                "category": cat,
                "count": None if hidden else current,
                "previous": None if hidden else previous,
                "change": None if hidden else current - previous,
                "change_pct": None
                if hidden or previous == 0
                else round(100.0 * (current - previous) / previous, 1),
                "suppressed": hidden,
                "_sort": (current - previous, current),
            }
        )
    # Suppressed cells go last and in a fixed order, so their place leaks nothing.
    cells.sort(
        key=lambda c: (
            c["suppressed"],
            0 if c["suppressed"] else -c["_sort"][0],
            0 if c["suppressed"] else -c["_sort"][1],
            c["ward_name"],
            c["category"],
        )
    )
    for rank, cell in enumerate(cells, 1):
        cell.pop("_sort")
        cell["rank"] = rank
    return Hotspots(start, end, previous_from, by, category, min_count, cells)


CSV_COLUMNS = [
    "rank",
    "ward_code",
    "ward_name",
    "category",
    "count",
    "previous",
    "change",
    "change_pct",
    "suppressed",
]


def to_csv(result: Hotspots) -> str:
    """The cells as CSV (suppressed numbers are empty), with the period in a comment-free
    header row set: one row per cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["period_from", "period_to", *CSV_COLUMNS])
    writer.writeheader()
    for cell in result.cells:
        writer.writerow(
            {
                "period_from": result.start.isoformat(),
                "period_to": result.end.isoformat(),
                **{k: ("" if cell[k] is None else cell[k]) for k in CSV_COLUMNS},
            }
        )
    return out.getvalue()


def ward_totals(result: Hotspots) -> dict[str, int | None]:
    """Per ward, the current-period total over visible cells; None when any cell of the
    ward is suppressed (so a total cannot be used to recover a hidden cell)."""
    totals: dict[str, int | None] = {}
    for cell in result.cells:
        ward = cell["ward_code"]
        if cell["suppressed"] or totals.get(ward, 0) is None and ward in totals:
            totals[ward] = None
            continue
        totals[ward] = (totals.get(ward) or 0) + cell["count"]
    return totals


def choropleth(result: Hotspots, fmt: str = "svg") -> bytes:
    """A map of the wards shaded by this period's count (hatched grey where suppressed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon as PolygonPatch

    totals = ward_totals(result)
    wards = areas.list_wards()
    visible = [v for v in totals.values() if v is not None]
    norm = Normalize(vmin=0, vmax=max(visible) if visible and max(visible) > 0 else 1)
    figure = Figure(figsize=(7, 6.5), dpi=100)
    axes = figure.add_subplot()
    cmap = matplotlib.colormaps["OrRd"]
    shaded, shades, hidden = [], [], []
    for ward in wards:
        geometry = json.loads(ward.geometry)
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for polygon in polygons:
            patch = PolygonPatch(polygon[0], closed=True)
            if ward.code in totals and totals[ward.code] is None:
                hidden.append(patch)
            else:
                shaded.append(patch)
                shades.append(totals.get(ward.code) or 0)
        axes.annotate(
            ward.name.split(" ")[0] if len(ward.name) > 14 else ward.name,
            (ward.centroid_lon, ward.centroid_lat),
            fontsize=5,
            ha="center",
            color="#333333",
        )
    collection = PatchCollection(shaded, cmap=cmap, norm=norm, edgecolor="#555555", linewidths=0.4)
    collection.set_array(shades)
    axes.add_collection(collection)
    if hidden:
        axes.add_collection(
            PatchCollection(
                hidden, facecolor="#dddddd", edgecolor="#555555", hatch="///", linewidths=0.4
            )
        )
    axes.autoscale_view()
    axes.set_aspect(1 / 0.595)  # 1 / cos(53.5 N): metres look square
    axes.set_axis_off()
    title = f"Reports {result.start:%d %b %Y} to {result.end:%d %b %Y}"
    if result.category:
        title += f" ({get_category(result.category).name})"
    axes.set_title(title, fontsize=9)
    figure.colorbar(collection, ax=axes, shrink=0.6, label="reports")
    axes.text(
        0.0,
        -0.02,
        f"Hatched: fewer than {result.min_count} in a category (suppressed). "
        "Contains National Statistics data (c) Crown copyright 2023.",
        transform=axes.transAxes,
        fontsize=5,
        va="top",
    )
    out = io.BytesIO()
    figure.savefig(
        out, format=fmt, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None
    )
    return out.getvalue()
