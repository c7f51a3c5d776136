"""Point search shared by every domain, one implementation per engine, identical answers.

Each point table keeps ``lat``/``lon`` (WGS84 degrees, float64) as the portable truth.
* SQLite: an R*Tree side table ``<table>_rtree`` kept in step by triggers; a search walks
  rings of a bounding box that doubles from ``START_RADIUS_M`` and refines with haversine.
* PostgreSQL: a ``geography(Point,4326)`` column ``geog`` set by a trigger from lat/lon,
  GiST-indexed; a search pages through KNN ``<->`` order and refines with haversine.
Both engines rank by the same haversine distance (ties by id), so they agree exactly.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    DDL,
    Float,
    Table,
    Text,
    TypeDecorator,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

# The mean radius PostGIS uses for geography sphere distances ((2a + b) / 3 of WGS84).
EARTH_RADIUS_M = 6371008.7714
START_RADIUS_M = 100.0
MAX_RADIUS_M = math.pi * EARTH_RADIUS_M  # half the circumference: every point on Earth
# Distances from the two engines' candidate order may differ by float noise; refine margin.
TOLERANCE_M = 0.05

POINT_TABLES: set[str] = set()
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial compass bearing in degrees (0 = north, clockwise) from point 1 to point 2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def compass_point(bearing: float) -> str:
    """The eight-point compass name of a bearing in degrees."""
    return COMPASS[int(((bearing % 360) + 22.5) // 45) % 8]


def bounding_boxes(
    lat: float, lon: float, radius_m: float
) -> list[tuple[float, float, float, float]]:
    """Boxes ``(min_lat, max_lat, min_lon, max_lon)`` that together hold every point within
    ``radius_m`` of (lat, lon); split in two across the antimeridian, whole bands at the poles."""
    angular = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angular)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90 or angular >= math.pi / 2:
        return [(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)]
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1:
        return [(min_lat, max_lat, -180.0, 180.0)]
    dlon = math.degrees(math.asin(ratio))
    # A hair of slack so float rounding never cuts off a point exactly on the radius.
    pad = 1e-9
    min_lat, max_lat, dlon = min_lat - pad, max_lat + pad, dlon + pad
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180:
        return [(min_lat, max_lat, min_lon + 360, 180.0), (min_lat, max_lat, -180.0, max_lon)]
    if max_lon > 180:
        return [(min_lat, max_lat, min_lon, 180.0), (min_lat, max_lat, -180.0, max_lon - 360)]
    return [(min_lat, max_lat, min_lon, max_lon)]


class PortableGeography(TypeDecorator[Any]):
    """``geography(Point,4326)`` on PostgreSQL; an always-NULL TEXT column on SQLite,
    where the R*Tree side table plays its part. Written only by the engine's trigger."""

    impl = Text
    cache_ok = True
    # GeoAlchemy2's DDL hooks see through TypeDecorators and read these; our GiST index
    # and trigger are made by point_index_ddl(), so GeoAlchemy2 must not add its own.
    geometry_type = "POINT"
    srid = 4326
    dimension = 2
    spatial_index = False
    use_N_D_index = False
    use_typmod = None

    def load_dialect_impl(self, dialect):  # type: ignore[no-untyped-def]
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                Geography(geometry_type="POINT", srid=4326, spatial_index=False)
            )
        return dialect.type_descriptor(Text())


class GeoPointMixin:
    """Columns of a searchable point: exact lat/lon plus the engine's index mirror."""

    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    geog: Mapped[Any] = mapped_column(PortableGeography(), nullable=True, deferred=True)


# --- DDL for the index structures -------------------------------------------------------

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION safehaven_sync_geog() RETURNS trigger AS $$
BEGIN
  IF NEW.lat IS NULL OR NEW.lon IS NULL THEN
    NEW.geog := NULL;
  ELSE
    NEW.geog := ST_SetSRID(ST_MakePoint(NEW.lon, NEW.lat), 4326)::geography;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""


def rtree_name(table: str) -> str:
    return f"{table}_rtree"


