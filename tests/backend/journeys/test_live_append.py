"""The live append on PostgreSQL (one statement that decides the fix in SQL) against the
locked path's Python (_plan_rows and _advance): for any journey state and any fix after
everything stored, the same stored fix, the same tracking columns, the same answer and the
same published message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from backend.auth.models import User
from backend.extensions import db
from backend.journeys import service
from backend.journeys.models import Journey, LocationFix
from tests.support.journeys import start_journey

pytestmark = pytest.mark.postgis

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
PIER = (53.5425, -2.6405)


def seconds(low: float, high: float):  # type: ignore[no-untyped-def]
    """A span in whole microseconds (what the database keeps)."""
    return st.integers(int(low * 1e6), int(high * 1e6)).map(lambda us: timedelta(microseconds=us))


def near(point: tuple[float, float], spread: float):  # type: ignore[no-untyped-def]
    """A point around ``point``: mostly tens to hundreds of metres away (the stationary radius
    and the jump distance), sometimes exactly on it, sometimes far."""
    offset = st.one_of(
        st.just(0.0),
        st.floats(-spread, spread),
        st.floats(-5 * spread, 5 * spread),
    )
    return st.tuples(offset, offset).map(lambda d: (point[0] + d[0], point[1] + d[1]))


optional_float = st.one_of(st.none(), st.floats(0, 100))


@st.composite
def appends(draw):  # type: ignore[no-untyped-def]
    """(the journey's tracking columns, a fix recorded after every stored one)."""
    last = draw(st.one_of(st.none(), st.tuples(near(PIER, 0.004), seconds(-900, 0))))
    if last is None:
        last_lat = last_lon = last_fix_at = latest_fix_at = None
        accuracy = battery = None
    else:
        (last_lat, last_lon), back = last
        last_fix_at = T0 + back
        latest_fix_at = last_fix_at + draw(st.one_of(st.just(timedelta(0)), seconds(0, 120)))
        accuracy, battery = draw(optional_float), draw(optional_float)
    centre = PIER if last is None else (last_lat, last_lon)
    anchor = draw(st.one_of(st.none(), near(centre, 0.001)))
    anchor_at = T0 + draw(seconds(-1200, 300)) if anchor is not None else None
    state = {
        "state": "active",
        "overdue": draw(st.booleans()),
        "stationary": draw(st.booleans()),
        "expected_arrival_at": T0 + draw(seconds(-3600, 3600)),
        "latest_fix_at": latest_fix_at,
        "last_fix_at": last_fix_at,
        "last_lat": last_lat,
        "last_lon": last_lon,
        "last_accuracy_m": accuracy,
        "last_battery": battery,
        "anchor_lat": anchor[0] if anchor else None,
        "anchor_lon": anchor[1] if anchor else None,
        "anchor_at": anchor_at,
        "next_check_at": draw(st.one_of(st.none(), st.just(T0 + timedelta(minutes=7)))),
    }
    after = latest_fix_at or T0 - timedelta(minutes=20)
    lat, lon = draw(near(centre, 0.003))
    fix = {
        "lat": min(max(lat, -90.0), 90.0),
        "lon": lon,
        "recorded_at": after + draw(seconds(0.000001, 30)),
    }
    for name in ("accuracy_m", "battery", "speed_mps"):
        value = draw(st.one_of(st.just("absent"), optional_float))
        if value != "absent":
            fix[name] = value
    return state, fix


def decided_in_python(journey_id: int, state: dict, fix: dict, now: datetime):  # type: ignore[no-untyped-def]
    """What the locked path stores for this append: the row, the journey's columns after it."""
    journey = SimpleNamespace(id=journey_id, **state)
    stored = []
    if journey.last_fix_at is not None:
        stored = [(journey.last_fix_at, journey.last_lat, journey.last_lon)]
    batch = {fix["recorded_at"]: fix}
    rows, jumps = service._plan_rows(journey_id, batch, [fix["recorded_at"]], stored, "app", now)
    service._advance(journey, rows)
    return rows, jumps, {name: getattr(journey, name) for name in service._TRACKED}


@pytest.fixture
def journey_id(client, resident) -> int:  # type: ignore[no-untyped-def]
    return start_journey(client, resident)["id"]


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=appends())
def test_the_one_statement_append_decides_as_the_locked_path(resident, journey_id, case):
    state, fix = case
    now = T0 + timedelta(minutes=1)
    db.session.execute(delete(LocationFix).where(LocationFix.journey_id == journey_id))
    # started before any fix drawn (those from before the start are the locked path's to refuse)
    started_at = T0 - timedelta(hours=1)
    db.session.execute(
        update(Journey).where(Journey.id == journey_id).values(**state, started_at=started_at)
    )
    db.session.execute(update(User).where(User.id == resident.id).values(last_seen_at=now))
    db.session.commit()

    with db.engine.connect() as conn:
        writer = service._FixWriter(conn)
        done = service._append_unlocked(
            writer, journey_id, [fix], "app", now, None, {"uid": resident.uid}
        )

    rows, jumps, columns = decided_in_python(journey_id, state, fix, now)
    assert done is not None, "the one statement wrote nothing: the locked path would decide"
    result, messages = done
    assert result == {"accepted": 1, "duplicates": 0, "jumps": jumps}
    assert messages == service._fix_messages(journey_id, rows)
    db.session.expire_all()
    stored = db.session.execute(
        select(*(LocationFix.__table__.c[k] for k in service._FIX_KEYS)).where(
            LocationFix.journey_id == journey_id
        )
    ).all()
    assert [dict(row._mapping) for row in stored] == rows
    journey = db.session.get(Journey, journey_id)
    assert {name: getattr(journey, name) for name in service._TRACKED} == columns


