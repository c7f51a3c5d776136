"""Core statements compiled once per dialect and run straight on a Connection's DBAPI cursor,
for hot write paths (SQLAlchemy's per-execution work costs more than a one-row statement).

Values pass through the same bind processors and rows through the same result processors as
``Connection.execute``; DBAPI errors are wrapped as SQLAlchemy's (a disconnect invalidates
the connection). A connection whose engine has cursor listeners or ``echo`` on is not
eligible (:func:`eligible`): run those statements through ``Connection.execute``."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError


def eligible(conn: Connection | PooledConnection | Engine) -> bool:
    """Whether statements on ``conn`` (or an engine's connections) may bypass
    ``Connection.execute``."""
    engine = conn.engine
    # The engine's own collections (they include listeners on the Engine class).
    return not (
        engine.echo or engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute
    )


class PooledConnection:
    """The part of a ``Connection`` that direct statements use, over a plain pool checkout:
    for a hot path whose statements all run on the DBAPI cursor of an :func:`eligible`
    engine (a ``Connection``'s setup and teardown cost a fifth of the live fix statement's Python
    side). Close it to give the connection back to the pool (reset as a ``Connection``'s
    close resets it)."""

    __slots__ = ("engine", "dialect", "connection")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            self.connection = engine.raw_connection()
        except dbapi_error as exc:
            # As Engine.connect() raises it: SQLAlchemy's wrapper (an OperationalError for a
            # server that is down or restarting), which the app answers with 503, not 500.
            raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=engine.dialect) from exc

    @property
    def invalidated(self) -> bool:
        return not self.connection.is_valid

    def invalidate(self, exception: BaseException | None = None) -> None:
        self.connection.invalidate(exception)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> PooledConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row_class(names: list[str]) -> type[tuple[Any, ...]]:
    """A namedtuple class with fields ``names`` (the selected columns' keys); raises
    ValueError for a name a namedtuple cannot have."""
    return namedtuple("Row", names)


class DirectStatement:
    """One compiled statement (SELECT, INSERT or UPDATE) for one dialect."""

    __slots__ = ("sql", "params", "positional", "row_type", "types", "processors")

    def __init__(
        self,
        sql: str,
        params: list[tuple[str, bool, Any, Any]],
        positional: bool,
        row_type: Any,
        types: list[Any],
    ) -> None:
        self.sql = sql
        # (name, required, bind processor, processed constant) per parameter, in SQL order.
        self.params = params
        self.positional = positional
        self.row_type = row_type
        self.types = types
        self.processors: list[tuple[int, Any]] | None = None

    @classmethod
    def compile(
        cls, stmt: Any, dialect: Dialect, column_keys: list[str] | None = None
    ) -> DirectStatement | None:
        """None for a statement this cannot run exactly as SQLAlchemy would (expanding or
        literal parameters, defaults computed per execution, an unusual paramstyle)."""
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys, for_executemany=True)
        if (
            compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.escaped_bind_names
            or compiled.returning
            or getattr(compiled, "insert_prefetch", None)
            or getattr(compiled, "update_prefetch", None)
            or dialect.paramstyle not in ("qmark", "pyformat")
        ):
            return None
        positional = dialect.paramstyle == "qmark"
        names = list(compiled.positiontup or ()) if positional else list(compiled.binds)
        params: list[tuple[str, bool, Any, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            if bind.callable is not None:
                return None
            processor = bind.type._cached_bind_processor(dialect)
            if bind.required:
                params.append((name, True, processor, None))
            else:  # a literal of the statement (e.g. an SRID), bound as SQLAlchemy would
                value = bind.effective_value
                params.append((name, False, None, processor(value) if processor else value))
        row_type, types = None, []
        if getattr(stmt, "is_select", False):
            columns = list(stmt.selected_columns)
            try:
                row_type = _row_class([c.key for c in columns])
            except ValueError:
                return None
            types = [c.type for c in columns]
        return cls(compiled.string, params, positional, row_type, types)

    def args(self, values: dict[str, Any]) -> Any:
        given = [
            (processor(values[name]) if processor else values[name]) if required else constant
            for name, required, processor, constant in self.params
        ]
        if self.positional:
            return tuple(given)
        return {param[0]: value for param, value in zip(self.params, given, strict=True)}

    def execute(self, conn: Connection, cursor: Any, values: dict[str, Any]) -> None:
        args = self.args(values)
        with wrapped_errors(conn, cursor, self.sql, args):
            cursor.execute(self.sql, args)

    def executemany(self, conn: Connection, cursor: Any, rows: list[dict[str, Any]]) -> None:
        if len(rows) == 1:
            self.execute(conn, cursor, rows[0])
            return
        args = [self.args(row) for row in rows]
        with wrapped_errors(conn, cursor, self.sql, args):
            cursor.executemany(self.sql, args)

    def first(self, conn: Connection, cursor: Any, values: dict[str, Any]) -> Any:
        """The first row of a SELECT (a named tuple), or None."""
        args = self.args(values)
        with wrapped_errors(conn, cursor, self.sql, args):
            cursor.execute(self.sql, args)
            raw = cursor.fetchone()
            processors = self._processors(conn.dialect, cursor)
        return None if raw is None else self._row(raw, processors)

    def rows(self, conn: Connection, values: dict[str, Any]) -> list[Any]:
        """Every row of a SELECT (named tuples), on a cursor of its own. On psycopg, a SELECT
        that would open its connection's transaction under READ COMMITTED runs in autocommit
        instead: a lone SELECT sees exactly what it would as the first statement of a
        transaction (each statement takes its own snapshot under READ COMMITTED), and the
        BEGIN and the ROLLBACK at the end of the request are not sent. Never prepared
        server-side (a ROLLBACK drops psycopg's prepared statements)."""
        args = self.args(values)
        dbapi_conn = conn.connection.dbapi_connection
        cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
        try:
            with wrapped_errors(conn, cursor, self.sql, args):
                if conn.dialect.driver == "psycopg":
                    _execute_psycopg_select(conn, dbapi_conn, cursor, self.sql, args)
                else:
                    cursor.execute(self.sql, args)
                raw = cursor.fetchall()
                processors = self._processors(conn.dialect, cursor)
        finally:
            cursor.close()
        if not processors:
            make = self.row_type._make
            return [make(row) for row in raw]
        return [self._row(row, processors) for row in raw]

    def _processors(self, dialect: Dialect, cursor: Any) -> list[tuple[int, Any]]:
        processors = self.processors
        if processors is None:
            processors = self.processors = self._result_processors(dialect, cursor)
        return processors

    def _row(self, raw: Any, processors: list[tuple[int, Any]]) -> Any:
        if not processors:
            return self.row_type._make(raw)
        fields = list(raw)
        for i, processor in processors:
            fields[i] = processor(fields[i])
        return self.row_type._make(fields)

    def _result_processors(self, dialect: Dialect, cursor: Any) -> list[tuple[int, Any]]:
        found = []
        for i, (type_, described) in enumerate(zip(self.types, cursor.description, strict=True)):
            processor = type_._cached_result_processor(dialect, described[1])
            if processor is not None:
                found.append((i, processor))
        return found


@contextmanager
def wrapped_errors(conn: Connection, cursor: Any, sql: str, args: Any) -> Iterator[None]:
    """DBAPI errors raised inside become SQLAlchemy's (IntegrityError, OperationalError...),
    as ``Connection.execute`` raises them; a disconnect invalidates the connection."""
    dialect = conn.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        dbapi_conn = conn.connection.dbapi_connection
        disconnect = dialect.is_disconnect(exc, dbapi_conn, cursor)
        if disconnect and not conn.invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            args,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=disconnect,
            dialect=dialect,
        ) from exc


class StatementCache:
    """``DirectStatement``s compiled on first use per dialect (None: not eligible). Each
    entry keeps its statement alive, so an id is never reused for another statement."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[int, str, str, tuple[str, ...] | None], tuple[Any, Any]] = {}

    def get(
        self, stmt: Any, dialect: Dialect, column_keys: list[str] | None = None
    ) -> DirectStatement | None:
        key = (
            id(stmt),
            dialect.name,
            dialect.driver,
            tuple(column_keys) if column_keys is not None else None,
        )
        entry = self._compiled.get(key)
        if entry is None:
            entry = self._compiled[key] = (
                stmt,
                DirectStatement.compile(stmt, dialect, column_keys),
            )
        return entry[1]  # type: ignore[no-any-return]


def _execute_psycopg_select(
    conn: Connection, dbapi_conn: Any, cursor: Any, sql: str, args: Any
) -> None:
    begin_later = (
        dbapi_conn.info.transaction_status == PG_IDLE
        and not dbapi_conn.autocommit
        and dbapi_conn.isolation_level in (None, _PG_READ_COMMITTED)
        and conn.dialect.default_isolation_level == "READ COMMITTED"
    )
    if not begin_later:
        cursor.execute(sql, args, prepare=False)
        return
    dbapi_conn.autocommit = True
    try:
        cursor.execute(sql, args, prepare=False)
    finally:
        dbapi_conn.autocommit = False


try:
    from psycopg import IsolationLevel as _PGIsolationLevel
    from psycopg.pq import TransactionStatus as _PGTransactionStatus

    PG_IDLE: Any = _PGTransactionStatus.IDLE
    _PG_READ_COMMITTED: Any = _PGIsolationLevel.READ_COMMITTED
except ImportError:  # SQLite-only installs
    PG_IDLE = _PG_READ_COMMITTED = object()
