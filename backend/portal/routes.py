"""Portal pages (HTML, server-rendered): sign-in, home and the admin users page; the domain
pages (venues, coverage, reports, hotspots, surveys) live in ``pages_*`` modules on this
blueprint. Every POST carries a CSRF token; every page checks the role."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from backend.auth.seed import DEMO_USERS
from backend.db import utcnow
from backend.errors import AppError, Forbidden, Unauthorized, ValidationError
from backend.portal import policy, service
from shared_schemas.enums import ROLES

bp = Blueprint(
    "portal",
    __name__,
    url_prefix="/portal",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

SESSION_COOKIE = "safehaven_portal"
PRE_COOKIE = "safehaven_portal_pre"
CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = {
    "portal.sign_in",
    "portal.sign_in_dev",
    "portal.sign_in_firebase",
    "portal.static",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _settings():  # type: ignore[no-untyped-def]
    return current_app.config["SAFEHAVEN_SETTINGS"]


def _cookie_secure() -> bool:
    configured = current_app.config.get("PORTAL_COOKIE_SECURE")
    if configured is not None:
        return bool(configured)
    return _settings().env != "development"


def _binding() -> str | None:
    """What this browser's CSRF token is tied to: its session, or its pre-sign-in nonce."""
    return request.cookies.get(SESSION_COOKIE) if g.get("portal_user") else g.get("portal_pre")


@bp.before_request
def _load_user_and_check_csrf():  # type: ignore[no-untyped-def]
    g.portal_user = service.user_for_session(request.cookies.get(SESSION_COOKIE))
    g.portal_pre = request.cookies.get(PRE_COOKIE)
    g.portal_new_pre = None
    if not g.portal_pre or len(g.portal_pre) > 100:
        g.portal_pre = g.portal_new_pre = secrets.token_urlsafe(24)
    if request.method in UNSAFE_METHODS:
        sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        if not service.csrf_matches(current_app.config["SECRET_KEY"], _binding(), sent):
            raise AppError(
                "This form has expired or did not come from this site. Go back, reload the "
                "page and try again.",
                errors={CSRF_FIELD: ["missing or wrong CSRF token"]},
            )
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.portal_user is None:
        if request.method == "GET":
            return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
        raise Unauthorized("Sign in to use the portal.")
    service.require_portal(g.portal_user)
    return None


@bp.after_request
def _security_headers(response):  # type: ignore[no-untyped-def]
    connect = ["'self'"]
    settings = _settings()
    if settings.auth_mode == "firebase":
        connect.append(_firebase_origin())
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {' '.join(connect)}; font-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "geolocation=(), camera=(), microphone=()"
    if request.endpoint != "portal.static":
        response.headers["Cache-Control"] = "no-store"
    if g.get("portal_new_pre"):
        response.set_cookie(
            PRE_COOKIE,
            g.portal_new_pre,
            httponly=True,
            samesite="Lax",
            secure=_cookie_secure(),
            path="/portal",
        )
    return response


@bp.app_template_global()
def csrf_token() -> str:
    """The hidden-field value every portal form carries."""
    return service.csrf_token(current_app.config["SECRET_KEY"], _binding() or "")


@bp.app_template_global()
def portal_has(endpoint: str) -> bool:
    """Whether a page exists (domain pages appear as their services land)."""
    return endpoint in current_app.view_functions


@bp.app_template_global()
def nav_current(endpoint: str) -> Markup:
    """``aria-current`` for a navigation link: "page" on its own page, "true" on a page
    within its section (a report within Reports)."""
    here = request.endpoint or ""
    if here == endpoint:
        return Markup(' aria-current="page"')
    if here.startswith(endpoint.removesuffix("s")):
        return Markup(' aria-current="true"')
    return Markup("")


