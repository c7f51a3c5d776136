"""Configuration: production refuses unsafe settings with a one-line reason."""

from __future__ import annotations

import pytest

from backend import create_app
from backend.config import DEFAULT_SECRET, ConfigError, Settings

GOOD_SECRET = "x" * 40
PRODUCTION = {
    "SAFEHAVEN_ENV": "production",
    "SAFEHAVEN_AUTH": "firebase",
    "FIREBASE_PROJECT_ID": "safehaven-prod",
    "SECRET_KEY": GOOD_SECRET,
    "DATABASE_URL": "sqlite:///:memory:",
}


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"SAFEHAVEN_AUTH": "dev"}, "dev auth"),
        ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"),
        ({"SECRET_KEY": DEFAULT_SECRET}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"FLASK_DEBUG": "1"}, "debug"),
        ({"SAFEHAVEN_FCM_ENDPOINT": "http://127.0.0.1:8099"}, "SAFEHAVEN_FCM_ENDPOINT"),
    ],
)
def test_production_refuses_unsafe_configuration(override, reason):
    with pytest.raises(ConfigError) as excinfo:
        create_app(settings=Settings.from_env({**PRODUCTION, **override}))
    message = str(excinfo.value)
    assert reason in message
    assert "\n" not in message


def test_production_starts_with_firebase_auth_and_a_real_secret():
    app = create_app(settings=Settings.from_env(PRODUCTION))
    assert app.config["SAFEHAVEN_AUTH"] == "firebase"
    assert app.config["TESTING"] is False


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"SAFEHAVEN_ENV": "staging"}, "SAFEHAVEN_ENV"),
        ({"SAFEHAVEN_AUTH": "none"}, "SAFEHAVEN_AUTH"),
        ({"SAFEHAVEN_AUTH": "firebase"}, "FIREBASE_PROJECT_ID"),
        ({"SAFEHAVEN_MAX_CONTENT_LENGTH": "lots"}, "SAFEHAVEN_MAX_CONTENT_LENGTH"),
        ({"SAFEHAVEN_FCM_TIMEOUT_S": "0"}, "SAFEHAVEN_FCM_TIMEOUT_S"),
        ({"SAFEHAVEN_FCM_TIMEOUT_S": "nan"}, "SAFEHAVEN_FCM_TIMEOUT_S"),
        ({"SAFEHAVEN_FCM_BACKOFF_S": "soon"}, "SAFEHAVEN_FCM_BACKOFF_S"),
        ({"SAFEHAVEN_FCM_CONCURRENCY": "0"}, "SAFEHAVEN_FCM_CONCURRENCY"),
        ({"SAFEHAVEN_FCM_CONCURRENCY": "2.5"}, "SAFEHAVEN_FCM_CONCURRENCY"),
        # alerts carry names and positions: a stand-in for FCM may only be on this machine
        ({"SAFEHAVEN_FCM_ENDPOINT": "http://fcm.example.net:80"}, "SAFEHAVEN_FCM_ENDPOINT"),
        ({"SAFEHAVEN_FCM_ENDPOINT": "https://127.0.0.1:8099"}, "SAFEHAVEN_FCM_ENDPOINT"),
        ({"SAFEHAVEN_FCM_ENDPOINT": "http://127.0.0.1"}, "SAFEHAVEN_FCM_ENDPOINT"),
        ({"SAFEHAVEN_FCM_ENDPOINT": "http://127.0.0.1:1/x"}, "SAFEHAVEN_FCM_ENDPOINT"),
        ({"SAFEHAVEN_FCM_ENDPOINT": "http://127.0.0.1.evil.net:1"}, "SAFEHAVEN_FCM_ENDPOINT"),
        ({"SAFEHAVEN_DB_POOL_SIZE": "0"}, "SAFEHAVEN_DB_POOL_SIZE"),
        ({"SAFEHAVEN_DB_MAX_OVERFLOW": "-1"}, "SAFEHAVEN_DB_MAX_OVERFLOW"),
    ],
)
def test_invalid_settings_are_named(env, field):
    with pytest.raises(ConfigError, match=field):
        Settings.from_env(env).check()


def test_the_postgres_pool_is_sized_from_the_environment():
    url = {"DATABASE_URL": "postgresql://u@h/d"}
    default = Settings.from_env(url).flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (default["pool_size"], default["max_overflow"]) == (10, 20)
    sized = Settings.from_env(
        {**url, "SAFEHAVEN_DB_POOL_SIZE": "16", "SAFEHAVEN_DB_MAX_OVERFLOW": "0"}
    ).flask_config()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (sized["pool_size"], sized["max_overflow"], sized["pool_pre_ping"]) == (16, 0, True)


def test_database_url_defaults_to_sqlite_under_instance_and_normalises_postgres():
    assert Settings.from_env({}).database_url.endswith("instance/safehaven.sqlite3")
    assert (
        Settings.from_env({"DATABASE_URL": "postgres://u@h/d"}).database_url
        == "postgresql+psycopg://u@h/d"
    )


def test_a_loopback_fcm_stand_in_is_accepted_outside_production():
    for url in ("http://127.0.0.1:8099", "http://localhost:8099/", "http://[::1]:8099"):
        settings = Settings.from_env({"SAFEHAVEN_FCM_ENDPOINT": url})
        settings.check()
        assert settings.flask_config()["FCM_ENDPOINT"] == url
