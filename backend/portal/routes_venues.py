"""Portal pages for safe places: venue staff register and maintain their venues; admins
verify them, work the re-check list and watch night-time coverage by ward."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from backend.db import utcnow
from backend.errors import Conflict, ValidationError
from backend.portal import service
from backend.portal.routes import bp
from shared_schemas.venues import ACTIONS, CATEGORIES, SCHEMES, STATUSES

SCHEME_LABELS = {
    "umay_safe_place": "UMay safe place",
    "ask_for_angela": "Ask for Angela",
    "safe_places": "Safe Places",
    "safe_haven": "Safe Haven",
}


def _form_page(template_form, venue=None, status: int = 200):  # type: ignore[no-untyped-def]
    values = template_form.values
    if "hours_rows" not in values:
        values["hours_rows"], values["hours_source"] = service.hours_editor_rows(
            str(values.get("opening_hours") or "")
        )
    lat, lon = values.get("lat"), values.get("lon")
    marker = None
    ward_map = service.ward_map()
    if isinstance(lat, float) and isinstance(lon, float):
        marker = ward_map.project(lat, lon)
    preview = (
        service.hours_preview(str(values.get("opening_hours") or ""), utcnow())
        if values.get("opening_hours")
        else None
    )
    return (
        render_template(
            "portal/venue_form.html",
            form=values,
            errors=template_form.errors,
            venue=venue,
            categories=CATEGORIES,
            schemes=SCHEMES,
            scheme_labels=SCHEME_LABELS,
            ward_map=ward_map,
            marker=marker,
            preview=preview,
            hours_days=service.HOURS_DAY_NAMES,
        ),
        status,
    )


@bp.get("/venues")
def venues():  # type: ignore[no-untyped-def]
    """Venue staff: their venues. Admins: every venue, filtered."""
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        raise ValidationError("Unknown status.", errors={"status": [", ".join(STATUSES)]})
    rows = service.list_venues(
        g.portal_user,
        utcnow(),
        status=status,
        ward=request.args.get("ward") or None,
        query=request.args.get("q") or None,
    )
    from backend.areas.service import list_wards

    return render_template(
        "portal/venues.html",
        rows=rows,
        statuses=STATUSES,
        wards=list_wards(),
        status=status or "",
        ward=request.args.get("ward", ""),
        q=request.args.get("q", ""),
    )


@bp.get("/venues/new")
def venue_new():  # type: ignore[no-untyped-def]
    """The registration form."""
    return _form_page(service.VenueForm({"schemes": [], "category": "pub_or_bar"}, {}))


@bp.post("/venues/new")
def venue_create():  # type: ignore[no-untyped-def]
    """Register a venue (pending until the partnership verifies it); "Find on map" only
    places the postcode on the map."""
    locate = request.form.get("action") == "locate"
    form = service.read_venue_form(request.form, locate=locate)
    if locate:
        return _form_page(form, status=422 if form.errors else 200)
    try:
        venue = service.save_venue(g.portal_user, form)
    except (ValidationError, Conflict) as exc:
        form.errors.update(exc.errors or {"name": [exc.message]})
        return _form_page(form, status=exc.http_status)
    return redirect(url_for("portal.venue", venue_id=venue.id, saved="registered"), code=303)


def _venue_page(venue_id: int, errors=None, form=None, status: int = 200):  # type: ignore[no-untyped-def]
    """The venue page; after a failed form, with its errors and what was typed."""
    now = utcnow()
    found = service.venue_for_page(g.portal_user, venue_id)
    ward_map = service.ward_map()
    return (
        render_template(
            "portal/venue.html",
            row=service.venue_row(found, now),
            history=service.venue_history(g.portal_user, venue_id),
            ward_map=ward_map,
            marker=ward_map.project(found.lat, found.lon),
            scheme_labels=SCHEME_LABELS,
            actions=ACTIONS,
            errors=errors or {},
            form=form or {},
            failed=venue_id if errors else None,
            checklist=service.VERIFY_CHECKLIST,
            verify_labels=service.VERIFY_LABELS,
        ),
        status,
    )


@bp.get("/venues/<int:venue_id>")
def venue(venue_id: int):  # type: ignore[no-untyped-def]
    """One venue: its details, verification state, next check, availability and history."""
    return _venue_page(venue_id)


@bp.get("/venues/<int:venue_id>/edit")
def venue_edit(venue_id: int):  # type: ignore[no-untyped-def]
    """The edit form, filled in."""
    found = service.venue_for_page(g.portal_user, venue_id)
    values = {
        name: getattr(found, name)
        for name in (*service.VENUE_TEXT_FIELDS, "lat", "lon", "staff_trained_until")
    }
    values["schemes"] = list(found.schemes or [])
    return _form_page(service.VenueForm(values, {}), venue=found)


@bp.post("/venues/<int:venue_id>/edit")
def venue_update(venue_id: int):  # type: ignore[no-untyped-def]
    """Save changes to a venue (its own staff or an admin)."""
    found = service.venue_for_page(g.portal_user, venue_id)
    locate = request.form.get("action") == "locate"
    form = service.read_venue_form(request.form, locate=locate)
    if locate:
        return _form_page(form, venue=found, status=422 if form.errors else 200)
    was = found.status
    try:
        venue = service.save_venue(g.portal_user, form, venue_id)
    except (ValidationError, Conflict) as exc:
        form.errors.update(exc.errors or {"name": [exc.message]})
        return _form_page(form, venue=found, status=exc.http_status)
    saved = "review" if venue.status != was else "updated"
    return redirect(url_for("portal.venue", venue_id=venue_id, saved=saved), code=303)


@bp.post("/venues/<int:venue_id>/unavailable")
def venue_unavailable(venue_id: int):  # type: ignore[no-untyped-def]
    """Temporarily unavailable until a day and time, or available again now."""
    if request.form.get("action") == "clear":
        service.clear_unavailable(g.portal_user, venue_id, utcnow())
        return redirect(url_for("portal.venue", venue_id=venue_id, saved="available"), code=303)
    try:
        service.set_unavailable(
            g.portal_user,
            venue_id,
            request.form.get("until_date", ""),
            request.form.get("until_time", ""),
            request.form.get("reason", ""),
            utcnow(),
        )
    except ValidationError as exc:
        return _venue_page(venue_id, exc.errors or {"until_date": [exc.message]}, request.form, 422)
    return redirect(url_for("portal.venue", venue_id=venue_id, saved="unavailable"), code=303)


@bp.post("/venues/<int:venue_id>/verification")
def venue_verify(venue_id: int):  # type: ignore[no-untyped-def]
    """Admins: approve, reject or suspend, with a note."""
    action = request.form.get("action", "")
    from_queue = request.form.get("back") == "queue"
    try:
        service.verify_venue(
            g.portal_user,
            venue_id,
            action,
            request.form.get("note", ""),
            request.form.get("staff_trained_until", ""),
            utcnow(),
            {key: request.form.get(key) == "on" for key, _label in service.VERIFY_CHECKLIST},
        )
    except ValidationError as exc:
        errors = exc.errors or {"note": [exc.message]}
        if from_queue:
            return _verification_page(errors, request.form, venue_id, 422)
        return _venue_page(venue_id, errors, request.form, 422)
    if from_queue:
        return redirect(url_for("portal.verification", done=action), code=303)
    return redirect(url_for("portal.venue", venue_id=venue_id, saved=action), code=303)


def _verification_page(errors=None, form=None, failed=None, status: int = 200):  # type: ignore[no-untyped-def]
    queue = service.verification_queue(g.portal_user, utcnow())
    return (
        render_template(
            "portal/verification.html",
            queue=queue,
            ward_map=service.ward_map(),
            checklist=service.VERIFY_CHECKLIST,
            verify_labels=service.VERIFY_LABELS,
            errors=errors or {},
            form=form or {},
            failed=failed,
        ),
        status,
    )


@bp.get("/verification")
def verification():  # type: ignore[no-untyped-def]
    """Admins: the verification queue and the venues due for re-check."""
    return _verification_page()


@bp.get("/coverage")
def coverage():  # type: ignore[no-untyped-def]
    """Admins: wards with no verified safe place open late on Friday and Saturday nights."""
    raw = request.args.get("week_of", "").strip()
    moment = request.args.get("moment") or "sat_0200"
    today = utcnow().astimezone(service.LONDON).date()
    keys = [key for key, *_rest in service.NIGHT_MOMENTS]
    errors: dict[str, list[str]] = {}
    try:
        start = service.parse_uk_date(raw, "week_of") if raw else today
    except ValidationError as exc:
        start, errors = today, dict(exc.errors or {})
    if moment not in keys:
        errors["moment"] = [f"choose one of the listed times ({', '.join(keys)})"]
        moment = "sat_0200"
    result = service.night_coverage(g.portal_user, start)
    return render_template(
        "portal/coverage.html",
        result=result,
        moment=moment,
        week_of=raw if errors.get("week_of") else result["friday"],
        errors=errors,
        ward_map=service.ward_map(),
    ), (422 if errors else 200)
