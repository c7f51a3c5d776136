"""Configuration read from the environment, with a start-up check for production."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - the known default production refuses
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
ENVIRONMENTS = ("development", "testing", "production")
# OpenStreetMap's own tiles suit development only (their tile usage policy): a deployment
# sets its provider's template and attribution.
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
AUTH_MODES = ("dev", "firebase")


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the message is one line for the operator."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _is_loopback_http(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in {"127.0.0.1", "localhost", "::1"}
        and port is not None
        and not parts.username
        and parts.path in {"", "/"}
        and not parts.query
    )


def _int(
    env: dict[str, str], name: str, default: int, low: int | None = None, high: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def _limit(env: dict[str, str], name: str, default: str) -> str:
    """A rate limit in the limits library's notation (``10/minute;100/hour``)."""
    from limits import parse_many

    raw = env.get(name) or default
    try:
        parse_many(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate limit such as 10/minute, got {raw!r}") from exc
    return raw


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
    # How long an account's revocation state (disabled, tokens valid after) read from Firebase
    # is trusted for its API requests: one lookup a minute, not one per location fix; 0 looks
    # it up on every request (and a sign-in to the portal always does).
    firebase_revocation_check_s: int = 60
    # Push delivery: a loopback stand-in for fcm.googleapis.com (tests only; production
    # refuses it), the HTTP timeout of one send, the first retry delay, and how many sends
    # one worker has in flight (also the most a killed worker can leave to be repeated).
    fcm_endpoint: str | None = None
    fcm_timeout_s: float = 10.0
    fcm_backoff_s: float = 5.0
    fcm_concurrency: int = 8
    debug: bool = False
    max_content_length: int = 1 * 1024 * 1024
    location_retention_hours: int = 24
    ratelimit_enabled: bool = True
    # Abuse limits (backend/journeys/limits.py): fixes a person may send a minute (0: none),
    # journey starts, failed location-client logins per source and per credential.
    fix_budget_per_minute: int = 1200
    journey_start_rate_limit: str = "5/minute;30/hour"
    location_client_failures_per_source: str = "20/15 minutes"
    location_client_failures_per_credential: str = "10/15 minutes"
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # Live streams: how many one person, and one watch link, may hold open at once; and
    # whether this server streams itself (false on an API pool behind a stream server).
    streams_per_person: int = 5
    streams_per_link: int = 5
    inline_streams: bool = True
    # The phone's map and late-night advice, announced by GET /api/v1/app-config.
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION
    tile_cache_mb: int = 64  # the most map tiles a phone keeps (least recently used go)
    offline_map_file: str | None = None  # an MBTiles pack of the borough, served as it is
    open_long_enough_min: int = 30
    long_walk_min: int = 20
    late_night_file: str | None = None  # the partnership's JSON (docs/OPERATIONS.md)
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
            firebase_revocation_check_s=_int(
                env, "SAFEHAVEN_FIREBASE_REVOCATION_CHECK_S", 60, low=0, high=3600
            ),
            fcm_endpoint=env.get("SAFEHAVEN_FCM_ENDPOINT") or None,
            fcm_timeout_s=_float(env, "SAFEHAVEN_FCM_TIMEOUT_S", 10.0, 0.05, 120.0),
            fcm_backoff_s=_float(env, "SAFEHAVEN_FCM_BACKOFF_S", 5.0, 0.01, 600.0),
            fcm_concurrency=_int(env, "SAFEHAVEN_FCM_CONCURRENCY", 8, low=1, high=64),
            debug=_bool(env.get("FLASK_DEBUG")) or _bool(env.get("SAFEHAVEN_DEBUG")),
            max_content_length=_int(env, "SAFEHAVEN_MAX_CONTENT_LENGTH", 1 * 1024 * 1024),
            location_retention_hours=_int(env, "SAFEHAVEN_LOCATION_RETENTION_HOURS", 24),
            ratelimit_enabled=_bool(env.get("SAFEHAVEN_RATELIMIT"), default=True),
            fix_budget_per_minute=_int(
                env, "SAFEHAVEN_FIX_BUDGET_PER_MINUTE", 1200, low=0, high=1_000_000
            ),
            journey_start_rate_limit=_limit(
                env, "SAFEHAVEN_JOURNEY_START_RATE_LIMIT", "5/minute;30/hour"
            ),
            location_client_failures_per_source=_limit(
                env, "SAFEHAVEN_LOCATION_CLIENT_FAILURES_PER_SOURCE", "20/15 minutes"
            ),
            location_client_failures_per_credential=_limit(
                env, "SAFEHAVEN_LOCATION_CLIENT_FAILURES_PER_CREDENTIAL", "10/15 minutes"
            ),
            db_pool_size=_int(env, "SAFEHAVEN_DB_POOL_SIZE", 10),
            db_max_overflow=_int(env, "SAFEHAVEN_DB_MAX_OVERFLOW", 20),
            streams_per_person=_int(env, "SAFEHAVEN_STREAMS_PER_PERSON", 5, low=1, high=1000),
            streams_per_link=_int(env, "SAFEHAVEN_STREAMS_PER_LINK", 5, low=1, high=1000),
            inline_streams=_bool(env.get("SAFEHAVEN_INLINE_STREAMS"), default=True),
            tile_url=env.get("SAFEHAVEN_TILE_URL") or DEFAULT_TILE_URL,
            tile_attribution=env.get("SAFEHAVEN_TILE_ATTRIBUTION") or DEFAULT_TILE_ATTRIBUTION,
            tile_cache_mb=_int(env, "SAFEHAVEN_TILE_CACHE_MB", 64, low=5, high=2048),
            offline_map_file=env.get("SAFEHAVEN_OFFLINE_MAP_FILE") or None,
            open_long_enough_min=_int(env, "SAFEHAVEN_OPEN_LONG_ENOUGH_MIN", 30, low=0, high=240),
            long_walk_min=_int(env, "SAFEHAVEN_LONG_WALK_MIN", 20, low=1, high=240),
            late_night_file=env.get("SAFEHAVEN_LATE_NIGHT_FILE") or None,
        )

    def check(self) -> None:
        """Refuse unsafe combinations; raises ConfigError with a one-line reason."""
        if self.auth_mode == "firebase" and not self.firebase_project_id:
            raise ConfigError("SAFEHAVEN_AUTH=firebase needs FIREBASE_PROJECT_ID")
        if self.fcm_endpoint and not _is_loopback_http(self.fcm_endpoint):
            # Alerts carry names and positions: a stand-in may only be on this machine.
            raise ConfigError(
                "SAFEHAVEN_FCM_ENDPOINT must be http://127.0.0.1:PORT, http://localhost:PORT "
                f"or http://[::1]:PORT, got {self.fcm_endpoint!r}"
            )
        if not all(part in self.tile_url for part in ("{z}", "{x}", "{y}")) or not (
            self.tile_url.startswith(("https://", "http://"))
        ):
            raise ConfigError(
                "SAFEHAVEN_TILE_URL must be an http(s) URL with {z}, {x} and {y}, "
                f"got {self.tile_url!r}"
            )
        for name, path in (
            ("SAFEHAVEN_OFFLINE_MAP_FILE", self.offline_map_file),
            ("SAFEHAVEN_LATE_NIGHT_FILE", self.late_night_file),
        ):
            if path and not Path(path).is_file():
                raise ConfigError(f"{name} names no file: {path!r}")
        if self.late_night_file:
            import json

            from marshmallow import ValidationError

            from shared_schemas.appconfig import LateNightSchema

            try:
                LateNightSchema().load(json.loads(Path(self.late_night_file).read_text("utf-8")))
            except (ValueError, ValidationError) as exc:
                raise ConfigError(f"SAFEHAVEN_LATE_NIGHT_FILE is not valid: {exc}") from exc
        if self.db_pool_size < 1:
            raise ConfigError("SAFEHAVEN_DB_POOL_SIZE must be at least 1")
        if self.db_max_overflow < 0:
            raise ConfigError("SAFEHAVEN_DB_MAX_OVERFLOW must not be negative")
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
        if self.fcm_endpoint:
            raise ConfigError(
                "refusing to start: SAFEHAVEN_FCM_ENDPOINT is set in production "
                "(pushes would go to a stand-in, not to Google)"
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
        engine_options: dict[str, object] = {}
        if self.is_postgres:
            # Overflow connections are opened and closed per checkout: under sustained load
            # that churn costs more than the work (size the pool to the concurrency instead).
            from backend.db import PrePingQueuePool

            engine_options.update(
                pool_size=self.db_pool_size,
                max_overflow=self.db_max_overflow,
                pool_timeout=5,
                # pre-ping as above, which the live fix path may skip (it retries instead)
                poolclass=PrePingQueuePool,
                pool_pre_ping=True,
            )
        else:
            # No pre-ping: an SQLite connection is a file handle in this process, which no
            # server restart or idle timeout can break (the ping was a statement per checkout).
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
            "FCM_ENDPOINT": self.fcm_endpoint,
            "FCM_TIMEOUT_S": self.fcm_timeout_s,
            "FCM_BACKOFF_S": self.fcm_backoff_s,
            "FCM_CONCURRENCY": self.fcm_concurrency,
            "LOCATION_RETENTION_HOURS": self.location_retention_hours,
            "STREAMS_PER_PERSON": self.streams_per_person,
            "STREAMS_PER_LINK": self.streams_per_link,
            "INLINE_STREAMS": self.inline_streams,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "FIX_BUDGET_PER_MINUTE": self.fix_budget_per_minute,
            "JOURNEY_START_RATE_LIMIT": self.journey_start_rate_limit,
            "LOCATION_CLIENT_FAILURES_PER_SOURCE": self.location_client_failures_per_source,
            "LOCATION_CLIENT_FAILURES_PER_CREDENTIAL": self.location_client_failures_per_credential,
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            # Redis unreachable: count in this process instead (the same limits), and never
            # turn a storage error into a refusal: an SOS must not fail because the limiter's
            # counters are away (docs/OPERATIONS.md, "Faults").
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_STORAGE_OPTIONS": (
                {"socket_connect_timeout": 1, "socket_timeout": 1} if self.redis_url else {}
            ),
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
            "TILE_URL": self.tile_url,
            "TILE_ATTRIBUTION": self.tile_attribution,
            "TILE_CACHE_MB": self.tile_cache_mb,
            "OFFLINE_MAP_FILE": self.offline_map_file,
            "OPEN_LONG_ENOUGH_MIN": self.open_long_enough_min,
            "LONG_WALK_MIN": self.long_walk_min,
            "LATE_NIGHT_FILE": self.late_night_file,
            **self.extra,
        }
