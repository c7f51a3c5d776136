"""Configuration read from the environment, with a start-up check for production."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - the known default production refuses
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
ENVIRONMENTS = ("development", "testing", "production")
AUTH_MODES = ("dev", "firebase")


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the message is one line for the operator."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass
class Settings:
    """Everything the app reads from the environment, already validated."""

    env: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    auth_mode: str = "dev"
    secret_key: str = DEFAULT_SECRET
    firebase_project_id: str | None = None
    firebase_emulator_host: str | None = None
    firebase_web_api_key: str | None = None
    debug: bool = False
    max_content_length: int = 1 * 1024 * 1024
    location_retention_hours: int = 24
    ratelimit_enabled: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); raises ConfigError."""
        env = dict(os.environ if environ is None else environ)
        name = env.get("SAFEHAVEN_ENV", "development")
        if name not in ENVIRONMENTS:
            raise ConfigError(
                f"SAFEHAVEN_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}"
            )
        auth_mode = env.get("SAFEHAVEN_AUTH", "dev")
        if auth_mode not in AUTH_MODES:
            raise ConfigError(
                f"SAFEHAVEN_AUTH must be one of {', '.join(AUTH_MODES)}, got {auth_mode!r}"
            )
        database_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'safehaven.sqlite3'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://") :]
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        return cls(
            env=name,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            auth_mode=auth_mode,
            secret_key=env.get("SECRET_KEY") or DEFAULT_SECRET,
            firebase_project_id=env.get("FIREBASE_PROJECT_ID") or None,
            firebase_emulator_host=env.get("FIREBASE_AUTH_EMULATOR_HOST") or None,
            firebase_web_api_key=env.get("FIREBASE_WEB_API_KEY") or None,
            debug=_bool(env.get("FLASK_DEBUG")) or _bool(env.get("SAFEHAVEN_DEBUG")),
            max_content_length=_int(env, "SAFEHAVEN_MAX_CONTENT_LENGTH", 1 * 1024 * 1024),
            location_retention_hours=_int(env, "SAFEHAVEN_LOCATION_RETENTION_HOURS", 24),
            ratelimit_enabled=_bool(env.get("SAFEHAVEN_RATELIMIT"), default=True),
        )

    def check(self) -> None:
        """Refuse unsafe combinations; raises ConfigError with a one-line reason."""
        if self.auth_mode == "firebase" and not self.firebase_project_id:
            raise ConfigError("SAFEHAVEN_AUTH=firebase needs FIREBASE_PROJECT_ID")
        if self.env != "production":
            return
        if self.auth_mode == "dev":
            raise ConfigError(
                "refusing to start: dev auth (SAFEHAVEN_AUTH=dev) is not allowed in production"
            )
        if self.firebase_emulator_host:
            raise ConfigError(
                "refusing to start: FIREBASE_AUTH_EMULATOR_HOST is set in production "
                "(the emulator accepts unsigned tokens)"
            )
        if not self.secret_key or self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
            raise ConfigError(
                "refusing to start: SECRET_KEY is the default or shorter than 32 characters"
            )
        if self.debug:
            raise ConfigError("refusing to start: debug mode is on in production")

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def flask_config(self) -> dict[str, object]:
        """The Flask config mapping these settings produce."""
        engine_options: dict[str, object] = {"pool_pre_ping": True}
        if self.is_postgres:
            engine_options.update(pool_size=10, max_overflow=20, pool_timeout=5)
        else:
            engine_options["connect_args"] = {"timeout": 15}
        return {
            "SAFEHAVEN_SETTINGS": self,
            "ENV_NAME": self.env,
            "TESTING": self.env == "testing",
            "DEBUG": self.debug,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "REDIS_URL": self.redis_url,
            "SAFEHAVEN_AUTH": self.auth_mode,
            "FIREBASE_PROJECT_ID": self.firebase_project_id,
            "FIREBASE_WEB_API_KEY": self.firebase_web_api_key,
            "LOCATION_RETENTION_HOURS": self.location_retention_hours,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": "safehaven",
            "API_TITLE": "SafeHaven API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": "docs",
            "OPENAPI_SWAGGER_UI_URL": "/docs/static/",
            "JSON_SORT_KEYS": False,
            **self.extra,
        }
