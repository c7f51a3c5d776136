"""Alerts as their recipients acknowledge them: ``/api/v1/alerts``."""

from __future__ import annotations

from backend.alerts import service
from backend.alerts.schemas import AlertReceivedSchema
from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts", description="Alerts you receive")


@blp.post("/<int:alert_id>/received")
@login_required
@blp.response(200, AlertReceivedSchema)
def received(alert_id: int):
    """Your phone received this alert: its sender is told "delivered" (recipients only)."""
    receipt = service.acknowledge(current_user(), alert_id)
    return {"alert_id": receipt.alert_id, "received_at": receipt.received_at}
