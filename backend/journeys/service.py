"""Journeys: start, fixes (app, OwnTracks, Traccar), arrive / SOS / cancel, watch links,
the overdue and stationary sweep, and retention of fixes."""

from __future__ import annotations

import itertools
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnClause,
    Float,
    Interval,
    and_,
    bindparam,
    case,
    cast,
    delete,
    extract,
    false,
    func,
    insert,
    literal_column,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.auth.models import User
from backend.auth.service import (
    Identity,
    admit_principal,
    seen_recently_since,
    user_for_identity,
)
from backend.contacts.service import active_contact_ids, hash_secret, record_view
from backend.db import (
    claim_batch,
    read_without_pre_ping,
    rowcount,
    table_of,
    utcnow,
    without_pre_ping,
)
from backend.direct import PG_IDLE, PooledConnection, StatementCache, eligible
from backend.errors import Conflict, Gone, NotFound, Unauthorized, ValidationError, field_error
from backend.extensions import app_object, db
from backend.journeys import clients, policy
from backend.journeys.limits import charge_fixes
from backend.journeys.models import (
    Journey,
    JourneyContact,
    LocationClient,
    LocationFix,
    WatchLink,
)
from backend.realtime.broker import get_broker, journey_channel, publish
from backend.spatial import float8, haversine_m, haversine_sql, select_rows
from backend.venues.policy import PUBLIC_STATUSES
from backend.venues.service import get_venue
from shared_schemas import uktime

ACTIVE = "active"
EMERGENCY = "emergency"
EMERGENCY_SHARE_HOURS = 24  # an emergency share's expected end: the longest a journey may run
WATCH_TOKEN_BYTES = 24  # 192 bits
CLIENT_SECRET_BYTES = 24
DEFAULTS: dict[str, float] = {
    "WALKING_SPEED_MPS": 1.25,  # 4.5 km/h
    "WALKING_DETOUR_FACTOR": 1.3,  # streets are longer than the straight line
    "MIN_JOURNEY_MINUTES": 5,
    "OVERDUE_GRACE_MINUTES": 10,
    "STATIONARY_MINUTES": 5,
    "STATIONARY_RADIUS_M": 40,
    "MAX_PLAUSIBLE_SPEED_MPS": 70,  # 250 km/h: faster than that between fixes is a jump
    # A fix is refused more than this ahead of the server's clock (a phone's clock drifts by
    # seconds; minutes ahead is a wrong clock or a forged time) ...
    "FUTURE_FIX_TOLERANCE_MINUTES": 2,
    # ... or recorded more than this before the journey started (the last fix the phone had
    # when the journey started, and a slow clock): older fixes are not part of this journey.
    "PAST_FIX_TOLERANCE_MINUTES": 10,
}


def setting(name: str) -> float:
    """A journey tunable: app config ``JOURNEY_<NAME>``, else the environment variable
    ``SAFEHAVEN_JOURNEY_<NAME>`` (e.g. ``SAFEHAVEN_JOURNEY_STATIONARY_MINUTES``), else the
    default."""
    # The app itself, not its proxy: a proxy attribute costs more than the look-ups here, and
    # the fix path reads several settings per fix.
    value = app_object().config.get(f"JOURNEY_{name}")
    if value is None:
        value = os.environ.get(f"SAFEHAVEN_JOURNEY_{name}") or DEFAULTS[name]
    return float(value)


# --- reading ------------------------------------------------------------------------------


def journey_dict(journey: Journey, viewer_id: int | None = None) -> dict[str, Any]:
    """The journey as ``viewer_id`` sees it (None: as a watcher, e.g. the stream's ``state``
    event). Once it has ended only its owner sees its last position (see :func:`_state_dict`)."""
    owner = db.session.get(User, journey.owner_id)
    return _state_dict(
        journey,
        owner.display_name if owner else None,
        {journey.id: journey.contact_user_ids},
        for_owner=viewer_id is not None and viewer_id == journey.owner_id,
    )


def _get(journey_id: int, lock: bool = False) -> Journey:
    stmt = select(Journey).where(Journey.id == journey_id)
    if lock:
        stmt = stmt.with_for_update()
    journey = db.session.scalar(stmt)
    if journey is None:
        raise NotFound(f"no journey {journey_id}")
    return journey


def get_journey(actor: User, journey_id: int, now: datetime | None = None) -> dict[str, Any]:
    """A journey for its owner or a chosen contact (the look is logged); raises NotFound or
    Forbidden."""
    journey = _get(journey_id)
    policy.require_can_watch(actor, journey)
    result = journey_dict(journey, actor.id)
    record_view(journey.owner_id, "api", viewer_id=actor.id, journey_id=journey.id, now=now)
    return result


def open_stream(actor: User, journey_id: int) -> dict[str, Any]:
    """Authorise a live stream and log the look; returns the current snapshot."""
    journey = _get(journey_id)
    policy.require_can_watch(actor, journey)
    snapshot = journey_dict(journey, actor.id)
    record_view(journey.owner_id, "stream", viewer_id=actor.id, journey_id=journey.id)
    return snapshot


def stream_state(actor_id: int, journey_id: int) -> dict[str, Any] | None:
    """The journey's current state for an open stream whose broker may have missed messages
    (the ``resync`` event), read again through the stream's access rules: None when the
    watcher may no longer see it (account disabled, contact or journey gone)."""
    actor = db.session.get(User, actor_id)
    journey = db.session.get(Journey, journey_id)
    if actor is None or actor.disabled or journey is None or not policy.can_watch(actor, journey):
        return None
    return journey_dict(journey, actor_id)


def watch_state(token: str) -> dict[str, Any] | None:
    """As ``stream_state`` for a watch link: the journey (also once ended, so that the page
    shows it ended) while the link is not revoked, without contact ids; else None."""
    link = db.session.scalar(select(WatchLink).where(WatchLink.token_hash == hash_secret(token)))
    if link is None or link.revoked_at is not None:
        return None
    journey = db.session.get(Journey, link.journey_id)
    if journey is None:
        return None
    snapshot = journey_dict(journey)
    snapshot.pop("contact_ids", None)
    return snapshot


def active_journey_of(user_id: int) -> Journey | None:
    return db.session.scalar(select(Journey).where(Journey.active_owner_id == user_id))


# --- starting -----------------------------------------------------------------------------


def _resolve_destination(dest: dict[str, Any]) -> dict[str, Any]:
    if "postcode" in dest:
        from backend.areas.service import lookup_postcode

        row = lookup_postcode(dest["postcode"], field="destination.postcode")
        return {
            "dest_lat": row.lat,
            "dest_lon": row.lon,
            "destination_postcode": row.postcode,
            "destination_label": dest.get("label") or row.postcode,
        }
    if "venue_id" in dest:
        try:
            venue = get_venue(dest["venue_id"])
        except NotFound as exc:
            raise field_error("destination.venue_id", "no such venue") from exc
        if venue.status not in PUBLIC_STATUSES:  # unpublished venues do not reveal where they are
            raise field_error("destination.venue_id", "no such venue")
        return {
            "dest_lat": venue.lat,
            "dest_lon": venue.lon,
            "destination_venue_id": venue.id,
            "destination_label": (dest.get("label") or venue.name or "")[:160] or None,
        }
    return {
        "dest_lat": dest["lat"],
        "dest_lon": dest["lon"],
        "destination_label": dest.get("label"),
    }


def walking_eta(
    start_lat: float, start_lon: float, dest_lat: float, dest_lon: float, started_at: datetime
) -> datetime:
    """Arrival at walking pace over the straight-line distance times a detour factor."""
    metres = haversine_m(start_lat, start_lon, dest_lat, dest_lon) * setting(
        "WALKING_DETOUR_FACTOR"
    )
    seconds = max(metres / setting("WALKING_SPEED_MPS"), setting("MIN_JOURNEY_MINUTES") * 60)
    return started_at + timedelta(seconds=math.ceil(seconds))


