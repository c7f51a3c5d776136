"""The caller of the current request: the only place that reads the Authorization header."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import current_app, request

from backend.auth import policy, service
from backend.auth.models import User
from backend.errors import TooManyRequests, Unauthorized
from backend.extensions import app_object, request_object


def _bearer_token(req: Any) -> str | None:
    header = req.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "use 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def current_identity() -> service.Identity:
    """The verified claims of the caller's bearer token, without a database look-up; raises
    Unauthorized (no token, or a bad one). For hot paths that resolve the person in the same
    statement as what they act on (and then refuse a disabled account themselves)."""
    identity = _identity()
    if identity is None:
        raise _sign_in_first()
    return identity


def _sign_in_first() -> Unauthorized:
    return Unauthorized(
        "sign in first: send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _identity() -> service.Identity | None:
    """Verified claims, or None without a token; a bad token raises Unauthorized (and counts
    towards the sign-in failure limit). Cached on the request."""
    req = request_object()  # one proxy look-up
    environ = req.environ
    if "safehaven.identity" in environ:
        return environ["safehaven.identity"]  # type: ignore[no-any-return]
    token = _bearer_token(req)
    identity = None
    if token is not None:
        settings = app_object().config["SAFEHAVEN_SETTINGS"]
        try:
            identity = service.verify_token(
                token,
                mode=settings.auth_mode,
                secret=settings.secret_key,
                project_id=settings.firebase_project_id,
                revocation_check_s=settings.firebase_revocation_check_s,
            )
        except Unauthorized:
            _count_failure_or_refuse()
            raise
    environ["safehaven.identity"] = identity
    return identity


def optional_user() -> User | None:
    """The signed-in caller, or None without a token; a bad token raises Unauthorized."""
    # Cached on the request itself: an app context (and its ``g``) can outlive one request.
    if "safehaven.user" in request.environ:
        return request.environ["safehaven.user"]
    identity = _identity()
    user = service.user_for_identity(identity) if identity is not None else None
    request.environ["safehaven.user"] = user
    return user


# Sign-in guard: a peer presenting bad tokens beyond the limit gets 429 with Retry-After
# (counted per keyed hash of the address in the limiter's storage). A valid token is never
# refused: many residents share one carrier-NAT address, and an SOS must not be blocked by a
# stranger's failures. Signed tokens cannot be guessed anyway; this bounds abuse.
DEFAULT_AUTH_FAILURE_LIMIT = "20/minute;100/hour"


def _failure_limits():  # type: ignore[no-untyped-def]
    from limits import parse_many

    return parse_many(
        str(current_app.config.get("AUTH_FAILURE_RATE_LIMIT") or DEFAULT_AUTH_FAILURE_LIMIT)
    )


def _failure_key() -> str:
    secret = str(current_app.config.get("SECRET_KEY", "")).encode()
    address = (request.remote_addr or "unknown").encode()
    return "authfail:" + hmac.new(secret, address, hashlib.sha256).hexdigest()[:24]


def _count_failure_or_refuse() -> None:
    """Count a failed sign-in; raises TooManyRequests once the peer is over the limit."""
    from backend.extensions import limiter

    if not limiter.enabled:
        return
    key = _failure_key()
    for item in _failure_limits():
        if not limiter.limiter.hit(item, key):
            reset_at, _ = limiter.limiter.get_window_stats(item, key)
            retry = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                "too many failed sign-in attempts; try again later",
                headers={"Retry-After": str(retry)},
            )


def current_user() -> User:
    """The signed-in caller; raises Unauthorized (401 with ``WWW-Authenticate``)."""
    user = optional_user()
    if user is None:
        raise _sign_in_first()
    return user


def rate_limit_key() -> str:
    """Per-user key for rate limits when signed in, per-IP otherwise."""
    try:
        user = optional_user()
    except Unauthorized:
        user = None
    return f"user:{user.id}" if user else f"ip:{request.remote_addr or 'unknown'}"


def _document_token_required(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """Say in the OpenAPI document that this operation needs the bearer token (the default
    there is an optional token) and may answer 401/403."""
    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    for code in ("401", "403"):
        responses.setdefault(code, "DEFAULT_ERROR")
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Route decorator: 401 unless signed in (the view reads :func:`current_user`)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_user()
        return view(*args, **kwargs)

    return _document_token_required(wrapper)


def identity_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Route decorator: 401 unless the bearer token verifies; the view reads
    :func:`current_identity` and its service resolves (and checks) the person itself."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_identity()
        return view(*args, **kwargs)

    return _document_token_required(wrapper)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Route decorator: 401 unless signed in, 403 unless admin."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        policy.require_admin(current_user())
        return view(*args, **kwargs)

    return _document_token_required(wrapper)
