"""The in-process nearest index: the database's answer, never a stale one."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.venues import index as venue_index
from backend.venues import service
from backend.venues.models import Venue
from tests.backend.venues.factories import SATURDAY_0130, TUESDAY_0130, WIGAN_CENTRE, make_venue
from tests.support.databases import recorded_statements

CATEGORIES = ["pub_or_bar", "pharmacy", "hotel", "shop"]
STATUSES = ["verified", "verified", "candidate", "pending", "suspended", "rejected"]
HOURS = ["24/7", "Fr-Sa 17:00-02:00", "Mo-Fr 09:00-17:30; PH off", "Mo-Su 07:00-23:00", None]
TIMES = [SATURDAY_0130, TUESDAY_0130, SATURDAY_0130 + timedelta(hours=13)]


def the_index():
    return service.nearest_index()


def names(answer) -> list[str]:
    return [item["name"] for item in answer["items"]]


def search(**args):
    """One nearest answer, as a request would get it (its own session)."""
    try:
        args = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": SATURDAY_0130, **args}
        return service.nearest(**args)
    finally:
        db.session.remove()


def served_from_index(**args) -> tuple[dict, bool]:
    """The answer and whether the index gave it (the database search did otherwise)."""
    before, fallbacks = the_index().served, the_index().fallbacks
    answer = search(**args)
    # (An answer is one search, or two when some of the nearest close soon.)
    return answer, the_index().served > before and the_index().fallbacks == fallbacks


def token() -> int | None:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version FROM venue_index_state WHERE id = 1")).scalar()


def rebuilt() -> None:
    """Rebuild the index; on PostgreSQL first wait until the listener listens and has heard
    every change so far, so that it vouches for the new snapshot (a notification of an
    earlier commit arriving after the rebuild would make the next search a database one)."""
    import time

    index = the_index()
    index.current()  # starts the listener where there is one
    listener = index.listener
    if listener is not None:
        deadline = time.monotonic() + 10
        while not listener.listening and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.listening
        heard()
    index.rebuild()


def heard(timeout: float = 5.0) -> None:
    """On PostgreSQL, wait until this worker's listener has heard every change committed so
    far (a change made on another connection is seen once its notification arrives): a
    notification of the current token sent now arrives after all of theirs."""
    listener = the_index().listener
    if listener is None:
        return
    current = token()
    with db.engine.connect() as conn:
        conn.execute(
            text("SELECT pg_notify(:channel, :token)"),
            {"channel": venue_index.CHANNEL, "token": "" if current is None else str(current)},
        )
        conn.commit()
    assert listener.wait_for(current, timeout), "the listener heard nothing"


def test_index_and_database_give_identical_answers_on_many_random_points(app, monkeypatch):
    """Every field of every item, for random points and arguments: limits, radii, categories,
    open now, candidates, availability, ties and points far from every venue."""
    rng = random.Random(11)
    rows = []
    for i in range(1, 301):
        if i % 7 == 0:  # a tight cluster: ties and near-ties
            lat, lon = 53.5448 + rng.uniform(-3e-4, 3e-4), -2.6318 + rng.uniform(-3e-4, 3e-4)
        elif i % 50 == 0:  # exact duplicates of a position
            lat, lon = 53.5448, -2.6318
        else:
            lat, lon = rng.uniform(53.33, 53.68), rng.uniform(-2.75, -1.90)
        rows.append(
            {
                "id": i,
                "name": f"Venue {i}",
                "lat": lat,
                "lon": lon,
                "category": rng.choice(CATEGORIES),
                "status": rng.choice(STATUSES),
                "opening_hours": rng.choice(HOURS),
                "unavailable_until": rng.choice([None] * 6 + TIMES),
                "schemes": ["umay"] if i % 3 else [],
                "phone": f"01942 {i:06d}",
                "is_demo": False,
                "created_at": SATURDAY_0130,
                "updated_at": SATURDAY_0130,
            }
        )
    db.session.execute(Venue.__table__.insert(), rows)
    db.session.commit()
    rebuilt()
    points = [(rng.uniform(53.30, 53.72), rng.uniform(-2.80, -1.85)) for _ in range(120)]
    points += [(53.5448, -2.6318), (51.5, -0.12), (-33.9, 151.2)]
    served = 0
    for lat, lon in points:
        args = {
            "lat": lat,
            "lon": lon,
            "limit": rng.choice([1, 5, 12, 50]),
            "open_now": rng.random() < 0.7,
            "at": rng.choice(TIMES),
            "radius_m": rng.choice([250.0, 3_000.0, 20_000.0, 200_000.0]),
            "category": rng.choice([None, ["pub_or_bar"], ["pharmacy", "hotel"]]),
            "include_candidates": rng.random() < 0.3,
        }
        before, fallbacks = the_index().served, the_index().fallbacks
        from_index = service.nearest(**args)
        db.session.remove()
        served += the_index().served > before and the_index().fallbacks == fallbacks
        monkeypatch.setitem(app.config, "VENUE_INDEX", False)
        from_database = service.nearest(**args)
        db.session.remove()
        monkeypatch.setitem(app.config, "VENUE_INDEX", True)
        assert from_index == from_database, args
    assert served == len(points)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("UPDATE venues SET status = 'suspended' WHERE name = 'Near'", ["Far"]),
        (
            "UPDATE venues SET unavailable_until = '2030-01-01 00:00:00' WHERE name = 'Near'",
            ["Far"],
        ),
        ("UPDATE venues SET opening_hours = 'Mo-Fr 09:00-17:00' WHERE name = 'Near'", ["Far"]),
        ("UPDATE venues SET lat = lat + 0.05 WHERE name = 'Near'", ["Far", "Near"]),
        ("UPDATE venues SET category = 'hotel' WHERE name = 'Near'", ["Far"]),
        ("DELETE FROM venues WHERE name = 'Near'", ["Far"]),
        (
            "UPDATE venues SET status = 'verified' WHERE name = 'Pending'",
            ["Pending", "Near", "Far"],
        ),
    ],
)
def test_any_write_the_search_reads_is_seen_by_the_next_search(app, change, expected):
    """Written behind the app's back (raw SQL): the triggers change the token (and notify it
    on PostgreSQL), the next search answers from the database, and the one after from a
    rebuilt index."""
    make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001)
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    make_venue(name="Pending", lat=WIGAN_CENTRE[0] + 0.0001, status="pending")
    rebuilt()
    answer, indexed = served_from_index(category=["pub_or_bar"])
    assert (names(answer), indexed) == (["Near", "Far"], True)

    db.session.execute(text(change))
    db.session.commit()
    heard()
    answer, indexed = served_from_index(category=["pub_or_bar"])
    assert (names(answer), indexed) == (expected, False)
    answer, indexed = served_from_index(category=["pub_or_bar"])
    assert (names(answer), indexed) == (expected, True)


def test_the_services_own_writes_are_seen_at_once(app, admin):
    """Verification, suspension and a staff override through the service layer."""
    from backend.auth.models import User

    actor = db.session.get(User, admin.id)
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    new = make_venue(name="New", status="pending")
    new_id = new.id
    db.session.remove()
    rebuilt()
    assert names(search()) == ["Far"]
    actor = db.session.get(User, admin.id)
    service.verify(actor, new_id, action="approve", note="checked on site")
    db.session.remove()
    assert names(search()) == ["New", "Far"]
    actor = db.session.get(User, admin.id)
    service.set_unavailable(
        actor, new_id, until=SATURDAY_0130 + timedelta(hours=2), reason="x", now=SATURDAY_0130
    )
    db.session.remove()
    assert names(search()) == ["Far"]
    assert names(search(at=SATURDAY_0130 + timedelta(hours=3))) == ["New", "Far"]
    actor = db.session.get(User, admin.id)
    service.verify(actor, new_id, action="suspend", note="staff left")
    db.session.remove()
    assert names(search(at=SATURDAY_0130 + timedelta(hours=3))) == ["Far"]


def test_columns_the_search_does_not_read_leave_the_token_alone(app):
    venue = make_venue(name="Near")
    before = token()
    assert before is not None
    db.session.execute(
        text("UPDATE venues SET notes = 'n', last_checked_at = :t, phone = '1' WHERE id = :id"),
        {"t": SATURDAY_0130, "id": venue.id},
    )
    db.session.commit()
    assert token() == before
    db.session.execute(text("UPDATE venues SET status = status WHERE id = :id"), {"id": venue.id})
    db.session.commit()
    assert token() != before
    db.session.remove()


def test_an_uncommitted_write_is_answered_from_the_database_in_its_own_transaction(app):
    make_venue(name="Committed", lat=WIGAN_CENTRE[0] + 0.001)
    db.session.remove()
    rebuilt()
    make = Venue(
        name="Flushed",
        category="pub_or_bar",
        lat=WIGAN_CENTRE[0],
        lon=WIGAN_CENTRE[1],
        opening_hours="24/7",
        status="verified",
        schemes=[],
    )
    db.session.add(make)
    db.session.flush()
    before = the_index().served
    try:
        found = service.nearest(lat=WIGAN_CENTRE[0], lon=WIGAN_CENTRE[1], at=SATURDAY_0130)
        assert names(found) == ["Flushed", "Committed"]
        assert the_index().served == before
    finally:
        db.session.rollback()
        db.session.remove()
    answer, _indexed = served_from_index()
    assert names(answer) == ["Committed"]


def test_an_empty_table_and_a_point_far_from_everything_are_answered_by_the_index(app):
    rebuilt()
    answer, indexed = served_from_index()
    assert (answer["items"], indexed) == ([], True)
    make_venue(name="Only")
    rebuilt()
    answer, indexed = served_from_index(radius_m=50.0)
    assert (names(answer), indexed) == (["Only"], True)
    try:
        far = service.nearest(lat=-33.9, lon=151.2, at=SATURDAY_0130)
    finally:
        db.session.remove()
    assert far["items"] == []


def test_a_large_table_is_rebuilt_in_the_background_while_the_database_answers(app, monkeypatch):
    make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001)
    rebuilt()
    monkeypatch.setattr(venue_index, "INLINE_REBUILD_MAX", 0)
    make_venue(name="Nearer", lat=WIGAN_CENTRE[0] + 0.0005)
    rebuilds = the_index().rebuilds
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Nearer", "Near"], False)
    the_index().wait(timeout=30)
    assert the_index().rebuilds == rebuilds + 1
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Nearer", "Near"], True)


def test_micros_is_exact_at_microsecond_boundaries():
    at = SATURDAY_0130 + timedelta(microseconds=1)
    assert venue_index.micros(at) - venue_index.micros(SATURDAY_0130) == 1
    assert venue_index.micros(SATURDAY_0130) == int(SATURDAY_0130.timestamp()) * 1_000_000


@pytest.mark.postgis
def test_an_index_answer_on_a_dead_pooled_connection_is_read_again_on_a_fresh_one(app):
    """The index's read skips the pool's pre-ping: when every pooled connection is dead
    (as after a PostgreSQL restart), each search still answers, from the index."""
    from tests.support.databases import terminate_pooled_backends

    make_venue(name="Only")
    rebuilt()
    assert names(search()) == ["Only"]
    assert terminate_pooled_backends() >= 1
    for _ in range(3):
        answer, indexed = served_from_index()
        assert (names(answer), indexed) == (["Only"], True)


class TokenReads:
    """Counts the index's reads of the token (however it reads it)."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        read = venue_index.NearestIndex.read_token

        def counted(index):
            self.count += 1
            return read(index)

        monkeypatch.setattr(venue_index.NearestIndex, "read_token", counted)


