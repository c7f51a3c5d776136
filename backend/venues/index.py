"""In-process nearest index of the venues a nearest search can list, kept in step with the
table by a version token that the database itself changes on every relevant write.

Why: a nearest search through the database costs a KNN walk (PostGIS) or R*Tree rings
(SQLite) per request. The index answers the search from memory (a KD-tree on unit vectors:
chord order is great-circle order) and the database is asked only for the answer's few rows
by primary key, in one statement that also reads the version token. Nothing is trusted
without that check:

* Triggers on ``venues`` (created with the table and by migration 0008) replace the token
  in ``venue_index_state`` by a fresh random number on every insert, delete (and truncate)
  and on every update of a column the search reads (id, lat, lon, status, category,
  unavailable_until, opening_hours), in the writer's transaction.
* An answer from the index is used only when the token read together with its rows equals
  the token the index was built at (one statement: one snapshot). Otherwise the request is
  answered by the database search as before, and the index is rebuilt: inline when the table
  is small, else by one background thread while requests keep using the database.

Random tokens, not a counter: deleting and re-creating the state row (tests empty every
table) can never bring back a token an old index was built at."""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine

from backend import spatial
from backend.venues.models import Venue, VenueIndexState
from shared_schemas.venues import VenueStatus

log = logging.getLogger(__name__)

# Statuses a nearest search can ever list (the rest are never indexed).
LISTABLE = (VenueStatus.VERIFIED.value, VenueStatus.CANDIDATE.value)
# Up to this many listable venues an index is rebuilt inside the request that found it stale
# (a borough's few hundred take milliseconds); above it, in the background.
INLINE_REBUILD_MAX = 20_000
NEVER = -(2**63)  # unavailable_until IS NULL
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the index -----------------------------------------------------------------------------


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, la = np.radians(lat), np.radians(lon)
    cos_p = np.cos(p)
    return np.column_stack((cos_p * np.cos(la), cos_p * np.sin(la), np.sin(p)))


def _chord(metres: float) -> float:
    """Unit-sphere chord of a great-circle distance (inf stays inf)."""
    if not math.isfinite(metres) or metres >= math.pi * spatial.EARTH_RADIUS_M:
        return math.inf
    return 2.0 * math.sin(metres / (2.0 * spatial.EARTH_RADIUS_M))


def _metres(chord: float) -> float:
    return 2.0 * spatial.EARTH_RADIUS_M * math.asin(min(1.0, chord / 2.0))


def micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Snapshot:
    """The listable venues at one version token, in typed arrays aligned by position (the
    stdlib's: a search reads a few dozen positions, where numpy's per-call cost would
    dominate; compact: about 40 bytes a venue before the tree)."""

    version: int | None
    ids: array[int]
    lat: array[float]
    lon: array[float]
    status: array[int]  # codes into LISTABLE
    category: array[int]  # codes into ``categories``
    unavailable_us: array[int]  # micros(unavailable_until), NEVER for none
    hours: array[int]  # codes into ``expressions``
    categories: tuple[str, ...]
    expressions: tuple[str | None, ...]
    tree: cKDTree | None
    built_ms: float

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self,
        lat: float,
        lon: float,
        k: int,
        *,
        statuses: Sequence[str],
        categories: Sequence[str] | None,
        at_us: int,
        limit_m: float,
        is_open: Callable[[str | None], bool] | None,
    ) -> list[tuple[int, float]]:
        """``(id, distance_m)`` of the ``k`` nearest venues with one of ``statuses`` (and
        ``categories``), available at ``at_us``, open by ``is_open``, within ``limit_m``;
        nearest first, ties by id: the database search's answer, on the same haversine."""
        n = len(self.ids)
        if self.tree is None or k <= 0:
            return []
        status_ok = [s in statuses for s in LISTABLE]
        category_ok = None if categories is None else [c in categories for c in self.categories]
        hours_ok: list[bool | None] | None = (
            None if is_open is None else [None] * len(self.expressions)
        )
        p1, dl = math.radians(lat), math.radians(lon)
        cos_p1 = math.cos(p1)
        origin = (cos_p1 * math.cos(dl), cos_p1 * math.sin(dl), math.sin(p1))
        distance_to = spatial.distance_from(lat, lon)
        bound = _chord(limit_m + spatial.TOLERANCE_M)
        ids, lats, lons = self.ids, self.lat, self.lon
        status, category, unavailable, hours = (
            self.status,
            self.category,
            self.unavailable_us,
            self.hours,
        )
        size = min(n, max(16, 4 * k))
        while True:
            chords, positions = self.tree.query(origin, k=size, distance_upper_bound=bound)
            positions = positions.tolist() if size > 1 else [int(positions)]
            exhausted = size >= n or positions[-1] >= n  # fewer than ``size`` within bound
            # Judged afresh on a wider query (tied chords may come back in another order).
            found: list[tuple[float, int]] = []
            for position in positions:
                if position >= n:
                    break
                if not status_ok[status[position]]:
                    continue
                if category_ok is not None and not category_ok[category[position]]:
                    continue
                if unavailable[position] > at_us:
                    continue
                if hours_ok is not None:
                    code = hours[position]
                    ok = hours_ok[code]
                    if ok is None:
                        ok = hours_ok[code] = is_open(self.expressions[code])  # type: ignore[misc]
                    if not ok:
                        continue
                distance = distance_to(lats[position], lons[position])
                if distance <= limit_m:
                    found.append((distance, ids[position]))
            found.sort()
            if exhausted:
                return [(venue_id, distance) for distance, venue_id in found[:k]]
            # Venues beyond the last chord returned may still tie with those near it.
            last = float(chords[-1]) if size > 1 else float(chords)
            frontier = _metres(last) - spatial.TOLERANCE_M
            if len(found) >= k and found[k - 1][0] < frontier:
                return [(venue_id, distance) for distance, venue_id in found[:k]]
            size = min(n, size * 4)


