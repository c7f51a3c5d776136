"""Database faults: clients get 503 in the error shape, never a 500, and no write that was
answered 2xx is lost, including across a real PostgreSQL restart under load."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from tests.support.apps import make_test_app
from tests.support.databases import IN_CI
from tests.support.journeys import fix, start_journey
from tests.support.reports import WIGAN_CENTRAL

SHAPE = {"code", "status", "message", "errors"}


def a_report(tag: str) -> dict:
    return {
        "category": "asb",
        "description": tag,
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "anonymous": True,
    }


def test_pool_checkout_timeout_is_503_not_500(database_url, app):
    """All pooled connections busy: the request waiting at checkout gets 503 + Retry-After."""
    from backend.extensions import db

    small = make_test_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2},
    )
    with small.app_context():
        held = db.engine.connect()  # the only connection in the pool
        try:
            response = small.test_client().get("/api/v1/reports/nearby?lat=53.55&lon=-2.63")
        finally:
            held.close()
        assert response.status_code == 503
        assert set(response.get_json()) == SHAPE
        assert response.headers["Retry-After"] == "5"
        # With the connection back, the same request works.
        ok = small.test_client().get("/api/v1/reports/nearby?lat=53.55&lon=-2.63")
        assert ok.status_code == 200


def test_a_database_that_cannot_be_reached_is_503_at_connect(tmp_path, engine_name):
    """Connection refused at pool checkout (the server is not there at all)."""
    if engine_name == "postgis":
        url = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"
    else:
        url = f"sqlite:///{tmp_path}/missing-dir/not-here/db.sqlite3"
    down = make_test_app(url)
    if engine_name == "sqlite":
        import shutil

        shutil.rmtree(tmp_path / "missing-dir")  # created by the factory; now unreachable
    client = down.test_client()
    for path in ("/api/v1/reports/nearby?lat=53.55&lon=-2.63", "/api/v1/reports/categories"):
        response = client.get(path)
        assert response.status_code in (200, 503), response.get_data(as_text=True)
    response = client.post("/api/v1/reports", json=a_report("into the void"))
    assert response.status_code == 503, response.get_data(as_text=True)
    assert set(response.get_json()) == SHAPE


def _wait_for_postgres(app, timeout: float = 60.0) -> None:
    from backend.extensions import db

    deadline = time.monotonic() + timeout
    while True:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def private_postgres():  # type: ignore[no-untyped-def]
    """A PostgreSQL server of this test's own, so restarting it cuts off no one else."""
    from tests.support.private_postgres import PrivatePostgres

    reason = PrivatePostgres.available()
    if reason:
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    with PrivatePostgres.in_temporary_folder() as server:
        yield server


@pytest.mark.postgis
@pytest.mark.slow
def test_postgres_restart_under_load_loses_no_acknowledged_write(private_postgres):
    """Six report writers and three residents posting live fixes (the lean Core path, with
    its own locked read) while PostgreSQL restarts: every answer is 2xx or 503 in the error
    shape, and every report answered 201 and every fix answered 200 is stored afterwards.
    The server restarted is the test's own (``initdb`` in a temporary folder)."""
    from backend.areas import service as areas
    from backend.extensions import db

    app = make_test_app(private_postgres.database("faults"))
    with app.app_context():
        db.create_all()
        areas.load_wards()
        try:
            _restart_under_load(app, private_postgres)
        finally:
            db.session.remove()
            db.engine.dispose()


def _restart_under_load(app, server) -> None:  # type: ignore[no-untyped-def]
    from backend.auth.service import ensure_user, mint_dev_token
    from backend.extensions import db, limiter
    from backend.journeys.models import LocationFix
    from backend.reports.models import Report

    @dataclass
    class Walker:
        id: int
        headers: dict[str, str]

    results: list[tuple[str, int, dict]] = []
    fixes: list[tuple[int, datetime, int, dict]] = []
    lock = threading.Lock()
    stop = threading.Event()
    limiter.enabled = False
    walkers = []
    for n in range(3):
        user = ensure_user(f"fault-walker-{n}", "resident")
        token = mint_dev_token(app.config["SECRET_KEY"], user.uid, "resident")
        walkers.append(Walker(user.id, {"Authorization": f"Bearer {token}"}))
    setup = app.test_client()
    journeys = [start_journey(setup, walker)["id"] for walker in walkers]
    db.session.remove()

    def writer(n: int) -> None:
        client = app.test_client()
        i = 0
        while not stop.is_set():
            tag = f"fault-{n}-{i}"
            i += 1
            response = client.post("/api/v1/reports", json=a_report(tag))
            with lock:
                results.append((tag, response.status_code, response.get_json() or {}))
            response.close()
            if response.status_code == 503:
                time.sleep(0.05)

    def walker(n: int) -> None:
        client = app.test_client()
        journey, headers = journeys[n], walkers[n].headers
        at = datetime.now(UTC) - timedelta(minutes=5)
        while not stop.is_set():
            at += timedelta(milliseconds=10)  # each fix its own moment, never in the future
            response = client.post(
                f"/api/v1/journeys/{journey}/locations",
                json={"fixes": [fix(WIGAN_CENTRAL[0], WIGAN_CENTRAL[1], at)]},
                headers=headers,
            )
            with lock:
                fixes.append((journey, at, response.status_code, response.get_json() or {}))
            response.close()
            if response.status_code == 503:
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    threads += [threading.Thread(target=walker, args=(n,)) for n in range(len(walkers))]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        server.restart()
        _wait_for_postgres(app)
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        limiter.enabled = True

    statuses = {code for _, code, _ in results}
    assert statuses <= {201, 503}, sorted(statuses)
    fix_statuses = {code for *_, code, _ in fixes}
    assert fix_statuses <= {200, 503}, sorted(fix_statuses)
    for _, code, body in [*results, *((t, c, b) for _, t, c, b in fixes)]:
        if code == 503:
            assert set(body) == SHAPE and body["code"] == 503
    acknowledged = {tag for tag, code, _ in results if code == 201}
    refused = [tag for tag, code, _ in results if code == 503]
    assert refused, "the restart was not seen by any request: the test did not test an outage"
    assert acknowledged, "nothing was written"
    db.session.remove()
    stored = set(db.session.scalars(select(Report.description)))
    assert acknowledged - stored == set(), "acknowledged writes lost in the restart"
    answered = {(journey, at) for journey, at, code, _ in fixes if code == 200}
    assert answered, "no fix was accepted"
    assert any(code == 503 for *_, code, _ in fixes), "no fix post saw the outage"
    kept = {
        (journey, at.astimezone(UTC))
        for journey, at in db.session.execute(
            select(LocationFix.journey_id, LocationFix.recorded_at).where(
                LocationFix.journey_id.in_(journeys)
            )
        )
    }
    assert answered - kept == set(), "fixes answered 200 lost in the restart"
    # Service resumes: a write after the restart succeeds.
    assert app.test_client().post("/api/v1/reports", json=a_report("after")).status_code == 201
    print(
        f"pg restart: {len(acknowledged)} reports and {len(answered)} fixes acknowledged and "
        f"kept; {len(refused)} report and "
        f"{sum(code == 503 for *_, code, _ in fixes)} fix posts got 503"
    )
