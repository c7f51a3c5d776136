"""Wards and postcodes: loading, point-to-ward and postcode look-up."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, mapping, shape
from shapely.geometry.polygon import orient
from shapely.prepared import prep
from sqlalchemy import delete, select

from backend.areas.models import Postcode, Ward
from backend.built_once import built_once, forget
from backend.db import table_of
from backend.errors import NotFound, ValidationError, field_error
from backend.extensions import db

DATA_DIR = Path(__file__).resolve().parent / "data"
WARDS_FILE = DATA_DIR / "wigan_wards_2023.geojson"
POSTCODES_FILE = DATA_DIR / "wigan_postcodes_gmal2018.csv"
BOUNDARY_FILE = DATA_DIR / "wigan_boundary_2023.geojson"

# UK postcode shape (outward code + inward code); BFPO and overseas territories are not used here.
POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LoadSummary:
    """What a load did: new rows, changed rows, rows skipped and why (a row already stored
    as it is in the file is skipped as ``unchanged``)."""

    imported: int
    skipped: int
    reasons: dict[str, int]
    updated: int = 0

    def line(self, what: str) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items())) or "none"
        return (
            f"{what}: imported {self.imported}, updated {self.updated}, "
            f"skipped {self.skipped} ({why})"
        )


# A postcode anywhere in a line of address text ("Wallgate, Wigan WN1 1BA").
POSTCODE_IN_TEXT_RE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b", re.IGNORECASE)


def postcode_in_address(text: str) -> str | None:
    """The last UK postcode written in an address line, normalised, or None when there is
    none (street and place names are not looked up)."""
    matches = POSTCODE_IN_TEXT_RE.findall(text or "")
    if not matches:
        return None
    outward, inward = matches[-1]
    return f"{outward.upper()} {inward.upper()}"


def normalise_postcode(raw: str) -> str:
    """``"wn11aa"`` -> ``"WN1 1AA"``; raises ValidationError naming ``postcode``."""
    cleaned = re.sub(r"\s+", "", (raw or "").upper())
    match = POSTCODE_RE.match(cleaned)
    if not match:
        raise field_error("postcode", f"not a UK postcode: {raw[:20]!r}")
    return f"{match.group(1)} {match.group(2)}"


def lookup_postcode(raw: str, field: str = "postcode") -> Postcode:
    """The postcode row for ``raw``; raises ValidationError if malformed or unknown here."""
    try:
        code = normalise_postcode(raw)
    except ValidationError as exc:
        raise field_error(field, exc.errors["postcode"][0]) from exc
    row = db.session.get(Postcode, code)
    if row is None:
        raise field_error(field, f"unknown postcode {code} (Wigan Borough postcodes only)")
    return row


class _WardIndex:
    """Prepared ward polygons in an STRtree; rebuilt when the ward table changes."""

    def __init__(self, wards: list[Ward]) -> None:
        self.codes = [w.code for w in wards]
        self.names = {w.code: w.name for w in wards}
        self.shapes = [shape(json.loads(w.geometry)) for w in wards]
        self.prepared = [prep(s) for s in self.shapes]
        self.tree = STRtree(self.shapes)

    def locate(self, lat: float, lon: float) -> str | None:
        point = Point(lon, lat)
        for i in sorted(int(i) for i in self.tree.query(point)):
            if self.prepared[i].covers(point):
                return self.codes[i]
        return None


_indexes: dict[str, _WardIndex] = {}


def _ward_index() -> _WardIndex:
    return built_once(
        _indexes,
        str(db.engine.url),
        lambda: _WardIndex(list(db.session.scalars(select(Ward).order_by(Ward.code)))),
    )


def forget_ward_index() -> None:
    """Drop cached ward polygons (after the ward table is reloaded)."""
    forget(_indexes)
    from backend.areas import gazetteer  # the gazetteer places are located in these wards

    gazetteer.forget()


def ward_code_for_point(lat: float, lon: float) -> str | None:
    """The code of the ward containing (lat, lon), or None outside the borough."""
    return _ward_index().locate(lat, lon)


def ward_for_point(lat: float, lon: float) -> Ward | None:
    """The ward containing (lat, lon), or None outside the borough."""
    code = ward_code_for_point(lat, lon)
    return db.session.get(Ward, code) if code else None


def list_wards() -> list[Ward]:
    """All wards by name."""
    return list(db.session.scalars(select(Ward).order_by(Ward.name)))


def get_ward(code: str) -> Ward:
    """One ward; raises NotFound."""
    ward = db.session.get(Ward, code)
    if ward is None:
        raise NotFound(f"no ward {code!r}")
    return ward


def ward_names() -> dict[str, str]:
    """Ward code -> name, from the cached index."""
    return dict(_ward_index().names)


def rfc7946_rings(geom: Any) -> dict[str, Any]:
    """A (Multi)Polygon as GeoJSON with its rings wound as RFC 7946 section 3.1.6 requires:
    exterior rings counterclockwise, holes clockwise (ONS files wind them the other way)."""
    if geom.geom_type == "Polygon":
        return dict(mapping(orient(geom, sign=1.0)))
    if geom.geom_type == "MultiPolygon":
        return dict(mapping(MultiPolygon([orient(part, sign=1.0) for part in geom.geoms])))
    raise ValueError(f"not a polygon: {geom.geom_type}")


def load_wards(path: Path = WARDS_FILE, progress: Progress | None = None) -> LoadSummary:
    """Insert new wards and update changed ones from an ONS GeoJSON FeatureCollection
    (``area_code``, ``area_name``); wards already stored as they are count as unchanged."""
    features = json.loads(path.read_text())["features"]
    stored = {ward.code: ward for ward in db.session.scalars(select(Ward))}
    imported = updated = 0
    reasons: dict[str, int] = {}
    columns = [c.name for c in Ward.__table__.columns]
    for n, feature in enumerate(features, 1):
        props = feature.get("properties") or {}
        code, name = props.get("area_code"), props.get("area_name")
        geometry = feature.get("geometry")
        if not code or not name or not geometry:
            reasons["missing code, name or geometry"] = (
                reasons.get("missing code, name or geometry", 0) + 1
            )
            continue
        geom = shape(geometry)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            reasons["not a polygon"] = reasons.get("not a polygon", 0) + 1
            continue
        if geom.is_empty or not geom.is_valid:
            reasons["invalid polygon"] = reasons.get("invalid polygon", 0) + 1
            continue
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        centre = geom.representative_point()
        values = {
            "code": code,
            "name": name,
            "geometry": json.dumps(rfc7946_rings(geom), separators=(",", ":")),
            "area_m2": float(props.get("area") or 0.0),
            "min_lat": min_lat,
            "min_lon": min_lon,
            "max_lat": max_lat,
            "max_lon": max_lon,
            "centroid_lat": centre.y,
            "centroid_lon": centre.x,
        }
        old = stored.get(code)
        if old is None:
            db.session.add(Ward(**values))
            imported += 1
        elif any(getattr(old, column) != values[column] for column in columns):
            for column, value in values.items():
                setattr(old, column, value)
            updated += 1
        else:
            reasons["unchanged"] = reasons.get("unchanged", 0) + 1
        if progress:
            progress(n, len(features))
    db.session.commit()
    forget_ward_index()
    return LoadSummary(imported, sum(reasons.values()), reasons, updated)


def load_postcodes(path: Path = POSTCODES_FILE, progress: Progress | None = None) -> LoadSummary:
    """Insert new and update changed postcodes from the TfGM CSV (``postcode, lat, lon,
    wd23cd_derived, ...``); postcodes already stored as they are count as unchanged."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    known_wards = set(db.session.scalars(select(Ward.code)))
    table = table_of(Postcode)
    existing = {
        row.postcode: (row.lat, row.lon, row.ward_code, row.lsoa_code)
        for row in db.session.execute(
            select(table.c.postcode, table.c.lat, table.c.lon, table.c.ward_code, table.c.lsoa_code)
        )
    }
    imported = updated = 0
    reasons: dict[str, int] = {}
    new_rows, updates = [], []
    for n, row in enumerate(rows, 1):
        try:
            code = normalise_postcode(row.get("postcode", ""))
            lat, lon = float(row["lat"]), float(row["lon"])
        except (ValidationError, KeyError, TypeError, ValueError):
            reasons["malformed postcode or coordinates"] = (
                reasons.get("malformed postcode or coordinates", 0) + 1
            )
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            reasons["coordinates out of range"] = reasons.get("coordinates out of range", 0) + 1
            continue
        ward = row.get("wd23cd_derived") or None
        values = {
            "postcode": code,
            "lat": lat,
            "lon": lon,
            "ward_code": ward if ward in known_wards else None,
            "lsoa_code": row.get("lsoa21cd_derived") or None,
        }
        stored = (lat, lon, values["ward_code"], values["lsoa_code"])
        if code not in existing:
            new_rows.append(values)
            imported += 1
        elif existing[code] != stored:
            updates.append(values)
            updated += 1
        else:
            reasons["unchanged"] = reasons.get("unchanged", 0) + 1
        existing[code] = stored
        if progress and (n % 500 == 0 or n == len(rows)):
            progress(n, len(rows))
    if new_rows:
        db.session.execute(table.insert(), new_rows)
    if updates:
        db.session.bulk_update_mappings(Postcode, updates)  # type: ignore[arg-type]
    db.session.commit()
    from backend.areas import gazetteer  # its postcode areas come from these points

    gazetteer.forget()
    return LoadSummary(imported, sum(reasons.values()), reasons, updated)