def start_journey(
    actor: User, data: dict[str, Any], now: datetime | None = None
) -> tuple[Journey, WatchLink | None, str | None]:
    """Start sharing a journey; returns it and its watch link and token if asked for.
    Raises Conflict (a journey is already active), ValidationError (destination, contacts,
    expected arrival)."""
    now = now or utcnow()
    if active_journey_of(actor.id) is not None:
        raise Conflict("you already have an active journey; arrive or cancel it first")
    resolved = _resolve_destination(data["destination"])
    contact_ids = sorted(set(data.get("contact_ids") or []))
    allowed = active_contact_ids(actor.id, contact_ids)
    refused = [c for c in contact_ids if c not in allowed]
    if refused:
        raise ValidationError(
            "contact_ids: not your trusted contacts",
            errors={"contact_ids": [f"not your trusted contacts: {refused}"]},
        )
    if not contact_ids and not data.get("watch_link"):
        raise ValidationError(
            "Choose at least one trusted contact or ask for a watch link: a journey shared "
            "with no one would alert no one.",
            errors={"contact_ids": ["choose at least one contact, or set watch_link"]},
            error="no_recipients",
        )
    start = data.get("start")
    expected = data.get("expected_arrival_at")
    if expected is not None:
        if expected.tzinfo is None:
            raise field_error("expected_arrival_at", "give a time zone (e.g. Z)")
        if expected <= now:
            raise field_error("expected_arrival_at", "must be in the future")
        if expected > now + timedelta(hours=24):
            raise field_error("expected_arrival_at", "must be within 24 hours")
    elif start is not None:
        expected = walking_eta(
            start["lat"], start["lon"], resolved["dest_lat"], resolved["dest_lon"], now
        )
    else:
        raise field_error("expected_arrival_at", "give expected_arrival_at, or start to compute it")
    journey = Journey(
        owner_id=actor.id,
        active_owner_id=actor.id,
        state=ACTIVE,
        started_at=now,
        expected_arrival_at=expected,
        **resolved,
    )
    if start is not None:
        journey.anchor_lat, journey.anchor_lon, journey.anchor_at = start["lat"], start["lon"], now
    journey.contacts = [JourneyContact(contact_user_id=c) for c in contact_ids]
    _schedule(journey)
    db.session.add(journey)
    link = token = None
    try:
        db.session.flush()
        if data.get("watch_link"):
            link, token = _new_watch_link(journey, now)
        db.session.commit()
    except IntegrityError as exc:  # a concurrent start won the one-active-journey race
        db.session.rollback()
        raise Conflict("you already have an active journey; arrive or cancel it first") from exc
    _publish_state(journey)  # (kept OwnTracks replies of its contacts are read again)
    return journey, link, token


# --- watch links --------------------------------------------------------------------------


def _new_watch_link(journey: Journey, now: datetime) -> tuple[WatchLink, str]:
    token = secrets.token_urlsafe(WATCH_TOKEN_BYTES)
    link = WatchLink(journey_id=journey.id, token_hash=hash_secret(token), created_at=now)
    db.session.add(link)
    db.session.flush()
    return link, token


def create_watch_link(actor: User, journey_id: int) -> tuple[WatchLink, str]:
    """A new watch link for an active journey of the caller; raises NotFound, Conflict."""
    journey = _get(journey_id)
    policy.require_owner(actor, journey)
    if journey.state != ACTIVE:
        raise Conflict("the journey has ended")
    link, token = _new_watch_link(journey, utcnow())
    db.session.commit()
    return link, token


def revoke_watch_link(actor: User, journey_id: int, link_id: int) -> None:
    """Revoke a watch link at once (open pages stop updating); raises NotFound."""
    journey = _get(journey_id)
    policy.require_owner(actor, journey)
    link = db.session.get(WatchLink, link_id)
    if link is None or link.journey_id != journey.id:
        raise NotFound(f"no watch link {link_id}")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.session.commit()
    publish(
        journey_channel(journey.id),
        {
            "type": "link_revoked",
            "link_id": link.id,
            "by_display_name": _name(journey),
            "at": link.revoked_at.isoformat() if link.revoked_at else None,
        },
    )


def journey_for_watch_token(token: str) -> tuple[Journey, WatchLink]:
    """The journey a watch token opens; raises NotFound (unknown or revoked) or Gone (the
    journey has ended: links expire with it)."""
    if not token or len(token) > 200:
        raise NotFound("no such watch link")
    link = db.session.scalar(select(WatchLink).where(WatchLink.token_hash == hash_secret(token)))
    if link is None or link.revoked_at is not None:
        raise NotFound("no such watch link")
    journey = _get(link.journey_id)
    if journey.state != ACTIVE:
        raise Gone("this journey has ended; the link has expired")
    return journey, link


def watch_snapshot(token: str) -> tuple[dict[str, Any], int]:
    """The journey behind a watch token, logged as a view; returns (snapshot, link id)."""
    journey, link = journey_for_watch_token(token)
    snapshot = journey_dict(journey)
    snapshot.pop("contact_ids", None)
    record_view(journey.owner_id, "watch_link", journey_id=journey.id, watch_link_id=link.id)
    return snapshot, link.id


# --- fixes --------------------------------------------------------------------------------


def _validate_fix_times(fixes: list[dict[str, Any]], now: datetime) -> None:
    limit = now + timedelta(minutes=setting("FUTURE_FIX_TOLERANCE_MINUTES"))
    for i, fix in enumerate(fixes):
        ts = fix["recorded_at"]
        if ts.tzinfo is None:
            raise field_error(f"fixes.{i}.recorded_at", "give a time zone (e.g. Z)")
        if ts > limit:
            raise field_error(f"fixes.{i}.recorded_at", "is in the future")


def _earliest_fix(started_at: datetime) -> datetime:
    return started_at - timedelta(minutes=setting("PAST_FIX_TOLERANCE_MINUTES"))


def _refuse_fixes_before_start(
    fixes: list[dict[str, Any]], first: datetime, started_at: datetime
) -> None:
    """Raises ValidationError (after rolling back) naming the first fix recorded more than
    the tolerance before the journey started: the whole batch is refused, nothing stored."""
    earliest = _earliest_fix(started_at)
    if first >= earliest:
        return
    db.session.rollback()
    i = next(i for i, fix in enumerate(fixes) if fix["recorded_at"] < earliest)
    raise field_error(f"fixes.{i}.recorded_at", "is before the journey started")


def add_fixes(
    actor: User,
    journey_id: int,
    fixes: list[dict[str, Any]],
    source: str = "app",
    now: datetime | None = None,
) -> dict[str, int]:
    """Store a batch of fixes on the caller's active journey; raises NotFound, Conflict,
    ValidationError, TooManyRequests (over the fix budget)."""
    return _ingest(journey_id, fixes, source, now or utcnow(), actor.uid, owner_id=actor.id)


def add_fixes_as(
    identity: Identity,
    journey_id: int,
    fixes: list[dict[str, Any]],
    now: datetime | None = None,
) -> dict[str, int]:
    """The app's live path: store a batch on the caller's active journey, the caller read
    from their verified token in the same locked statement as the journey. Raises
    Unauthorized (disabled account), NotFound (no such journey of theirs), Conflict (ended),
    ValidationError, TooManyRequests (over the fix budget)."""
    return _ingest(journey_id, fixes, "app", now or utcnow(), identity["uid"], identity=identity)


# Storing fixes is the hot path (one post per second per walking resident): it runs on Core
# statements built once, reads the journey's tracking columns in one locked row (with the
# caller's own row when it comes from a token), writes the fixes and those columns back, and
# commits once. On PostgreSQL the live case (one fix after everything stored) first tries
# one statement without the lock (_append_unlocked): it reads, decides the fix in SQL as
# _plan_rows and _advance do in Python (tests/backend/journeys/test_live_append.py holds the
# two equal), and writes only if no one wrote the journey's row since it read it. Nothing is
# cached across requests: the journey's state and the caller's account are read every time,
# so an ended journey or a disabled account is refused at once on every process.
#
# Both second forms are kept on measurement (issue 20, bench/location_post_cpu.py, server CPU
# a fix, same runs, two rounds; fixes/s a core is its inverse): on PostgreSQL the one-statement
# append (0.767 / 0.769 ms with it, 1.480 / 1.286 without: 40-48% fewer fixes/s without) and
# the DBAPI-cursor statements of backend.direct (0.954 / 1.009 ms without: 19-24% fewer).
# On SQLite only backend.direct applies (0.871 / 1.077 with, 1.121 / 1.141 without).
_journeys = table_of(Journey)
_fixes = table_of(LocationFix)
_users = table_of(User)
_TRACKED = (
    "state",
    "overdue",
    "stationary",
    "expected_arrival_at",
    "latest_fix_at",
    "last_fix_at",
    "last_lat",
    "last_lon",
    "last_accuracy_m",
    "last_battery",
    "anchor_lat",
    "anchor_lon",
    "anchor_at",
    "next_check_at",
)
_WRITTEN = _TRACKED[4:] + ("stationary",)
_tracked_columns = [
    _journeys.c.id,
    _journeys.c.owner_id,
    _journeys.c.started_at,
    *(_journeys.c[n] for n in _TRACKED),
]
# The journey's tracking columns (with the caller's account when read by identity),
# row-locked by the locked path.
_peek_owned = select(*_tracked_columns).where(
    _journeys.c.id == bindparam("journey_id"), _journeys.c.owner_id == bindparam("owner")
)
_peek_with_caller = (
    select(
        *_tracked_columns,
        _users.c.disabled.label("caller_disabled"),
        _users.c.last_seen_at.label("caller_last_seen_at"),
    )
    .join_from(_journeys, _users, _users.c.id == _journeys.c.owner_id)
    .where(_journeys.c.id == bindparam("journey_id"), _users.c.uid == bindparam("uid"))
)
_lock_owned = _peek_owned.with_for_update()
_lock_with_caller = _peek_with_caller.with_for_update(of=_journeys)
_store_fixes = insert(_fixes)
_FIX_KEYS = [
    "journey_id",
    "recorded_at",
    "received_at",
    "lat",
    "lon",
    "accuracy_m",
    "battery",
    "speed_mps",
    "source",
    "jump",
]
_write_backs: dict[tuple[str, ...], Any] = {}
# The lock, the insert and the write-back run on the DBAPI cursor (backend.direct) unless the
# engine has cursor listeners or echo; the rare out-of-order reads go through SQLAlchemy.
_direct = StatementCache()


