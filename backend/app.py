"""The application factory: it wires configuration, extensions, blueprints and handlers."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from backend.cli import register_commands
from backend.config import Settings
from backend.db import configure_engines
from backend.errors import register_error_handlers
from backend.extensions import (
    LazyCookieSessionInterface,
    db,
    limiter,
    make_api,
    migrate,
    request_object,
)

# Domains with a ``routes.blp`` flask-smorest blueprint, in registration order.
API_DOMAINS = [
    "appconfig",
    "areas",
    "account",
    "auth",
    "venues",
    "contacts",
    "journeys",
    "sos",
    "alerts",
    "reports",
    "open311",
    "insights",
    "surveys",
]
BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_TYPES = {"application/json"}


class SafeHavenFlask(Flask):
    """Flask, remembering the functions ``ensure_sync`` found to be plain ``def`` functions:
    Flask inspects each hook, the view and flask-smorest's wrappers on every call (seven a
    request, 2% of a fix POST's instructions). Flask documents overriding ``ensure_sync``."""

    PLAIN_FUNCTIONS_KEPT = 4096  # bounded: a function made per request is not kept forever

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Held strongly: a function's id is never reused while it is a key here.
        self._plain_functions: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # unhashable: ask Flask every time
            return super().ensure_sync(func)
        synced = super().ensure_sync(func)
        if synced is func and len(self._plain_functions) < self.PLAIN_FUNCTIONS_KEPT:
            self._plain_functions[func] = True
        return synced


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app from the environment (or ``settings``), overridden by ``config``;
    raises ConfigError when the configuration is unsafe (e.g. dev auth in production)."""
    settings = settings or Settings.from_env()
    settings.check()
    app = SafeHavenFlask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(settings.flask_config())
    if config:
        app.config.update(config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_guards(app)
    register_commands(app)
    return app


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` ids fit the 32-bit integer primary keys: a larger one is a 404, not a
    database overflow (found by fuzzing: PostgreSQL raised NumericValueOutOfRange)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: A002
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_extensions(app: Flask) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = LazyCookieSessionInterface()
    _ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    configure_engines()
    import backend.models  # noqa: F401 - every model must be mapped before use

    migrate.init_app(
        app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True
    )
    limiter.init_app(app)
    api = make_api()
    api.init_app(app)
    app.extensions["safehaven_api"] = api
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "Firebase ID token (or dev token)"},
    )
    # A token is optional by default (public routes, anonymous reports); routes behind
    # login_required/admin_required declare it required (backend.auth.current).
    api.spec.options["security"] = [{}, {"bearerAuth": []}]


def register_blueprints(app: Flask) -> None:
    from backend.docs import bp as docs_bp
    from backend.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(docs_bp)
    from backend.portal.routes import bp as portal_bp  # server-rendered pages under /portal

    app.register_blueprint(portal_bp)
    for domain in API_DOMAINS:
        module = importlib.import_module(f"backend.{domain}.routes")
        app.extensions["safehaven_api"].register_blueprint(module.blp)


def register_request_guards(app: Flask) -> None:
    """415 for a body the endpoint cannot read (JSON APIs take JSON; views that accept
    forms or uploads declare ``accepts_content_types``); NUL characters refused (guards)."""
    from backend import guards

    @app.before_request
    def _require_known_content_type():  # type: ignore[no-untyped-def]
        req = request_object()  # one proxy look-up
        if req.method not in BODY_METHODS or not req.path.startswith("/api/"):
            return None
        if not req.content_length and not req.headers.get("Transfer-Encoding"):
            return None
        view = app.view_functions.get(req.endpoint or "")
        accepted = getattr(view, "accepts_content_types", JSON_TYPES)
        if req.mimetype not in accepted:
            raise UnsupportedMediaType(f"send the body as {' or '.join(sorted(accepted))}")
        return None

    guards.register(app)


def _ensure_sqlite_directory(url: str) -> None:
    """The embedded default's file lives under instance/, which a fresh clone lacks."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _migrations_dir():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
