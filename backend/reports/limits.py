"""Rate-limit keys and limits for report intake (app and Open311).

Keys carry a keyed hash of the peer address, never the address itself, so the limiter's
storage (Redis when ``REDIS_URL`` is set) holds no IP either."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from backend.auth.current import optional_user
from backend.errors import Unauthorized

DEFAULT_LIMITS = {
    "REPORTS_RATE_LIMIT_USER": "20/hour;5/minute",
    "REPORTS_RATE_LIMIT_IP": "60/hour;10/minute",
    "OPEN311_RATE_LIMIT_KEY": "600/hour;60/minute",
    "OPEN311_RATE_LIMIT_IP": "600/hour;60/minute",
}


def configured(name: str):  # type: ignore[no-untyped-def]
    """A callable limit read from the app config at request time (tests can lower it)."""

    def value() -> str:
        return str(current_app.config.get(name) or DEFAULT_LIMITS[name])

    return value


def hashed_ip() -> str:
    """``ip:<keyed hash>`` of the peer address."""
    secret = str(current_app.config.get("SECRET_KEY", "")).encode()
    address = (request.remote_addr or "unknown").encode()
    return "ip:" + hmac.new(secret, address, hashlib.sha256).hexdigest()[:24]


def user_or_hashed_ip() -> str:
    """``user:<id>`` for a signed-in caller, else the hashed peer address."""
    try:
        user = optional_user()
    except Unauthorized:
        user = None
    return f"user:{user.id}" if user is not None else hashed_ip()


def open311_key() -> str:
    """The sending Open311 client, by a hash of its ``api_key`` (or the hashed peer address)."""
    key = request.form.get("api_key") or request.args.get("api_key")
    if not key:
        return hashed_ip()
    return "o311:" + hashlib.sha256(key.encode()).hexdigest()[:24]