_CURSOR_KEY = "safehaven.fix_cursor"


class _FixWriter:
    """Runs the fix path's statements on one connection: straight on its DBAPI cursor when
    eligible, else through ``Connection.execute`` (same statements, same values)."""

    __slots__ = ("conn", "cursor", "dialect", "direct")

    def __init__(self, conn: Connection | PooledConnection) -> None:
        self.conn: Any = conn  # a PooledConnection only where every statement runs direct
        self.dialect = conn.dialect
        self.direct = eligible(conn)
        self.cursor = None
        if not self.direct or self.dialect.driver != "psycopg":
            return
        # One psycopg cursor per DBAPI connection, kept in the pool's info for it (cleared
        # when that connection is closed): a new cursor and its adapters cost a third of the
        # live statement's own Python side, and a psycopg cursor holds nothing on the server
        # between statements (its results are fetched whole). A sqlite3 cursor is made and
        # closed around each statement instead: it belongs to its connection, which a commit
        # or rollback here gives back to the pool, where another request takes it or the
        # pool closes it (closing the cursor afterwards then failed: "Cannot operate on a
        # closed database", a 500 after the fix was stored).
        info = conn.connection.info
        self.cursor = info.get(_CURSOR_KEY)
        if self.cursor is None:
            dbapi_conn = conn.connection.dbapi_connection
            self.cursor = info[_CURSOR_KEY] = dbapi_conn.cursor()  # type: ignore[union-attr]

    def _statement_cursor(self) -> Any:
        if self.cursor is not None:
            return self.cursor
        return self.conn.connection.dbapi_connection.cursor()

    def first(self, stmt: Any, values: dict[str, Any]) -> Any:
        if self.direct:
            direct = _direct.get(stmt, self.dialect)
            if direct is not None:
                cursor = self._statement_cursor()
                try:
                    return direct.first(self.conn, cursor, values)
                finally:
                    if cursor is not self.cursor:
                        cursor.close()
        return self.conn.execute(stmt, values).first()

    def execute(self, stmt: Any, values: Any, keys: list[str] | None = None) -> int:
        """Run ``stmt``; returns the rows it changed (-1 when unknown)."""
        if self.direct:
            direct = _direct.get(stmt, self.dialect, keys)
            if direct is not None:
                cursor = self._statement_cursor()
                try:
                    if isinstance(values, list):
                        direct.executemany(self.conn, cursor, values)
                    else:
                        direct.execute(self.conn, cursor, values)
                    return int(cursor.rowcount)
                finally:
                    if cursor is not self.cursor:
                        cursor.close()
        return int(self.conn.execute(stmt, values).rowcount)

    def autocommit_ready(self) -> bool:
        """PostgreSQL (psycopg) with no transaction open yet on this connection."""
        dbapi_conn = self.conn.connection.dbapi_connection
        return (
            self.dialect.name == "postgresql"
            and self.dialect.driver == "psycopg"
            and dbapi_conn.info.transaction_status == PG_IDLE  # type: ignore[union-attr]
            and not dbapi_conn.autocommit  # type: ignore[union-attr]
        )


def _write_back(writer: _FixWriter, journey: SimpleNamespace, before: dict[str, Any]) -> None:
    """UPDATE only the tracking columns that changed (as the ORM would), one cached
    statement per set of columns."""
    changed = tuple(name for name in _WRITTEN if getattr(journey, name) != before[name])
    if not changed:
        return
    stmt = _write_backs.get(changed)
    if stmt is None:
        stmt = (
            update(_journeys)
            .where(_journeys.c.id == bindparam("journey"))
            .values({name: bindparam(f"new_{name}") for name in changed})
        )
        _write_backs[changed] = stmt
    writer.execute(
        stmt, {"journey": journey.id, **{f"new_{n}": getattr(journey, n) for n in changed}}
    )


_fix_times_stored = select(_fixes.c.recorded_at).where(
    _fixes.c.journey_id == bindparam("journey_id"),
    _fixes.c.recorded_at.in_(bindparam("times", expanding=True)),
)
_plausible_before = (
    select(_fixes.c.recorded_at, _fixes.c.lat, _fixes.c.lon)
    .where(
        _fixes.c.journey_id == bindparam("journey_id"),
        _fixes.c.recorded_at < bindparam("first"),
        _fixes.c.jump.is_(False),
    )
    .order_by(_fixes.c.recorded_at.desc())
    .limit(1)
)
_plausible_inside = select(_fixes.c.recorded_at, _fixes.c.lat, _fixes.c.lon).where(
    _fixes.c.journey_id == bindparam("journey_id"),
    _fixes.c.recorded_at > bindparam("first"),
    _fixes.c.recorded_at < bindparam("last"),
    _fixes.c.jump.is_(False),
)


def _ingest(
    journey_id: int,
    fixes: list[dict[str, Any]],
    source: str,
    now: datetime,
    person: str,
    owner_id: int | None = None,
    identity: Identity | None = None,
) -> dict[str, int]:
    _validate_fix_times(fixes, now)
    charge_fixes(person, len(fixes))  # a batch over the budget is refused before any write
    # The pooled connection is taken without the pool's pre-ping (two round trips of the
    # six a fix made): if it turns out dead at the lock, the first statement, nothing was
    # written, and the batch is tried again on a connection checked out with the ping.
    ping = False
    conflicts = 0
    while True:
        try:
            result, published = _ingest_once(
                journey_id, fixes, source, now, owner_id, identity, ping
            )
        except IntegrityError:  # a concurrent batch stored the same timestamp first
            db.session.rollback()
            conflicts += 1
            if conflicts > 1:
                raise
            continue
        except _DeadConnection as exc:
            db.session.rollback()
            if ping:
                raise exc.error from None
            ping = True
            continue
        for message in published:
            publish(journey_channel(journey_id), message)
        return result


class _DeadConnection(Exception):  # noqa: N818 - internal signal, never leaves _ingest
    """The pooled connection was found dead at the journey lock (nothing was written)."""

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def _stored_neighbours(
    conn: Connection, journey: Any, times: list[datetime]
) -> tuple[set[datetime], list[tuple[datetime, float, float]]]:
    """Timestamps of ``times`` already stored, and the stored plausible fixes a batch spanning
    ``times`` must be judged against (the one before it and any inside its range)."""
    if journey.latest_fix_at is None or times[0] > journey.latest_fix_at:
        # Appending after everything stored: no duplicates; the predecessor is the journey's
        # last plausible position.
        if journey.last_fix_at is None:
            return set(), []
        return set(), [(journey.last_fix_at, journey.last_lat, journey.last_lon)]
    key = {"journey_id": journey.id, "first": times[0], "last": times[-1]}
    existing = set(conn.execute(_fix_times_stored, {**key, "times": times}).scalars())
    before = conn.execute(_plausible_before, key).all()
    inside = conn.execute(_plausible_inside, key).all()
    return existing, [(r[0], r[1], r[2]) for r in [*before, *inside]]


def _first_journey_row(
    writer: _FixWriter,
    with_caller: Any,
    owned: Any,
    journey_id: int,
    owner_id: int | None,
    identity: Identity | None,
) -> Any:
    """The journey's row by ``with_caller`` (a signed-in identity: the caller read along)
    or ``owned`` (an owner id); raises _DeadConnection when the pooled connection is dead."""
    if identity is not None:
        return _first_row(writer, with_caller, {"journey_id": journey_id, "uid": identity["uid"]})
    return _first_row(writer, owned, {"journey_id": journey_id, "owner": owner_id})


def _first_row(writer: _FixWriter, stmt: Any, values: dict[str, Any]) -> Any:
    """The first row of ``stmt``, the first statement on a connection checked out without the
    pre-ping; raises _DeadConnection when that connection is found dead."""
    try:
        return writer.first(stmt, values)
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise _DeadConnection(exc) from exc
        raise


