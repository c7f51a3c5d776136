"""Concern reports: categories, sending, your reports, blurred nearby reports, triage."""

from __future__ import annotations

from flask import current_app, request

from backend.arguments import Blueprint
from backend.auth.current import admin_required, current_user, login_required, optional_user
from backend.extensions import limiter
from backend.reports import limits, photos, service
from backend.reports.schemas import (
    CategorySchema,
    FollowedReportSchema,
    FollowInSchema,
    NearbyQuerySchema,
    NearbyReportSchema,
    PhotoPublicSchema,
    ReopenSchema,
    ReportInSchema,
    ReportPhotoSchema,
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


@blp.post("/follow")
@blp.arguments(FollowInSchema)
@blp.response(200, FollowedReportSchema)
def follow(data):
    """Follow an anonymous report with its reference and the receipt kept on the phone."""
    return service.follow_anonymous(data["reference"], data["receipt"])


@blp.post("/<reference>/photos")
@limiter.limit(limits.configured("REPORTS_RATE_LIMIT_IP"), key_func=limits.hashed_ip)
@blp.doc(
    requestBody={
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"photo": {"type": "string", "format": "binary"}},
                    "required": ["photo"],
                }
            }
        }
    },
    parameters=[{"in": "header", "name": "X-Report-Receipt", "schema": {"type": "string"}}],
)
@blp.response(201, ReportPhotoSchema)
def add_photo(reference: str):
    """Add a photo (JPEG, PNG or WebP; up to 3) to your report, or to an anonymous report
    with its receipt in ``X-Report-Receipt``. Metadata such as GPS is removed before storage."""
    limit = int(current_app.config.get("REPORT_PHOTO_MAX_BYTES") or photos.DEFAULT_MAX_BYTES)
    # This one request may carry more than the API's usual body limit (Flask 3.1).
    request.max_content_length = limit + 64 * 1024
    upload = request.files.get("photo")
    return service.add_photo(
        optional_user(),
        reference,
        request.headers.get("X-Report-Receipt"),
        upload.read(limit + 1) if upload else b"",
        max_bytes=limit,
    )


add_photo.accepts_content_types = {"multipart/form-data"}  # type: ignore[attr-defined]


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


@blp.post("/<int:report_id>/reopen")
@admin_required
@blp.arguments(ReopenSchema)
@blp.response(200, ReportSchema)
def reopen(data, report_id: int):
    """Admins: reopen a closed report with a reason (the reporter is told)."""
    return service.reopen(current_user(), report_id, data["reason"])


@blp.patch("/photos/<int:photo_id>")
@admin_required
@blp.arguments(PhotoPublicSchema)
@blp.response(200, ReportPhotoSchema)
def photo_public(data, photo_id: int):
    """Admins: make a report photo public (Open311 then gives its media_url) or private."""
    return service.set_photo_public(current_user(), photo_id, data["public"])
