"""Statements built once, compiled once per database and run on the driver's cursor.

SQLAlchemy spends more on a statement than SQLite does (py-spy on `bench/api_cost.py`: the
database ~6 % of a request, `Connection.execute` around it ~20 %: a cache key, the compiled
cache's lookup, the parameters' construction, the result's set-up), and every save writes five
or six rows. A `Prepared` statement is compiled once per dialect and set of columns; its
parameters go through the type processors `execute` would use; it runs on the connection's
driver cursor, in the connection's transaction, with the connection's cursor events around it
(the SQLite writer lock of `engine.store.db`, the tests' statement counters) and the driver's
errors raised as SQLAlchemy's. Measured with the task read of `engine.access` on it too:
13.31 → 12.36 M instructions per API request (`bench/api_instructions.py`), and 6–24 % less
CPU per request in paired timings of `bench/api_cost.py` (SQLAlchemy's work is the
cache-unfriendly kind).

What it cannot send as `execute` would, it refuses when it compiles: a bind that expands
(``IN``), a column with a Python-side default the caller did not give, bind names the driver
needs escaped, and (`Prepared.rows`) a SELECT of ORM entities rather than columns. A write
answers its row count; a read's rows go through the columns' result processors.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement


class _Compiled(NamedTuple):
    sql: str
    # The binds in the driver's order (a positional paramstyle) or by name: name, the
    # processor (None: the value as given), the value when the caller gives none, and
    # whether the caller must give one.
    binds: tuple[tuple[str, Callable[[Any], Any] | None, Any, bool], ...]
    positional: bool
    # A read's columns: how many, those with a processor (place, processor; the others as
    # the driver gives them) and the row type.
    width: int
    readers: tuple[tuple[int, Callable[[Any], Any]], ...]
    row: type[tuple[Any, ...]] | None


class Prepared:
    """``statement`` (a write, or a SELECT of columns) run as `execute` would run it, for less.
    One object per statement, made at import; thread-safe."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...], bool], _Compiled] = {}
        self._lock = threading.Lock()

    def run(
        self, connection: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> int:
        """Execute with one row of ``params`` or, given a list, with each (executemany); the
        number of rows written (on every driver: the sum over an executemany's rows)."""
        rows = [params] if isinstance(params, Mapping) else list(params)
        if not rows:
            raise ValueError("Prepared.run needs at least one row of parameters")
        many = len(rows) > 1  # one row is one execute, as `execute` sends it
        compiled = self.compiled_for(connection.dialect, tuple(sorted(rows[0])), many)
        driver_rows = [_driver_row(compiled, row) for row in rows]
        with _cursor(connection, compiled.sql, driver_rows if many else driver_rows[0],
                     many) as cursor:
            return int(cursor.rowcount)

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """A SELECT's rows, or what a write RETURNING gives back, with the columns' result
        processing (named tuples)."""
        compiled = self.compiled_for(connection.dialect, tuple(sorted(params)), False)
        readers, make = compiled.readers, compiled.row
        with _cursor(connection, compiled.sql, _driver_row(compiled, params), False) as cursor:
            if make is None or len(cursor.description) != compiled.width:
                # an ORM entity's columns are not its selected columns: processors unknown
                raise ValueError("Prepared.rows: a SELECT of plain columns only")
            raws = cursor.fetchall()
        out = []
        for raw in raws:
            values = list(raw)
            for at, reader in readers:
                values[at] = reader(values[at])
            out.append(make(*values))
        return out

    def compiled_for(self, dialect: Dialect, keys: tuple[str, ...], many: bool) -> _Compiled:
        """The statement compiled for ``dialect`` with ``keys`` as the given columns, for one
        row or ``many`` (as `Connection.execute` compiles it: PostgreSQL returns a single
        INSERT's new id)."""
        cache_key = (dialect.name, keys, many)
        found = self._compiled.get(cache_key)
        if found is None:
            with self._lock:
                found = self._compiled[cache_key] = _compile(self.statement, dialect, keys, many)
        return found


def _compile(
    statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...], many: bool
) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys),
                                      for_executemany=many)
    if compiled.insert_prefetch or compiled.update_prefetch:
        missing = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        raise ValueError(f"Prepared: give the columns with Python-side defaults: {missing}")
    if getattr(compiled, "escaped_bind_names", None):
        raise ValueError(f"Prepared: bind names need escaping: {compiled.escaped_bind_names}")
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    binds = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            raise ValueError(f"Prepared: an expanding bind ({name}) cannot be prepared")
        # The dialect's own form of the type (variants, decorators), as `execute` uses it.
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, processor, None if bind.required else bind.effective_value,
                      bind.required))
    readers: list[tuple[int, Callable[[Any], Any]]] = []
    row, width = None, 0
    dml = getattr(statement, "is_dml", False)
    columns = statement.exported_columns if dml else getattr(statement, "selected_columns", None)
    if columns:
        width = len(columns)
        for at, column in enumerate(columns):
            reader = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if reader is not None:
                readers.append((at, reader))
        row = namedtuple("Row", list(columns.keys()), rename=True)  # type: ignore[misc]
    return _Compiled(compiled.string, tuple(binds), bool(compiled.positional), width,
                     tuple(readers), row)


@contextmanager
def _cursor(connection: Connection, sql: str, params: Any, many: bool) -> Iterator[Any]:
    """A driver cursor that has run ``sql`` in the connection's transaction (begun if it was
    not, as `execute` begins it), with the connection's cursor events around it (the SQLite
    writer lock, statement counters) and the driver's errors raised as SQLAlchemy's, as
    `execute` raises them (a lost connection invalidated)."""
    if not connection.in_transaction():
        connection.begin()
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    dispatch = connection.dispatch
    try:
        for before in dispatch.before_cursor_execute:
            sql, params = before(connection, cursor, sql, params, None, many)
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        for after in dispatch.after_cursor_execute:
            after(connection, cursor, sql, params, None, many)
        yield cursor
    except connection.dialect.loaded_dbapi.Error as err:
        gone = connection.dialect.is_disconnect(err, dbapi, cursor)
        if gone:
            connection.invalidate(err)
        raise DBAPIError.instance(sql, params, err, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=gone,
                                  dialect=connection.dialect) from err
    finally:
        cursor.close()


def _driver_row(compiled: _Compiled, row: Mapping[str, Any]) -> Any:
    values = []
    for name, processor, preset, required in compiled.binds:
        if name in row:
            value = row[name]
        elif required:
            raise KeyError(f"Prepared: no value for {name!r}")
        else:
            value = preset
        values.append(processor(value) if processor is not None else value)
    if compiled.positional:
        return tuple(values)
    return dict(zip((b[0] for b in compiled.binds), values, strict=True))
