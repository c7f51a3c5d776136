"""Declarative base with a naming convention, UTC timestamps and engine helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, Select, Table, TypeDecorator, event
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session
from sqlalchemy.pool import QueuePool

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (a callable default, evaluated per row)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC on every engine and always read back timezone-aware.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    normalised to naive UTC on the way in and tagged UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base class of every model: shared metadata with the naming convention."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def table_of(model: type[Base]) -> Table:
    """The Table a model is mapped to, for Core statements. (SQLAlchemy types ``__table__``
    as any FromClause, since a class may be mapped to a join or a select; every model here
    is mapped to a Table.) Raises TypeError for a model that is not."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


def rowcount(result: object) -> int:
    """The rows an UPDATE or DELETE matched (0 when the driver does not say). ``execute``
    is typed to return a Result; a DML statement's result is the CursorResult that counts.
    Raises TypeError for any other result."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return int(result.rowcount or 0)


def claim_batch(session: Session | scoped_session[Any], stmt: Select[T], limit: int) -> list[T]:
    """The first ``limit`` rows of ``stmt`` (in its order) that no other worker holds, locked
    until this transaction ends (``FOR UPDATE SKIP LOCKED``: several workers share one queue;
    SQLite, with one writer, has no row locks). An empty claim ends the transaction."""
    rows = list(session.scalars(stmt.limit(limit).with_for_update(skip_locked=True)))
    if not rows:
        session.rollback()
    return rows


def dialect_name(bind: Engine | Connection) -> str:
    """``"sqlite"`` or ``"postgresql"`` for an engine or connection."""
    return bind.dialect.name


SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA mmap_size={256 * 1024 * 1024}",
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Foreign keys on, WAL so the worker thread and requests read while one writes, and
    reads through a memory map (page reads become memory reads instead of system calls: a
    third of the time of a nearest search on a million venues)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()


def configure_engines() -> None:
    """Install the per-connection SQLite settings once per process."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


_skip_pre_ping: ContextVar[bool] = ContextVar("safehaven_skip_pre_ping", default=False)


class PrePingQueuePool(QueuePool):
    """A ``QueuePool`` whose pre-ping (a ``SELECT 1`` round trip, and the BEGIN it opens, on
    every checkout) a hot path can skip for one checkout with :func:`without_pre_ping`,
    provided it retries on a fresh connection when its first statement finds the pooled one
    dead. Every other checkout pings exactly as ``pool_pre_ping=True`` does."""

    @property  # type: ignore[override]
    def _pre_ping(self) -> bool:
        return self._wants_pre_ping and not _skip_pre_ping.get()

    @_pre_ping.setter
    def _pre_ping(self, value: bool) -> None:
        self._wants_pre_ping = value


@contextmanager
def without_pre_ping() -> Iterator[None]:
    """Checkouts inside skip the pool's pre-ping (on a :class:`PrePingQueuePool`)."""
    token = _skip_pre_ping.set(True)
    try:
        yield
    finally:
        _skip_pre_ping.reset(token)


def read_without_pre_ping(engine: Engine, read: Callable[[Connection], T]) -> T:
    """``read(conn)`` on a pooled connection checked out without the pre-ping; when a
    statement finds that connection dead, ``read`` runs once more on a connection checked
    out with the ping. Only for work that writes nothing (it may run twice)."""
    with without_pre_ping():
        conn = engine.connect()
    try:
        with conn:
            return read(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with engine.connect() as conn:
        return read(conn)
