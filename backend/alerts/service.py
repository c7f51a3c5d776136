"""The alert outbox: rows written in the caller's transaction, fanned out to devices and
pushed through FCM by the worker, with retries and exactly one delivery per device."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from backend.account.models import Device
from backend.alerts.models import AlertDelivery, OutboxAlert
from backend.db import utcnow
from backend.errors import ValidationError
from backend.extensions import db
from backend.realtime.broker import journey_channel, publish

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_BACKOFF_S = 5
MAX_BACKOFF_S = 15 * 60
SEND_BATCH = 500  # FCM's send_each limit


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
    ``retry``) with a short description."""

    ok: bool
    message_id: str | None = None
    kind: str | None = None
    error: str | None = None


Pusher = Callable[[list[dict[str, Any]]], list[SendResult]]


def fcm_pusher(app: Any) -> Pusher:
    """A pusher that sends through firebase-admin's ``messaging.send_each`` on ``app``."""
    from firebase_admin import exceptions, messaging

    def push(items: list[dict[str, Any]]) -> list[SendResult]:
        with warnings.catch_warnings():
            # Devices register FCM registration tokens; firebase-admin 7.7 prefers installation
            # ids (``fid``) but still sends ``token`` as the v1 API's field of that name.
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            messages = [
                messaging.Message(
                    token=item["token"],
                    notification=messaging.Notification(title=item["title"], body=item["body"]),
                    data=item["data"],
                    android=messaging.AndroidConfig(priority="high"),
                    apns=messaging.APNSConfig(headers={"apns-priority": "10"}),
                )
                for item in items
            ]
        try:
            batch = messaging.send_each(messages, app=app)
        except exceptions.FirebaseError as exc:
            return [SendResult(False, kind="retry", error=str(exc)[:300])] * len(items)
        results = []
        for response in batch.responses:
            if response.success:
                results.append(SendResult(True, message_id=response.message_id))
                continue
            exc = response.exception
            if isinstance(exc, messaging.UnregisteredError):
                kind = "unregistered"
            elif isinstance(
                exc,
                (
                    exceptions.InvalidArgumentError,
                    messaging.SenderIdMismatchError,
                    exceptions.PermissionDeniedError,
                ),
            ):
                kind = "permanent"
            else:
                kind = "retry"
            results.append(SendResult(False, kind=kind, error=f"{type(exc).__name__}: {exc}"[:300]))
        return results

    return push


def backoff(attempts: int) -> timedelta:
    """Exponential backoff after ``attempts`` failures: 5 s, 10 s, 20 s ... capped at 15 min."""
    return timedelta(seconds=min(BASE_BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def expand_pending(now: datetime | None = None, limit: int = 200) -> int:
    """Fan pending alerts out to one delivery per recipient device and to the live streams;
    returns the number of alerts expanded."""
    now = now or utcnow()
    alerts = list(
        db.session.scalars(
            select(OutboxAlert)
            .where(OutboxAlert.status == "pending")
            .order_by(OutboxAlert.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not alerts:
        db.session.rollback()
        return 0
    for alert in alerts:
        recipients = json.loads(alert.recipients)
        devices = (
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


def deliver_due(
    pusher: Pusher, now: datetime | None = None, limit: int = SEND_BATCH
) -> dict[str, int]:
    """Push due deliveries once each: success -> ``sent``; UNREGISTERED -> the device is
    removed; other failures retry with backoff until ``MAX_ATTEMPTS``. Rows are locked
    (``SKIP LOCKED``) until their outcome is committed, so concurrent workers never send
    one twice."""
    now = now or utcnow()
    rows = db.session.execute(
        select(AlertDelivery, OutboxAlert)
        .join(OutboxAlert, OutboxAlert.id == AlertDelivery.alert_id)
        .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
        .with_for_update(of=AlertDelivery, skip_locked=True)
    ).all()
    counts = {"sent": 0, "unregistered": 0, "retry": 0, "failed": 0}
    if not rows:
        db.session.rollback()
        return counts
    items = [
        {
            "token": delivery.token,
            "title": alert.title,
            "body": alert.body,
            "data": {
                **json.loads(alert.data),
                "alert_id": str(alert.id),
                "kind": alert.kind,
            },
        }
        for delivery, alert in rows
    ]
    results = pusher(items)
    gone_devices = set()
    for (delivery, _alert), result in zip(rows, results, strict=True):
        delivery.attempts += 1
        if result.ok:
            delivery.status = "sent"
            delivery.sent_at = now
            delivery.message_id = result.message_id
            delivery.last_error = None
            counts["sent"] += 1
        elif result.kind == "unregistered":
            delivery.status = "unregistered"
            delivery.last_error = result.error
            if delivery.device_id is not None:
                gone_devices.add(delivery.device_id)
            counts["unregistered"] += 1
        elif result.kind == "permanent" or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            delivery.last_error = result.error
            counts["failed"] += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.last_error = result.error
            counts["retry"] += 1
    if gone_devices:
        db.session.execute(delete(Device).where(Device.id.in_(gone_devices)))
        # Other pending deliveries to those tokens can never succeed.
        for other in db.session.scalars(
            select(AlertDelivery).where(
                AlertDelivery.device_id.in_(gone_devices), AlertDelivery.status == "pending"
            )
        ):
            other.status = "unregistered"
    db.session.commit()
    return counts