def test_an_index_answer_reads_no_venue_row(app, engine_name, monkeypatch):
    """On PostgreSQL the listener vouches for the index (nothing is read at all); on SQLite
    the token is read on the thread's own connection (no statement through the pool)."""
    make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001)
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    db.session.remove()
    rebuilt()
    reads = TokenReads(monkeypatch)
    with recorded_statements() as statements:
        for _ in range(3):
            answer, indexed = served_from_index()
            assert (names(answer), indexed) == (["Near", "Far"], True)
    assert len(statements) == 0
    assert reads.count == (0 if engine_name == "postgis" else 3)
    listener = the_index().listener
    assert (listener is not None and listener.listening) == (engine_name == "postgis")


def test_the_answer_is_the_documented_json_and_reads_as_a_mapping(app, client):
    """Items spliced from the index's rendered fields are the same JSON, value for value
    and type for type, as the database search's dicts."""
    make_venue(name='Café "Ünïcode" \\ bar', lat=WIGAN_CENTRE[0] + 0.001, schemes=["umay"])
    db.session.remove()
    rebuilt()
    query = {"lat": WIGAN_CENTRE[0], "lon": WIGAN_CENTRE[1], "at": SATURDAY_0130.isoformat()}
    served = client.get("/api/v1/venues/nearest", query_string=query).get_json()
    app.config["VENUE_INDEX"] = False
    try:
        searched = client.get("/api/v1/venues/nearest", query_string=query).get_json()
    finally:
        app.config["VENUE_INDEX"] = True
    assert served == searched
    assert served["items"][0]["name"] == 'Café "Ünïcode" \\ bar'
    assert {k: type(v) for k, v in served["items"][0].items()} == {
        k: type(v) for k, v in searched["items"][0].items()
    }
    item = search()["items"][0]
    assert item["name"] == 'Café "Ünïcode" \\ bar' and item["schemes"] == ["umay"]
    assert dict(item) == {**item}