_V = Venue.__table__.c
_S = VenueIndexState.__table__.c
VERSION_QUERY = select(_S.version).where(_S.id == 1)
_LOAD_QUERY = select(
    VERSION_QUERY.scalar_subquery().label("index_version"),
    _V.id,
    _V.lat,
    _V.lon,
    _V.status,
    _V.category,
    _V.unavailable_until,
    _V.opening_hours,
).where(_V.status.in_(LISTABLE), _V.lat.is_not(None), _V.lon.is_not(None))


def build(conn: Connection) -> Snapshot:
    """A snapshot of the listable venues and the token they were read at (one statement:
    one snapshot; with no rows, the token read just before, which a later change replaces)."""
    started = time.perf_counter()
    version = conn.execute(VERSION_QUERY).scalar()  # kept only if no row comes back
    ids, lats, lons = array("q"), array("d"), array("d")
    status, category, hours = array("b"), array("h"), array("i")
    unavailable = array("q")
    category_codes: dict[str, int] = {}
    hour_codes: dict[str | None, int] = {}
    status_codes = {s: i for i, s in enumerate(LISTABLE)}
    result = conn.execution_options(stream_results=True, yield_per=20_000).execute(_LOAD_QUERY)
    for row in result:
        version = row[0]
        ids.append(row[1])
        lats.append(float(row[2]))
        lons.append(float(row[3]))
        status.append(status_codes[row[4]])
        category.append(category_codes.setdefault(row[5], len(category_codes)))
        unavailable.append(NEVER if row[6] is None else micros(row[6]))
        hours.append(hour_codes.setdefault(row[7], len(hour_codes)))
    result.close()
    tree = None
    if ids:
        tree = cKDTree(_unit_vectors(np.frombuffer(lats), np.frombuffer(lons)), balanced_tree=False)
    return Snapshot(
        version=version,
        ids=ids,
        lat=lats,
        lon=lons,
        status=status,
        category=category,
        unavailable_us=unavailable,
        hours=hours,
        categories=tuple(category_codes),
        expressions=tuple(hour_codes),
        tree=tree,
        built_ms=round((time.perf_counter() - started) * 1000, 1),
    )


class NearestIndex:
    """One engine's index: the current snapshot, and at most one rebuild at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self.snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._building = False
        self._thread: threading.Thread | None = None
        # Counters for tests and the health of the cache (not exact under threads).
        self.rebuilds = 0
        self.served = 0
        self.fallbacks = 0

    def current(self) -> Snapshot | None:
        """The snapshot to try (its token is checked by the caller), or None: then the caller
        searches the database and calls :meth:`stale`."""
        return self.snapshot

    def stale(self) -> None:
        """The database's token differs from the snapshot's: rebuild, inline when small."""
        snapshot = self.snapshot
        if snapshot is None or len(snapshot) <= INLINE_REBUILD_MAX:
            self.rebuild()
        else:
            self.rebuild_in_background()

    def rebuild(self) -> Snapshot | None:
        """Rebuild now unless another thread already is (then return at once); never raises:
        a failed rebuild leaves the database search answering."""
        with self._lock:
            if self._building:
                return self.snapshot
            self._building = True
        try:
            engine = self._engine()
            if engine is None:
                return None
            with engine.connect() as conn:
                snapshot = build(conn)
            self.snapshot = snapshot
            self.rebuilds += 1
            log.info(
                "venue index: %d venues at version %s in %.1f ms",
                len(snapshot),
                snapshot.version,
                snapshot.built_ms,
            )
            return snapshot
        except Exception as exc:  # noqa: BLE001 - the database search still answers
            log.warning("venue index rebuild failed: %s", exc.__class__.__name__)
            return None
        finally:
            with self._lock:
                self._building = False

    def rebuild_in_background(self) -> None:
        with self._lock:
            if self._building:
                return
        thread = threading.Thread(target=self.rebuild, name="venue-index", daemon=True)
        self._thread = thread
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild that is running (tests, warm-up)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_INDEXES: weakref.WeakKeyDictionary[Engine, NearestIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def for_engine(engine: Engine) -> NearestIndex:
    """The index of ``engine`` (one per engine, so per app and per database)."""
    index = _INDEXES.get(engine)
    if index is None:
        with _INDEXES_LOCK:
            index = _INDEXES.get(engine)
            if index is None:
                index = _INDEXES[engine] = NearestIndex(engine)
    return index


def id_slots(count: int) -> list[Any]:
    """``count`` bind parameters for an ``id IN (...)`` of fixed size (no expanding IN)."""
    return [bindparam(f"_id{i}") for i in range(count)]
