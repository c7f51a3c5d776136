"""Building test apps on a given database; every app built here is disposed at session end."""

from __future__ import annotations

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
CREATED_APPS: list = []


def make_test_app(database_url: str, env: dict[str, str] | None = None, **config):  # type: ignore[no-untyped-def]
    """An app in ``testing`` with dev auth on ``database_url``; ``env`` overrides settings,
    keyword arguments override Flask config."""
    from backend import create_app
    from backend.config import Settings

    base = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        # The app's map never reaches the internet in tests: a closed loopback port (the map
        # tests start their own tile server).
        "SAFEHAVEN_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
    }
    app = create_app(config=config or None, settings=Settings.from_env({**base, **(env or {})}))
    CREATED_APPS.append(app)
    return app


def close_brokers(since: int = 0) -> None:
    """Close the real-time brokers of the apps built here, from the ``since``-th on (a Redis
    broker's listener thread otherwise outlives its test)."""
    from backend.realtime.broker import close_broker

    for app in CREATED_APPS[since:]:
        close_broker(app)


def dispose_all() -> None:
    """Close every pooled connection, broker and venue-index listener of the apps built here
    (unclosed ones warn; a listener whose database is dropped under it warns too)."""
    from backend.extensions import db
    from backend.venues.index import stop_listening

    close_brokers()
    while CREATED_APPS:
        app = CREATED_APPS.pop()
        with app.app_context():
            stop_listening(db.engine)
            db.session.remove()
            db.engine.dispose()
