"""Portal pages for concern reports (admins): triage with filters and public notes, and the
weekly hotspots by ward and category with the ward map and the CSV export."""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for

from backend.areas.service import list_wards
from backend.db import utcnow
from backend.errors import Conflict, ValidationError
from backend.portal import policy, service
from backend.portal.routes import bp
from backend.reports.categories import CATEGORIES, URGENT_AFTER_MINUTES
from backend.reports.service import is_overdue
from shared_schemas.reports import REPORT_STATUSES


def _filters() -> service.ReportFilters:
    return service.ReportFilters(
        **{
            name: (request.args.get(name) or "").strip()[:40]
            for name in ("category", "ward", "status", "date_from", "date_to")
        }
    )


def _page() -> int:
    raw = (request.args.get("page") or "1").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 1


@bp.get("/reports")
def reports():  # type: ignore[no-untyped-def]
    """Admins: concern reports in priority order, filtered and paged, on the ward map."""
    filters = _filters()
    errors: dict[str, list[str]] = {}
    try:
        page = service.triage_reports(g.portal_user, filters, _page(), utcnow())
    except ValidationError as exc:
        errors = exc.errors or {}
        page = service.triage_reports(g.portal_user, service.ReportFilters(), 1, utcnow())
    return render_template(
        "portal/reports.html",
        page=page,
        filters=filters,
        errors=errors,
        categories=CATEGORIES,
        statuses=REPORT_STATUSES,
        wards=list_wards(),
        ward_names={w.code: w.name for w in list_wards()},
        ward_map=service.ward_map(),
        urgent_after=URGENT_AFTER_MINUTES,
    ), (422 if errors else 200)


def _report_page(report_id: int, errors=None, form=None, status: int = 200):  # type: ignore[no-untyped-def]
    found = service.report_for_admin(g.portal_user, report_id)
    shapes = service.ward_map()
    return (
        render_template(
            "portal/report.html",
            report=found,
            statuses=[s for s in REPORT_STATUSES if s != "closed"],
            errors=errors or {},
            form=form or {},
            step_words=service.STEP_WORDS,
            ward_names={w.code: w.name for w in list_wards()},
            ward_map=shapes,
            marker=shapes.project(found.lat, found.lon),
            overdue=is_overdue(found, utcnow()),
        ),
        status,
    )


@bp.get("/reports/<int:report_id>")
def report(report_id: int):  # type: ignore[no-untyped-def]
    """Admins: one report, its history, its photos and the update, close and reopen forms."""
    return _report_page(report_id)


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
        return _report_page(
            report_id, exc.errors or {"status": [exc.message]}, request.form, exc.http_status
        )
    return redirect(url_for("portal.report", report_id=report_id, saved=1), code=303)


@bp.post("/reports/<int:report_id>/close")
def report_close(report_id: int):  # type: ignore[no-untyped-def]
    """Admins: close a report with a public note; the first post asks to confirm."""
    note = request.form.get("close_note", "")
    try:
        if request.form.get("confirmed") != "yes":
            found = service.check_close(g.portal_user, report_id, note)
            return render_template("portal/report_close.html", report=found, note=note.strip())
        service.close_report(g.portal_user, report_id, note, utcnow())
    except (ValidationError, Conflict) as exc:
        return _report_page(
            report_id, exc.errors or {"close_note": [exc.message]}, request.form, exc.http_status
        )
    return redirect(url_for("portal.report", report_id=report_id, saved="closed"), code=303)


@bp.post("/reports/<int:report_id>/reopen")
def report_reopen(report_id: int):  # type: ignore[no-untyped-def]
    """Admins: reopen a closed report, saying why (kept in its history)."""
    try:
        service.reopen_report(g.portal_user, report_id, request.form.get("reason", ""), utcnow())
    except (ValidationError, Conflict) as exc:
        return _report_page(
            report_id, exc.errors or {"reason": [exc.message]}, request.form, exc.http_status
        )
    return redirect(url_for("portal.report", report_id=report_id, saved="reopened"), code=303)


@bp.get("/reports/photos/<int:photo_id>")
def report_photo(photo_id: int):  # type: ignore[no-untyped-def]
    """Admins: a report photo (stored without metadata); private unless made public."""
    photo = service.report_photo(g.portal_user, photo_id)
    return Response(
        photo.data,
        mimetype=photo.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@bp.post("/reports/photos/<int:photo_id>/public")
def report_photo_public(photo_id: int):  # type: ignore[no-untyped-def]
    """Admins: make a report photo public (Open311 then shows it) or private again."""
    photo = service.set_photo_public(g.portal_user, photo_id, request.form.get("public") == "yes")
    return redirect(url_for("portal.report", report_id=photo.report_id, saved="photo"), code=303)


@bp.get("/hotspots")
def hotspots():  # type: ignore[no-untyped-def]
    """Admins: this week against last week by ward and category, on the ward map."""
    policy.require_admin(g.portal_user)
    week_ending = (request.args.get("week_ending") or "").strip()
    category = (request.args.get("category") or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        summary = service.hotspot_summary(g.portal_user, week_ending, category, utcnow())
    except ValidationError as exc:
        # The form comes back with what was typed and what is wrong; the map shows this week.
        errors = exc.errors or {"week_ending": [exc.message]}
        summary = service.hotspot_summary(g.portal_user, "", "", utcnow())
    return render_template(
        "portal/hotspots.html",
        summary=summary,
        week_ending=week_ending,
        category=category,
        errors=errors,
        categories=CATEGORIES,
        category_names={c.code: c.name for c in CATEGORIES},
        ward_map=service.ward_map(),
    ), (422 if errors else 200)


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
