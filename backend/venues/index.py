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
table) can never bring back a token an old index was built at.

The answer's own fields (name, address, phone, schemes...) are rendered as JSON once, when the
index is built, and kept (about 200 bytes a venue): a request reads no venue row at all. What
it still asks is whether the index is current:

* on SQLite, by reading the token (one statement on an in-process database: microseconds);
* on PostgreSQL, from a listener: the trigger also sends the new token with ``NOTIFY`` (at
  commit), and a thread per worker that ``LISTEN``s records each. The index is current while
  that listener has been connected since before the index was read and has heard no other
  token since. A change is seen once its notification arrives (about a millisecond after its
  commit); while the listener is down, or when it reconnected after the index was read (it
  may have missed a notification), the token is read as on SQLite.
* A request inside its own transaction reads the token on its own connection, so it sees its
  own uncommitted writes (by the database search)."""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from backend import spatial
from backend.built_once import built_once
from backend.db import read_without_pre_ping
from backend.venues.models import INDEX_CHANNEL, INDEXED_COLUMNS, Venue, VenueIndexState
from shared_schemas.venues import VenueStatus

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

# Statuses a nearest search can ever list (the rest are never indexed).
LISTABLE = (VenueStatus.VERIFIED.value, VenueStatus.CANDIDATE.value)
# Up to this many listable venues an index is rebuilt inside the request that found it stale
# (a borough's few hundred take milliseconds); above it, in the background.
INLINE_REBUILD_MAX = 20_000
NEVER = -(2**63)  # unavailable_until IS NULL
# The channel the PostgreSQL trigger notifies with each new token (backend.venues.models).
CHANNEL = INDEX_CHANNEL
# The listener's connection as pg_stat_activity shows it.
LISTENER_NAME = "safehaven-venue-index"
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
    # Each venue's answer fields rendered (``Details.render``), back to back, and where each ends.
    details: bytes | bytearray = b""
    detail_ends: array[int] = field(default_factory=lambda: array("q"))
    # The listener's connection and notification count when the token was read (None: it
    # was not listening; this snapshot is then always checked by reading the token).
    listen_epoch: int | None = None
    listen_seq: int = 0
    # How many of this process's own commits of indexed columns its index had counted before
    # the token was read (``NearestIndex.invalidate``).
    own_writes: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def detail(self, position: int) -> bytes:
        """The rendered answer fields of the venue at ``position``."""
        start = self.detail_ends[position - 1] if position else 0
        return bytes(self.details[start : self.detail_ends[position]])

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
        accept: Callable[[str | None, float], bool] | None,
    ) -> list[tuple[int, float]]:
        """``(position, distance_m)`` of the ``k`` nearest venues with one of ``statuses``
        (and ``categories``), available at ``at_us``, passing ``accept(opening_hours,
        distance_m)``, within ``limit_m``; nearest first, ties by id: the database search's
        answer, on the same haversine."""
        n = len(self.ids)
        if self.tree is None or k <= 0:
            return []
        status_ok = [s in statuses for s in LISTABLE]
        category_ok = None if categories is None else [c in categories for c in self.categories]
        p1, dl = math.radians(lat), math.radians(lon)
        cos_p1 = math.cos(p1)
        origin = (cos_p1 * math.cos(dl), cos_p1 * math.sin(dl), math.sin(p1))
        distance_to = spatial.distance_from(lat, lon)
        bound = _chord(limit_m + spatial.TOLERANCE_M)
        ids, lats, lons, expressions = self.ids, self.lat, self.lon, self.expressions
        status, category, unavailable, hours = (
            self.status,
            self.category,
            self.unavailable_us,
            self.hours,
        )
        size = min(n, max(16, 4 * k))
        tolerance = spatial.TOLERANCE_M
        while True:
            chords, positions = self.tree.query(origin, k=size, distance_upper_bound=bound)
            if size > 1:
                chord_list, positions = chords.tolist(), positions.tolist()
            else:
                chord_list, positions = [float(chords)], [int(positions)]
            exhausted = size >= n or positions[-1] >= n  # fewer than ``size`` within bound
            # Judged afresh on a wider query (tied chords may come back in another order).
            found: list[tuple[float, int, int]] = []
            kth = math.inf  # the k-th smallest distance found so far
            for i, position in enumerate(positions):
                if position >= n:
                    break
                # Chords come in ascending order: once even the nearest a later venue can be
                # (its chord's distance, less the tolerance) is beyond the k-th found, none
                # of them can enter the answer, ties included.
                if kth < math.inf and _metres(chord_list[i]) - tolerance > kth:
                    exhausted = True
                    break
                if not status_ok[status[position]]:
                    continue
                if category_ok is not None and not category_ok[category[position]]:
                    continue
                if unavailable[position] > at_us:
                    continue
                distance = distance_to(lats[position], lons[position])
                if accept is not None and not accept(expressions[hours[position]], distance):
                    continue
                if distance <= limit_m:
                    found.append((distance, ids[position], position))
                    if len(found) >= k:
                        kth = sorted(found)[k - 1][0]
            found.sort()
            if exhausted:
                return [(position, distance) for distance, _id, position in found[:k]]
            # Venues beyond the last chord returned may still tie with those near it.
            frontier = _metres(chord_list[-1]) - tolerance
            if len(found) >= k and found[k - 1][0] < frontier:
                return [(position, distance) for distance, _id, position in found[:k]]
            size = min(n, size * 4)


_V = Venue.__table__.c
_S = VenueIndexState.__table__.c
VERSION_QUERY = select(_S.version).where(_S.id == 1)
_INDEXED = (_V.id, _V.lat, _V.lon, _V.status, _V.category, _V.unavailable_until, _V.opening_hours)


@dataclass(frozen=True)
class Details:
    """What an index keeps of each venue for its answers: ``columns`` read at the build, and
    ``render(row)``, the JSON members (without braces) the row's answer item starts with."""

    columns: tuple[Any, ...]
    render: Callable[[Any], bytes]

    def load_query(self) -> Any:
        return select(
            VERSION_QUERY.scalar_subquery().label("index_version"), *_INDEXED, *self.columns
        ).where(_V.status.in_(LISTABLE), _V.lat.is_not(None), _V.lon.is_not(None))


