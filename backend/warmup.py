"""Warm a freshly started worker before it takes traffic.

A worker's first request of each kind pays for opening database connections (and the
dialect's first-connect queries), compiling statements and first-use imports: 30-50 ms each,
measured on a fresh gunicorn. After a deploy under load those costs queue in front of real
requests. :func:`warm` opens the pool's connections and runs the public read routes once
(nearest safe places, locate, nearby reports, health) through the app itself. It only
reads: it writes nothing, signs no one in and creates no user."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select

log = logging.getLogger(__name__)

# How many pooled connections to open ahead (a gthread worker's threads use one each).
DEFAULT_CONNECTIONS = 4


def warm(app: Any, connections: int = DEFAULT_CONNECTIONS) -> dict[str, Any]:
    """Open up to ``connections`` pooled connections and run each public read route once;
    returns ``{"connections": n, "routes": {path: status}, "ms": total}``. Never raises:
    a warm-up that fails (the database is down at start) leaves the worker as cold as
    before, and the first requests then answer 503 as they would have."""
    from backend.areas.models import Ward
    from backend.extensions import db

    started = time.perf_counter()
    summary: dict[str, Any] = {"connections": 0, "routes": {}}
    try:
        with app.app_context():
            opened = []
            try:
                for _ in range(max(0, connections)):
                    opened.append(db.engine.connect())
                point = db.session.execute(
                    select(Ward.centroid_lat, Ward.centroid_lon).order_by(Ward.code).limit(1)
                ).first()
            finally:
                # back to the pool, still open, also when a later connect or the query failed
                for conn in opened:
                    conn.close()
                db.session.remove()
            summary["connections"] = len(opened)
    except Exception as exc:  # noqa: BLE001 - a cold worker still works
        log.warning("warm-up skipped: %s", exc.__class__.__name__)
        summary["ms"] = round((time.perf_counter() - started) * 1000, 1)
        return summary
    lat, lon = point if point is not None else (53.5448, -2.6318)  # Wigan town centre
    client = app.test_client()
    for path in (
        "/healthz",
        f"/api/v1/venues/nearest?lat={lat}&lon={lon}",
        f"/api/v1/venues/nearest?lat={lat}&lon={lon}&open_now=false&category=pharmacy",
        f"/api/v1/areas/locate?lat={lat}&lon={lon}",
        f"/api/v1/reports/nearby?lat={lat}&lon={lon}",
    ):
        try:
            summary["routes"][path.split("?")[0]] = client.get(path).status_code
        except Exception as exc:  # noqa: BLE001 - as above
            summary["routes"][path.split("?")[0]] = exc.__class__.__name__
    summary["ms"] = round((time.perf_counter() - started) * 1000, 1)
    log.info("warm-up: %s", summary)
    return summary