def _lock_journey(
    writer: _FixWriter,
    journey_id: int,
    owner_id: int | None,
    identity: Identity | None,
    now: datetime,
) -> SimpleNamespace:
    """The journey's tracking columns, row-locked, if the caller owns it and it is active;
    raises Unauthorized (disabled account), NotFound, Conflict (after rolling back), and
    _DeadConnection when the lock finds the connection dead."""
    conn = writer.conn
    row = _first_journey_row(writer, _lock_with_caller, _lock_owned, journey_id, owner_id, identity)
    if identity is not None:
        if row is None:
            db.session.rollback()
            # Not theirs or no such journey: first answer for the caller exactly as every
            # other route does (created on first sight, 401 if disabled), then 404.
            user_for_identity(identity)
            raise NotFound(f"no journey {journey_id}")
        try:
            admit_principal(conn, row.owner_id, row.caller_disabled, row.caller_last_seen_at, now)
        except Unauthorized:
            db.session.rollback()
            raise
    elif row is None:
        db.session.rollback()
        raise NotFound(f"no journey {journey_id}")
    if row.state != ACTIVE:
        db.session.rollback()
        raise Conflict("the journey has ended; fixes are no longer accepted")
    names = ("id", "owner_id", "started_at", *_TRACKED)
    return SimpleNamespace(**{name: getattr(row, name) for name in names})