def build(
    conn: Connection, details: Details, listener: Listener | None = None, own_writes: int = 0
) -> Snapshot:
    """A snapshot of the listable venues and the token they were read at (one statement:
    one snapshot; with no rows, the token read just before, which a later change replaces).
    ``own_writes``: the process's count of its own indexed commits, read before this call."""
    started = time.perf_counter()
    # Before the token is read: a change after it is then notified after this point.
    listen_epoch, listen_seq = listener.position() if listener is not None else (None, 0)
    version = conn.execute(VERSION_QUERY).scalar()  # kept only if no row comes back
    ids, lats, lons = array("q"), array("d"), array("d")
    status, category, hours = array("b"), array("h"), array("i")
    unavailable = array("q")
    rendered, ends = bytearray(), array("q")
    render = details.render
    category_codes: dict[str, int] = {}
    hour_codes: dict[str | None, int] = {}
    status_codes = {s: i for i, s in enumerate(LISTABLE)}
    result = conn.execution_options(stream_results=True, yield_per=20_000).execute(
        details.load_query()
    )
    for row in result:
        version = row[0]
        ids.append(row[1])
        lats.append(float(row[2]))
        lons.append(float(row[3]))
        status.append(status_codes[row[4]])
        category.append(category_codes.setdefault(row[5], len(category_codes)))
        unavailable.append(NEVER if row[6] is None else micros(row[6]))
        hours.append(hour_codes.setdefault(row[7], len(hour_codes)))
        rendered += render(row)
        ends.append(len(rendered))
    result.close()
    tree = None
    if ids:
        # Imported here, not with the module: every server process imports this module (the
        # stream server and a worker never search), and scipy.spatial costs each ~0.4 s CPU.
        from scipy.spatial import cKDTree

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
        details=rendered,  # not copied into bytes: that would double the peak at 1M venues
        detail_ends=ends,
        listen_epoch=listen_epoch,
        listen_seq=listen_seq,
        own_writes=own_writes,
    )


