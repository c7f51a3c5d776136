"""The caller's own account."""

from __future__ import annotations

from typing import Any

from backend.auth.models import User
from backend.errors import field_error
from backend.extensions import db


def update_me(actor: User, changes: dict[str, Any]) -> User:
    """Change the caller's display name or home ward; raises ValidationError for an unknown ward."""
    from backend.areas.models import Ward

    if (
        "ward_code" in changes
        and changes["ward_code"] is not None
        and db.session.get(Ward, changes["ward_code"]) is None
    ):
        raise field_error("ward_code", "unknown ward")
    for key in ("display_name", "ward_code"):
        if key in changes:
            setattr(actor, key, changes[key])
    db.session.commit()
    return actor


def register_device(actor: User, token: str, platform: str) -> tuple[object, bool]:
    """Register (or refresh) an FCM token for the caller's device; a token moves to the
    caller if another account had it (one phone, one owner). Returns (device, created)."""
    from sqlalchemy import select

    from backend.account.models import Device
    from backend.db import utcnow

    device = db.session.scalar(select(Device).where(Device.token == token))
    created = device is None
    if device is None:
        device = Device(user_id=actor.id, token=token, platform=platform)
        db.session.add(device)
    else:
        device.user_id = actor.id
        device.platform = platform
        device.last_seen_at = utcnow()
    db.session.commit()
    return device, created