@pytest.mark.postgis
def test_a_change_from_another_process_is_notified_and_seen(app):
    """Written on a connection of no app's (as psql or another worker would): the listener
    hears the new token and the next search answers it."""
    import psycopg

    make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001)
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    db.session.remove()
    rebuilt()
    assert served_from_index() == (search(), True)
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("UPDATE venues SET status = 'suspended' WHERE name = 'Near'")
    heard()
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Far"], False)
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Far"], True)


@pytest.mark.postgis
def test_while_the_listener_is_down_the_token_is_read_and_it_reconnects(app, monkeypatch):
    """The listener's connection killed (a restart, a network cut): searches read the
    token, so a change made meanwhile is seen; the listener reconnects with backoff and
    vouches for a rebuilt index again."""
    import time

    import psycopg

    make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001)
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    db.session.remove()
    rebuilt()
    served_from_index()
    listener = the_index().listener
    assert listener is not None and listener.listening
    epoch = listener.epoch
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            (venue_index.LISTENER_NAME,),
        ).fetchall()
        assert len(killed) == 1
        deadline = time.monotonic() + 10
        while listener.epoch == epoch and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.epoch != epoch, "the listener did not notice"
        # Its snapshot was read under the old connection: it is not vouched for any more.
        assert the_index().is_current(the_index().current()) in (None, False)
        admin.execute("UPDATE venues SET status = 'suspended' WHERE name = 'Near'")
    answer, _indexed = served_from_index()
    assert names(answer) == ["Far"]
    deadline = time.monotonic() + 15
    vouched = False
    reads = TokenReads(monkeypatch)
    while time.monotonic() < deadline and not vouched:
        the_index().wait(timeout=5)
        before = reads.count
        answer, indexed = served_from_index()
        assert names(answer) == ["Far"]
        vouched = indexed and reads.count == before
        time.sleep(0.05)
    assert vouched, "the listener never vouched for the index again"
    assert listener.listening


