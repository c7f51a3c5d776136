"""The worker: the overdue/stationary sweep, outbox fan-out, FCM delivery and retention.
Runs as ``safehaven worker`` (any number of processes) or as a thread of ``safehaven serve``."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from flask import Flask

from backend.alerts import service
from backend.db import utcnow
from backend.extensions import db

log = logging.getLogger(__name__)


def default_pusher(app: Flask) -> service.Pusher | None:
    """FCM through firebase-admin when ``FIREBASE_PROJECT_ID`` is configured (at
    ``SAFEHAVEN_FCM_ENDPOINT`` if that is set, with ``SAFEHAVEN_FCM_TIMEOUT_S``), else None
    (alerts then reach live streams and wait in the outbox for push)."""
    if app.config.get("SAFEHAVEN_PUSHER") is not None:
        return app.config["SAFEHAVEN_PUSHER"]
    project = app.config.get("FIREBASE_PROJECT_ID")
    if not project:
        return None
    from backend.alerts import fcm

    return fcm.pusher_for(
        project,
        endpoint=app.config.get("FCM_ENDPOINT"),
        timeout_s=float(app.config.get("FCM_TIMEOUT_S") or service.DEFAULT_TIMEOUT_S),
    )


def run_once(
    app: Flask, pusher: service.Pusher | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """One pass of every job; returns what it did. ``now`` fixes the clock (tests); by
    default each step reads the real time (a pass may send for a while, and a claim's
    lease must start when the claim is made)."""
    from backend.journeys import service as journeys

    with app.app_context():
        try:
            checked = journeys.sweep_due(now or utcnow())
            expanded = 0
            while True:
                n = service.expand_pending(now or utcnow())
                expanded += n
                if n == 0:
                    break
            counts = {"sent": 0, "unregistered": 0, "retry": 0, "failed": 0}
            if pusher is not None:
                while True:
                    step = service.deliver_due(pusher, now)
                    for key, value in step.items():
                        counts[key] += value
                    if sum(step.values()) < service.concurrency():
                        break
            purged = journeys.purge_expired_fixes(now or utcnow())
        finally:
            db.session.remove()
    return {"checked": checked, "expanded": expanded, "purged_fixes": purged, **counts}


class WorkerThread(threading.Thread):
    """The embedded worker: ``run_once`` every ``interval`` seconds until stopped."""

    def __init__(self, app: Flask, interval: float = 2.0, pusher: service.Pusher | None = None):
        super().__init__(name="safehaven-worker", daemon=True)
        self.app = app
        self.interval = interval
        self.pusher = pusher if pusher is not None else default_pusher(app)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                run_once(self.app, self.pusher)
            except Exception:  # noqa: BLE001 - the loop must survive a bad pass
                log.exception("worker pass failed")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def start_embedded_worker(app: Flask, interval: float = 2.0) -> WorkerThread:
    """Start the background worker thread of the embedded default."""
    thread = WorkerThread(app, interval)
    thread.start()
    return thread
