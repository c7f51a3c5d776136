"""The caller of the current request: the only place that reads the Authorization header."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, request

from backend.auth import policy, service
from backend.auth.models import User
from backend.errors import Unauthorized


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "use 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def optional_user() -> User | None:
    """The signed-in caller, or None without a token; a bad token raises Unauthorized."""
    # Cached on the request itself: an app context (and its ``g``) can outlive one request.
    if "safehaven.user" in request.environ:
        return request.environ["safehaven.user"]
    token = _bearer_token()
    user = None
    if token is not None:
        settings = current_app.config["SAFEHAVEN_SETTINGS"]
        identity = service.verify_token(
            token,
            mode=settings.auth_mode,
            secret=settings.secret_key,
            project_id=settings.firebase_project_id,
        )
        user = service.user_for_identity(identity)
    request.environ["safehaven.user"] = user
    return user


def current_user() -> User:
    """The signed-in caller; raises Unauthorized (401 with ``WWW-Authenticate``)."""
    user = optional_user()
    if user is None:
        raise Unauthorized(
            "sign in first: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def rate_limit_key() -> str:
    """Per-user key for rate limits when signed in, per-IP otherwise."""
    try:
        user = optional_user()
    except Unauthorized:
        user = None
    return f"user:{user.id}" if user else f"ip:{request.remote_addr or 'unknown'}"


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Route decorator: 401 unless signed in (the view reads :func:`current_user`)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_user()
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Route decorator: 401 unless signed in, 403 unless admin."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        policy.require_admin(current_user())
        return view(*args, **kwargs)

    return wrapper
