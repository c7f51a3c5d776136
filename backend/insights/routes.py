"""Insight for the partnership: ward hotspots as JSON, CSV and a choropleth map."""

from __future__ import annotations

from flask import Response, current_app

from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required
from backend.insights import service
from backend.insights.schemas import HotspotQuerySchema, HotspotsSchema

blp = Blueprint(
    "insights", __name__, url_prefix="/api/v1/insights", description="Anonymised insight"
)


def _hotspots(args):  # type: ignore[no-untyped-def]
    return service.hotspots(
        current_user(),
        args["from_"],
        args["to"],
        by=args["by"],
        category=args["category"],
        min_count=int(current_app.config.get("HOTSPOT_MIN_COUNT", service.DEFAULT_MIN_COUNT)),
    )


@blp.get("/hotspots")
@login_required
@blp.arguments(HotspotQuerySchema, location="query")
@blp.response(200, HotspotsSchema)
def hotspots(args):
    """Reports per ward and category, this period against the previous one, ranked
    (default: the last 7 days; small cells suppressed unless you are an admin)."""
    return _hotspots(args)


@blp.get("/hotspots.csv")
@login_required
@blp.arguments(HotspotQuerySchema, location="query")
@blp.response(200, content_type="text/csv")
def hotspots_csv(args):
    """The hotspot table as CSV."""
    body = service.to_csv(_hotspots(args))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="hotspots.csv"'},
    )


@blp.get("/hotspots.svg")
@login_required
@blp.arguments(HotspotQuerySchema, location="query")
@blp.response(200, content_type="image/svg+xml")
def hotspots_svg(args):
    """A ward choropleth of this period's reports (SVG)."""
    return Response(service.choropleth(_hotspots(args), "svg"), mimetype="image/svg+xml")


@blp.get("/hotspots.png")
@login_required
@blp.arguments(HotspotQuerySchema, location="query")
@blp.response(200, content_type="image/png")
def hotspots_png(args):
    """A ward choropleth of this period's reports (PNG)."""
    return Response(service.choropleth(_hotspots(args), "png"), mimetype="image/png")
