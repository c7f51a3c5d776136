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
    ],
)
def test_invalid_settings_are_named(env, field):
    with pytest.raises(ConfigError, match=field):
        Settings.from_env(env).check()


def test_database_url_defaults_to_sqlite_under_instance_and_normalises_postgres():
    assert Settings.from_env({}).database_url.endswith("instance/safehaven.sqlite3")
    assert (
        Settings.from_env({"DATABASE_URL": "postgres://u@h/d"}).database_url
        == "postgresql+psycopg://u@h/d"
    )