@pytest.mark.postgis
def test_without_listening_every_search_reads_the_token(app):
    index = venue_index.NearestIndex(db.engine, service.INDEX_DETAILS, listen=False)
    make_venue(name="Near")
    db.session.remove()
    index.rebuild()
    snapshot = index.current()
    assert index.listener is None
    assert index.is_current(snapshot) is None
    assert index.read_token() == snapshot.version == token()


@pytest.mark.postgis
def test_a_listener_without_a_recent_answer_from_the_server_vouches_for_nothing(app, monkeypatch):
    """A connection can die without a reset (a network cut): the listener's heartbeat keeps
    its last answer fresh, and with none recent enough each search reads the token."""
    import time

    make_venue(name="Near")
    db.session.remove()
    rebuilt()
    listener = the_index().listener
    answered = listener.answered_at
    deadline = time.monotonic() + 5
    while listener.answered_at == answered and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.answered_at > answered, "no heartbeat"
    reads = TokenReads(monkeypatch)
    assert served_from_index()[1]
    assert reads.count == 0
    monkeypatch.setattr(venue_index.Listener, "VOUCH_S", -1.0)
    rebuilds = the_index().rebuilds
    answer, indexed = served_from_index()
    assert (names(answer), indexed, reads.count) == (["Near"], True, 1)
    the_index().wait(timeout=5)
    assert the_index().rebuilds == rebuilds  # no rebuild: the snapshot is as current as before


