"""Fixtures: one app per test session on the engine under test, clean tables per test,
and signed-in users of every role.

``SAFEHAVEN_TEST_ENGINE=sqlite`` (default) or ``postgis``. Without PostgreSQL the PostGIS
pass is skipped with the reason; with ``CI=true`` that is a failure instead."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from tests.support import databases
from tests.support.apps import make_test_app

REFERENCE_TABLES = {"wards", "postcodes"}


def pytest_configure(config: pytest.Config) -> None:
    if databases.ENGINE not in ("sqlite", "postgis"):
        raise pytest.UsageError("SAFEHAVEN_TEST_ENGINE must be sqlite or postgis")
    if databases.ENGINE == "postgis":
        reason = databases.pg_available()
        if reason and databases.IN_CI:
            raise pytest.UsageError(f"CI=true and the PostGIS pass cannot run: {reason}")
        config._safehaven_pg_skip = reason  # type: ignore[attr-defined]
        if not reason and not os.environ.get("PYTEST_XDIST_WORKER"):
            # Leftovers of earlier runs (any checkout) that no one is using any more.
            dropped = databases.drop_test_databases(only_unused=True)
            if dropped:
                print(f"dropped {len(dropped)} leftover test database(s)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The PostGIS pass drops the databases it made: each xdist worker its own, then the
    pass itself (a run without workers, or the controller once its workers have finished)
    every one of this checkout's, so a worker that died leaves none behind either."""
    if databases.ENGINE == "postgis" and not getattr(session.config, "_safehaven_pg_skip", None):
        from tests.support.apps import dispose_all

        dispose_all()
        worker = bool(os.environ.get("PYTEST_XDIST_WORKER"))
        databases.drop_test_databases(prefix=databases.checkout_prefix(this_worker=worker))


def pytest_report_header(config: pytest.Config) -> str:
    return f"safehaven engine: {databases.ENGINE}"


# Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``) the tests that must not
# run beside each other share a group, and a group runs on one worker, one test at a time:
# - "kivy": the app's UI tests; each drives one or two Kivy windows rendered in software
#   (llvmpipe) that take a core each, on bounded scenario timeouts.
# - "firebase": the tests using the Auth emulator (a Node process of ~300 MB and ~15 s to
#   start): one emulator per pass, not one per worker.
# - "stream-server": the production-shape tests share one shape per module (a start costs the
#   CPU of three app builds); spread over two workers, each would start its own.
# Groups are by file and read by the scheduler below: xdist's own ``xdist_group`` mark is
# silently ignored with pytest 9.2 (pytest-xdist issue 1386: it rewrites a node id field
# pytest no longer reads).
XDIST_GROUPS = {
    "tests/mobile_client/test_ui.py": "kivy",
    "tests/mobile_client/test_ui_map.py": "kivy",
    "tests/mobile_client/test_demo.py": "kivy",
    "tests/backend/auth/test_firebase_emulator.py": "firebase",
    "tests/backend/portal/test_portal_firebase_browser.py": "firebase",
    "tests/backend/realtime/test_stream_server.py": "stream-server",
}


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    """``--dist loadgroup`` with the groups above: each group is one unit of work for one
    worker, every other test a unit of its own; the biggest units are handed out first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return XDIST_GROUPS.get(nodeid.split("::", 1)[0]) or super()._split_scope(nodeid)

    return FileGroupScheduling(config, log)


# Tests of a client, not of the engine, run once: in the pass named here, skipped in the other.
# - The app's Kivy tests, in the SQLite pass (the engine ``make run`` and ``make app`` use):
#   the app sees only the HTTP API, whose answers the backend tests check on both engines, and
#   each renders in software for up to a minute of a core.
# - The portal's forms in Chromium (the hours editor, the error summary, axe and 390 px on
#   every page), in the PostGIS pass (the engine the partnership runs): what they check is the
#   page and its script; the validation and the data behind each page are checked on both
#   engines by the portal's own tests.
ONE_PASS = {
    "tests/mobile_client/test_ui.py": "sqlite",
    "tests/mobile_client/test_ui_map.py": "sqlite",
    "tests/mobile_client/test_demo.py": "sqlite",
    "tests/backend/portal/test_portal_hours_browser.py": "postgis",
    "tests/backend/portal/test_portal_error_summary_browser.py": "postgis",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = getattr(config, "_safehaven_pg_skip", None)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Workers report this order to the scheduler, which hands out work in it: the
        # slow tests start first, so no worker is left with one at the end.
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        if databases.ENGINE == "postgis" and reason:
            item.add_marker(pytest.mark.skip(reason=f"PostGIS pass skipped: {reason}"))
        elif item.get_closest_marker("postgis") and databases.ENGINE != "postgis":
            item.add_marker(pytest.mark.skip(reason="runs in the PostGIS pass"))
        elif item.get_closest_marker("sqlite") and databases.ENGINE != "sqlite":
            item.add_marker(pytest.mark.skip(reason="runs in the SQLite pass"))
        elif (engine := one_pass_engine(item.nodeid)) and databases.ENGINE != engine:
            name = {"sqlite": "SQLite", "postgis": "PostGIS"}[engine]
            item.add_marker(pytest.mark.skip(reason=f"a client's test: runs in the {name} pass"))


def one_pass_engine(nodeid: str) -> str | None:
    """The one engine whose pass runs this test, when it runs in only one (``ONE_PASS``)."""
    return ONE_PASS.get(nodeid.split("::", 1)[0])


@pytest.fixture(scope="session")
def engine_name() -> str:
    return databases.ENGINE


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database for this session (a PostGIS database is dropped at the next run)."""
    return databases.fresh_database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url: str):  # type: ignore[no-untyped-def]
    from backend.areas import service as areas
    from backend.extensions import db

    app = make_test_app(database_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        areas.load_wards()
        areas.load_postcodes()
        db.session.remove()
    yield app
    from tests.support.apps import dispose_all

    dispose_all()


@functools.cache
def _cleaned_tables() -> tuple[list[str], str]:
    """The tables a test may fill (every one but the reference geography) in an order that
    deletes children before parents, and one statement telling which of them hold rows."""
    from backend.extensions import db

    names = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    probe = "SELECT " + ", ".join(f'EXISTS (SELECT 1 FROM "{name}")' for name in names)  # noqa: S608 - the models' own table names
    return names, probe


def _clean_tables(app) -> None:  # type: ignore[no-untyped-def]
    """Empty every table a test may fill and restart the ids that were used. Only the tables
    holding rows are emptied (one query asks which): most tests fill a few, and on PostgreSQL
    a DELETE costs even on an empty table (planning, its indexes opened, the venues trigger's
    token bump and NOTIFY). After a test that left the tables empty a cleanup took ~2.7 ms
    and ~1.5 ms of the server's CPU, now ~1.4 ms and ~0.5 ms; after the access matrix's
    world (23 tables with rows) about the same as before."""
    from backend.extensions import db

    names, probe = _cleaned_tables()
    # PostgreSQL in autocommit: its statements go as one simple query, which the server runs
    # as one transaction (saves the BEGIN and COMMIT round trips); SQLite's in a transaction.
    postgres = db.engine.dialect.name == "postgresql"
    options = {"isolation_level": "AUTOCOMMIT"} if postgres else {}
    with db.engine.connect().execution_options(**options) as conn, conn.begin():
        full = [
            name
            for name, rows in zip(names, conn.exec_driver_sql(probe).one(), strict=True)
            if rows
        ]
        statements = [f'DELETE FROM "{name}"' for name in full]  # noqa: S608 - as above
        if postgres:
            # DELETE in dependency order, not TRUNCATE: TRUNCATE makes new files for every
            # table (~0.3 s per test under load), DELETE of a few rows takes milliseconds.
            # Only the sequences that were used are reset (setval writes WAL); all in one
            # round trip (no parameters: psycopg sends it as one simple query).
            statements.append(
                "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
            with conn.connection.dbapi_connection.cursor() as cursor:
                cursor.execute("; ".join(statements))
        else:
            for statement in statements:
                conn.exec_driver_sql(statement)
            if conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture(autouse=True)
def _app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that use the app run inside its context and start from empty tables."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from backend.extensions import db, limiter
    from backend.journeys.limits import reset_fix_budget

    limiter.reset()
    reset_fix_budget()
    with app.app_context():
        yield
        db.session.remove()
        _clean_tables(app)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests, flushed first: ``SAFEHAVEN_TEST_REDIS`` (default db 12 on
    loopback) in a run without workers; under pytest-xdist one database per worker and
    engine counting up from it (``databases.redis_test_url``). Skipped locally when Redis
    is down; a failure when ``CI=true``."""
    import redis

    url = databases.redis_test_url(os.environ.get("SAFEHAVEN_TEST_REDIS", databases.REDIS_DEFAULT))
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            connection.flushdb()
        finally:
            connection.close()
    except redis.RedisError as exc:
        if "out of range" in str(exc):  # not a Redis outage: the numbering is wrong here
            pytest.fail(f"{url}: {exc}; give SAFEHAVEN_TEST_REDIS a lower database number")
        if databases.IN_CI:
            pytest.fail(f"CI=true and Redis is not reachable at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    return url


def _forget_firebase_apps() -> None:
    """firebase-admin caches its auth client (and the emulator address it read) per app."""
    import firebase_admin

    from backend.auth import service

    with service._firebase_lock:
        for fb_app in service._firebase_apps.values():
            firebase_admin.delete_app(fb_app)
        service._firebase_apps.clear()


@pytest.fixture(scope="session")
def firebase_emulator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real Firebase Auth emulator for the session (npm firebase-tools), with
    ``FIREBASE_AUTH_EMULATOR_HOST`` pointing at it. Skipped locally without the CLI;
    a failure when ``CI=true``."""
    from tests.support.firebase_emulator import AuthEmulator

    emu = AuthEmulator(tmp_path_factory.mktemp("firebase"))
    try:
        emu.start()
    except FileNotFoundError as exc:
        if databases.IN_CI:
            pytest.fail(f"CI=true and the Firebase Auth emulator is unavailable: {exc}")
        pytest.skip(str(exc))
    previous = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = emu.host
    _forget_firebase_apps()
    yield emu
    _forget_firebase_apps()
    emu.stop()
    if previous is None:
        os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    else:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = previous


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@dataclass
class Person:
    """A signed-in user and the headers that carry their dev token."""

    id: int
    uid: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(app):  # type: ignore[no-untyped-def]
    from backend.auth.service import ensure_user, mint_dev_token

    def make(uid: str, role: str = "resident") -> Person:
        user = ensure_user(uid, role)
        return Person(
            id=user.id,
            uid=uid,
            role=role,
            token=mint_dev_token(app.config["SECRET_KEY"], uid, role),
        )

    return make


@pytest.fixture
def resident(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("resident-alice")


@pytest.fixture
def other_resident(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("resident-bob")


@pytest.fixture
def venue_staff(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("staff-carol", "venue_staff")


@pytest.fixture
def admin(make_person) -> Person:  # type: ignore[no-untyped-def]
    return make_person("admin-dave", "admin")
