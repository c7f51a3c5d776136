"""Concern reports: categories, sending, your reports, blurred nearby reports, triage."""

from __future__ import annotations

from flask import current_app

from backend.arguments import Blueprint
from backend.auth.current import admin_required, current_user, login_required, optional_user
from backend.extensions import limiter
from backend.reports import limits, service
from backend.reports.schemas import (
    CategorySchema,
    NearbyQuerySchema,
    NearbyReportSchema,
    ReportInSchema,
    ReportReceiptSchema,
    ReportSchema,
    ReportStatusChangeSchema,
)

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Concern reports")


@blp.get("/categories")
@blp.response(200, CategorySchema(many=True))
def categories():
    """What can be reported, who handles it, and the guidance to show before sending."""
    return service.list_categories()


@blp.post("")
@limiter.limit(limits.configured("REPORTS_RATE_LIMIT_IP"), key_func=limits.hashed_ip)
@limiter.limit(limits.configured("REPORTS_RATE_LIMIT_USER"), key_func=limits.user_or_hashed_ip)
@blp.arguments(ReportInSchema)
@blp.response(201, ReportReceiptSchema)
def send_report(data):
    """Report a concern (anonymously where the category allows it; otherwise signed in)."""
    return service.create_report(optional_user(), data)


@blp.get("/mine")
@login_required
@blp.response(200, ReportSchema(many=True))
def mine():
    """Your named reports with every status change and public note."""
    return service.my_reports(current_user())


@blp.get("/nearby")
@blp.arguments(NearbyQuerySchema, location="query")
@blp.response(200, NearbyReportSchema(many=True))
def nearby(args):
    """Recent reports near a point: category and time only, positions blurred to ~150 m."""
    window = int(current_app.config.get("REPORTS_NEARBY_MINUTES", service.DEFAULT_NEARBY_MINUTES))
    return service.nearby(args["lat"], args["lon"], args["radius_m"], window_minutes=window)


@blp.patch("/<int:report_id>")
@admin_required
@blp.arguments(ReportStatusChangeSchema)
@blp.response(200, ReportSchema)
def triage(changes, report_id: int):
    """Admins: move a report's status forward and add a public note (the reporter is told)."""
    return service.change_status(
        current_user(), report_id, changes["status"], changes["public_note"]
    )
