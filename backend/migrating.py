"""Options shared by ``migrations/env.py`` and the schema-equality test."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers

from backend import spatial

# Tables owned by extensions, not by SafeHaven.
FOREIGN_TABLES = {"spatial_ref_sys", "alembic_version"}


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Skip extension tables and the spatial side objects made by raw DDL."""
    if type_ == "table" and (name in FOREIGN_TABLES or spatial.is_spatial_side_object(name)):
        return False
    if type_ == "index" and spatial.is_spatial_side_object(name):
        return False
    return True


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """GeoAlchemy2's filter plus ours."""
    if not include_name(name, type_, {}):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """A PortableGeography column is geography on PostgreSQL and TEXT on SQLite."""
    if isinstance(metadata_type, spatial.PortableGeography):
        dialect = context.dialect.name
        if dialect == "postgresql":
            from geoalchemy2 import Geography

            ok = (
                isinstance(inspected_type, Geography)
                and getattr(inspected_type, "srid", None) == 4326
            )
            return not ok
        return inspected_type.__class__.__name__.upper() not in {"TEXT", "NULLTYPE"}
    return None  # default comparison


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types as plain migration code (no runtime imports of models)."""
    from backend.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, spatial.PortableGeography):
        autogen_context.imports.add("import backend.spatial")
        return "backend.spatial.PortableGeography()"
    return alembic_helpers.render_item(type_, obj, autogen_context)


def configure_args() -> dict[str, Any]:
    """Keyword arguments for ``context.configure`` / ``compare_metadata``."""
    return {
        "include_name": include_name,
        "include_object": include_object,
        "compare_type": compare_type,
        "render_item": render_item,
        "process_revision_directives": alembic_helpers.writer,
        "render_as_batch": True,
    }


def create_point_index(op: Any, table: str) -> None:
    """In a migration: build ``table``'s spatial index structures for the current engine."""
    for stmt in spatial.point_index_ddl(table, op.get_bind().dialect.name):
        op.execute(stmt)


def drop_point_index(op: Any, table: str) -> None:
    """In a migration: remove what :func:`create_point_index` built."""
    for stmt in spatial.drop_point_index_ddl(table, op.get_bind().dialect.name):
        op.execute(stmt)
