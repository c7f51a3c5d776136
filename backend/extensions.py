"""Flask extensions, created unbound here and bound in the app factory."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, Request, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from werkzeug.local import LocalProxy

from backend.db import Base


def _client_address() -> str:
    """The peer address used for per-IP rate limits (ProxyFix sets it behind a proxy)."""
    return request.remote_addr or "unknown"


def app_object() -> Flask:
    """The application behind Flask's ``current_app`` proxy: one look-up through the proxy
    instead of one per attribute on hot paths. (Flask types the proxy as ``Flask``; it is a
    werkzeug ``LocalProxy``.)"""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def request_object() -> Request:
    """The request behind Flask's ``request`` proxy (see :func:`app_object`)."""
    return cast("LocalProxy[Request]", request)._get_current_object()


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
limiter = Limiter(key_func=_client_address, default_limits=[])


def make_api() -> Api:
    """A flask-smorest Api per app: its OpenAPI spec is per application."""
    return Api()


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, exactly, but the signer (built per request by Flask) is
    built only for a request that carries the session cookie, and an untouched empty session
    is not saved: the API never sends one, yet paid for both on every request."""

    def open_session(self, app: Any, request: Any) -> Any:
        # No Cookie header means no cookies: not even the (empty) cookie dict is parsed.
        if app.secret_key and (
            not request.environ.get("HTTP_COOKIE")
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Any, session: Any, response: Any) -> None:
        if not session and not session.modified and not session.accessed:
            return  # what Flask's own save_session does in this case, without its look-ups
        super().save_session(app, session, response)
