"""The caller's own account: ``/api/v1/me``, its export and its erasure."""

from __future__ import annotations

from flask import current_app

from backend.account import service
from backend.account.schemas import (
    DeviceRegisterSchema,
    DeviceSchema,
    ErasureSchema,
    ExportSchema,
    MeSchema,
    MeUpdateSchema,
)
from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required

blp = Blueprint("account", __name__, url_prefix="/api/v1/me", description="Your account")


@blp.get("")
@login_required
@blp.response(200, MeSchema)
def me():
    """Who you are signed in as."""
    return current_user()


@blp.patch("")
@login_required
@blp.arguments(MeUpdateSchema)
@blp.response(200, MeSchema)
def update_me(changes):
    """Change your display name, phone number (UK or +international) or home ward."""
    return service.update_me(current_user(), changes)


@blp.get("/export")
@login_required
@blp.response(200, ExportSchema)
def export_me():
    """Everything SafeHaven holds about you, as JSON."""
    return service.export_me(current_user())


@blp.delete("")
@login_required
@blp.response(200, ErasureSchema)
def erase_me():
    """Erase your account: your contacts, journeys, location fixes, alerts and devices are
    deleted, your reports and survey answers are kept only anonymously (for aggregate
    figures); your sign-in is refused from then on (in Firebase mode it is deleted)."""
    settings = current_app.config["SAFEHAVEN_SETTINGS"]
    return service.erase_me(
        current_user(), mode=settings.auth_mode, project_id=settings.firebase_project_id
    )


@blp.post("/devices")
@login_required
@blp.arguments(DeviceRegisterSchema)
@blp.response(201, DeviceSchema)
def register_device(args):
    """Register your phone's FCM token to receive alerts."""
    device, _created = service.register_device(current_user(), args["token"], args["platform"])
    return device


@blp.delete("/devices/<int:device_id>")
@login_required
@blp.response(204)
def remove_device(device_id: int):
    """Stop alerts to one of your devices (on sign-out); its token is then free for another
    account. A token registered to another account is refused (409) until then."""
    service.remove_device(current_user(), device_id)