def test_a_fix_with_the_same_time_as_the_latest_is_left_to_the_locked_path(resident, journey_id):
    """Not an append (a duplicate or an earlier fix): the statement writes nothing."""
    state = {"latest_fix_at": T0, "last_fix_at": T0, "last_lat": PIER[0], "last_lon": PIER[1]}
    db.session.execute(update(Journey).where(Journey.id == journey_id).values(**state))
    db.session.execute(update(User).where(User.id == resident.id).values(last_seen_at=T0))
    db.session.commit()
    for at in (T0, T0 - timedelta(seconds=1)):
        with db.engine.connect() as conn:
            done = service._append_unlocked(
                service._FixWriter(conn),
                journey_id,
                [{"lat": PIER[0], "lon": PIER[1], "recorded_at": at}],
                "app",
                T0,
                None,
                {"uid": resident.uid},
            )
        assert done is None
    assert db.session.scalars(select(LocationFix)).all() == []


def test_a_fix_from_before_the_journey_started_is_left_to_the_locked_path(resident, journey_id):
    """The locked path refuses it (422); the one statement writes nothing."""
    db.session.execute(
        update(Journey).where(Journey.id == journey_id).values(started_at=T0, latest_fix_at=None)
    )
    db.session.execute(update(User).where(User.id == resident.id).values(last_seen_at=T0))
    db.session.commit()
    early = T0 - timedelta(minutes=service.setting("PAST_FIX_TOLERANCE_MINUTES"), seconds=1)
    with db.engine.connect() as conn:
        done = service._append_unlocked(
            service._FixWriter(conn),
            journey_id,
            [{"lat": PIER[0], "lon": PIER[1], "recorded_at": early}],
            "app",
            T0,
            None,
            {"uid": resident.uid},
        )
    assert done is None
    assert db.session.scalars(select(LocationFix)).all() == []


def test_the_statements_stay_within_psycopgs_cached_conversion(app):  # type: ignore[no-untyped-def]
    """psycopg converts a statement longer than 4 KiB (or with over 50 parameters) on every
    execution: for the live append that was 0.9M instructions a fix, more than it saves."""
    from psycopg import _queries  # the limits live there

    dialect = db.engine.dialect
    for stmt in (service._live_append_with_caller, service._live_append_owned):
        compiled = stmt.compile(dialect=dialect)
        assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        assert len(compiled.binds) <= _queries.MAX_CACHED_STATEMENT_PARAMS
