"""One error shape for every failure: ``{code, status, message, errors}``.

Services raise the typed :class:`AppError` subclasses below; the handlers turn them,
werkzeug's HTTP errors, webargs validation errors and database outages into that shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """A domain error with an HTTP status; ``errors`` names the offending fields."""

    http_status = 400
    default_message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.errors = dict(errors or {})
        self.headers = headers or {}
        # A stable reason a client can branch on, kept inside the one shape as
        # ``errors["code"] == [reason]`` (e.g. ``no_trusted_contacts``, ``no_recipients``).
        self.error = error
        if error:
            self.errors["code"] = [error]


class BadRequest(AppError):
    http_status = 400
    default_message = "Bad request"


class Unauthorized(AppError):
    http_status = 401
    default_message = "Authentication required"


class Forbidden(AppError):
    http_status = 403
    default_message = "You are not allowed to do this"


class NotFound(AppError):
    http_status = 404
    default_message = "Not found"


class Conflict(AppError):
    http_status = 409
    default_message = "Conflict with the current state"


class Gone(AppError):
    http_status = 410
    default_message = "No longer available"


class ValidationError(AppError):
    http_status = 422
    default_message = "Invalid input"


class TooManyRequests(AppError):
    http_status = 429
    default_message = "Too many requests"


class ServiceUnavailable(AppError):
    http_status = 503
    default_message = "Service temporarily unavailable"


def field_error(field: str, message: str, cls: type[AppError] = ValidationError) -> AppError:
    """A validation error that names one field: ``errors={field: [message]}``."""
    return cls(f"{field}: {message}", errors={field: [message]})


def error_body(
    code: int, message: str | None = None, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The shared error payload for an HTTP status."""
    status = HTTPStatus(code)
    return {
        "code": code,
        "status": status.phrase,
        "message": message or status.description or status.phrase,
        "errors": errors or {},
    }


def error_response(
    code: int, message: str | None = None, errors: dict[str, Any] | None = None, headers=None
):  # type: ignore[no-untyped-def]
    """A JSON response carrying the shared error payload."""
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_messages(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location (``{"json": {...}}``); keep field names at the top."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    if set(messages) <= {
        "json",
        "query",
        "form",
        "files",
        "headers",
        "path",
        "view_args",
        "cookies",
        "json_or_form",
    }:
        merged: dict[str, Any] = {}
        for value in messages.values():
            merged.update(value if isinstance(value, dict) else {"_schema": value})
        return merged
    return messages


def _summary(errors: dict[str, Any]) -> str:
    parts = []
    for field, problems in list(errors.items())[:3]:
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):
            first = "invalid"
        parts.append(f"{field}: {first}")
    return "; ".join(parts) if parts else "Invalid input"


def _discard_session() -> None:
    """Drop the request's session even when its connection is dead: rolling back on a
    connection the server terminated raises again (seen in a PostgreSQL restart under load,
    where it escaped the request teardown as an unhandled error)."""
    from backend.extensions import db

    try:
        db.session.remove()
    except (DBAPIError, PoolTimeout) as exc:
        log.warning("discarding a session on a dead connection: %s", exc.__class__.__name__)
        db.session.registry.clear()


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; called by the factory after flask-smorest's own."""

    # Runs before Flask-SQLAlchemy's own teardown (registered earlier, so called later).
    app.teardown_appcontext(lambda exc: _discard_session())

    @app.errorhandler(AppError)
    def _app_error(exc: AppError):  # type: ignore[no-untyped-def]
        return error_response(exc.http_status, exc.message, exc.errors, exc.headers)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
        response = error_response(429, f"Too many requests: limit {exc.description}")
        retry_after = exc.retry_after if hasattr(exc, "retry_after") else None
        response.headers["Retry-After"] = str(retry_after or 60)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        data = getattr(exc, "data", None) or {}
        errors = data.get("errors") or {}
        message = data.get("message") or exc.description
        if "messages" in data:
            errors = _flatten_messages(data["messages"])
            message = _summary(errors)
        if code == 413:
            message = "Request body too large"
        headers = dict(data.get("headers") or {})
        if code == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        return error_response(code, message, errors, headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)  # every pooled connection busy: overload, not a bug
    def _database_down(exc: Exception):  # type: ignore[no-untyped-def]
        _discard_session()
        if (
            isinstance(exc, DBAPIError)
            and not exc.connection_invalidated
            and not isinstance(exc, OperationalError)
        ):
            log.exception("database error")
            return error_response(500, "Internal error")
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return error_response(
            503, "Database temporarily unavailable, try again shortly", headers={"Retry-After": "5"}
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        return error_response(500, "Internal error")
