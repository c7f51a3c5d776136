"""The migration history builds exactly the models' schema on this engine, and
upgrade -> downgrade -> upgrade works."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from backend import spatial
from backend.extensions import db
from backend.migrating import configure_args
from tests.support import databases
from tests.support.apps import make_test_app


@pytest.fixture
def migration_app(tmp_path):
    url = databases.fresh_database_url(tmp_path, suffix="_migrations")
    app = make_test_app(url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if databases.ENGINE == "postgis":
        databases.drop_pg_database(databases.pg_database_name("_migrations"))


def schema_differences() -> list:
    args = configure_args()
    args.pop("process_revision_directives")
    args.pop("render_item")
    args.pop("render_as_batch")
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={**args, "compare_type": args["compare_type"]}
        )
        return compare_metadata(context, db.metadata)


def spatial_objects_present(conn) -> dict[str, bool]:
    """Whether each point table has its index structures on this engine."""
    found = {}
    for table in sorted(spatial.POINT_TABLES):
        if conn.dialect.name == "postgresql":
            index = conn.execute(
                text("SELECT 1 FROM pg_indexes WHERE indexname = :n"), {"n": f"ix_{table}_geog"}
            ).first()
            trigger = conn.execute(
                text("SELECT 1 FROM pg_trigger WHERE tgname = :n"), {"n": f"trg_{table}_geog"}
            ).first()
            found[table] = bool(index and trigger)
        else:
            rtree = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = :n"),
                {"n": spatial.rtree_name(table)},
            ).first()
            triggers = conn.execute(
                text(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
                    " AND name LIKE :rt ESCAPE '!'"
                ),
                {"t": table, "rt": spatial.rtree_name(table).replace("_", "!_") + "!_%"},
            ).scalar()
            found[table] = bool(rtree) and triggers == 3
    return found


def venue_index_triggers(conn) -> set[str]:
    """The triggers that change the venue index's token, by name."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'trg!_venues!_index!_%' ESCAPE '!'"
            )
        )
    else:
        rows = conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND name LIKE 'venues!_index!_%' ESCAPE '!'"
            )
        )
    return {row[0] for row in rows}


def expected_venue_index_triggers(dialect: str) -> set[str]:
    from backend.venues.models import trigger_ddl

    return {
        stmt.split(" TRIGGER ")[1].removeprefix("IF NOT EXISTS ").split()[0]
        for stmt in trigger_ddl(dialect)
        if " TRIGGER " in stmt
    }


def app_tables(conn) -> set[str]:
    names = set(inspect(conn).get_table_names())
    return {
        n
        for n in names
        if n not in {"alembic_version", "spatial_ref_sys"} and not spatial.is_spatial_side_object(n)
    }


def test_migrated_schema_equals_the_models_and_round_trips(migration_app):
    with migration_app.app_context():
        upgrade()
        assert schema_differences() == []
        with db.engine.connect() as conn:
            assert app_tables(conn) == {t.name for t in db.metadata.sorted_tables}
            assert all(spatial_objects_present(conn).values()), spatial_objects_present(conn)
            expected = expected_venue_index_triggers(conn.dialect.name)
            assert len(expected) == (2 if conn.dialect.name == "postgresql" else 3)
            assert venue_index_triggers(conn) == expected

        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert app_tables(conn) == set()
            assert venue_index_triggers(conn) == set()
            leftovers = {
                n for n in inspect(conn).get_table_names() if spatial.is_spatial_side_object(n)
            }
            assert leftovers == set()

        upgrade()
        assert schema_differences() == []
        with db.engine.connect() as conn:
            assert all(spatial_objects_present(conn).values())


def bump_function_notifies(conn) -> bool:
    source = conn.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = 'safehaven_venue_index_bump'")
    ).scalar()
    return "pg_notify" in source


@pytest.mark.postgis
def test_the_index_token_is_notified_from_0009_on(migration_app):
    with migration_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            assert bump_function_notifies(conn)
        downgrade(revision="0008")
        with db.engine.connect() as conn:
            assert not bump_function_notifies(conn)
            assert venue_index_triggers(conn) == expected_venue_index_triggers("postgresql")
        upgrade()
        with db.engine.connect() as conn:
            assert bump_function_notifies(conn)


def test_each_revision_downgrades_one_step_at_a_time(migration_app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - the extension provides the config

    with migration_app.app_context():
        config = migration_app.extensions["migrate"].migrate.get_config()
        revisions = list(ScriptDirectory.from_config(config).walk_revisions())
        assert len({r.revision for r in revisions if r.down_revision is None}) == 1, "one base"
        heads = ScriptDirectory.from_config(config).get_heads()
        assert len(heads) == 1, f"one head expected, found {heads}"
        upgrade()
        for _ in revisions:
            downgrade(revision="-1")
        with db.engine.connect() as conn:
            assert app_tables(conn) == set()
