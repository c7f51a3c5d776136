"""``safehaven worker``: drain the alert outbox and run the sweeps, forever or once."""

from __future__ import annotations

import logging
import time

import click
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--interval", default=1.0, show_default=True, type=float)
@with_appcontext
def worker(once: bool, interval: float) -> None:
    """Deliver alerts (FCM), raise overdue/stationary alerts, delete expired fixes."""
    from backend.alerts.worker import default_pusher, run_once
    from backend.extensions import app_object

    app = app_object()
    pusher = default_pusher(app)
    if pusher is None:
        click.echo("worker: FIREBASE_PROJECT_ID not set; push deliveries wait in the outbox")
    while True:
        try:
            summary = run_once(app, pusher)
        except Exception:
            if once:
                raise
            # A pass can fail (database restarting, SQLite busy): what it claimed comes due
            # again when the lease ends, so the loop carries on instead of exiting.
            logging.getLogger(__name__).exception("worker pass failed")
            time.sleep(interval)
            continue
        if once or any(summary.values()):
            click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
        if once:
            return
        time.sleep(interval)
