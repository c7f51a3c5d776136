"""The caller's own account: profile changes, export of everything held, and erasure.

Export and erasure are assembled from the domains: any ``backend.<domain>.service`` module
that defines ``export_user(user) -> dict`` and/or ``erase_user(user) -> None`` takes part, so a
new domain plugs in without editing this module. ``erase_user`` functions run in one
transaction (they must not commit); this module commits once, after deleting the user row."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import backend
from backend.auth.models import User
from backend.errors import Conflict, NotFound, ServiceUnavailable, field_error
from backend.extensions import db

EXPORT_FORMAT = "safehaven-export/1"


def normalise_phone(raw: str) -> str:
    """A phone number as E.164 (``"07700 900123"`` -> ``"+447700900123"``; UK unless it starts
    with ``+``); raises ValidationError naming ``phone`` when it is not a valid number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException as exc:
        raise field_error("phone", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise field_error("phone", "not a valid phone number (UK, or international with +)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def update_me(actor: User, changes: dict[str, Any]) -> User:
    """Change the caller's display name, phone number or home ward; raises ValidationError
    for an unknown ward or an invalid phone number."""
    from backend.areas.models import Ward

    if changes.get("phone") is not None:
        changes = {**changes, "phone": normalise_phone(changes["phone"])}
    if changes.get("display_name") is not None:
        name = changes["display_name"].strip()
        if not name:
            raise field_error("display_name", "must not be blank")
        changes = {**changes, "display_name": name}

    if (
        "ward_code" in changes
        and changes["ward_code"] is not None
        and db.session.get(Ward, changes["ward_code"]) is None
    ):
        raise field_error("ward_code", "unknown ward")
    for key in ("display_name", "phone", "ward_code"):
        if key in changes:
            setattr(actor, key, changes[key])
    db.session.commit()
    return actor


def domain_services() -> list[tuple[str, ModuleType]]:
    """Every ``backend.<domain>.service`` module, by domain name (account itself excluded).
    Found by folder, so domains without an ``__init__.py`` (namespace packages) count too."""
    found = []
    for folder in sorted(Path(backend.__path__[0]).iterdir()):
        if folder.name == "account" or not (folder / "service.py").is_file():
            continue
        found.append((folder.name, importlib.import_module(f"backend.{folder.name}.service")))
    return found


def _hooks(name: str) -> list[tuple[str, Callable[[User], Any]]]:
    return [
        (domain, getattr(module, name))
        for domain, module in domain_services()
        if callable(getattr(module, name, None))
    ]


def profile(user: User) -> dict[str, Any]:
    """The user row itself."""
    return {
        "id": user.id,
        "uid": user.uid,
        "role": user.role,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "ward_code": user.ward_code,
        "created_at": user.created_at.isoformat() if user.created_at else None,
        "last_seen_at": user.last_seen_at.isoformat() if user.last_seen_at else None,
    }


def export_me(actor: User) -> dict[str, Any]:
    """Everything held about the caller: the profile plus each domain's ``export_user`` part."""
    from backend.account.models import Device

    devices = db.session.scalars(select(Device).where(Device.user_id == actor.id)).all()
    data: dict[str, Any] = {
        "account": {
            "devices": [
                {
                    "id": d.id,
                    "platform": d.platform,
                    "created_at": d.created_at.isoformat(),
                    "last_seen_at": d.last_seen_at.isoformat(),
                }
                for d in devices
            ]
        }
    }
    for domain, export in _hooks("export_user"):
        data[domain] = export(actor)
    return {"format": EXPORT_FORMAT, "profile": profile(actor), "data": data}


def erase_me(actor: User, *, mode: str = "dev", project_id: str | None = None) -> dict[str, Any]:
    """Erase the caller: each domain's ``erase_user`` removes or anonymises its rows (keeping
    anonymised aggregates such as report counts), the user row is deleted and a tombstone of
    its uid refuses the old tokens from then on (they never recreate the account). In Firebase
    mode the Firebase account is deleted too, before the commit: if Firebase cannot be
    reached nothing is erased (ServiceUnavailable) and the person can try again. One commit:
    either everything is erased or nothing is."""
    from firebase_admin.exceptions import FirebaseError

    from backend.auth.service import bury, delete_identity_account

    erased = []
    uid = actor.uid
    try:
        for domain, erase in _hooks("erase_user"):
            erase(actor)
            erased.append(domain)
        from backend.account.models import Device

        db.session.execute(sa_delete(Device).where(Device.user_id == actor.id))
        erased.append("account")
        bury(actor)
        db.session.delete(actor)
        db.session.flush()
        try:
            identity_deleted = delete_identity_account(uid, mode=mode, project_id=project_id)
        except FirebaseError as exc:
            raise ServiceUnavailable(
                "cannot reach the identity provider to delete your sign-in; nothing was "
                "erased, try again"
            ) from exc
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"erased": True, "domains": erased, "identity_account_deleted": identity_deleted}


def register_device(actor: User, token: str, platform: str) -> tuple[object, bool]:
    """Register (or refresh) an FCM token for the caller's device. A token stays with the
    account that registered it first until that account removes it (``remove_device``, or
    erasure) or FCM reports it unregistered: an alert never follows a token to another
    account, so knowing someone's token cannot redirect their alerts (see docs/PRIVACY.md).
    Returns (device, created); raises Conflict when another account holds the token."""
    from backend.account.models import Device
    from backend.db import utcnow

    device = db.session.scalar(select(Device).where(Device.token == token))
    created = device is None
    if device is not None and device.user_id != actor.id:
        raise Conflict(
            "this device is registered to another account; sign out of that account on "
            "this phone first",
            errors={"token": ["registered to another account"]},
        )
    if device is None:
        device = Device(user_id=actor.id, token=token, platform=platform)
        db.session.add(device)
        try:
            db.session.commit()
        except IntegrityError as exc:  # the same token registered at the same moment
            db.session.rollback()
            raise Conflict(
                "this device was registered at the same moment; try again",
                errors={"token": ["registered concurrently"]},
            ) from exc
        return device, created
    device.platform = platform
    device.last_seen_at = utcnow()
    db.session.commit()
    return device, created


def remove_device(actor: User, device_id: int) -> None:
    """Stop sending the caller's alerts to one of their devices (sign-out on that phone);
    the token is then free for another account. Raises NotFound for a device not theirs."""
    from backend.account.models import Device

    device = db.session.get(Device, device_id)
    if device is None or device.user_id != actor.id:
        raise NotFound(f"no device {device_id}")
    db.session.delete(device)
    db.session.commit()