# --- the PostgreSQL listener ----------------------------------------------------------------

# Epochs are unique in the process and its forks: a listener started in a forked worker never
# takes the number its parent's snapshot was read under.
_EPOCHS = itertools.count(1)


class Listener:
    """A thread that ``LISTEN``s on :data:`CHANNEL` on its own connection and records each
    token the venues trigger notifies, reconnecting (with backoff) when the connection drops.

    ``epoch`` changes whenever the connection is made or lost: a snapshot read under another
    epoch may have missed a notification, so it is checked by reading the token instead.

    A connection can also die silently (a network cut sends no reset): every ``POLL_S`` the
    listener asks the server for an answer, and it vouches for nothing while its last answer
    is older than ``VOUCH_S``. TCP keepalives (in the connection string) then end the dead
    connection within seconds, and it reconnects."""

    RECONNECT_MAX_S = 10.0
    POLL_S = 1.0  # between heartbeats (and looks at whether it should stop)
    VOUCH_S = 3.0  # vouches only while the server answered this recently

    def __init__(self, conninfo: str, alive: Callable[[], bool] = lambda: True) -> None:
        self._conninfo = conninfo
        self._alive = alive  # False once what it listens for is gone: it stops
        self.pid = os.getpid()
        self.epoch = 0
        self.listening = False
        self.seq = 0  # notifications heard (any epoch)
        self.latest: int | None = None  # the last token heard
        self.answered_at = -math.inf  # time.monotonic() of the server's last answer
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._heard = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="venue-index-listener", daemon=True)

    def start(self, wait_s: float = 2.0) -> bool:
        """Start listening; True when the ``LISTEN`` is in place within ``wait_s``."""
        self._thread.start()
        return self._ready.wait(wait_s)

    def stop(self) -> None:
        self._stop.set()

    def _stopping(self) -> bool:
        return self._stop.is_set() or not self._alive()

    def position(self) -> tuple[int | None, int]:
        """``(epoch, seq)`` now, epoch None when not listening."""
        seq = self.seq
        return (self.epoch if self.listening else None), seq

    def current(self, snapshot: Snapshot) -> bool | None:
        """True: no token but the snapshot's was heard since it was read; False: another
        was; None: the listener cannot tell (down, or reconnected since the snapshot)."""
        if not self.listening or snapshot.listen_epoch != self.epoch:
            return None
        if time.monotonic() - self.answered_at > self.VOUCH_S:
            return None
        return self.seq == snapshot.listen_seq or self.latest == snapshot.version

    def wait_for(self, token: int | None, timeout: float = 5.0) -> bool:
        """Wait until ``token`` is the last token heard (tests: a change has arrived)."""
        with self._heard:
            return self._heard.wait_for(lambda: self.latest == token, timeout)

    def _run(self) -> None:
        import psycopg

        backoff = 0.25
        while not self._stopping():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.answered_at = time.monotonic()
                    self.epoch = next(_EPOCHS)
                    self.listening = True
                    self._ready.set()
                    backoff = 0.25
                    log.info("venue index: listening for changes (epoch %d)", self.epoch)
                    while not self._stopping():
                        for note in conn.notifies(timeout=self.POLL_S):
                            self._heard_token(note.payload)
                        asked_at = time.monotonic()
                        conn.execute("SELECT 1")  # the heartbeat
                        # Notifications that came in with the answer (psycopg keeps them
                        # for the next notifies()) are heard before the answer counts.
                        for note in conn.notifies(timeout=0):
                            self._heard_token(note.payload)
                        self.answered_at = asked_at
            except Exception as exc:  # noqa: BLE001 - reconnect; requests read the token meanwhile
                if self.listening and not self._stop.is_set():
                    log.warning("venue index listener lost: %s", exc.__class__.__name__)
            finally:
                if self.listening:
                    self.listening = False
                    self.epoch = next(_EPOCHS)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.RECONNECT_MAX_S)

    def _heard_token(self, payload: str) -> None:
        try:
            token: int | None = int(payload)
        except ValueError:
            token = None  # never sent by the trigger; counts as a change all the same
        with self._heard:
            self.latest = token
            self.seq += 1
            self._heard.notify_all()