def clear_areas() -> None:
    """Delete every postcode and ward (tests and re-seeding)."""
    db.session.execute(delete(Postcode))
    db.session.execute(delete(Ward))
    db.session.commit()
    forget_ward_index()


PLACE_RADIUS_M = 400.0  # beyond this from every postcode point a place label would mislead


def place_label(lat: float, lon: float) -> str | None:
    """A person-readable place near a point from the shipped postcode data: ``"Near WN1 1LJ,
    Wigan Central ward"`` (the nearest postcode point within 400 m and its ward), else None."""
    from backend.spatial import haversine_m

    pad = 0.006  # about 670 m of latitude, 400 m of longitude at Wigan: a superset of 400 m
    rows = db.session.execute(
        select(Postcode.postcode, Postcode.lat, Postcode.lon, Ward.name)
        .outerjoin(Ward, Ward.code == Postcode.ward_code)
        .where(
            Postcode.lat.between(lat - pad, lat + pad),
            Postcode.lon.between(lon - 2 * pad, lon + 2 * pad),
        )
    ).all()
    best = None
    for code, plat, plon, ward in rows:
        metres = haversine_m(lat, lon, plat, plon)
        if metres <= PLACE_RADIUS_M and (best is None or metres < best[0]):
            best = (metres, code, ward)
    if best is None:
        return None
    return f"Near {best[1]}, {best[2]} ward" if best[2] else f"Near {best[1]}"