def _identifier(name: str) -> str:
    """Table names are interpolated into DDL: they come from models, and must look like it."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def point_index_ddl(table: str, dialect: str) -> list[str]:
    """Statements that create the spatial index structures of ``table`` on ``dialect``."""
    table = _identifier(table)
    if dialect == "postgresql":
        return [
            PG_FUNCTION,
            f"CREATE INDEX ix_{table}_geog ON {table} USING gist (geog)",
            f"CREATE TRIGGER trg_{table}_geog BEFORE INSERT OR UPDATE OF lat, lon ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION safehaven_sync_geog()",
        ]
    rt = rtree_name(table)
    return [
        f"CREATE VIRTUAL TABLE {rt} USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
        f"INSERT INTO {rt} SELECT id, lat, lat, lon, lon FROM {table} WHERE lat IS NOT NULL AND lon IS NOT NULL",
        f"CREATE TRIGGER {rt}_ai AFTER INSERT ON {table} WHEN NEW.lat IS NOT NULL AND NEW.lon IS NOT NULL "
        f"BEGIN INSERT INTO {rt} VALUES (NEW.id, NEW.lat, NEW.lat, NEW.lon, NEW.lon); END",
        f"CREATE TRIGGER {rt}_au AFTER UPDATE OF id, lat, lon ON {table} BEGIN "
        f"DELETE FROM {rt} WHERE id = OLD.id; "
        f"INSERT INTO {rt} SELECT NEW.id, NEW.lat, NEW.lat, NEW.lon, NEW.lon "
        f"WHERE NEW.lat IS NOT NULL AND NEW.lon IS NOT NULL; END",
        f"CREATE TRIGGER {rt}_ad AFTER DELETE ON {table} BEGIN DELETE FROM {rt} WHERE id = OLD.id; END",
    ]


def drop_point_index_ddl(table: str, dialect: str) -> list[str]:
    """Statements that remove what :func:`point_index_ddl` created (the function stays shared)."""
    table = _identifier(table)
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS trg_{table}_geog ON {table}",
            f"DROP INDEX IF EXISTS ix_{table}_geog",
        ]
    rt = rtree_name(table)
    return [
        f"DROP TRIGGER IF EXISTS {rt}_ai",
        f"DROP TRIGGER IF EXISTS {rt}_au",
        f"DROP TRIGGER IF EXISTS {rt}_ad",
        f"DROP TABLE IF EXISTS {rt}",
    ]


def register_point_table(table: Table) -> None:
    """Create/drop the index structures with the table (``create_all``/``drop_all``).

    Migrations call :func:`point_index_ddl` themselves through ``op.execute``."""
    POINT_TABLES.add(table.name)
    for dialect in ("sqlite", "postgresql"):
        for stmt in point_index_ddl(table.name, dialect):
            event.listen(table, "after_create", DDL(stmt).execute_if(dialect=dialect))
        for stmt in drop_point_index_ddl(table.name, dialect):
            event.listen(table, "before_drop", DDL(stmt).execute_if(dialect=dialect))


def is_spatial_side_object(name: str | None) -> bool:
    """True for the R*Tree tables (and their shadow tables) and the GiST indexes,
    which are created by raw DDL and checked separately from the model comparison."""
    if not name:
        return False
    for table in POINT_TABLES:
        rt = rtree_name(table)
        if name == rt or name.startswith(rt + "_") or name == f"ix_{table}_geog":
            return True
    return False


# --- search ------------------------------------------------------------------------------

Filter = Any  # a SQLAlchemy boolean clause


def iter_nearest(
    session: Session,
    model: type,
    lat: float,
    lon: float,
    *,
    where: Sequence[Filter] = (),
    max_distance_m: float | None = None,
    batch: int = 32,
) -> Iterator[tuple[Any, float]]:
    """Yield ``(row, distance_m)`` for rows of ``model`` nearest first (ties by id),
    restricted by the SQL ``where`` clauses and to ``distance <= max_distance_m``."""
    limit = MAX_RADIUS_M if max_distance_m is None else min(max_distance_m, MAX_RADIUS_M)
    if session.get_bind().dialect.name == "postgresql":
        return _iter_nearest_postgis(session, model, lat, lon, where, limit, batch)
    return _iter_nearest_rtree(session, model, lat, lon, where, limit, batch)


def nearest(
    session: Session,
    model: type,
    lat: float,
    lon: float,
    k: int,
    *,
    where: Sequence[Filter] = (),
    max_distance_m: float | None = None,
    accept: Callable[[Any], bool] | None = None,
) -> list[tuple[Any, float]]:
    """The ``k`` nearest rows passing the SQL ``where`` and the Python ``accept`` test."""
    found: list[tuple[Any, float]] = []
    batch = max(8, k * 2) if accept is None else max(16, k * 4)
    for row, distance in iter_nearest(
        session, model, lat, lon, where=where, max_distance_m=max_distance_m, batch=batch
    ):
        if accept is None or accept(row):
            found.append((row, distance))
            if len(found) >= k:
                break
    return found


def _rank(rows: Iterable[Any], lat: float, lon: float) -> list[tuple[float, int, Any]]:
    return [(haversine_m(lat, lon, r.lat, r.lon), r.id, r) for r in rows]


def _iter_nearest_rtree(session, model, lat, lon, where, limit, batch):  # type: ignore[no-untyped-def]
    table = model.__table__
    rt = rtree_name(table.name)
    done = -1.0  # every row with distance <= done has been yielded
    radius = START_RADIUS_M
    while True:
        radius = min(radius, limit)
        boxes = bounding_boxes(lat, lon, radius)
        box_sql = " OR ".join(
            f"(min_lat <= :a{i} AND max_lat >= :b{i} AND min_lon <= :c{i} AND max_lon >= :d{i})"
            for i in range(len(boxes))
        )
        params: dict[str, float] = {}
        for i, (lo_lat, hi_lat, lo_lon, hi_lon) in enumerate(boxes):
            params.update({f"a{i}": hi_lat, f"b{i}": lo_lat, f"c{i}": hi_lon, f"d{i}": lo_lon})
        ids = (
            select(literal_column("id"))
            .select_from(text(rt))
            .where(text(box_sql).bindparams(**params))
        )
        stmt = select(model).where(model.id.in_(ids.scalar_subquery()), *where)
        ring = [item for item in _rank(session.scalars(stmt), lat, lon) if done < item[0] <= radius]
        ring.sort(key=lambda item: (item[0], item[1]))
        for distance, _id, row in ring:
            yield row, distance
        done = radius
        if radius >= limit:
            return
        radius *= 2


def _iter_nearest_postgis(session, model, lat, lon, where, limit, batch):  # type: ignore[no-untyped-def]
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326).cast(_geography())
    knn = model.geog.op("<->", return_type=Float)(point)
    conditions = list(where)
    # ORDER BY the KNN operator alone (a second sort key such as id, or an ST_DWithin
    # clause with a wide radius, makes the planner sort every match instead of walking the
    # GiST index); ties by id and the radius are handled here, on the exact haversine.
    # Pages continue from the last KNN distance (>=, so rows tied across a page boundary
    # are fetched again rather than skipped; ``seen`` drops the repeats).
    pending: list[tuple[float, int, Any]] = []
    seen: set[int] = set()
    floor: float | None = None
    size = batch
    while True:
        page_conditions = conditions if floor is None else [*conditions, knn >= floor]
        stmt = select(model, knn.label("knn")).where(*page_conditions).order_by(knn).limit(size)
        rows = session.execute(stmt).all()
        fresh = 0
        for row, _knn in rows:
            if row.id in seen:
                continue
            seen.add(row.id)
            fresh += 1
            distance = haversine_m(lat, lon, row.lat, row.lon)
            if distance <= limit:
                heapq.heappush(pending, (distance, row.id, row))
        last = float(rows[-1][1]) if rows else math.inf
        exhausted = len(rows) < size or last - TOLERANCE_M > limit
        if not exhausted and fresh == 0:
            # A whole page of rows tied at one distance: widen the page, not the floor.
            size = min(size * 2, 1 << 20)
            continue
        frontier = math.inf if exhausted else last - TOLERANCE_M
        while pending and pending[0][0] < frontier:
            distance, _id, row = heapq.heappop(pending)
            yield row, distance
        if exhausted:
            return
        floor = last
        size = min(size * 2, 1024)


def _geography() -> Geography:
    return Geography(srid=4326)


def bbox_filter(
    model: type, min_lat: float, min_lon: float, max_lat: float, max_lon: float, dialect: str
) -> list[Filter]:
    """SQL clauses selecting rows inside a lat/lon box (exact on lat/lon, index-assisted)."""
    exact = [model.lat >= min_lat, model.lat <= max_lat, model.lon >= min_lon, model.lon <= max_lon]
    if dialect == "postgresql":
        # A circle around the box (its farthest points are corners), generous by 1%, lets
        # the GiST index prune; the exact lat/lon clauses decide.
        c_lat, c_lon = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
        reach = max(
            haversine_m(c_lat, c_lon, a, b) for a in (min_lat, max_lat) for b in (min_lon, max_lon)
        )
        center = func.ST_SetSRID(func.ST_MakePoint(c_lon, c_lat), 4326).cast(_geography())
        return [func.ST_DWithin(model.geog, center, reach * 1.01 + 10.0, False), *exact]
    rt = rtree_name(model.__table__.name)
    ids = (
        select(literal_column("id"))
        .select_from(text(rt))
        .where(
            text(
                "min_lat <= :xa AND max_lat >= :xb AND min_lon <= :xc AND max_lon >= :xd"
            ).bindparams(xa=max_lat, xb=min_lat, xc=max_lon, xd=min_lon)
        )
    )
    return [model.id.in_(ids.scalar_subquery()), *exact]
