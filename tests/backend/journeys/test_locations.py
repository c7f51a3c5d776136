"""Location fixes: batches, dedupe by client timestamp, order, jumps, retention."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text, update

from backend.extensions import db
from backend.journeys.models import Journey, LocationFix
from tests.support.databases import recorded_statements, terminate_pooled_backends
from tests.support.journeys import befriend, fix, start_journey


@pytest.fixture
def journey(client, resident, other_resident):  # type: ignore[no-untyped-def]
    befriend(client, resident, other_resident)
    return start_journey(client, resident, [other_resident])


def stored(journey_id: int) -> list[LocationFix]:
    return list(
        db.session.scalars(
            select(LocationFix)
            .where(LocationFix.journey_id == journey_id)
            .order_by(LocationFix.recorded_at)
        )
    )


def post(client, person, journey_id, fixes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/journeys/{journey_id}/locations", json={"fixes": fixes}, headers=person.headers
    )


def test_a_batch_is_stored_in_time_order_with_accuracy_and_battery(client, resident, journey):
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    fixes = [
        fix(53.5430, -2.6400, t0 + timedelta(seconds=20), accuracy_m=8, battery=77),
        fix(53.5425, -2.6405, t0, accuracy_m=12.5, battery=78),
        fix(53.5428, -2.6402, t0 + timedelta(seconds=10), accuracy_m=9, battery=78),
    ]
    response = post(client, resident, journey["id"], fixes)
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 3, "duplicates": 0, "jumps": 0}
    rows = stored(journey["id"])
    assert [r.lat for r in rows] == [53.5425, 53.5428, 53.5430]
    assert [(r.accuracy_m, r.battery) for r in rows] == [(12.5, 78), (9, 78), (8, 77)]
    last = client.get(f"/api/v1/journeys/{journey['id']}", headers=resident.headers).get_json()
    assert last["last_fix"]["lat"] == 53.5430 and last["last_fix"]["battery"] == 77


def test_duplicates_by_timestamp_are_ignored_across_and_within_batches(client, resident, journey):
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    first = [fix(53.5425, -2.6405, t0), fix(53.5427, -2.6404, t0 + timedelta(seconds=5))]
    assert post(client, resident, journey["id"], first).get_json()["accepted"] == 2
    replay = [
        fix(53.5425, -2.6405, t0),
        fix(53.5429, -2.6403, t0 + timedelta(seconds=10)),
        fix(53.5429, -2.6403, t0 + timedelta(seconds=10)),
    ]
    assert post(client, resident, journey["id"], replay).get_json() == {
        "accepted": 1,
        "duplicates": 2,
        "jumps": 0,
    }
    assert len(stored(journey["id"])) == 3


def test_a_late_offline_batch_fills_in_without_moving_the_last_position(client, resident, journey):
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    post(client, resident, journey["id"], [fix(53.5450, -2.6390, t0 + timedelta(minutes=4))])
    late = [fix(53.5430 + i * 0.0002, -2.6400, t0 + timedelta(seconds=30 * i)) for i in range(4)]
    assert post(client, resident, journey["id"], late).get_json()["accepted"] == 4
    rows = stored(journey["id"])
    assert [r.recorded_at for r in rows] == sorted(r.recorded_at for r in rows)
    assert db.session.get(Journey, journey["id"]).last_lat == 53.5450


def test_an_impossible_jump_is_flagged_not_dropped(client, resident, journey):
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    fixes = [
        fix(53.5425, -2.6405, t0),
        fix(51.5074, -0.1278, t0 + timedelta(seconds=10)),  # London, 10 s later
        fix(53.5427, -2.6404, t0 + timedelta(seconds=20)),
    ]
    assert post(client, resident, journey["id"], fixes).get_json() == {
        "accepted": 3,
        "duplicates": 0,
        "jumps": 1,
    }
    assert [r.jump for r in stored(journey["id"])] == [False, True, False]


def test_a_jump_is_judged_against_fixes_already_stored(client, resident, journey):
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    post(client, resident, journey["id"], [fix(53.5425, -2.6405, t0)])
    response = post(client, resident, journey["id"], [fix(53.6, -2.6, t0 + timedelta(seconds=5))])
    assert response.get_json()["jumps"] == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"lat": 95}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"battery": 140}, "battery"),
        ({"accuracy_m": -1}, "accuracy_m"),
        ({"recorded_at": "yesterday"}, "recorded_at"),
        ({"recorded_at": "2026-03-01T20:00:00"}, "recorded_at"),
    ],
)
def test_bad_fixes_are_422_naming_the_field(client, resident, journey, bad, field):
    one = {**fix(53.5425, -2.6405, datetime.now(UTC)), **bad}
    response = post(client, resident, journey["id"], [one])
    assert response.status_code == 422
    assert field in str(response.get_json()["errors"])


def test_fixes_from_the_future_are_refused(client, resident, journey):
    response = post(
        client, resident, journey["id"], [fix(53.5, -2.6, datetime.now(UTC) + timedelta(hours=2))]
    )
    assert response.status_code == 422
    assert "fixes.0.recorded_at" in response.get_json()["errors"]


def test_empty_and_oversized_batches_are_422(client, resident, journey):
    assert post(client, resident, journey["id"], []).status_code == 422
    t0 = datetime.now(UTC) - timedelta(hours=1)
    many = [fix(53.5, -2.6, t0 + timedelta(seconds=i)) for i in range(501)]
    assert post(client, resident, journey["id"], many).status_code == 422


def test_fixes_after_the_journey_ended_are_409(client, resident, journey):
    client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
    response = post(client, resident, journey["id"], [fix(53.5, -2.6, datetime.now(UTC))])
    assert response.status_code == 409


def test_only_the_owner_posts_fixes(client, other_resident, journey):
    response = post(client, other_resident, journey["id"], [fix(53.5, -2.6, datetime.now(UTC))])
    assert response.status_code == 404


def test_fixes_are_deleted_by_the_worker_after_the_retention_period(app, client, resident, journey):
    from backend.alerts.worker import run_once

    t0 = datetime.now(UTC) - timedelta(minutes=2)
    post(
        client,
        resident,
        journey["id"],
        [fix(53.5425, -2.6405, t0), fix(53.5426, -2.6405, t0 + timedelta(seconds=9))],
    )
    other = start_journey(client, *_second_resident(client))
    client.post(f"/api/v1/journeys/{journey['id']}/arrived", headers=resident.headers)
    ended = db.session.get(Journey, journey["id"]).ended_at
    assert run_once(app, now=ended + timedelta(hours=23, minutes=59))["purged_fixes"] == 0
    assert len(stored(journey["id"])) == 2
    summary = run_once(app, now=ended + timedelta(hours=24))
    assert summary["purged_fixes"] == 2
    db.session.expire_all()
    assert stored(journey["id"]) == []
    row = db.session.get(Journey, journey["id"])
    assert (row.last_lat, row.last_lon, row.purge_fixes_at) == (None, None, None)
    assert db.session.get(Journey, other["id"]).state == "active"


def _second_resident(client):  # type: ignore[no-untyped-def]
    from backend.auth.service import ensure_user, mint_dev_token
    from tests.conftest import Person
    from tests.support.apps import TEST_SECRET

    user = ensure_user("resident-zoe", "resident")
    return (
        Person(user.id, "resident-zoe", "resident", mint_dev_token(TEST_SECRET, "resident-zoe")),
    )


def test_the_retention_period_is_configurable(app, client, resident, journey, monkeypatch):
    from backend.alerts.worker import run_once
    from backend.config import Settings

    assert (
        Settings.from_env({"SAFEHAVEN_LOCATION_RETENTION_HOURS": "2"}).location_retention_hours == 2
    )
    monkeypatch.setitem(app.config, "LOCATION_RETENTION_HOURS", 2)
    post(client, resident, journey["id"], [fix(53.5425, -2.6405, datetime.now(UTC))])
    client.post(f"/api/v1/journeys/{journey['id']}/cancel", headers=resident.headers)
    ended = db.session.get(Journey, journey["id"]).ended_at
    assert run_once(app, now=ended + timedelta(hours=1, minutes=59))["purged_fixes"] == 0
    assert run_once(app, now=ended + timedelta(hours=2))["purged_fixes"] == 1


def test_a_disabled_owner_is_refused_and_nothing_is_stored(client, resident, journey):
    from backend.auth.models import User

    db.session.get(User, resident.id).disabled = True
    db.session.commit()
    response = post(client, resident, journey["id"], [fix(53.5, -2.6, datetime.now(UTC))])
    assert response.status_code == 401
    assert "disabled" in response.get_json()["message"]
    assert stored(journey["id"]) == []


def test_a_caller_first_seen_on_the_fix_path_is_created_and_gets_404(client, app, journey):
    from backend.auth.models import User
    from backend.auth.service import mint_dev_token

    token = mint_dev_token(app.config["SECRET_KEY"], "first-seen-posting", "resident")
    response = client.post(
        f"/api/v1/journeys/{journey['id']}/locations",
        json={"fixes": [fix(53.5, -2.6, datetime.now(UTC))]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(User).where(User.uid == "first-seen-posting")) is not None
    assert stored(journey["id"]) == []


def test_posting_fixes_refreshes_last_seen_at_its_resolution(client, resident, journey):
    from backend.auth.models import User

    long_ago = datetime.now(UTC) - timedelta(minutes=30)
    db.session.get(User, resident.id).last_seen_at = long_ago
    db.session.commit()
    post(client, resident, journey["id"], [fix(53.5425, -2.6405, datetime.now(UTC))])
    db.session.expire_all()
    seen = db.session.get(User, resident.id).last_seen_at
    assert seen > datetime.now(UTC) - timedelta(minutes=1)
    post(client, resident, journey["id"], [fix(53.5426, -2.6405, datetime.now(UTC))])
    db.session.expire_all()
    assert db.session.get(User, resident.id).last_seen_at == seen  # within the resolution


@pytest.mark.postgis
def test_a_fix_on_a_dead_pooled_connection_is_stored_on_a_fresh_one(client, resident, journey):
    """The fix path checks a connection out without the pool's pre-ping: when the pooled
    connection turns out dead at the lock, the fix is stored on a fresh one, not refused."""
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    assert post(client, resident, journey["id"], [fix(53.5425, -2.6405, t0)]).status_code == 200
    assert terminate_pooled_backends() >= 1
    for n in range(1, 4):  # every pooled connection is dead: each post still gets a good one
        response = post(
            client, resident, journey["id"], [fix(53.5425, -2.6405, t0 + timedelta(seconds=n))]
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"accepted": 1, "duplicates": 0, "jumps": 0}
    assert len(stored(journey["id"])) == 4


@pytest.mark.postgis
def test_other_routes_still_pre_ping_their_connection(client, resident, journey):
    assert terminate_pooled_backends() >= 1
    response = client.get(f"/api/v1/journeys/{journey['id']}", headers=resident.headers)
    assert response.status_code == 200


def test_an_appended_fix_takes_one_statement_on_postgis_three_on_sqlite(
    client, resident, journey, engine_name
):
    """An appended fix is, on PostgreSQL, one statement that reads the journey and the
    caller, updates the journey and stores the fix (autocommit, no BEGIN/COMMIT); on SQLite a
    SELECT, an INSERT and an UPDATE. The same statements run on the DBAPI cursor or (with a
    cursor listener on the engine) through SQLAlchemy, and store the same rows."""
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    plain = post(client, resident, journey["id"], [fix(53.5425, -2.6405, t0, battery=70)])
    with recorded_statements() as statements:
        listened = post(
            client,
            resident,
            journey["id"],
            [fix(53.5426, -2.6404, t0 + timedelta(seconds=5), accuracy_m=7, battery=69)],
        )
        jumped = post(client, resident, journey["id"], [fix(53.6, -2.6, t0 + timedelta(seconds=6))])
    seen = [statement.split(None, 1)[0].upper() for statement in statements]
    assert plain.get_json() == listened.get_json() == {"accepted": 1, "duplicates": 0, "jumps": 0}
    assert jumped.get_json() == {"accepted": 1, "duplicates": 0, "jumps": 1}
    if engine_name == "postgis":
        assert seen == ["WITH"] * 2
    else:
        assert seen == ["SELECT", "INSERT", "UPDATE"] * 2
    rows = stored(journey["id"])
    assert [(r.lat, r.accuracy_m, r.battery, r.jump, r.source) for r in rows] == [
        (53.5425, None, 70, False, "app"),
        (53.5426, 7, 69, False, "app"),
        (53.6, None, None, True, "app"),
    ]
    assert [r.recorded_at for r in rows] == [t0 + timedelta(seconds=s) for s in (0, 5, 6)]
    state = db.session.get(Journey, journey["id"])
    assert (state.last_lat, state.last_battery, state.latest_fix_at) == (
        53.5426,
        69,
        t0 + timedelta(seconds=6),
    )


def _waits_for_a_lock(conn) -> bool:  # type: ignore[no-untyped-def]
    """Whether a session of this database waits for a lock (read afresh: autocommit)."""
    return bool(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar()
    )


def _post_while_another_transaction_writes(client, person, journey_id, fixes, change):  # type: ignore[no-untyped-def]
    """Post ``fixes`` while another transaction has made ``change`` to the journey's row and
    not committed yet (so it holds the row); it commits once the post waits for the row.
    Returns the response and the statements run meanwhile."""
    db.session.commit()  # the test's session (shared with the client's requests) holds none
    out = {}
    with recorded_statements() as statements, db.engine.connect() as other:
        change(other)
        poster = threading.Thread(
            target=lambda: out.update(response=post(client, person, journey_id, fixes))
        )
        poster.start()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
            while poster.is_alive() and not _waits_for_a_lock(watch):
                time.sleep(0.01)
        other.commit()
        poster.join()
    return out["response"], list(statements)


def _decided_under_the_lock(statements: list[str]) -> bool:
    """The one statement ran and wrote nothing, then the locked path read the journey."""
    kinds = [
        "WITH" if s.startswith("WITH") else "LOCK" if "FOR UPDATE" in s else "" for s in statements
    ]
    kinds = [k for k in kinds if k]
    return kinds[:2] == ["WITH", "LOCK"]


@pytest.mark.postgis
def test_a_later_fix_stored_meanwhile_keeps_the_last_position(client, resident, journey):
    """Another process stores a later fix while the one-statement append waits for the
    journey's row: the append writes nothing (the row is not the version it read), and the
    locked path stores the fix in order without moving the last position back."""
    t = datetime.now(UTC) - timedelta(seconds=30)
    later = t + timedelta(seconds=10)

    def store_a_later_fix(other):  # type: ignore[no-untyped-def]
        other.execute(
            update(Journey)
            .where(Journey.id == journey["id"])
            .values(latest_fix_at=later, last_fix_at=later, last_lat=53.5430, last_lon=-2.6400)
        )
        other.execute(
            insert(LocationFix).values(
                journey_id=journey["id"],
                recorded_at=later,
                received_at=later,
                lat=53.5430,
                lon=-2.6400,
                source="app",
                jump=False,
            )
        )

    response, statements = _post_while_another_transaction_writes(
        client, resident, journey["id"], [fix(53.5425, -2.6405, t)], store_a_later_fix
    )
    assert response.get_json() == {"accepted": 1, "duplicates": 0, "jumps": 0}
    assert _decided_under_the_lock(statements)
    assert [r.recorded_at for r in stored(journey["id"])] == [t, later]
    db.session.expire_all()
    state = db.session.get(Journey, journey["id"])
    assert (state.last_lat, state.last_fix_at, state.latest_fix_at) == (53.5430, later, later)


@pytest.mark.postgis
def test_a_journey_marked_overdue_meanwhile_stays_overdue(client, resident, journey):
    """The sweep marks the journey overdue while the append waits for its row: the locked
    path stores the fix once and keeps the overdue flag (the next check is the stationary
    one only)."""

    def mark_overdue(other):  # type: ignore[no-untyped-def]
        other.execute(update(Journey).where(Journey.id == journey["id"]).values(overdue=True))

    t = datetime.now(UTC) - timedelta(seconds=30)
    response, statements = _post_while_another_transaction_writes(
        client, resident, journey["id"], [fix(53.5425, -2.6405, t, battery=50)], mark_overdue
    )
    assert response.get_json() == {"accepted": 1, "duplicates": 0, "jumps": 0}
    assert _decided_under_the_lock(statements)
    db.session.expire_all()
    state = db.session.get(Journey, journey["id"])
    assert state.overdue is True and state.last_battery == 50 and state.latest_fix_at == t
    assert state.next_check_at == t + timedelta(minutes=5)  # only the stationary check left
    assert len(stored(journey["id"])) == 1


@pytest.mark.postgis
def test_a_journey_ended_meanwhile_refuses_the_fix(client, resident, journey):
    """The owner arrives while the append waits for the journey's row: nothing is stored and
    the fix is refused as on any ended journey."""

    def arrive(other):  # type: ignore[no-untyped-def]
        other.execute(
            update(Journey)
            .where(Journey.id == journey["id"])
            .values(state="arrived", active_owner_id=None, ended_at=datetime.now(UTC))
        )

    t = datetime.now(UTC) - timedelta(seconds=30)
    response, statements = _post_while_another_transaction_writes(
        client, resident, journey["id"], [fix(53.5425, -2.6405, t)], arrive
    )
    assert response.status_code == 409
    assert _decided_under_the_lock(statements)
    assert stored(journey["id"]) == []


def test_a_single_fix_sent_twice_in_one_batch_counts_one_duplicate(client, resident, journey):
    t = datetime.now(UTC) - timedelta(seconds=30)
    twice = [fix(53.5425, -2.6405, t), fix(53.5425, -2.6405, t)]
    assert post(client, resident, journey["id"], twice).get_json() == {
        "accepted": 1,
        "duplicates": 1,
        "jumps": 0,
    }
    assert post(client, resident, journey["id"], twice).get_json() == {
        "accepted": 0,
        "duplicates": 2,
        "jumps": 0,
    }
    assert len(stored(journey["id"])) == 1


def test_the_batch_result_is_the_documented_schemas_dump(client, resident, journey):
    """The fix route answers without a marshmallow dump: its body must equal the documented
    schema's dump, key for key and type for type, for every kind of outcome."""
    from shared_schemas.journeys import FixBatchResultSchema

    t = datetime.now(UTC) - timedelta(minutes=1)
    batches = [
        [fix(53.5425, -2.6405, t)],
        [fix(53.5425, -2.6405, t), fix(53.5426, -2.6404, t + timedelta(seconds=5))],
        [fix(53.6, -2.6, t + timedelta(seconds=6))],
    ]
    for batch in batches:
        response = post(client, resident, journey["id"], batch)
        assert response.status_code == 200 and response.mimetype == "application/json"
        body = response.get_json()
        dumped = FixBatchResultSchema().dump(body)
        assert body == dumped
        assert [(k, type(v)) for k, v in body.items()] == [(k, type(v)) for k, v in dumped.items()]
