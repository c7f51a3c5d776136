"""The caller's own account: ``/api/v1/me``, its export and its erasure."""

from __future__ import annotations

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
    """Erase your account: your contacts, journeys, location fixes and devices are deleted,
    your reports and survey answers are kept only anonymously (for aggregate figures)."""
    return service.erase_me(current_user())


@blp.post("/devices")
@login_required
@blp.arguments(DeviceRegisterSchema)
@blp.response(201, DeviceSchema)
def register_device(args):
    """Register your phone's FCM token to receive alerts."""
    device, _created = service.register_device(current_user(), args["token"], args["platform"])
    return device
