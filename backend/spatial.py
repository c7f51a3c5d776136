"""Point search shared by every domain, one implementation per engine, identical answers.

Each point table keeps ``lat``/``lon`` (WGS84 degrees, float64) as the portable truth.
* SQLite: an R*Tree side table ``<table>_rtree`` kept in step by triggers; a search walks
  rings of a bounding box that grows from ``START_RADIUS_M`` (by the density seen) and
  refines with haversine.
* PostgreSQL: a ``geography(Point,4326)`` column ``geog`` set by a trigger from lat/lon,
  GiST-indexed; a search pages through KNN ``<->`` order and refines with haversine.
Both engines rank by the same haversine distance (ties by id), so they agree exactly.
"""

from __future__ import annotations

import heapq
import math
import operator
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    DDL,
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    and_,
    bindparam,
    event,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend import direct
from backend.db import Base, table_of

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


def float8(value: float) -> Any:
    """A float8 constant in SQL, written as Python's shortest repr (which reads back as the
    same double): no parameter to bind on every execution."""
    return literal_column(f"{float(value)!r}::float8", Float)


def haversine_sql(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """:func:`haversine_m` as a PostgreSQL expression: the same float8 operations in the same
    order, so the same C library gives the same metres, bit for bit (a test holds them
    equal). PostgreSQL's sin, cos, asin, sqrt and power call the C library as Python's math
    does, and its radians multiplies by the same double (the nearest to pi / 180)."""

    def f(name: str, *args: Any) -> Any:  # a float8 function of float8 arguments
        return getattr(func, name)(*args, type_=Float)

    two = float8(2)  # x / 2 and x ** 2 on a float divide and raise by 2.0
    p1, p2 = f("radians", lat1), f("radians", lat2)
    dp = p2 - p1
    dl = f("radians", lon2 - lon1)

    def half(x: Any) -> Any:  # x / 2 as a plain float8 division (``/`` would add a cast)
        return x.self_group().op("/")(two)

    a = f("power", f("sin", half(dp)), two) + f("cos", p1) * f("cos", p2) * f(
        "power", f("sin", half(dl)), two
    )
    return float8(2 * EARTH_RADIUS_M) * f("asin", f("least", float8(1), f("sqrt", a)))


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
# How fast the SQLite box grows when a ring did not hold enough accepted rows: enough to
# expect 1.5 x the rows still missing from the density seen so far, between these bounds.
MIN_GROWTH, MAX_GROWTH = 2.0, 16.0


class PointSearch:
    """A nearest-first search over one point table, built once and reused.

    ``columns`` (Core columns of the table) makes each result a light Row with those fields
    (``id``, ``lat`` and ``lon`` are always included); without it results are ORM entities.
    ``where`` clauses may use ``bindparam``s whose values each search passes as ``params``:
    the statements are then built and compiled once, and a search only binds numbers.
    On SQLite a search reads a box of ``start_radius_m`` first and grows it by the density
    it saw; the answer never depends on the start, only the number of statements does."""

    def __init__(
        self,
        model: type[Base],
        *,
        columns: Sequence[Any] | None = None,
        where: Sequence[Filter] = (),
        start_radius_m: float = START_RADIUS_M,
    ) -> None:
        self.model = model
        self.table = table_of(model)
        self.where = tuple(where)
        self.columns: tuple[Any, ...] | None = None
        if columns is not None:
            base = [c for c in (self.table.c.id, self.table.c.lat, self.table.c.lon)]
            self.columns = tuple(dict.fromkeys([*base, *columns]))
        self.start_radius_m = start_radius_m
        self._statements: dict[Any, Any] = {}

    # -- public ---------------------------------------------------------------------------

    def nearest(
        self,
        session: Session,
        lat: float,
        lon: float,
        k: int,
        *,
        params: dict[str, Any] | None = None,
        max_distance_m: float | None = None,
        accept: Callable[[Any], bool] | None = None,
    ) -> list[tuple[Any, float]]:
        """The ``k`` nearest rows passing ``where`` and the Python ``accept`` test, with their
        great-circle distances, nearest first (ties by id), within ``max_distance_m``."""
        limit = _limit(max_distance_m)
        # One connection for the whole search (asking the session for it costs as much as
        # running a statement); ORM results go through the session itself.
        bind: Session | Connection
        if self.columns is None:
            bind, dialect = session, _dialect(session)
        else:
            bind = session.connection()
            dialect = bind.dialect.name
        if dialect == "postgresql":
            batch = max(8, k * 2) if accept is None else max(16, k * 4)
            found: list[tuple[Any, float]] = []
            for row, distance in self._iter_postgis(bind, lat, lon, params, limit, batch):
                if accept is None or accept(row):
                    found.append((row, distance))
                    if len(found) >= k:
                        break
            return found
        return self._nearest_rtree(bind, lat, lon, k, params, limit, accept)

    def iter_nearest(
        self,
        session: Session,
        lat: float,
        lon: float,
        *,
        params: dict[str, Any] | None = None,
        max_distance_m: float | None = None,
        batch: int = 32,
    ) -> Iterator[tuple[Any, float]]:
        """Every matching row nearest first (ties by id), lazily."""
        limit = _limit(max_distance_m)
        if _dialect(session) == "postgresql":
            return self._iter_postgis(session, lat, lon, params, limit, batch)
        return self._iter_rtree(session, lat, lon, params, limit)

    # -- SQLite: rings of an R*Tree box ---------------------------------------------------

    def _rtree_statement(self, boxes: int) -> Any:
        key = ("sqlite", boxes)
        stmt = self._statements.get(key)
        if stmt is None:
            rt = _rtree_table(self.table.name)
            inside = or_(
                *(
                    and_(
                        rt.c.min_lat <= bindparam(f"_a{i}"),
                        rt.c.max_lat >= bindparam(f"_b{i}"),
                        rt.c.min_lon <= bindparam(f"_c{i}"),
                        rt.c.max_lon >= bindparam(f"_d{i}"),
                    )
                    for i in range(boxes)
                )
            )
            # The R*Tree drives the join (its box constraint is the only selective one) and
            # each hit is looked up by primary key.
            stmt = (
                self._select()
                .select_from(rt.join(self.table, self.table.c.id == rt.c.id))
                .where(inside, *self.where)
            )
            self._statements[key] = stmt
        return stmt

    def _box_rows(
        self, bind: Session | Connection, lat: float, lon: float, radius: float, params: Any
    ) -> list[Any]:
        boxes = bounding_boxes(lat, lon, radius)
        values = dict(params or {})
        for i, (lo_lat, hi_lat, lo_lon, hi_lon) in enumerate(boxes):
            values.update({f"_a{i}": hi_lat, f"_b{i}": lo_lat, f"_c{i}": hi_lon, f"_d{i}": lo_lon})
        return self._run(bind, self._rtree_statement(len(boxes)), values)

    def _nearest_rtree(self, bind, lat, lon, k, params, limit, accept):  # type: ignore[no-untyped-def]
        found: list[tuple[Any, float]] = []
        done = -1.0  # every row with distance <= done has been considered
        radius = min(self.start_radius_m, limit)
        while True:
            rows = self._box_rows(bind, lat, lon, radius, params)
            ring = _ring(rows, lat, lon, done, radius)
            for distance, _id, row in ring:
                if accept is None or accept(row):
                    found.append((row, distance))
                    if len(found) >= k:
                        return found
            if radius >= limit:
                return found
            # Grow to where the density seen so far promises the rows still missing.
            wanted = 1.5 * k
            growth = math.sqrt(wanted / len(found)) if found else MAX_GROWTH / 4
            done = radius
            radius = min(radius * min(max(growth, MIN_GROWTH), MAX_GROWTH), limit)

    def _iter_rtree(self, session, lat, lon, params, limit):  # type: ignore[no-untyped-def]
        done = -1.0
        radius = min(START_RADIUS_M, limit)
        while True:
            rows = self._box_rows(session, lat, lon, radius, params)
            for distance, _id, row in _ring(rows, lat, lon, done, radius):
                yield row, distance
            if radius >= limit:
                return
            done = radius
            radius = min(radius * 2, limit)

    # -- PostgreSQL: pages of KNN order ---------------------------------------------------

    def _knn(self) -> Any:
        point = func.ST_SetSRID(
            func.ST_MakePoint(bindparam("_lon", type_=Float), bindparam("_lat", type_=Float)),
            4326,
        ).cast(_geography())
        return self.table.c.geog.op("<->", return_type=Float)(point)

    def _knn_statement(self, paged: bool) -> Any:
        key = ("postgresql", paged)
        stmt = self._statements.get(key)
        if stmt is None:
            knn = self._knn()
            conditions = (
                [*self.where, knn >= bindparam("_floor", type_=Float)] if paged else self.where
            )
            # ORDER BY the KNN operator alone (a second sort key such as id, or an ST_DWithin
            # clause with a wide radius, makes the planner sort every match instead of walking
            # the GiST index); ties by id and the radius are handled here, on the exact haversine.
            stmt = (
                self._select(knn.label("spatial_knn"))
                .where(*conditions)
                .order_by(knn)
                .limit(bindparam("_size", type_=Integer))
            )
            self._statements[key] = stmt
        return stmt

    def _iter_postgis(self, bind, lat, lon, params, limit, batch):  # type: ignore[no-untyped-def]
        # Pages continue from the last KNN distance (>=, so rows tied across a page boundary
        # are fetched again rather than skipped; ``seen`` drops the repeats).
        pending: list[tuple[float, int, Any]] = []
        seen: set[int] = set()
        floor: float | None = None
        size = batch
        while True:
            values = {**(params or {}), "_lat": lat, "_lon": lon, "_size": size}
            if floor is not None:
                values["_floor"] = floor
            rows = self._run(bind, self._knn_statement(floor is not None), values, knn=True)
            fresh = 0
            for (row, _knn), distance in zip(
                rows, _haversines(lat, lon, [row for row, _knn in rows]), strict=True
            ):
                if row.id in seen:
                    continue
                seen.add(row.id)
                fresh += 1
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

    # -- both -----------------------------------------------------------------------------

    def _select(self, *extra: Any) -> Any:
        if self.columns is None:
            return select(self.model, *extra)
        return select(*self.columns, *extra)

    def _run(
        self, bind: Session | Connection, stmt: Any, values: dict[str, Any], knn: bool = False
    ) -> list[Any]:
        """Rows of ``stmt``: ORM entities through a Session, light rows through a Connection
        (a Session given with ``columns`` set is asked for its connection)."""
        if self.columns is None:
            result = bind.execute(stmt, values)
            return [(row[0], row[1]) for row in result] if knn else list(result.scalars())
        conn = bind if isinstance(bind, Connection) else bind.connection()
        rows = select_rows(conn, stmt, values)
        # With KNN the row carries one more field, the KNN distance, last.
        return [(row, row[-1]) for row in rows] if knn else rows


def direct_select(stmt: Any, conn: Connection) -> direct.DirectStatement | None:
    """``stmt`` (built once and kept for the process's life) compiled for ``conn``'s dialect,
    to run on the DBAPI cursor; None when the engine must see it (cursor listeners on the
    engine, echo) or the statement needs SQLAlchemy's per-execution rendering (expanding IN
    lists)."""
    if not direct.eligible(conn):
        return None
    return _DIRECT.get(stmt, conn.dialect)


def select_rows(conn: Connection, stmt: Any, values: dict[str, Any]) -> list[Any]:
    """The rows of a Core SELECT kept for the process's life, on the DBAPI cursor when
    :func:`direct_select` allows, else through ``Connection.execute``."""
    compiled = direct_select(stmt, conn)
    if compiled is not None:
        return compiled.rows(conn, values)
    return list(conn.execute(stmt, values).all())


_DIRECT = direct.StatementCache()


def iter_nearest(
    session: Session,
    model: type[Base],
    lat: float,
    lon: float,
    *,
    where: Sequence[Filter] = (),
    max_distance_m: float | None = None,
    batch: int = 32,
) -> Iterator[tuple[Any, float]]:
    """Yield ``(row, distance_m)`` for rows of ``model`` nearest first (ties by id),
    restricted by the SQL ``where`` clauses and to ``distance <= max_distance_m``.
    A search run often should build a :class:`PointSearch` once instead."""
    return PointSearch(model, where=where).iter_nearest(
        session, lat, lon, max_distance_m=max_distance_m, batch=batch
    )


def nearest(
    session: Session,
    model: type[Base],
    lat: float,
    lon: float,
    k: int,
    *,
    where: Sequence[Filter] = (),
    max_distance_m: float | None = None,
    accept: Callable[[Any], bool] | None = None,
) -> list[tuple[Any, float]]:
    """The ``k`` nearest rows passing the SQL ``where`` and the Python ``accept`` test.
    A search run often should build a :class:`PointSearch` once instead."""
    return PointSearch(model, where=where).nearest(
        session, lat, lon, k, max_distance_m=max_distance_m, accept=accept
    )


def _limit(max_distance_m: float | None) -> float:
    return MAX_RADIUS_M if max_distance_m is None else min(max_distance_m, MAX_RADIUS_M)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def distance_from(lat: float, lon: float) -> Callable[[float, float], float]:
    """``haversine_m`` from a fixed origin to ``(lat2, lon2)``, with the origin's terms
    computed once: the same operations in the same order, so the same bits (a test holds
    it), at two thirds of the cost per point."""
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    p1 = radians(lat)
    cos_p1 = cos(p1)
    diameter = 2 * EARTH_RADIUS_M

    def distance(lat2: float, lon2: float) -> float:
        p2 = radians(lat2)
        dl = radians(lon2 - lon)
        a = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos(p2) * sin(dl / 2) ** 2
        return diameter * asin(min(1.0, sqrt(a)))

    return distance


def _haversines(lat: float, lon: float, rows: Sequence[Any]) -> list[float]:
    """``haversine_m`` from (lat, lon) to each row's ``lat``/``lon``."""
    distance = distance_from(lat, lon)
    return [distance(row.lat, row.lon) for row in rows]


def _ring(rows: Sequence[Any], lat: float, lon: float, done: float, radius: float) -> list[Any]:
    """Rows with ``done < distance <= radius``, as ``(distance, id, row)`` nearest first."""
    ring = [
        (distance, row.id, row)
        for row, distance in zip(rows, _haversines(lat, lon, rows), strict=True)
        if done < distance <= radius
    ]
    ring.sort(key=_DISTANCE_THEN_ID)
    return ring


_DISTANCE_THEN_ID = operator.itemgetter(0, 1)


_RTREE_METADATA = MetaData()
_RTREE_TABLES: dict[str, Table] = {}
_RTREE_LOCK = threading.Lock()


def _rtree_table(table: str) -> Table:
    """The R*Tree side table as a Core table (outside the app's metadata). Built once under a
    lock: request threads may ask for it together, and a Table is registered in its metadata
    before its columns are attached."""
    name = rtree_name(table)
    found = _RTREE_TABLES.get(name)
    if found is None:
        with _RTREE_LOCK:
            found = _RTREE_TABLES.get(name)
            if found is None:
                found = Table(
                    name,
                    _RTREE_METADATA,
                    Column("id", Integer, primary_key=True),
                    *(Column(c, Float) for c in ("min_lat", "max_lat", "min_lon", "max_lon")),
                )
                _RTREE_TABLES[name] = found
    return found


def _geography() -> Geography:
    return Geography(srid=4326)


def bbox_filter(
    model: type[Base], min_lat: float, min_lon: float, max_lat: float, max_lon: float, dialect: str
) -> list[Filter]:
    """SQL clauses selecting rows of a point table inside a lat/lon box (exact on lat/lon,
    index-assisted)."""
    table = table_of(model)
    c = table.c
    exact = [c.lat >= min_lat, c.lat <= max_lat, c.lon >= min_lon, c.lon <= max_lon]
    if dialect == "postgresql":
        # A circle around the box (its farthest points are corners), generous by 1%, lets
        # the GiST index prune; the exact lat/lon clauses decide.
        c_lat, c_lon = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
        reach = max(
            haversine_m(c_lat, c_lon, a, b) for a in (min_lat, max_lat) for b in (min_lon, max_lon)
        )
        center = func.ST_SetSRID(func.ST_MakePoint(c_lon, c_lat), 4326).cast(_geography())
        return [func.ST_DWithin(c.geog, center, reach * 1.01 + 10.0, False), *exact]
    rt = rtree_name(table.name)
    ids = (
        select(literal_column("id", Integer))
        .select_from(text(rt))
        .where(
            text(
                "min_lat <= :xa AND max_lat >= :xb AND min_lon <= :xc AND max_lon >= :xd"
            ).bindparams(xa=max_lat, xb=min_lat, xc=max_lon, xd=min_lon)
        )
    )
    return [c.id.in_(ids.scalar_subquery()), *exact]