def _conninfo(engine: Engine) -> str | None:
    """The libpq connection string of a psycopg engine, else None (no listener)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    url = engine.url.set(drivername="postgresql").update_query_dict(
        {
            "application_name": LISTENER_NAME,
            # A peer gone silent ends the connection in about 10 s, not the system's hours.
            "keepalives": "1",
            "keepalives_idle": "5",
            "keepalives_interval": "2",
            "keepalives_count": "3",
        }
    )
    return url.render_as_string(hide_password=False)


# --- reading the token ---------------------------------------------------------------------


def read_token(conn: Connection) -> Any:
    """The venues table's current token on ``conn`` (None before any venue was written)."""
    rows = spatial.select_rows(conn, VERSION_QUERY, {})
    return rows[0][0] if rows else None


class SQLiteTokenReader:
    """Reads the token of an SQLite database file on a connection of each thread's own,
    kept for the thread's life: a few microseconds a read, where a pooled checkout costs
    tens. Each read is its own statement, so it sees every commit before it."""

    def __init__(self, engine: Engine) -> None:
        # The token's query, compiled once with its constant inline (no parameters to bind).
        self._sql = str(
            VERSION_QUERY.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._connect = lambda: engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        self._local = threading.local()

    @staticmethod
    def usable(engine: Engine) -> bool:
        """A file database (an in-memory one is another database on every connection)."""
        database = engine.url.database or ""
        return (
            engine.dialect.name == "sqlite"
            and database not in ("", ":memory:")
            and "mode=memory" not in database
            and engine.url.query.get("mode") != "memory"
        )

    def read(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = local.conn = self._connect()
            local.pid = os.getpid()
        row = conn.execute(self._sql).fetchone()
        return row[0] if row else None


# --- one index per engine ------------------------------------------------------------------


class NearestIndex:
    """One engine's index: the current snapshot, at most one rebuild at a time, and on
    PostgreSQL the listener that tells whether the snapshot is current."""

    def __init__(self, engine: Engine, details: Details, listen: bool = True) -> None:
        self._engine = weakref.ref(engine)
        self.details = details
        self.snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._building = False
        self._thread: threading.Thread | None = None
        self._conninfo = _conninfo(engine) if listen else None
        self.listener: Listener | None = None
        self._sqlite = SQLiteTokenReader(engine) if SQLiteTokenReader.usable(engine) else None
        # This process's own commits of indexed columns, counted as they commit (their
        # notifications may still be on their way): the listener never vouches for a
        # snapshot that counted fewer before it read the token, including one being built
        # while such a commit landed. (A count, not the stale snapshot's id: a later snapshot
        # given the same address was refused too, and its search went to the database.)
        self._own_writes = 0
        # Counters for tests and the health of the cache (not exact under threads).
        self.rebuilds = 0
        self.served = 0
        self.fallbacks = 0

    def current(self) -> Snapshot | None:
        """The snapshot to try (the caller checks it is current), or None: then the caller
        searches the database and calls :meth:`stale`. Starts the listener first, once per
        process, where there is one to start."""
        if self._conninfo is not None:
            listener = self.listener
            if listener is None or listener.pid != os.getpid():
                self.listen()
        return self.snapshot

    def is_current(self, snapshot: Snapshot) -> bool | None:
        """Whether ``snapshot`` is current by the listener's account; None when it cannot
        tell: read the token. When the listener is up but started after the snapshot was
        read, a rebuild (in the background) gives a snapshot it can vouch for."""
        listener = self.listener
        if listener is None or listener.pid != os.getpid():
            return None
        if snapshot.own_writes != self._own_writes:
            return False
        if listener.listening and snapshot.listen_epoch != listener.epoch:
            self.rebuild_in_background()
            return None
        return listener.current(snapshot)

    def listen(self, wait_s: float = 2.0) -> Listener | None:
        """Start the listener (PostgreSQL; once per process: a forked worker starts its own)
        and wait up to ``wait_s`` for its ``LISTEN``; the listener, or None."""
        if self._conninfo is None:
            return None
        with self._lock:
            listener = self.listener
            if listener is not None and listener.pid == os.getpid():
                return listener
            engine = self._engine
            listener = self.listener = Listener(self._conninfo, alive=lambda: engine() is not None)
        listener.start(wait_s)
        return listener

    def read_token(self) -> Any:
        """The table's token now, outside any transaction of the caller's."""
        if self._sqlite is not None:
            return self._sqlite.read()
        engine = self._engine()
        if engine is None:
            return None
        # A bare pooled connection without the pre-ping (a read, simply repeated if the
        # connection turns out dead).
        return read_without_pre_ping(engine, read_token)

    def invalidate(self) -> None:
        """This process committed a change the snapshot may not hold: stop vouching for it
        (and for one being built) now, before the change's notification arrives."""
        with self._lock:
            self._own_writes += 1

    def stop_listening(self) -> None:
        listener = self.listener
        if listener is not None:
            listener.stop()

    def stale(self) -> None:
        """The snapshot is not current: rebuild, inline when small."""
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
            listener = self.listener
            if listener is not None and listener.pid != os.getpid():
                listener = None
            own_writes = self._own_writes  # before the token is read
            with engine.connect() as conn:
                snapshot = build(conn, self.details, listener, own_writes)
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


# --- this process's own writes -------------------------------------------------------------

_WROTE = "safehaven_venue_index_writes"


def _note_indexed_writes(session: Session, _flush_context: Any) -> None:
    """After a flush: whether it wrote a venue column a search reads (as the triggers judge)."""
    if session.info.get(_WROTE):
        return
    for obj in itertools.chain(session.new, session.deleted):
        if isinstance(obj, Venue):
            session.info[_WROTE] = True
            return
    for obj in session.dirty:
        if isinstance(obj, Venue):
            attrs = sa_inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in INDEXED_COLUMNS):
                session.info[_WROTE] = True
                return


def _after_commit(session: Session) -> None:
    if not session.info.pop(_WROTE, False):
        return
    try:
        bind = session.get_bind()
    except Exception:  # noqa: BLE001 - no single engine: nothing indexed to tell
        return
    index = _INDEXES.get(bind) if isinstance(bind, Engine) else None
    if index is not None:
        index.invalidate()


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost ended (after_commit ran first, if it did)
        session.info.pop(_WROTE, None)


event.listen(Session, "after_flush", _note_indexed_writes)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_transaction_end", _after_transaction_end)


# --- the index of each engine ----------------------------------------------------------------


def for_engine(engine: Engine, details: Details, listen: bool = True) -> NearestIndex:
    """The index of ``engine`` (one per engine, so per app and per database); ``details`` and
    ``listen`` (PostgreSQL: a listener vouches for the snapshot, else the token is read on
    every search) are taken at its creation."""
    return built_once(_INDEXES, engine, lambda: NearestIndex(engine, details, listen))


def stop_listening(engine: Engine) -> None:
    """Stop the change listener of ``engine``'s index, if it has one (before its database is
    dropped: a listener that loses its connection otherwise warns and reconnects)."""
    index = _INDEXES.get(engine)
    if index is not None:
        index.stop_listening()
