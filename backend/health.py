"""``GET /healthz``: is the database reachable, and the real-time broker."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.extensions import db
from backend.realtime.broker import get_broker

bp = Blueprint("health", __name__)


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return {
            "ok": True,
            "engine": db.engine.dialect.name,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    except Exception as exc:  # noqa: BLE001 - health reports any failure as a state
        db.session.rollback()
        return {"ok": False, "engine": db.engine.dialect.name, "error": exc.__class__.__name__}


def _check_broker() -> dict[str, object]:
    # The app's own broker: its probe connection is kept, so a health check costs one round
    # trip, not a new connection (load balancers call this every few seconds).
    return get_broker().status()


@bp.get("/healthz")
def healthz():
    """Liveness and dependencies: 200 when the database answers and the broker answers and
    is subscribed, else 503 naming the parts that ``failed``."""
    parts = {"database": _check_database(), "broker": _check_broker()}
    failed = [name for name, part in parts.items() if not part["ok"]]
    ok = not failed
    body: dict[str, object] = {"status": "ok" if ok else "degraded", **parts}
    if failed:
        body["failed"] = failed
    return jsonify(body), 200 if ok else 503
