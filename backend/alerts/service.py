"""The alert outbox: rows written in the caller's transaction, fanned out to one delivery
per (alert, device) and pushed by the worker: each delivery is claimed with a lease, sent as
its own request and marked sent as soon as FCM answers, with retries and backoff."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from backend.account.models import Device
from backend.alerts.models import AlertDelivery, AlertReceipt, OutboxAlert
from backend.db import claim_batch, table_of, utcnow
from backend.errors import NotFound, ValidationError
from backend.extensions import db
from backend.realtime.broker import journey_channel, publish

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_BACKOFF_S = 5.0  # the default of SAFEHAVEN_FCM_BACKOFF_S
MAX_BACKOFF_S = 15 * 60
# An SOS alert whose journey is still active is never given up for a number of attempts: it
# is retried for as long as the SOS lasts, at most this long apart (docs/OPERATIONS.md).
SOS_MAX_BACKOFF_S = 60.0
MAX_RETRY_AFTER_S = 60 * 60
# Deliveries one worker claims at a time (SAFEHAVEN_FCM_CONCURRENCY); all of them are in
# flight at once, so a claim's lease only has to outlast one send, and a worker killed
# mid-batch leaves at most this many messages whose fate it did not record (1 = strictly
# one at a time). More throughput comes from more workers.
DEFAULT_CONCURRENCY = 8
LEASE_MARGIN_S = 5.0
DEFAULT_TIMEOUT_S = 10.0


def enqueue(
    *,
    kind: str,
    recipients: Sequence[int],
    title: str,
    body: str,
    data: dict[str, str] | None = None,
    journey_id: int | None = None,
    subject_user_id: int | None = None,
) -> OutboxAlert:
    """Add an alert to the outbox in the caller's session, WITHOUT committing: it is saved
    (or not) together with the state change that caused it."""
    payload = {str(k): str(v) for k, v in (data or {}).items()}
    alert = OutboxAlert(
        kind=kind,
        recipients=json.dumps(sorted(set(int(r) for r in recipients))),
        title=title[:200],
        body=body[:1000],
        data=json.dumps(payload, sort_keys=True),
        journey_id=journey_id,
        subject_user_id=subject_user_id,
        created_at=utcnow(),
    )
    db.session.add(alert)
    return alert


def notify_user(user_id: int, kind: str, title: str, body: str, data: dict[str, str]) -> None:
    """Queue a push to every device of ``user_id`` in the caller's session, without
    committing (e.g. a report's status change). Raises ValidationError for non-string data."""
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValidationError(
            "data: FCM data values must be strings", errors={"data": ["strings only"]}
        )
    enqueue(kind=kind, recipients=[user_id], title=title, body=body, data=data)


# --- delivery -----------------------------------------------------------------------------


@dataclass
class SendResult:
    """The outcome of one push: ``ok``, or an error ``kind`` (``unregistered``, ``permanent``,
    ``retry``) with a short description and the server's ``Retry-After`` if it sent one."""

    ok: bool
    message_id: str | None = None
    kind: str | None = None
    error: str | None = None
    retry_after_s: float | None = None


# Sends ONE message ``{token, title, body, data}`` and says how it went; called from several
# threads at once, never touches the database.
Pusher = Callable[[dict[str, Any]], SendResult]


def backoff(
    attempts: int, base_s: float = BASE_BACKOFF_S, cap_s: float = MAX_BACKOFF_S
) -> timedelta:
    """Exponential backoff after ``attempts`` failures: base, 2x, 4x ... capped at ``cap_s``
    (15 min; 60 s for an active SOS): 5 s, 10 s, 20 s ... with the default base."""
    return timedelta(seconds=min(base_s * 2 ** min(max(attempts - 1, 0), 30), cap_s))


def lease(timeout_s: float = DEFAULT_TIMEOUT_S) -> timedelta:
    """How long a claim holds a delivery: one send takes at most three timeouts (a refused
    connection is retried once, then the answer is read), plus a margin to record it."""
    return timedelta(seconds=3 * timeout_s + LEASE_MARGIN_S)


def worker_name() -> str:
    """``host:pid`` of this process, the prefix of its claims."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def expand_pending(now: datetime | None = None, limit: int = 200) -> int:
    """Fan pending alerts out to one delivery per recipient device and to the live streams;
    returns the number of alerts expanded."""
    now = now or utcnow()
    alerts = claim_batch(
        db.session,
        select(OutboxAlert).where(OutboxAlert.status == "pending").order_by(OutboxAlert.id),
        limit,
    )
    if not alerts:
        return 0
    for alert in alerts:
        recipients = json.loads(alert.recipients)
        devices: Iterable[Device] = (
            db.session.scalars(
                select(Device).where(Device.user_id.in_(recipients)).order_by(Device.id)
            )
            if recipients
            else []
        )
        for device in devices:
            db.session.add(
                AlertDelivery(
                    alert_id=alert.id,
                    device_id=device.id,
                    user_id=device.user_id,
                    token=device.token,
                    status="pending",
                    next_attempt_at=now,
                )
            )
        alert.status = "expanded"
        alert.expanded_at = now
    events = [
        (
            alert.journey_id,
            {
                "type": "alert",
                "alert_id": alert.id,
                "kind": alert.kind,
                "title": alert.title,
                "body": alert.body,
                "data": json.loads(alert.data),
            },
        )
        for alert in alerts
        if alert.journey_id is not None
    ]
    db.session.commit()
    for journey_id, event in events:
        publish(journey_channel(journey_id), event)
    return len(alerts)


def claim_due(
    now: datetime, hold: timedelta, limit: int = DEFAULT_CONCURRENCY
) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due pending deliveries for this worker in one short transaction:
    each gets this claim's name, one more attempt, and ``next_attempt_at`` moved to the end of
    the lease (so it comes due again by itself if the worker dies). One UPDATE statement
    picks and claims the rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has a single
    writer), so two workers never hold the same row. Returns the claim and the row ids."""
    claim = f"{worker_name()}:{secrets.token_hex(4)}"
    due = (
        select(AlertDelivery.id)
        .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
    )
    claiming = update(AlertDelivery).values(
        claimed_by=claim, attempts=AlertDelivery.attempts + 1, next_attempt_at=now + hold
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Pick and lock once (a MATERIALIZED CTE): an ``IN (subquery)`` may be rescanned,
        # and each rescan with SKIP LOCKED can pick other rows, claiming more than ``limit``.
        picked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        claiming = claiming.where(AlertDelivery.id == picked.c.id)
    else:
        # SQLite: one writer at a time, and the subquery is evaluated once.
        claiming = claiming.where(AlertDelivery.id.in_(due))
    ids = list(
        db.session.scalars(
            claiming.where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
            .returning(AlertDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return claim, sorted(ids)


def _push_safely(pusher: Pusher, item: dict[str, Any]) -> SendResult:
    try:
        return pusher(item)
    except Exception as exc:  # noqa: BLE001 - a bug in one send must not strand the others
        log.exception("push failed")
        return SendResult(False, kind="retry", error=f"{type(exc).__name__}: {exc}"[:300])


def record(
    delivery_id: int,
    claim: str,
    attempts: int,
    result: SendResult,
    at: datetime,
    backoff_base_s: float = BASE_BACKOFF_S,
    active_sos: bool = False,
) -> str:
    """Record FCM's answer for one delivery at once (its own commit) and return the outcome:
    ``sent``; ``unregistered`` (the device is removed, with its other pending deliveries);
    ``failed`` (permanent, or ``MAX_ATTEMPTS`` used, except for an ``active_sos``: retried
    while the SOS lasts, backoff capped at ``SOS_MAX_BACKOFF_S``); ``retry`` (due again after
    the backoff or the server's Retry-After, whichever is later; the lease is released, so a row still
    ``pending`` with a ``claimed_by`` is one in flight). A retry or failure only touches a row
    this claim still holds; success is recorded whoever holds it."""
    deliveries = table_of(AlertDelivery)
    row = deliveries.c
    pending = [row.id == delivery_id, row.status == "pending"]
    mine = [*pending, row.claimed_by == claim]
    if result.ok:
        outcome = "sent"
        db.session.execute(
            update(deliveries)
            .where(*pending)
            .values(status="sent", sent_at=at, message_id=result.message_id, last_error=None)
        )
    elif result.kind == "unregistered":
        outcome = "unregistered"
        db.session.execute(
            update(deliveries)
            .where(*pending)
            .values(status="unregistered", last_error=result.error)
        )
        device_id = db.session.scalar(select(row.device_id).where(row.id == delivery_id))
        if device_id is not None:
            # Other pending deliveries to that token can never succeed.
            db.session.execute(
                update(deliveries)
                .where(row.device_id == device_id, row.status == "pending")
                .values(status="unregistered")
            )
            db.session.execute(delete(Device).where(Device.id == device_id))
    elif result.kind == "permanent" or (attempts >= MAX_ATTEMPTS and not active_sos):
        outcome = "failed"
        db.session.execute(
            update(deliveries).where(*mine).values(status="failed", last_error=result.error)
        )
    else:
        outcome = "retry"
        cap = SOS_MAX_BACKOFF_S if active_sos else MAX_BACKOFF_S
        wait = backoff(attempts, backoff_base_s, cap)
        if result.retry_after_s is not None:
            # Google's Retry-After is honoured even during an SOS: sending sooner only earns
            # more refusals (it is capped at an hour where it is read).
            wait = max(wait, timedelta(seconds=result.retry_after_s))
        db.session.execute(
            update(deliveries)
            .where(*mine)
            .values(next_attempt_at=at + wait, last_error=result.error, claimed_by=None)
        )
    db.session.commit()
    return outcome


def concurrency() -> int:
    """How many deliveries a worker claims and sends at once (``SAFEHAVEN_FCM_CONCURRENCY``)."""
    return int(current_app.config.get("FCM_CONCURRENCY") or DEFAULT_CONCURRENCY)


def deliver_due(
    pusher: Pusher, now: datetime | None = None, limit: int | None = None
) -> dict[str, int]:
    """Claim up to ``limit`` (default :func:`concurrency`) due deliveries (see
    :func:`claim_due`), send them all at once,
    one request each, and record each answer the moment it arrives (see :func:`record`).
    A worker killed here leaves only the messages then in flight unrecorded; they are sent
    again when the lease ends (the alert id as the tray tag and the app's own check make that
    repeat harmless on the phone). ``now`` fixes the clock (tests); by default the real time."""
    config = current_app.config
    timeout_s = float(config.get("FCM_TIMEOUT_S") or DEFAULT_TIMEOUT_S)
    backoff_base_s = float(config.get("FCM_BACKOFF_S") or BASE_BACKOFF_S)

    def clock() -> datetime:
        return now if now is not None else utcnow()

    counts = {"sent": 0, "unregistered": 0, "retry": 0, "failed": 0}
    claim, ids = claim_due(clock(), lease(timeout_s), limit or concurrency())
    if not ids:
        return counts
    from backend.journeys.models import Journey

    rows = db.session.execute(
        select(
            AlertDelivery.id,
            AlertDelivery.token,
            AlertDelivery.attempts,
            OutboxAlert,
            Journey.state,
        )
        .join(OutboxAlert, OutboxAlert.id == AlertDelivery.alert_id)
        .outerjoin(Journey, Journey.id == OutboxAlert.journey_id)
        .where(AlertDelivery.id.in_(ids))
        .order_by(AlertDelivery.id)
    ).all()
    attempts = {delivery_id: n for delivery_id, _token, n, _alert, _state in rows}
    # An SOS lasts while its journey (or emergency share) is active.
    active_sos = {
        delivery_id: alert.kind == "sos" and state == "active"
        for delivery_id, _token, _n, alert, state in rows
    }
    items = {
        delivery_id: {
            "token": token,
            "title": alert.title,
            "body": alert.body,
            "data": {**json.loads(alert.data), "alert_id": str(alert.id), "kind": alert.kind},
        }
        for delivery_id, token, _n, alert, _state in rows
    }
    db.session.rollback()  # end the read transaction before the network waits
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="fcm-send") as pool:
        sending = {
            pool.submit(_push_safely, pusher, item): delivery_id
            for delivery_id, item in items.items()
        }
        for done in as_completed(sending):
            delivery_id = sending[done]
            outcome = record(
                delivery_id,
                claim,
                attempts[delivery_id],
                done.result(),
                clock(),
                backoff_base_s,
                active_sos[delivery_id],
            )
            counts[outcome] += 1
    return counts


# --- receipts -----------------------------------------------------------------------------


def acknowledge(actor: Any, alert_id: int, now: datetime | None = None) -> AlertReceipt:
    """Record that ``actor``'s phone received the alert (the first receipt is kept); raises
    NotFound unless ``actor`` is one of its recipients (others learn nothing about it)."""
    alert = db.session.get(OutboxAlert, alert_id)
    if alert is None or actor.id not in json.loads(alert.recipients):
        raise NotFound(f"no alert {alert_id}")
    receipt = db.session.get(AlertReceipt, (alert_id, actor.id))
    if receipt is not None:
        return receipt
    receipt = AlertReceipt(alert_id=alert_id, user_id=actor.id, received_at=now or utcnow())
    db.session.add(receipt)
    try:
        db.session.commit()
    except IntegrityError:  # the same phone acknowledged twice at once
        db.session.rollback()
        found = db.session.get(AlertReceipt, (alert_id, actor.id))
        if found is None:
            raise
        return found
    return receipt


# --- retention, export and erasure ----------------------------------------------------------

# What an alert says once its journey's retention has passed: its kind, no name, no place.
FORGOTTEN_BODY = "Details removed after the retention period."
EXPIRED = "expired: the journey's retention period passed"
# Titles name the person ("SOS from Alice"): what each kind is called once that is forgotten.
FORGOTTEN_TITLES = {
    "sos": "SOS",
    "overdue": "Overdue",
    "stationary": "Stopped for a while",
    "arrival": "Arrived",
    "contact_revoked": "Trusted contact ended",
}


def forget_journey_details(journey_ids: Sequence[int]) -> int:
    """For journeys whose retention has passed (the fix purge, caller commits): their alerts
    keep only kind, a title without the name and the journey id (the body's name and
    position, the data's position, battery and fix time go), and deliveries still pending
    are given up (a day-old SOS is no longer news). Returns the number of alerts changed."""
    if not journey_ids:
        return 0
    alerts = OutboxAlert.__table__.c
    deliveries = table_of(AlertDelivery)
    row = deliveries.c
    db.session.execute(
        update(deliveries)
        .where(
            row.status == "pending",
            row.alert_id.in_(select(alerts.id).where(alerts.journey_id.in_(journey_ids))),
        )
        .values(status="failed", last_error=EXPIRED)
    )
    changed = 0
    for alert in db.session.scalars(
        select(OutboxAlert).where(OutboxAlert.journey_id.in_(journey_ids))
    ):
        alert.title = FORGOTTEN_TITLES.get(alert.kind, "Alert")
        alert.body = FORGOTTEN_BODY
        alert.data = json.dumps({"journey_id": str(alert.journey_id)}, sort_keys=True)
        changed += 1
    return changed


def _alert_view(alert: OutboxAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "journey_id": alert.journey_id,
        "title": alert.title,
        "body": alert.body,
        "data": json.loads(alert.data),
        "status": alert.status,
        "created_at": alert.created_at.isoformat(),
    }


def export_user(user: Any) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: the alerts about the person (their SOS, arrivals,
    overdue and stationary alerts as their contacts received them) and those sent to them
    alone (e.g. a report's status changing)."""
    about = db.session.scalars(
        select(OutboxAlert).where(OutboxAlert.subject_user_id == user.id).order_by(OutboxAlert.id)
    ).all()
    to_them = [a for a in _received_by(user.id) if a.subject_user_id is None]
    return {
        "about_you": [_alert_view(a) for a in about],
        "sent_to_you": [_alert_view(a) for a in to_them],
    }


def _received_by(user_id: int) -> list[OutboxAlert]:
    """Alerts whose recipients include ``user_id`` (a text match narrows, JSON decides)."""
    candidates = db.session.scalars(
        select(OutboxAlert)
        .where(OutboxAlert.recipients.contains(str(user_id)))
        .order_by(OutboxAlert.id)
    )
    return [a for a in candidates if user_id in json.loads(a.recipients)]


def erase_user(user: Any) -> None:
    """For ``DELETE /api/v1/me`` (caller commits): the alerts about the person go, with their
    deliveries; deliveries to the person's devices go (they hold its push token); the person
    leaves the recipients of other alerts, and an alert left with no recipient goes."""
    db.session.execute(
        delete(AlertDelivery).where(
            AlertDelivery.device_id.in_(select(Device.id).where(Device.user_id == user.id))
        )
    )
    about = select(OutboxAlert.id).where(OutboxAlert.subject_user_id == user.id)
    db.session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id.in_(about)))
    db.session.execute(
        delete(OutboxAlert)
        .where(OutboxAlert.subject_user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    for alert in _received_by(user.id):
        left = [r for r in json.loads(alert.recipients) if r != user.id]
        if left:
            alert.recipients = json.dumps(left)
        else:
            db.session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id == alert.id))
            db.session.delete(alert)
