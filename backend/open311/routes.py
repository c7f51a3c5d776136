"""Open311 GeoReport v2 (with FixMyStreet's ``servicerequestupdates``) under ``/open311/v2``.

Responses are XML or JSON by the path's extension; errors use the spec's format. POST is
form-encoded (or multipart, as FixMyStreet sends photos) and needs an ``api_key`` issued by
``safehaven open311 create-key``; ``jurisdiction_id`` is accepted and not needed (one
jurisdiction)."""

from __future__ import annotations

import math
import re
import time

import click
from flask import Response, current_app, request
from flask.cli import with_appcontext
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from backend.arguments import Blueprint
from backend.errors import AppError, NotFound
from backend.extensions import limiter
from backend.open311 import render, service
from backend.reports import limits
from backend.reports import service as reports_service

blp = Blueprint(
    "open311",
    __name__,
    url_prefix="/open311/v2",
    description="Open311 GeoReport v2 (XML or JSON; FixMyStreet-compatible)",
)
FORMATS = ("xml", "json")
ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,60})\]$")


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt", "json")
    return fmt if fmt in FORMATS else "json"


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"format {fmt[:10]!r} not supported: use .xml or .json")


@blp.errorhandler(AppError)
def _domain_error(exc: AppError):  # type: ignore[no-untyped-def]
    code = exc.http_status if exc.http_status in (400, 403, 404, 429) else 400
    return render.errors(_fmt(), code, exc.message, exc.headers)


@blp.errorhandler(RateLimitExceeded)  # by its code, so the app's own 429 handler is not used
@blp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    if exc.response is not None:  # a rate-limit breach already rendered by _rate_limited
        return exc.response
    return render.errors(_fmt(), exc.code or 400, exc.description or "error")


def _rate_limited(limit):  # type: ignore[no-untyped-def]
    retry = max(1, math.ceil(limit.reset_at - time.time()))
    return render.errors(
        _fmt(), 429, f"too many requests: limit {limit.limit}", {"Retry-After": str(retry)}
    )


def _open311_doc(success: int = 200):  # type: ignore[no-untyped-def]
    """OpenAPI for a GeoReport v2 operation: a JSON or XML document by the path's format, and
    errors in the spec's own list format (not the API's error shape)."""
    any_document = {
        "application/json": {"schema": {}},
        "text/xml": {"schema": {"type": "string"}},
    }
    errors = {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "description"],
                    "properties": {
                        "code": {"type": "integer"},
                        "description": {"type": "string"},
                    },
                },
            }
        },
        "text/xml": {"schema": {"type": "string"}},
    }
    return blp.doc(
        responses={
            str(success): {"description": "GeoReport v2 document", "content": any_document},
            "default": {"description": "GeoReport v2 errors", "content": errors},
        }
    )


@blp.route("/", methods=["GET"], defaults={"fmt": "json"})
@blp.route("/discovery", methods=["GET"], defaults={"fmt": "json"})
@blp.route("/discovery.<fmt>", methods=["GET"])
@_open311_doc()
def discovery(fmt: str):
    """Where the endpoints are and what they speak (also the base URL, which clients such as
    FixMyStreet are configured with)."""
    _check_format(fmt)
    base = request.url_root.rstrip("/") + blp.url_prefix
    body = {
        "changeset": "2026-11-21T00:00:00Z",
        "contact": current_app.config.get("OPEN311_CONTACT", "Wigan Community Safety Partnership"),
        "key_service": "API keys are issued by the partnership (safehaven open311 create-key).",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-21T00:00:00Z",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.document(fmt, "discovery", None, body)


@blp.route("/services.<fmt>", methods=["GET"])
@_open311_doc()
def services(fmt: str):
    """The categories of concern as services."""
    _check_format(fmt)
    return render.document(fmt, "services", "service", service.list_services())


@blp.route("/services/<code>.<fmt>", methods=["GET"])
@_open311_doc()
def service_definition(code: str, fmt: str):
    """The extra attributes a service accepts."""
    _check_format(fmt)
    return render.document(fmt, "service_definition", None, service.service_definition(code))


@blp.route("/requests.<fmt>", methods=["GET"])
@_open311_doc()
def list_requests(fmt: str):
    """Service requests, newest first: without ``api_key`` only those that arrived over
    Open311; with a partner key app reports too (category only). Positions blurred, random
    ids, no names or emails."""
    _check_format(fmt)
    found = service.find_requests(request.args.to_dict(), media_base=_api_root())
    return render.document(fmt, "service_requests", "request", found)


@blp.route("/requests.<fmt>", methods=["POST"])
@limiter.limit(
    limits.configured("OPEN311_RATE_LIMIT_IP"), key_func=limits.hashed_ip, on_breach=_rate_limited
)
@limiter.limit(
    limits.configured("OPEN311_RATE_LIMIT_KEY"),
    key_func=limits.open311_key,
    on_breach=_rate_limited,
)
@_open311_doc(201)
def create_request(fmt: str):
    """Create a service request (form-encoded, as FixMyStreet sends it)."""
    _check_format(fmt)
    form = request.form.to_dict()
    attributes = {}
    for name, value in request.form.items():
        match = ATTRIBUTE.match(name)
        if match:
            attributes[match.group(1)] = value
    result = service.create_request(form, attributes, media_urls=request.form.getlist("media_url"))
    body = [
        {
            "service_request_id": result.report.reference,
            "service_notice": result.notice,
            "account_id": None,
        }
    ]
    return render.document(fmt, "service_requests", "request", body, status=201)


create_request.accepts_content_types = {  # type: ignore[attr-defined]
    "application/x-www-form-urlencoded",
    "multipart/form-data",
}


@blp.route("/requests/<request_id>.<fmt>", methods=["GET"])
@_open311_doc()
def get_request(request_id: str, fmt: str):
    """One service request."""
    _check_format(fmt)
    found = service.get_request(request_id, request.args.get("api_key"), media_base=_api_root())
    return render.document(fmt, "service_requests", "request", [found])


@blp.route("/media/<token>", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "the photo, stored without metadata",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/jpeg", "image/png")
            },
        },
        "default": {"description": "GeoReport v2 errors"},
    }
)
def media(token: str):
    """A report photo that a partnership officer made public (404 for any other)."""
    photo = reports_service.public_photo(token)
    return Response(
        photo.data,
        mimetype=photo.content_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def _api_root() -> str:
    return request.url_root.rstrip("/") + (blp.url_prefix or "")


@blp.route("/servicerequestupdates.<fmt>", methods=["GET"])
@_open311_doc()
def updates(fmt: str):
    """FixMyStreet extension: status changes and public notes since ``start_date``."""
    _check_format(fmt)
    found = service.find_updates(request.args.to_dict())
    return render.document(fmt, "service_requests_updates", "request_update", found)


@blp.cli.command("create-key")
@click.argument("name")
@with_appcontext
def create_key_command(name: str) -> None:
    """Issue an Open311 api_key for NAME (e.g. "FixMyStreet"); shown once, stored hashed."""
    try:
        row, key = service.create_key(name)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Open311 key {row.id} for {row.name}: {key}")
    click.echo("Store it now: only its SHA-256 hash is kept.")
