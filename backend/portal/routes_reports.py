"""Portal pages for concern reports (admins): triage with filters and public notes, and the
weekly hotspots by ward and category with the ward map and the CSV export."""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for

from backend.areas.service import list_wards
from backend.db import utcnow
from backend.errors import Conflict, ValidationError
from backend.portal import policy, service
from backend.portal.routes import bp
from backend.reports.categories import CATEGORIES
from shared_schemas.reports import REPORT_STATUSES


def _filters() -> service.ReportFilters:
    return service.ReportFilters(
        **{
            name: (request.args.get(name) or "").strip()[:40]
            for name in ("category", "ward", "status", "date_from", "date_to")
        }
    )


@bp.get("/reports")
def reports():  # type: ignore[no-untyped-def]
    """Admins: concern reports, filtered by category, ward, status and date."""
    filters = _filters()
    rows = service.triage_reports(g.portal_user, filters)
    return render_template(
        "portal/reports.html",
        rows=rows,
        filters=filters,
        categories=CATEGORIES,
        statuses=REPORT_STATUSES,
        wards=list_wards(),
        ward_names={w.code: w.name for w in list_wards()},
    )


@bp.get("/reports/<int:report_id>")
def report(report_id: int):  # type: ignore[no-untyped-def]
    """Admins: one report, its updates and the status form."""
    found = service.report_for_admin(g.portal_user, report_id)
    return render_template(
        "portal/report.html",
        report=found,
        statuses=REPORT_STATUSES,
        errors={},
        ward_names={w.code: w.name for w in list_wards()},
    )


@bp.post("/reports/<int:report_id>/status")
def report_status(report_id: int):  # type: ignore[no-untyped-def]
    """Admins: move the report on and/or add a public note the reporter sees."""
    try:
        service.triage(
            g.portal_user,
            report_id,
            request.form.get("status", ""),
            request.form.get("public_note", ""),
            utcnow(),
        )
    except (ValidationError, Conflict) as exc:
        found = service.report_for_admin(g.portal_user, report_id)
        return (
            render_template(
                "portal/report.html",
                report=found,
                statuses=REPORT_STATUSES,
                errors=exc.errors or {"status": [exc.message]},
                ward_names={w.code: w.name for w in list_wards()},
            ),
            exc.http_status,
        )
    return redirect(url_for("portal.report", report_id=report_id, saved=1), code=303)


@bp.get("/hotspots")
def hotspots():  # type: ignore[no-untyped-def]
    """Admins: this week against last week by ward and category, on the ward map."""
    policy.require_admin(g.portal_user)
    week_ending = (request.args.get("week_ending") or "").strip()
    category = (request.args.get("category") or "").strip()
    summary = service.hotspot_summary(g.portal_user, week_ending, category, utcnow())
    return render_template(
        "portal/hotspots.html",
        summary=summary,
        week_ending=week_ending,
        category=category,
        categories=CATEGORIES,
        category_names={c.code: c.name for c in CATEGORIES},
        ward_map=service.ward_map(),
    )


@bp.get("/hotspots.csv")
def hotspots_csv():  # type: ignore[no-untyped-def]
    """Admins: the hotspot cells as CSV."""
    policy.require_admin(g.portal_user)
    summary = service.hotspot_summary(
        g.portal_user,
        (request.args.get("week_ending") or "").strip(),
        (request.args.get("category") or "").strip(),
        utcnow(),
    )
    return Response(
        summary["csv"],
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="hotspots.csv"'},
    )