@pytest.mark.postgis
def test_after_an_own_write_every_later_snapshot_is_vouched_for(app):
    """The process's own commit stops the listener vouching for the snapshot it made stale,
    and for no later one: a later snapshot that CPython placed at the freed address of the
    stale one (kept as an id, that was refused, and its search went to the database) is
    vouched for like any other."""
    make_venue(name="Near")
    db.session.remove()
    rebuilt()
    index = the_index()
    stale = index.current()
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)  # an ORM commit: invalidate()
    db.session.remove()
    assert index.is_current(stale) is False
    del stale
    heard()  # the commit's own notification, so that only the count can refuse
    refused = []
    for attempt in range(60):  # freed and reallocated snapshots reuse addresses at once
        snapshot = index.rebuild()
        assert snapshot is not None and snapshot.version == token()
        if index.is_current(snapshot) is not True:
            refused.append(attempt)
        del snapshot
    assert refused == []


@pytest.mark.postgis
def test_a_snapshot_built_while_this_process_commits_a_change_is_not_vouched_for(app, monkeypatch):
    """An own commit landing while a rebuild reads the table (after its token was read, so
    the snapshot may not hold the change) leaves that snapshot refused until its rebuild,
    even before the commit's notification arrives."""
    make_venue(name="Near")
    db.session.remove()
    rebuilt()
    index = the_index()
    real_build = venue_index.build

    def build_while_committing(*args, **kwargs):  # type: ignore[no-untyped-def]
        snapshot = real_build(*args, **kwargs)
        index.invalidate()  # as _after_commit does for this process's own commit
        return snapshot

    monkeypatch.setattr(venue_index, "build", build_while_committing)
    raced = index.rebuild()
    monkeypatch.setattr(venue_index, "build", real_build)
    assert raced is not None
    assert index.is_current(raced) is False
    fresh = index.rebuild()
    assert fresh is not None and index.is_current(fresh) is True


def test_a_staff_edit_that_sends_a_venue_to_review_is_seen_by_the_next_search(app, venue_staff):
    """The renamed and recategorised venue leaves the answer at once, and the index that
    serves the searches after it is rebuilt without it."""
    from backend.auth.models import User

    near_id = make_venue(name="Near", lat=WIGAN_CENTRE[0] + 0.001, staff_id=venue_staff.id).id
    make_venue(name="Far", lat=WIGAN_CENTRE[0] + 0.01)
    db.session.remove()
    rebuilt()
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Near", "Far"], True)

    staff = db.session.get(User, venue_staff.id)
    changed = service.update_venue(
        staff, near_id, {"name": "Wigan Police Station", "category": "police_station"}
    )
    assert changed.status == "pending"
    db.session.remove()

    assert names(search()) == ["Far"]
    heard()
    answer, indexed = served_from_index()
    assert (names(answer), indexed) == (["Far"], True)
