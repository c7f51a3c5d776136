"""Test databases for both engines: a fresh SQLite file, or a PostGIS database on loopback."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ENGINE = os.environ.get("SAFEHAVEN_TEST_ENGINE", "sqlite")
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_SERVER = os.environ.get("SAFEHAVEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parents[2]
# Room above it for two passes of two workers (redis-server has databases 0-15 by default).
REDIS_DEFAULT = "redis://127.0.0.1:6379/12"


def worker_index() -> int:
    """This pytest-xdist worker's number (``gw3`` is 3); 0 in a run without workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else 0


def redis_test_url(base: str) -> str:
    """The Redis database of this test process: ``base`` itself in a run without workers;
    under pytest-xdist each worker of each engine's pass its own, counting up from ``base``
    (``-n 2``: SQLite's gw0 and gw1 take base and base+1, PostGIS's base+2 and base+3), so
    workers and the two passes side by side never flush or count in each other's."""
    parts = urlsplit(base)
    db = int(parts.path.strip("/") or 0)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        db += ("sqlite", "postgis").index(ENGINE) * workers + worker_index()
    return urlunsplit(parts._replace(path=f"/{db}"))


def pg_database_name(suffix: str = "") -> str:
    """A database per checkout and per xdist worker, so parallel runs never share one."""
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]  # noqa: S324 - a name, not security
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"safehaven_test_{checkout}_{worker}{suffix}"


def pg_available() -> str | None:
    """None if the PostgreSQL server answers and has PostGIS, else the reason it cannot be used."""
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3, autocommit=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
            if row is None:
                return "PostGIS is not installed (apt-get install postgresql-15-postgis-3)"
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {PG_SERVER}: {exc.__class__.__name__}"
    return None


def fresh_pg_database(name: str) -> str:
    """Drop and create ``name`` with PostGIS (commits not waiting for the disk); returns its
    SQLAlchemy URL."""
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        # Commits of this database (every session on it: the tests', their live servers')
        # return without waiting for the WAL flush: a test cannot tell (what a commit makes
        # visible is unchanged; only a crash of the server could lose the last ones), and the
        # access matrix on PostGIS took 50 s instead of 42 waiting ~2,700 flushes. The
        # server's own settings are untouched.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    with psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_pg_database(name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_test_databases(prefix: str = "safehaven_test_", only_unused: bool = False) -> list[str]:
    """Drop the test databases whose names start with ``prefix``; returns their names. With
    ``only_unused`` a database that someone is connected to (another checkout's run in
    progress) is left alone."""
    dropped = []
    pattern = prefix.replace("_", r"\_") + "%"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
            ).fetchall()
        ]
        for name in names:
            try:
                force = "" if only_unused else " WITH (FORCE)"
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
                dropped.append(name)
            except psycopg.errors.ObjectInUse:
                continue
    return dropped


def checkout_prefix(this_worker: bool = True) -> str:
    """The name prefix of this checkout's test databases: this xdist worker's, or (with
    ``this_worker=False``) every worker's."""
    if this_worker:
        return pg_database_name()
    return pg_database_name().removesuffix(os.environ.get("PYTEST_XDIST_WORKER", "main"))


def fresh_database_url(tmp_dir: Path, suffix: str = "") -> str:
    """A new empty database of the engine under test."""
    if ENGINE == "postgis":
        return fresh_pg_database(pg_database_name(suffix))
    path = tmp_dir / f"safehaven{suffix}.sqlite3"
    if path.exists():
        path.unlink()
    return f"sqlite:///{path}"


def terminate_pooled_backends() -> int:
    """Kill the server side of every connection the current app's pool holds (as a
    PostgreSQL restart would); returns how many. PostgreSQL only; needs an app context."""
    from backend.extensions import db

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    db.session.remove()
    with psycopg.connect(url, autocommit=True) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchall()
        )


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The SQL of every statement the current app's engine runs inside, in order (a listener
    also turns off ``backend.direct``'s cursor path, so those statements are seen too)."""
    from sqlalchemy import event

    from backend.extensions import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
