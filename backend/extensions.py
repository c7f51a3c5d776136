"""Flask extensions, created unbound here and bound in the app factory."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from backend.db import Base


def _client_address() -> str:
    """The peer address used for per-IP rate limits (ProxyFix sets it behind a proxy)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
limiter = Limiter(key_func=_client_address, default_limits=[])


def make_api() -> Api:
    """A flask-smorest Api per app: its OpenAPI spec is per application."""
    return Api()