def _error_page(status: int, title: str, message: str, errors: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    wants_json = request.accept_mimetypes.best == "application/json"
    if wants_json:
        from backend.errors import error_response

        return error_response(status, message, errors)
    return (
        render_template(
            "portal/error.html", status=status, title=title, message=message, errors=errors or {}
        ),
        status,
    )


@bp.errorhandler(AppError)
def _app_error(exc: AppError):  # type: ignore[no-untyped-def]
    titles = {
        400: "Request refused",
        401: "Please sign in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Please check the form",
    }
    return _error_page(
        exc.http_status, titles.get(exc.http_status, "Error"), exc.message, exc.errors
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    return _error_page(exc.code or 500, exc.name, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
    import logging

    from sqlalchemy.exc import OperationalError

    from backend.extensions import db

    db.session.rollback()
    if isinstance(exc, OperationalError):
        return _error_page(503, "Try again shortly", "The database is busy or unavailable.")
    logging.getLogger(__name__).exception("portal page failed")
    return _error_page(500, "Something went wrong", "Something went wrong on our side; try again.")


def _safe_next(target: str | None) -> str:
    """Only same-site portal paths (no open redirect)."""
    if not target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/portal") or "\\" in target:
        return url_for("portal.home")
    return target


def _start(user) -> Any:  # type: ignore[no-untyped-def]
    token = service.start_session(user)
    response = redirect(_safe_next(request.form.get("next")), code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=_cookie_secure(),
        path="/portal",
    )
    return response


def _firebase_origin() -> str:
    host = _settings().firebase_emulator_host
    return f"http://{host}" if host else "https://identitytoolkit.googleapis.com"


@bp.get("/sign-in")
def sign_in():  # type: ignore[no-untyped-def]
    """The sign-in page: Firebase sign-in, or the demo users in development."""
    settings = _settings()
    if g.portal_user is not None and g.portal_user.role in policy.PORTAL_ROLES:
        return redirect(_safe_next(request.args.get("next")))
    users = service.dev_sign_in_users(list(DEMO_USERS)) if settings.auth_mode == "dev" else []
    return render_template(
        "portal/sign_in.html",
        mode=settings.auth_mode,
        users=users,
        next=request.args.get("next", ""),
        firebase_api_key=current_app.config.get("FIREBASE_WEB_API_KEY") or "",
        firebase_origin=_firebase_origin(),
    )


@bp.post("/sign-in/dev")
def sign_in_dev():  # type: ignore[no-untyped-def]
    """Development sign-in as a listed demo user (refused unless dev auth)."""
    if _settings().auth_mode != "dev":
        raise Forbidden("Development sign-in is switched off on this server.")
    return _start(service.sign_in_dev(request.form.get("uid", "")))


@bp.post("/sign-in/firebase")
def sign_in_firebase():  # type: ignore[no-untyped-def]
    """Exchange a Firebase ID token (from the sign-in page's script) for a portal session."""
    from backend.auth.service import user_for_identity, verify_token

    settings = _settings()
    token = request.form.get("id_token", "")
    if not token:
        raise ValidationError("Sign in first.", errors={"id_token": ["required"]})
    identity = verify_token(
        token,
        mode=settings.auth_mode,
        secret=settings.secret_key,
        project_id=settings.firebase_project_id,
        revocation_check_s=0,  # a new session: the account is always looked up
    )
    return _start(user_for_identity(identity))


@bp.post("/sign-out")
def sign_out():  # type: ignore[no-untyped-def]
    """End this browser's session."""
    service.end_session(request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("portal.sign_in"), code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/portal", secure=_cookie_secure(), httponly=True, samesite="Lax"
    )
    return response


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """What this person can do here."""
    return render_template("portal/home.html")


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    """Admins: everyone who has signed in, with their role."""
    role = request.args.get("role") or None
    if role and role not in ROLES:
        raise ValidationError("Unknown role.", errors={"role": [f"one of {', '.join(ROLES)}"]})
    query = (request.args.get("q") or "").strip() or None
    rows = service.list_users_for_admin(g.portal_user, role, query)
    return render_template(
        "portal/users.html", users=rows, role=role or "", q=query or "", roles=ROLES
    )


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):  # type: ignore[no-untyped-def]
    """Admins: grant or remove the venue_staff and admin roles."""
    settings = _settings()
    user = service.change_role(
        g.portal_user,
        user_id,
        request.form.get("role", ""),
        mode=settings.auth_mode,
        project_id=settings.firebase_project_id,
    )
    return redirect(url_for("portal.users", changed=user.uid), code=303)


@bp.get("/opening-hours/check")
def check_hours():  # type: ignore[no-untyped-def]
    """Live check of the opening hours (JSON, for the page's script): ``value`` alone (the
    OSM string), or the whole hours part of the venue form (editor rows, phrase or OSM
    string by ``hours_source``); answers the OSM string and the week in words."""
    if "hours_source" in request.args:
        expression, _shown, errors = service.read_hours(request.args)
    else:
        expression, errors = request.args.get("value", ""), {}
    if errors:
        first = next(iter(errors.values()))[0]
        return jsonify(valid=False, summary=first, error=None, errors=errors, osm=None)
    preview = service.hours_preview(expression, utcnow())
    return jsonify(
        valid=preview.valid,
        summary=preview.summary,
        error=preview.error,
        normalized=preview.normalized,
        words=preview.words,
        osm=expression,
        errors={},
    )


@bp.app_template_filter("uk_date")
def uk_date(value: Any) -> str:
    """A date as dd/mm/yyyy (text passes through, so a mistyped value is shown again)."""
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, str):
        try:  # an ISO date from a link or an older bookmark
            value = date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value.strftime("%d/%m/%Y") if hasattr(value, "strftime") else str(value)


@bp.app_template_filter("local_time")
def local_time(value: Any, fmt: str = "%a %d/%m/%Y %H:%M") -> str:
    """A UTC datetime shown in Europe/London, UK style: dd/mm/yyyy and the 24-hour clock."""
    if value is None:
        return "-"
    return value.astimezone(service.LONDON).strftime(fmt)


# Domain pages live beside this module and register on ``bp``; each needs its domain's service.
DOMAIN_PAGES = {
    "backend.venues": "backend.portal.routes_venues",
    "backend.reports": "backend.portal.routes_reports",
    "backend.surveys": "backend.portal.routes_surveys",
}


def _register_domain_pages() -> None:
    import importlib
    from importlib.util import find_spec

    for domain, pages in DOMAIN_PAGES.items():
        if find_spec(domain) is not None and find_spec(pages) is not None:
            importlib.import_module(pages)


_register_domain_pages()