def _ingest_once(
    journey_id: int,
    fixes: list[dict[str, Any]],
    source: str,
    now: datetime,
    owner_id: int | None,
    identity: Identity | None,
    ping: bool = True,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    tried_unlocked = False
    if _own_connection_may_append(fixes):
        # The live case needs no ORM session: its autocommit statement runs on a pooled
        # connection of its own (the session's begin and close cost more CPU than the
        # statement's Python side). When the locked path must decide, it runs as before.
        tried_unlocked = True
        with _checkout(ping, _live_connection) as own:
            writer = _FixWriter(own)
            done = _append_unlocked(writer, journey_id, fixes, source, now, owner_id, identity)
        if done is not None:
            return done
    conn = _checkout(ping, db.session.connection)
    writer = _FixWriter(conn)
    if not tried_unlocked and writer.autocommit_ready():
        done = _append_unlocked(writer, journey_id, fixes, source, now, owner_id, identity)
        if done is not None:
            return done
    return _ingest_locked(writer, journey_id, fixes, source, now, owner_id, identity)


def _live_connection() -> Connection | PooledConnection:
    """A pooled connection for the live append: a plain checkout when its statement runs on
    the DBAPI cursor, else a ``Connection`` (cursor listeners, echo)."""
    engine = db.engine
    if eligible(engine) and all(_direct.get(stmt, engine.dialect) for stmt in _LIVE_APPENDS):
        return PooledConnection(engine)
    return engine.connect()


def _checkout(ping: bool, connect: Any) -> Any:
    """``connect()``, with the pool's pre-ping only when ``ping``."""
    if ping:
        return connect()
    with without_pre_ping():
        return connect()


def _own_connection_may_append(fixes: list[dict[str, Any]]) -> bool:
    """Whether the optimistic append may run on a connection of its own: one distinct fix,
    PostgreSQL (psycopg), and no session transaction this request already opened (whose
    reads the fixes must then join, as the location clients' path does)."""
    if len(fixes) != 1 and len(_first_per_time(fixes)) != 1:
        return False
    dialect = db.engine.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return False
    registry = db.session.registry
    return not registry.has() or not registry().in_transaction()


def _microseconds(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


_NULLABLE_FIX_FLOATS = ("accuracy_m", "battery", "speed_mps")
# The version of a journey's row a statement read (PostgreSQL's xmin, the transaction that
# wrote it): an UPDATE that requires it unchanged writes nothing if anyone wrote the row since.
_row_version: ColumnClause[Any] = literal_column(f"{_journeys.name}.xmin")


def _live_append(with_caller: bool) -> Any:
    """The live append as one PostgreSQL statement (see _append_unlocked): read the journey
    (and the caller's account, ``with_caller``) where the append may go ahead, decide the fix
    as _plan_rows and _advance decide it (jump, last position and battery, stationary anchor,
    next due check), update the journey only if no one wrote its row since the read, store
    the fix only then, and return its ``jump`` flag (no row: nothing written). Kept under
    psycopg's 4 KiB limit for caching a statement's conversion (4.7 KiB cost 0.9M
    instructions a fix)."""
    j = _journeys
    lat = bindparam("lat", type_=Float)
    lon = bindparam("lon", type_=Float)
    t = bindparam("recorded_at", type_=_fixes.c.recorded_at.type)
    read = select(
        j.c.id,
        _row_version.label("xmin"),
        t.label("t"),
        j.c.last_fix_at,
        j.c.anchor_at,
        haversine_sql(j.c.last_lat, j.c.last_lon, lat, lon).label("metres"),
        cast(extract("epoch", t - j.c.last_fix_at), Float).label("seconds"),
        or_(  # _move_anchor: beyond the stationary radius (or no anchor yet)
            j.c.anchor_lat.is_(None),
            haversine_sql(j.c.anchor_lat, j.c.anchor_lon, lat, lon)
            > bindparam("radius", type_=Float),
        ).label("far"),
    ).where(
        j.c.id == bindparam("journey_id"),
        j.c.state == literal_column(f"'{ACTIVE}'"),
        # not before the journey (less the tolerance), else the locked path refuses it
        j.c.started_at <= bindparam("since"),
        or_(j.c.latest_fix_at.is_(None), j.c.latest_fix_at < t),  # after everything stored
    )
    if with_caller:  # the caller as admit_principal admits them, else the locked path decides
        read = read.join_from(j, _users, _users.c.id == j.c.owner_id).where(
            _users.c.uid == bindparam("uid"),
            _users.c.disabled.is_(False),
            _users.c.last_seen_at >= bindparam("seen_since", type_=_users.c.last_seen_at.type),
        )
    else:
        read = read.where(j.c.owner_id == bindparam("owner"))
    r = read.cte("read").c
    judged = select(  # _plan_rows: judged against the last plausible fix
        r.id,
        r.xmin,
        r.t,
        r.last_fix_at,
        r.anchor_at,
        r.far,
        and_(
            r.last_fix_at.is_not(None),
            r.metres > float8(200),
            r.metres / func.greatest(r.seconds, float8(0.001), type_=Float)
            > bindparam("max_speed", type_=Float),
        ).label("jump"),
    ).cte("judged")
    g = judged.c
    plan = select(  # _advance and _move_anchor
        g.id,
        g.xmin,
        g.t,
        g.jump,
        and_(not_(g.jump), or_(g.last_fix_at.is_(None), g.t > g.last_fix_at)).label("newest"),
        and_(not_(g.jump), not_(and_(g.anchor_at.is_not(None), g.t <= g.anchor_at)), g.far).label(
            "moves"
        ),
    ).cte("plan")
    p = plan.c
    micro = literal_column("interval '1 microsecond'", Interval)
    battery = cast(bindparam("battery", type_=Float), Float)
    # The columns on the right are the row's own: the version read, or nothing is written.
    moved = (
        update(j)
        .where(
            j.c.id == p.id,
            _row_version == p.xmin,
            p.jump.is_not(None),  # every decision defined, else the locked path decides
            p.moves.is_not(None),
        )
        .values(
            latest_fix_at=case(
                (or_(j.c.latest_fix_at.is_(None), p.t > j.c.latest_fix_at), p.t),
                else_=j.c.latest_fix_at,
            ),
            last_fix_at=case((p.newest, p.t), else_=j.c.last_fix_at),
            last_lat=case((p.newest, lat), else_=j.c.last_lat),
            last_lon=case((p.newest, lon), else_=j.c.last_lon),
            last_accuracy_m=case(
                (p.newest, cast(bindparam("accuracy_m", type_=Float), Float)),
                else_=j.c.last_accuracy_m,
            ),
            # a battery reading no older than the (new) last position
            last_battery=case(
                (
                    and_(
                        battery.is_not(None),
                        or_(p.newest, j.c.last_fix_at.is_(None), p.t >= j.c.last_fix_at),
                    ),
                    battery,
                ),
                else_=j.c.last_battery,
            ),
            anchor_lat=case((p.moves, lat), else_=j.c.anchor_lat),
            anchor_lon=case((p.moves, lon), else_=j.c.anchor_lon),
            anchor_at=case((p.moves, p.t), else_=j.c.anchor_at),
            stationary=case((p.moves, false()), else_=j.c.stationary),
            # _schedule (the journey is active): the overdue check unless overdue, the
            # stationary check from the (new) anchor unless stationary
            next_check_at=func.least(
                case(
                    (
                        not_(j.c.overdue),
                        j.c.expected_arrival_at + cast(bindparam("grace_us"), Float) * micro,
                    )
                ),
                case(
                    (p.moves, p.t + cast(bindparam("still_us"), Float) * micro),
                    (
                        and_(not_(j.c.stationary), j.c.anchor_at.is_not(None)),
                        j.c.anchor_at + cast(bindparam("still_us"), Float) * micro,
                    ),
                ),
                type_=j.c.next_check_at.type,
            ),
        )
        .returning(p.jump)
        .cte("moved")
    )
    values = [
        moved.c.jump
        if k == "jump"
        else cast(bindparam(k, type_=Float), Float)
        if k in _NULLABLE_FIX_FLOATS
        else bindparam(k, type_=_fixes.c[k].type)
        for k in _FIX_KEYS
    ]
    stored = (
        insert(_fixes)
        .from_select(_FIX_KEYS, select(*values).select_from(moved))
        .returning(_fixes.c.jump)
        .cte("stored")
    )
    return select(stored.c.jump)


_live_append_with_caller = _live_append(with_caller=True)
_live_append_owned = _live_append(with_caller=False)
_LIVE_APPENDS = (_live_append_with_caller, _live_append_owned)


def _first_per_time(fixes: list[dict[str, Any]]) -> dict[datetime, dict[str, Any]]:
    """The batch by client timestamp; a repeated timestamp keeps its first fix."""
    batch: dict[datetime, dict[str, Any]] = {}
    for fix in fixes:
        batch.setdefault(fix["recorded_at"], fix)
    return batch


def _append_unlocked(
    writer: _FixWriter,
    journey_id: int,
    fixes: list[dict[str, Any]],
    source: str,
    now: datetime,
    owner_id: int | None,
    identity: Identity | None,
) -> tuple[dict[str, int], list[dict[str, Any]]] | None:
    """The live case on PostgreSQL, one new fix after everything stored, in one autocommit
    statement instead of BEGIN, a locked read, INSERT, UPDATE and COMMIT (_live_append):
    it reads the tracking columns, decides the fix as the locked path would, updates them
    only if no one wrote the journey's row since it read it, and stores the fix only if it
    did. Returns None (nothing written) whenever the locked path must decide: another batch,
    the sweep or an arrival got there first, the fix is not an append, the journey is not the
    caller's or not active, the account is disabled or its last-seen time is due."""
    batch = _first_per_time(fixes)
    if len(batch) != 1:
        return None
    ((recorded_at, fix),) = batch.items()
    row = {
        "journey_id": journey_id,
        "recorded_at": recorded_at,
        "received_at": now,
        "lat": fix["lat"],
        "lon": fix["lon"],
        "accuracy_m": fix.get("accuracy_m"),
        "battery": fix.get("battery"),
        "speed_mps": fix.get("speed_mps"),
        "source": source,
    }
    values = {
        **row,
        "since": recorded_at + timedelta(minutes=setting("PAST_FIX_TOLERANCE_MINUTES")),
        "max_speed": setting("MAX_PLAUSIBLE_SPEED_MPS"),
        "radius": setting("STATIONARY_RADIUS_M"),
        "grace_us": _microseconds(timedelta(minutes=setting("OVERDUE_GRACE_MINUTES"))),
        "still_us": _microseconds(timedelta(minutes=setting("STATIONARY_MINUTES"))),
    }
    if identity is not None:
        stmt = _live_append_with_caller
        values["uid"] = identity["uid"]
        values["seen_since"] = seen_recently_since(now)
    else:
        stmt = _live_append_owned
        values["owner"] = owner_id
    dbapi_conn = writer.conn.connection.dbapi_connection
    dbapi_conn.autocommit = True  # type: ignore[union-attr]
    try:
        written = _first_row(writer, stmt, values)
    finally:
        if not writer.conn.invalidated:  # a dead connection is dropped, not reset
            dbapi_conn.autocommit = False  # type: ignore[union-attr]
    if written is None:
        return None
    row["jump"] = jump = bool(written.jump)
    result = {"accepted": 1, "duplicates": len(fixes) - 1, "jumps": int(jump)}
    return result, _fix_messages(journey_id, [row])


def _ingest_locked(
    writer: _FixWriter,
    journey_id: int,
    fixes: list[dict[str, Any]],
    source: str,
    now: datetime,
    owner_id: int | None,
    identity: Identity | None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    conn = writer.conn
    journey = _lock_journey(writer, journey_id, owner_id, identity, now)
    before = dict(vars(journey))
    batch = _first_per_time(fixes)
    times = sorted(batch)
    _refuse_fixes_before_start(fixes, times[0], journey.started_at)
    existing, stored = _stored_neighbours(conn, journey, times)
    new_times = [t for t in times if t not in existing]
    duplicates = len(fixes) - len(new_times)
    if not new_times:
        db.session.rollback()
        return {"accepted": 0, "duplicates": duplicates, "jumps": 0}, []
    rows, jumps = _plan_rows(journey_id, batch, new_times, stored, source, now)
    writer.execute(_store_fixes, rows, _FIX_KEYS)
    _advance(journey, rows)
    _write_back(writer, journey, before)
    db.session.commit()
    result = {"accepted": len(rows), "duplicates": duplicates, "jumps": jumps}
    return result, _fix_messages(journey_id, rows)


def _plan_rows(
    journey_id: int,
    batch: dict[datetime, dict[str, Any]],
    new_times: list[datetime],
    stored: list[tuple[datetime, float, float]],
    source: str,
    now: datetime,
) -> tuple[list[dict[str, Any]], int]:
    """The rows to store for ``new_times`` (in time order, jumps flagged against the stored
    plausible fixes and each other), and how many are jumps. _live_append decides a single
    appended fix the same way in SQL: change both (test_live_append holds them equal)."""
    timeline: list[tuple[datetime, float, float, bool]] = [
        (t, la, lo, False) for t, la, lo in stored
    ]
    timeline += [(t, batch[t]["lat"], batch[t]["lon"], True) for t in new_times]
    timeline.sort(key=lambda item: item[0])
    max_speed = setting("MAX_PLAUSIBLE_SPEED_MPS")
    rows, jumps = [], 0
    prev: tuple[datetime, float, float] | None = None
    for ts, lat, lon, is_new in timeline:
        jump = False
        if prev is not None:
            seconds = (ts - prev[0]).total_seconds()
            metres = haversine_m(prev[1], prev[2], lat, lon)
            jump = metres > 200 and metres / max(seconds, 0.001) > max_speed
        if not jump:
            prev = (ts, lat, lon)
        if not is_new:
            continue
        fix = batch[ts]
        jumps += jump
        rows.append(
            {
                "journey_id": journey_id,
                "recorded_at": ts,
                "received_at": now,
                "lat": lat,
                "lon": lon,
                "accuracy_m": fix.get("accuracy_m"),
                "battery": fix.get("battery"),
                "speed_mps": fix.get("speed_mps"),
                "source": source,
                "jump": jump,
            }
        )
    return rows, jumps


def _advance(journey: Any, rows: list[dict[str, Any]]) -> None:
    """Move the journey's tracking columns past newly stored ``rows`` (time order): latest and
    last plausible fix, battery, stationary anchor, next due check. _live_append does the same
    in SQL for a single appended fix: change both (test_live_append holds them equal)."""
    if journey.latest_fix_at is None or rows[-1]["recorded_at"] > journey.latest_fix_at:
        journey.latest_fix_at = rows[-1]["recorded_at"]
    plausible = [r for r in rows if not r["jump"]]
    if plausible:
        newest = plausible[-1]
        if journey.last_fix_at is None or newest["recorded_at"] > journey.last_fix_at:
            journey.last_lat, journey.last_lon = newest["lat"], newest["lon"]
            journey.last_fix_at = newest["recorded_at"]
            journey.last_accuracy_m = newest["accuracy_m"]
    batteries = [r for r in rows if r["battery"] is not None]
    if batteries and (
        journey.last_fix_at is None or batteries[-1]["recorded_at"] >= journey.last_fix_at
    ):
        journey.last_battery = batteries[-1]["battery"]
    _move_anchor(journey, plausible)
    _schedule(journey)


def _fix_messages(journey_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "fix",
            "journey_id": journey_id,
            "lat": row["lat"],
            "lon": row["lon"],
            "recorded_at": row["recorded_at"].isoformat(),
            "accuracy_m": row["accuracy_m"],
            "battery": row["battery"],
            "jump": row["jump"],
        }
        for row in rows
    ]


def _move_anchor(journey: Any, rows: Iterable[dict[str, Any]]) -> None:
    """Movement beyond the stationary radius resets the stationary clock (also in SQL in
    _live_append)."""
    radius = setting("STATIONARY_RADIUS_M")
    for row in rows:
        if journey.anchor_at is not None and row["recorded_at"] <= journey.anchor_at:
            continue
        if (
            journey.anchor_lat is None
            or haversine_m(journey.anchor_lat, journey.anchor_lon, row["lat"], row["lon"]) > radius
        ):
            journey.anchor_lat, journey.anchor_lon = row["lat"], row["lon"]
            journey.anchor_at = row["recorded_at"]
            journey.stationary = False


def _schedule(journey: Any) -> None:
    """Set the indexed due time of the next overdue or stationary check (on a Journey, or on
    the tracking columns the fix path holds; also in SQL in _live_append)."""
    due: list[datetime] = []
    if journey.state == ACTIVE:
        if not journey.overdue and getattr(journey, "kind", None) != EMERGENCY:
            due.append(
                journey.expected_arrival_at + timedelta(minutes=setting("OVERDUE_GRACE_MINUTES"))
            )
        if not journey.stationary and journey.anchor_at is not None:
            due.append(journey.anchor_at + timedelta(minutes=setting("STATIONARY_MINUTES")))
    journey.next_check_at = min(due) if due else None


# --- state changes ------------------------------------------------------------------------


def _watchers(journey: Journey) -> list[int]:
    return sorted(active_contact_ids(journey.owner_id, journey.contact_user_ids))


def watchers(journey: Journey) -> list[int]:
    """The chosen contacts of ``journey`` who still hold the owner's consent."""
    return _watchers(journey)


def add_watchers(journey: Journey, contact_ids: list[int]) -> None:
    """Add contacts to ``journey`` (caller commits; e.g. an SOS on a journey nobody watches)."""
    have = set(journey.contact_user_ids)
    for contact_id in sorted(set(contact_ids) - have):
        journey.contacts.append(JourneyContact(contact_user_id=contact_id))


UNNAMED_OWNER = "Your contact"  # what alerts call a resident who has set no display name


def _name(journey: Journey) -> str:
    owner = db.session.get(User, journey.owner_id)
    return (owner.display_name if owner else None) or UNNAMED_OWNER


def _position_data(journey: Journey) -> dict[str, str]:
    data = {"journey_id": str(journey.id)}
    if journey.last_lat is not None:
        data.update(lat=f"{journey.last_lat:.6f}", lon=f"{journey.last_lon:.6f}")
        data["fix_at"] = journey.last_fix_at.isoformat() if journey.last_fix_at else ""
    if journey.last_battery is not None:
        data["battery"] = f"{journey.last_battery:.0f}"
    return data


def _alert(
    journey: Journey,
    kind: str,
    title: str,
    body: str,
    recipients: list[int] | None = None,
    name: str | None = None,
) -> None:
    """Queue an alert about ``journey`` (its owner's ``name`` when the caller has it: the
    sweep reads the names of a whole batch at once; a look-up per journey here flushed the
    session and read the owner a thousand times, 5.4-7.9 s for 1,000 due journeys)."""
    from backend.alerts import service as alerts

    alerts.enqueue(
        kind=kind,
        recipients=_watchers(journey) if recipients is None else recipients,
        title=title,
        body=body,
        data={**_position_data(journey), "name": name if name is not None else _name(journey)},
        journey_id=journey.id,
        subject_user_id=journey.owner_id,
    )


def _end(journey: Journey, state: str, now: datetime) -> None:
    journey.state = state
    journey.ended_at = now
    journey.active_owner_id = None
    journey.purge_fixes_at = now + timedelta(
        hours=int(current_app.config.get("LOCATION_RETENTION_HOURS", 24))
    )
    _schedule(journey)


def _owned_active(actor: User, journey_id: int) -> Journey:
    journey = _get(journey_id, lock=True)
    policy.require_owner(actor, journey)
    if journey.state != ACTIVE:
        db.session.rollback()
        raise Conflict(f"the journey is already {journey.state}")
    return journey


def _publish_state(journey: Journey) -> None:
    publish(journey_channel(journey.id), {"type": "state", "journey": journey_dict(journey)})


def arrive(actor: User, journey_id: int, now: datetime | None = None) -> Journey:
    """Arrived safely: the journey ends and contacts are told. Raises NotFound, Conflict."""
    now = now or utcnow()
    journey = _owned_active(actor, journey_id)
    _end(journey, "arrived", now)
    name = _name(journey)
    _alert(journey, "arrival", f"{name} arrived safely", f"{name} has arrived safely.")
    db.session.commit()
    _publish_state(journey)
    return journey


def cancel(actor: User, journey_id: int, now: datetime | None = None) -> Journey:
    """Stop sharing without an arrival; raises NotFound, Conflict."""
    now = now or utcnow()
    journey = _owned_active(actor, journey_id)
    _end(journey, "cancelled", now)
    db.session.commit()
    _publish_state(journey)
    return journey


def sos(actor: User, journey_id: int, now: datetime | None = None) -> Journey:
    """Raise SOS: contacts get the last position and battery at once. Raises NotFound,
    Conflict."""
    journey = _owned_active(actor, journey_id)
    raise_sos_on(journey, now or utcnow())
    db.session.commit()
    _publish_state(journey)
    return journey


def raise_sos_on(journey: Journey, now: datetime, recipients: list[int] | None = None) -> Any:
    """Mark ``journey`` in SOS and queue the SOS alert to its watchers (or ``recipients``) in
    the caller's transaction, WITHOUT committing; returns the outbox alert. The text names
    the resident, the last position as a place and the time in UK local time."""
    journey.sos = True
    journey.sos_at = journey.sos_at or now
    name = _name(journey)
    title = "SOS from your contact" if name == UNNAMED_OWNER else f"SOS from {name}"
    where = ""
    if journey.last_lat is not None and journey.last_lon is not None:
        from backend.areas.service import place_label

        place = place_label(journey.last_lat, journey.last_lon)
        coords = f"{journey.last_lat:.4f}, {journey.last_lon:.4f}"
        where = f" {place} ({coords})" if place else f" At {coords}"
        if journey.last_fix_at is not None:
            where += f" at {uktime.clock(journey.last_fix_at)}"
        if journey.last_battery is not None:
            where += f", battery {journey.last_battery:.0f}%"
        where += "."
    from backend.alerts import service as alerts

    return alerts.enqueue(
        kind="sos",
        recipients=_watchers(journey) if recipients is None else recipients,
        title=title,
        body=f"{name} pressed SOS.{where}",
        data={**_position_data(journey), "name": name},
        journey_id=journey.id,
        subject_user_id=journey.owner_id,
    )


def start_emergency_share(
    owner: User, contact_ids: list[int], lat: float, lon: float, now: datetime
) -> Journey:
    """An emergency share (no destination, no overdue check) with ``contact_ids`` from where
    the SOS was raised, flushed but NOT committed; raises IntegrityError when a journey is
    already active (the caller decides)."""
    journey = Journey(
        owner_id=owner.id,
        active_owner_id=owner.id,
        kind=EMERGENCY,
        state=ACTIVE,
        started_at=now,
        expected_arrival_at=now + timedelta(hours=EMERGENCY_SHARE_HOURS),
        dest_lat=lat,
        dest_lon=lon,
        destination_label="Emergency share (where SOS was raised)",
    )
    journey.contacts = [JourneyContact(contact_user_id=c) for c in sorted(set(contact_ids))]
    _schedule(journey)
    db.session.add(journey)
    db.session.flush()
    return journey


def record_sos_position(
    journey: Journey,
    lat: float,
    lon: float,
    recorded_at: datetime,
    accuracy_m: float | None,
    battery: float | None,
    now: datetime,
) -> None:
    """Store the position sent with an SOS as a fix of ``journey`` and, when it is the newest,
    as its last position (caller commits). An older or already stored time is kept out."""
    if journey.latest_fix_at is not None and recorded_at <= journey.latest_fix_at:
        return
    db.session.add(
        LocationFix(
            journey_id=journey.id,
            recorded_at=recorded_at,
            received_at=now,
            lat=lat,
            lon=lon,
            accuracy_m=accuracy_m,
            battery=battery,
            source="sos",
        )
    )
    journey.latest_fix_at = journey.last_fix_at = recorded_at
    journey.last_lat, journey.last_lon = lat, lon
    journey.last_accuracy_m = accuracy_m
    if battery is not None:
        journey.last_battery = battery


def publish_state(journey: Journey) -> None:
    """Tell every watcher of ``journey`` its new state (after the commit)."""
    _publish_state(journey)


def remove_contact_from_journeys(owner_id: int, contact_user_id: int) -> list[int]:
    """Take a contact off every active journey of ``owner_id`` (caller commits); returns the
    ids of the journeys they were watching."""
    ids = list(
        db.session.scalars(
            select(Journey.id)
            .join(JourneyContact, JourneyContact.journey_id == Journey.id)
            .where(
                Journey.owner_id == owner_id,
                Journey.state == ACTIVE,
                JourneyContact.contact_user_id == contact_user_id,
            )
        )
    )
    if ids:
        db.session.execute(
            delete(JourneyContact).where(
                JourneyContact.journey_id.in_(ids),
                JourneyContact.contact_user_id == contact_user_id,
            )
        )
        for journey in db.session.scalars(select(Journey).where(Journey.id.in_(ids))):
            db.session.expire(journey, ["contacts"])
    return ids


def announce_access_removed(
    journey_ids: list[int], user_id: int, by_display_name: str, at: datetime
) -> None:
    """End ``user_id``'s open streams of these journeys, on every server process; their last
    event says who stopped sharing and when."""
    for journey_id in journey_ids:
        publish(
            journey_channel(journey_id),
            {
                "type": "access_revoked",
                "user_id": user_id,
                "by_display_name": by_display_name,
                "at": at.isoformat(),
            },
        )


# --- the worker's sweeps ------------------------------------------------------------------


def sweep_due(now: datetime | None = None, limit: int = 1000) -> int:
    """Raise overdue and stationary alerts for journeys whose check is due (an index range
    scan; ``FOR UPDATE SKIP LOCKED`` lets several workers share it). Returns journeys checked."""
    from backend.contacts.models import Contact

    now = now or utcnow()
    journeys = claim_batch(
        db.session,
        select(Journey)
        .where(Journey.next_check_at <= now, Journey.state == ACTIVE)
        .order_by(Journey.next_check_at),
        limit,
    )
    if not journeys:
        return 0
    ids = [j.id for j in journeys]
    owners = {j.owner_id for j in journeys}
    names = dict(
        db.session.execute(select(User.id, User.display_name).where(User.id.in_(owners))).all()
    )
    chosen: dict[int, list[int]] = {}
    for journey_id, contact_id in db.session.execute(
        select(JourneyContact.journey_id, JourneyContact.contact_user_id)
        .join(Journey, Journey.id == JourneyContact.journey_id)
        .join(
            Contact,
            (Contact.owner_id == Journey.owner_id)
            & (Contact.contact_user_id == JourneyContact.contact_user_id),
        )
        .where(JourneyContact.journey_id.in_(ids), Contact.status == "active")
    ):
        chosen.setdefault(journey_id, []).append(contact_id)
    grace = timedelta(minutes=setting("OVERDUE_GRACE_MINUTES"))
    still = timedelta(minutes=setting("STATIONARY_MINUTES"))
    changed = []
    for journey in journeys:
        name = names.get(journey.owner_id) or UNNAMED_OWNER
        watchers = sorted(chosen.get(journey.id, []))
        if (
            not journey.overdue
            and journey.kind != EMERGENCY  # no destination, so nothing to be late for
            and now >= journey.expected_arrival_at + grace
        ):
            journey.overdue = True
            _alert(
                journey,
                "overdue",
                f"{name} has not arrived",
                f"{name} was expected by {uktime.clock(journey.expected_arrival_at)} and has not arrived.",
                watchers,
                name,
            )
            changed.append(journey)
        if (
            not journey.stationary
            and journey.anchor_at is not None
            and now >= journey.anchor_at + still
        ):
            journey.stationary = True
            _alert(
                journey,
                "stationary",
                f"{name} is not moving",
                f"{name} has not moved for {int(still.total_seconds() // 60)} minutes.",
                watchers,
                name,
            )
            changed.append(journey)
        _schedule(journey)
    messages = [
        (j.id, {"type": "state", "journey": _state_dict(j, names.get(j.owner_id), chosen)})
        for j in dict.fromkeys(changed)
    ]
    db.session.commit()
    for journey_id, message in messages:
        publish(journey_channel(journey_id), message)
    return len(journeys)


def _state_dict(
    journey: Journey,
    owner_name: str | None,
    chosen: dict[int, list[int]],
    for_owner: bool = False,
) -> dict[str, Any]:
    """``journey_dict`` without its per-journey queries (for the sweep's batch). The last
    position (and battery) is shown while the journey is active; after it ends, only to its
    owner (until the retention purge): contacts see the final state and no position."""
    last = None
    shown = journey.state == ACTIVE or for_owner
    if shown and journey.last_lat is not None and journey.last_fix_at is not None:
        last = {
            "lat": journey.last_lat,
            "lon": journey.last_lon,
            "recorded_at": journey.last_fix_at,
            "accuracy_m": journey.last_accuracy_m,
            "battery": journey.last_battery,
        }
    return {
        "id": journey.id,
        "owner_id": journey.owner_id,
        "owner_name": owner_name,
        "kind": journey.kind,
        "state": journey.state,
        "overdue": journey.overdue,
        "sos": journey.sos,
        "sos_at": journey.sos_at,
        "stationary": journey.stationary,
        "destination": {
            "lat": journey.dest_lat,
            "lon": journey.dest_lon,
            "label": journey.destination_label,
            "postcode": journey.destination_postcode,
            "venue_id": journey.destination_venue_id,
        },
        "started_at": journey.started_at,
        "expected_arrival_at": journey.expected_arrival_at,
        "ended_at": journey.ended_at,
        "last_fix": last,
        "last_place": _place(last),
        "contact_ids": sorted(chosen.get(journey.id, [])),
    }


def _place(last: dict[str, Any] | None) -> str | None:
    if last is None:
        return None
    from backend.areas.service import place_label

    return place_label(last["lat"], last["lon"])


def purge_expired_fixes(now: datetime | None = None, limit: int = 500) -> int:
    """Delete the fixes (and last position, anchor and destination) of journeys ended longer
    ago than the retention period, the names and positions in their alerts and their SOS
    presses; returns the number of fixes deleted."""
    now = now or utcnow()
    ids = claim_batch(
        db.session,
        select(Journey.id).where(Journey.purge_fixes_at <= now).order_by(Journey.purge_fixes_at),
        limit,
    )
    if not ids:
        return 0
    from backend.alerts import service as alerts
    from backend.sos import service as sos

    deleted = db.session.execute(delete(LocationFix).where(LocationFix.journey_id.in_(ids)))
    alerts.forget_journey_details(ids)
    sos.forget_journeys(ids)
    db.session.execute(
        update(Journey)
        .where(Journey.id.in_(ids))
        .values(
            purge_fixes_at=None,
            last_lat=None,
            last_lon=None,
            last_accuracy_m=None,
            last_battery=None,
            anchor_lat=None,
            anchor_lon=None,
            dest_lat=None,
            dest_lon=None,
            destination_label=None,
            destination_postcode=None,
            destination_venue_id=None,
        )
    )
    db.session.commit()
    return rowcount(deleted)


# --- location clients (OwnTracks, Traccar) ------------------------------------------------


def create_location_client(actor: User, label: str) -> tuple[LocationClient, str]:
    """A per-device credential; returns it and its secret (shown once)."""
    secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES)
    client = LocationClient(
        user_id=actor.id,
        username=f"sh-{secrets.token_hex(6)}",
        secret_hash=hash_secret(secret),
        label=label,
    )
    db.session.add(client)
    db.session.commit()
    return client, secret


def list_location_clients(actor: User) -> list[LocationClient]:
    return list(
        db.session.scalars(
            select(LocationClient)
            .where(LocationClient.user_id == actor.id, LocationClient.revoked_at.is_(None))
            .order_by(LocationClient.id)
        )
    )


def revoke_location_client(actor: User, client_id: int) -> None:
    """Stop accepting a device credential; raises NotFound."""
    client = db.session.get(LocationClient, client_id)
    if client is None or client.user_id != actor.id:
        raise NotFound(f"no location client {client_id}")
    client.revoked_at = client.revoked_at or utcnow()
    db.session.commit()
    with _client_lock:  # refused at once here; within the credential bound elsewhere
        _credentials.pop(client.secret_hash, None)


# The trackers' lean path. A device credential is looked up once per
# ``SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S`` (default 60 s; 0: on every request), as an account's
# token revocation state is: a revoked credential is refused at once on the process that
# revoked it and within that bound on the others. Whether the account is disabled is still read
# on every request (with the journey, in the fix path's own statement). The fixes then take the
# app's own path (the caller read with the journey); the user's active journey id, read with
# the credential, is kept as a hint, checked by that statement, and looked up again when it is
# stale. A process seeing a device for the first time (Traccar Client posts every 5 minutes by
# default, to any worker) so pays two lone reads beside the fix, the credential and the
# reply's journeys, each one round trip: 2.0-2.8 ms of server CPU a post against 3.2-6.5 ms
# when they were five statements in transactions (bench/location_post_cpu.py --cold).
@dataclass(frozen=True)
class ClientCredential:
    """A location client's credential as looked up: whose it is."""

    client_id: int
    user_id: int
    uid: str
    username: str


CREDENTIAL_CACHE_SIZE = 65_536
_credentials: dict[str, tuple[float, ClientCredential]] = {}  # secret hash -> (at, credential)
_active_hints: dict[int, int] = {}  # user id -> the id of their active journey, last seen
_client_lock = threading.Lock()
_clock = time.monotonic  # (tests move it)
# The user's active journey comes with the credential (the hint, one statement for both).
_credential_lookup = (
    select(
        LocationClient.id,
        LocationClient.user_id,
        LocationClient.username,
        User.uid,
        Journey.id.label("journey_id"),
    )
    .join(User, User.id == LocationClient.user_id)
    .outerjoin(Journey, Journey.active_owner_id == User.id)
    .where(
        LocationClient.secret_hash == bindparam("secret_hash"),
        LocationClient.revoked_at.is_(None),
        User.disabled.is_(False),
    )
)
_client_standing = (
    select(User.disabled, Journey.id)
    .outerjoin(Journey, Journey.active_owner_id == User.id)
    .where(User.id == bindparam("user_id"))
)


def _read_first(stmt: Any, values: dict[str, Any]) -> Any:
    """The first row of a lone SELECT outside any transaction of the request (one round trip
    on PostgreSQL: no BEGIN, no ROLLBACK), or None."""
    rows = read_without_pre_ping(db.engine, lambda conn: select_rows(conn, stmt, values))
    return rows[0] if rows else None


def _credential_max_age() -> float:
    settings = app_object().config["SAFEHAVEN_SETTINGS"]
    return float(settings.firebase_revocation_check_s)


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    with _client_lock:
        cache.pop(key, None)  # re-inserted last: the dict stays oldest-first
        if len(cache) >= CREDENTIAL_CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[key] = value


def client_credential(username: str | None, secret: str | None) -> ClientCredential | None:
    """The credential of a device (OwnTracks Basic auth, or a Traccar device id equal to the
    secret when ``username`` is None), else None (unknown, revoked, or a disabled account
    when looked up)."""
    if not secret or len(secret) > 200:
        return None
    key = hash_secret(secret)
    hit = _credentials.get(key)
    if hit is not None and 0 <= _clock() - hit[0] <= _credential_max_age():
        credential = hit[1]
    else:
        looked_up_at = _clock()
        row = _read_first(_credential_lookup, {"secret_hash": key})
        if row is None:
            with _client_lock:
                _credentials.pop(key, None)
            return None
        credential = ClientCredential(row.id, row.user_id, row.uid, row.username)
        _keep(_credentials, key, (looked_up_at, credential))
        if row.journey_id is not None:
            _keep(_active_hints, credential.user_id, row.journey_id)
    if username is not None and credential.username != username:
        return None
    return credential


def _standing(credential: ClientCredential) -> int | None:
    """The user's active journey id (None without one); raises Unauthorized when their
    account is disabled."""
    row = _read_first(_client_standing, {"user_id": credential.user_id})
    if row is None or row.disabled:
        raise Unauthorized("unknown or revoked credential")
    if row.id is not None:
        _keep(_active_hints, credential.user_id, row.id)
    return row.id  # type: ignore[no-any-return]


def require_client_standing(credential: ClientCredential) -> None:
    """Raises Unauthorized when the credential's account is disabled (for a message that
    stores nothing)."""
    _standing(credential)


def add_client_fixes(
    credential: ClientCredential,
    fixes: list[dict[str, Any]],
    source: str,
    now: datetime | None = None,
) -> dict[str, int] | None:
    """Store fixes from a location client on the user's active journey (None without one),
    through the app's own fix path; raises Unauthorized (disabled account), Conflict (the
    journey ended meanwhile), ValidationError."""
    now = now or utcnow()
    identity = Identity(uid=credential.uid)
    hint = _active_hints.get(credential.user_id)
    if hint is not None:
        try:
            return _ingest(hint, fixes, source, now, credential.uid, identity=identity)
        except (NotFound, Conflict):  # that journey ended: which one is active now?
            with _client_lock:
                _active_hints.pop(credential.user_id, None)
    journey_id = _standing(credential)
    if journey_id is None:
        return None
    return _ingest(journey_id, fixes, source, now, credential.uid, identity=identity)


def forget_client_credentials() -> None:
    """Forget every looked-up credential, journey hint and kept reply in this process
    (tests)."""
    with _client_lock:
        _credentials.clear()
        _active_hints.clear()
        _replies.clear()


# OwnTracks replies with the journeys shared with the caller (their owners' cards and last
# positions). A reply is kept per user and read again only when it can have changed: when this
# process's broker has carried, since it was read, a fix of one of those journeys, or a state
# change or revocation naming the user (journeys starting, ending, contacts removed), or has
# missed messages (a Redis subscription lost and made again, or not subscribed now: then every
# reply is read). It is also read again after the credential bound above (an owner's new
# display name is not announced on the broker).
# (user id, uid) -> (read at, broker epoch, user's mark, (journey id, mark)..., reply)
_replies: dict[tuple[int, str], tuple[float, int, int | None, tuple[Any, ...], Any]] = {}
_user_marks: dict[int, int] = {}  # user id -> the last message naming them
_journey_marks: dict[int, int] = {}  # journey id -> its last message
_marks = itertools.count(1)
_FIX_PREFIX = '{"type":"fix"'


def _observe(channel: str, raw: str) -> None:
    """The broker's observer: mark the journey, and the users a non-fix message names."""
    if not channel.startswith("journey:"):
        return
    mark = next(_marks)
    _journey_marks[int(channel[8:])] = mark
    if raw.startswith(_FIX_PREFIX):
        return
    message = json.loads(raw)
    named: list[Any] = []
    journey = message.get("journey")
    if isinstance(journey, dict):
        named = [journey.get("owner_id"), *(journey.get("contact_ids") or [])]
    elif "user_id" in message:
        named = [message["user_id"]]
    for user_id in named:
        if isinstance(user_id, int):
            _user_marks[user_id] = mark
    if len(_journey_marks) > CREDENTIAL_CACHE_SIZE or len(_user_marks) > CREDENTIAL_CACHE_SIZE:
        _replies.clear()  # (before the marks: a kept reply must never outlive its marks)
        _journey_marks.clear()
        _user_marks.clear()


def owntracks_friends(credential: ClientCredential) -> list[dict[str, Any]]:
    """The OwnTracks reply for the credential's user: the journeys they may watch right now
    (each read from the database logged as a view), read again only when it can have changed."""
    broker = get_broker()
    broker.observe(_observe)
    user_id = credential.user_id
    key = (user_id, credential.uid)  # (an id SQLite gives again never sees another's reply)
    kept = _replies.get(key)
    hearing = broker.hearing()
    if (
        kept is not None
        and hearing
        and kept[1] == broker.epoch
        and 0 <= _clock() - kept[0] <= _credential_max_age()
        and kept[2] == _user_marks.get(user_id)
        and all(_journey_marks.get(j) == m for j, m in kept[3])
    ):
        return kept[4]  # type: ignore[no-any-return]
    # The marks before the read: a message landing during it makes this reply stale at once.
    read_at, epoch, user_mark = _clock(), broker.epoch, _user_marks.get(user_id)
    shared = _shared_with(user_id)
    for journey, _owner in shared:
        record_view(journey.owner_id, "owntracks", viewer_id=user_id, journey_id=journey.id)
    reply = clients.owntracks_reply(shared)
    marks = tuple((journey.id, _journey_marks.get(journey.id)) for journey, _owner in shared)
    db.session.rollback()  # nothing left open on the session (read or written)
    if hearing:
        _keep(_replies, key, (read_at, epoch, user_mark, marks, reply))
    return reply


_chosen_for = (
    select(Journey.id)
    .join(JourneyContact, JourneyContact.journey_id == Journey.id)
    .where(Journey.state == ACTIVE, JourneyContact.contact_user_id == bindparam("user_id"))
)


def _shared_with(user_id: int) -> list[tuple[Journey, User]]:
    """Active journeys that user ``user_id`` may watch right now, with their owners. Most
    people posting their position are watching no one: a lone SELECT finds the journeys they
    were chosen for, and only when there are some are they and the journeys loaded (and the
    access rule applied to each)."""
    chosen = [
        row.id
        for row in read_without_pre_ping(
            db.engine, lambda conn: select_rows(conn, _chosen_for, {"user_id": user_id})
        )
    ]
    if not chosen:
        return []
    user = db.session.get(User, user_id)
    if user is None:
        return []
    rows = db.session.execute(
        select(Journey, User)
        .join(User, User.id == Journey.owner_id)
        .where(Journey.id.in_(chosen))
        .order_by(Journey.id)
    ).all()
    return [
        (journey, owner)
        for journey, owner in rows
        if journey.state == ACTIVE and policy.can_watch(user, journey)
    ]


def export_user(user: User) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: the person's journeys with their stored location fixes
    (fixes past the retention period are already gone)."""
    journeys = db.session.scalars(
        select(Journey).where(Journey.owner_id == user.id).order_by(Journey.id)
    ).all()
    out = []
    for journey in journeys:
        fixes = db.session.scalars(
            select(LocationFix)
            .where(LocationFix.journey_id == journey.id)
            .order_by(LocationFix.recorded_at)
        ).all()
        out.append(
            {
                "id": journey.id,
                "state": journey.state,
                "destination": {"lat": journey.dest_lat, "lon": journey.dest_lon},
                "started_at": journey.started_at.isoformat(),
                "ended_at": journey.ended_at.isoformat() if journey.ended_at else None,
                "fixes": [
                    {"lat": f.lat, "lon": f.lon, "recorded_at": f.recorded_at.isoformat()}
                    for f in fixes
                ],
            }
        )
    return {"journeys": out}
