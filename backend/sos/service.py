"""SOS from anywhere: one idempotent request raises SOS on the active journey, or starts an
emergency share with every active trusted contact, and queues the alert, in one transaction.
Its answer says, per recipient, only what the server knows about delivery."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from backend.account.models import Device
from backend.alerts.models import AlertDelivery, AlertReceipt, OutboxAlert
from backend.auth.models import User
from backend.contacts.models import Contact
from backend.contacts.service import UNNAMED
from backend.db import rowcount, utcnow
from backend.errors import Conflict, NotFound, field_error
from backend.extensions import db
from backend.journeys import service as journeys
from backend.journeys.models import Journey
from backend.sos.models import SosEvent
from shared_schemas.sos import NO_TRUSTED_CONTACTS

FUTURE_TOLERANCE = timedelta(minutes=2)  # phone clocks drift; more than this is refused
ATTEMPTS = 3  # a lost race (a concurrent duplicate or journey start) is retried this often


class NoTrustedContacts(Conflict):
    """There is no one to alert: nothing is stored."""

    def __init__(self) -> None:
        super().__init__(
            "You have no trusted contacts to alert. Call 999 in an emergency, and add a "
            "trusted contact in the app.",
            error=NO_TRUSTED_CONTACTS,
        )


def _existing(actor: User, client_id: str) -> SosEvent | None:
    return db.session.scalar(
        select(SosEvent).where(SosEvent.user_id == actor.id, SosEvent.client_id == client_id)
    )


def _all_active_contacts(owner_id: int) -> list[int]:
    return sorted(
        db.session.scalars(
            select(Contact.contact_user_id).where(
                Contact.owner_id == owner_id, Contact.status == "active"
            )
        )
    )


def raise_sos(
    actor: User, data: dict[str, Any], now: datetime | None = None
) -> tuple[SosEvent, bool]:
    """Raise an SOS; returns it and whether it is new (a known ``client_id`` returns the first
    one unchanged). On an active journey the SOS goes to its contacts (to every active trusted
    contact if none of them still is one); otherwise an emergency share starts with every
    active trusted contact. Raises ValidationError (time in the future), NoTrustedContacts
    (no one to alert: nothing stored)."""
    now = now or utcnow()
    client_id = str(data["client_id"]).lower()
    recorded_at = data["recorded_at"]
    if recorded_at > now + FUTURE_TOLERANCE:
        raise field_error("recorded_at", "is in the future (check the phone's clock)")
    for _ in range(ATTEMPTS):
        found = _existing(actor, client_id)
        if found is not None:
            db.session.rollback()
            return found, False
        try:
            event = _raise(actor, data, client_id, now)
            db.session.commit()
        except IntegrityError:
            # A concurrent request with this client id (unique per person) or a concurrent
            # journey start won: read again and answer what is stored now.
            db.session.rollback()
            continue
        journey = db.session.get(Journey, event.journey_id)
        if journey is not None:
            journeys.publish_state(journey)
        return event, True
    raise Conflict("the SOS could not be stored because of concurrent changes; send it again")


def _raise(actor: User, data: dict[str, Any], client_id: str, now: datetime) -> SosEvent:
    journey = db.session.scalar(
        select(Journey).where(Journey.active_owner_id == actor.id).with_for_update()
    )
    battery = data.get("battery")
    if journey is not None:
        recipients = journeys.watchers(journey)
        if not recipients:  # no chosen contact still holds consent: alert all who do
            recipients = _all_active_contacts(actor.id)
            if not recipients:
                db.session.rollback()
                raise NoTrustedContacts()
            journeys.add_watchers(journey, recipients)
    else:
        recipients = _all_active_contacts(actor.id)
        if not recipients:
            db.session.rollback()
            raise NoTrustedContacts()
        journey = journeys.start_emergency_share(actor, recipients, data["lat"], data["lon"], now)
    journeys.record_sos_position(
        journey,
        data["lat"],
        data["lon"],
        data["recorded_at"],
        data.get("accuracy_m"),
        float(battery) if battery is not None else None,
        now,
    )
    alert = journeys.raise_sos_on(journey, now, recipients)
    db.session.flush()
    event = SosEvent(
        user_id=actor.id,
        client_id=client_id,
        journey_id=journey.id,
        alert_id=alert.id,
        lat=data["lat"],
        lon=data["lon"],
        accuracy_m=data.get("accuracy_m"),
        battery=battery,
        recorded_at=data["recorded_at"],
        raised_at=now,
    )
    db.session.add(event)
    db.session.flush()
    return event


def get_sos(actor: User, sos_id: int) -> SosEvent:
    """The caller's own SOS; raises NotFound for anyone else's (nothing is revealed)."""
    event = db.session.get(SosEvent, sos_id)
    if event is None or event.user_id != actor.id:
        raise NotFound(f"no SOS {sos_id}")
    return event


def sos_dict(event: SosEvent) -> dict[str, Any]:
    """The SOS as its owner sees it: status and, per recipient, name, registered devices and
    delivery (``delivered`` only from a receipt of theirs, ``sent`` when FCM accepted it)."""
    journey = db.session.get(Journey, event.journey_id) if event.journey_id else None
    status = "active" if journey is not None and journey.state == "active" else "ended"
    alert = db.session.get(OutboxAlert, event.alert_id) if event.alert_id else None
    recipient_ids: list[int] = json.loads(alert.recipients) if alert else []
    return {
        "id": event.id,
        "client_id": event.client_id,
        "journey_id": event.journey_id,
        "alert_id": event.alert_id,
        "raised_at": event.raised_at,
        "status": status,
        "recipients": recipient_status(event.alert_id, recipient_ids),
    }


def recipient_status(alert_id: int | None, recipient_ids: list[int]) -> list[dict[str, Any]]:
    """Per recipient of an alert: display name, device count and delivery state."""
    if not recipient_ids:
        return []
    names = dict(
        db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(recipient_ids))
        ).all()
    )
    devices = dict(
        db.session.execute(
            select(Device.user_id, func.count(Device.id))
            .where(Device.user_id.in_(recipient_ids))
            .group_by(Device.user_id)
        ).all()
    )
    receipts: dict[int, datetime] = {}
    sent: set[int] = set()
    tried: set[int] = set()
    if alert_id is not None:
        receipts = dict(
            db.session.execute(
                select(AlertReceipt.user_id, AlertReceipt.received_at).where(
                    AlertReceipt.alert_id == alert_id
                )
            ).all()
        )
        for user_id, state in db.session.execute(
            select(AlertDelivery.user_id, AlertDelivery.status).where(
                AlertDelivery.alert_id == alert_id, AlertDelivery.user_id.is_not(None)
            )
        ):
            tried.add(user_id)  # type: ignore[arg-type]  # IS NOT NULL above
            if state == "sent":
                sent.add(user_id)  # type: ignore[arg-type]
    out = []
    for user_id in recipient_ids:
        if user_id not in names:  # erased since: nothing to say about them
            continue
        count = int(devices.get(user_id, 0))
        if user_id in receipts:
            delivery = "delivered"
        elif user_id in sent:
            delivery = "sent"
        elif count == 0 and user_id not in tried:
            delivery = "no_device"
        else:
            delivery = "pending"
        out.append(
            {
                "user_id": user_id,
                "display_name": names[user_id] or UNNAMED,
                "devices": count,
                "delivery": delivery,
                "delivered_at": receipts.get(user_id),
            }
        )
    return out


def forget_journeys(journey_ids: list[int]) -> int:
    """For journeys whose retention has passed (the fix purge, caller commits): their SOS
    presses go, with where they were pressed (``GET /api/v1/sos/{id}`` is then 404; a resend
    of so old a press is long over). Returns the number deleted."""
    if not journey_ids:
        return 0
    deleted = db.session.execute(
        delete(SosEvent)
        .where(SosEvent.journey_id.in_(journey_ids))
        .execution_options(synchronize_session=False)
    )
    return rowcount(deleted)


def export_user(user: User) -> dict[str, Any]:
    """For ``GET /api/v1/me/export``: every SOS the person raised, with its position."""
    events = db.session.scalars(
        select(SosEvent).where(SosEvent.user_id == user.id).order_by(SosEvent.id)
    ).all()
    return {
        "sos": [
            {
                "id": e.id,
                "client_id": e.client_id,
                "journey_id": e.journey_id,
                "lat": e.lat,
                "lon": e.lon,
                "accuracy_m": e.accuracy_m,
                "battery": e.battery,
                "recorded_at": e.recorded_at.isoformat(),
                "raised_at": e.raised_at.isoformat(),
            }
            for e in events
        ]
    }
