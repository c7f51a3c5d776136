"""Warming a new worker: it opens pooled connections and runs the public read routes, writes
nothing, and a database server that is not there at start leaves a working (cold) app that
answers 503, not a crash."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.warmup import warm


def _row_counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_warm_up_runs_the_public_reads_and_writes_nothing(app):
    """Four connections would be opened by default; three here, all kept in the pool."""
    from backend.extensions import db

    before = _row_counts(db)
    db.session.remove()
    summary = warm(app, connections=3)
    assert summary["connections"] == 3
    assert summary["routes"] == {
        "/healthz": 200,
        "/api/v1/venues/nearest": 200,
        "/api/v1/areas/locate": 200,
        "/api/v1/reports/nearby": 200,
    }
    pool = db.engine.pool
    # opened and kept (the fixture's own session may hold one of them)
    assert pool.checkedin() + pool.checkedout() >= 3, pool.status()
    assert _row_counts(db) == before


def test_warm_up_with_the_database_down_leaves_a_working_app():
    from tests.support.apps import make_test_app

    app = make_test_app("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    summary = warm(app)  # logs and returns: it must not raise
    assert summary["connections"] == 0 and summary["routes"] == {}
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["ok"] is False
