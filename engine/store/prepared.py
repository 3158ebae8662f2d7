"""Statements built once, compiled once per database and run as the driver's SQL.

`Connection.execute` of a Core statement costs ~90 µs of SQLAlchemy per statement on this
machine before the database sees it (a cache key, the compiled cache's lookup, the parameters'
construction), several times what SQLite itself takes for the row (bench/RESULTS.md); a save
writes five or six such rows. A `Prepared` statement is compiled once per dialect and set of
columns, its parameters are converted by the same type processors SQLAlchemy would use, and it
runs through `Connection.exec_driver_sql` (~35 µs): the connection's events still fire (the
SQLite writer lock, the statement counters of the tests), the transaction is the caller's.

What it refuses, at compile time, rather than write something else than `execute` would: a
bind that expands (``IN``), a column filled by a Python-side default the caller did not give,
and bind names the driver would need escaped. A write's result is the driver's (its row count
is what callers ask); a read's rows (`Prepared.rows`) go through the columns' result
processors, as `execute` would hand them back.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.sql import ClauseElement


class _Compiled(NamedTuple):
    sql: str
    # The binds in the driver's order (a positional paramstyle) or by name: name, the
    # processor (None: the value as given), the value when the caller gives none, and
    # whether the caller must give one.
    binds: tuple[tuple[str, Callable[[Any], Any] | None, Any, bool], ...]
    positional: bool
    # A read's columns: their processors (None: as the driver gives it) and the row type.
    readers: tuple[Callable[[Any], Any] | None, ...]
    row: type[tuple[Any, ...]] | None


class Prepared:
    """``statement`` (an INSERT, UPDATE or DELETE; an INSERT … SELECT) run as `execute` would
    run it, for less. One object per statement, made at import; thread-safe."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._options = statement.get_execution_options()
        self._compiled: dict[tuple[str, tuple[str, ...], bool], _Compiled] = {}
        self._lock = threading.Lock()

    def run(
        self, connection: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> CursorResult[Any]:
        """Execute with one row of ``params`` or, given a list, with each (executemany)."""
        rows = [params] if isinstance(params, Mapping) else list(params)
        if not rows:
            raise ValueError("Prepared.run needs at least one row of parameters")
        compiled = self.compiled_for(connection.dialect, tuple(sorted(rows[0])), len(rows) > 1)
        driver_rows = [_driver_row(compiled, row) for row in rows]
        driver = driver_rows[0] if isinstance(params, Mapping) else driver_rows
        return connection.exec_driver_sql(compiled.sql, driver, self._options)

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """A SELECT's rows, with its columns' result processing (named tuples)."""
        compiled = self.compiled_for(connection.dialect, (), False)
        cursor = connection.exec_driver_sql(compiled.sql, _driver_row(compiled, params),
                                            self._options)
        readers, row = compiled.readers, compiled.row
        if row is None or len(cursor.cursor.description) != len(readers):  # type: ignore[union-attr]
            # an ORM entity's columns are not its selected columns: its processors unknown
            raise ValueError("Prepared.rows: a SELECT of plain columns only")
        return [
            row(*(r(v) if r is not None else v for r, v in zip(readers, raw, strict=True)))
            for raw in cursor.fetchall()
        ]

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
    readers: list[Callable[[Any], Any] | None] = []
    row = None
    columns = getattr(statement, "selected_columns", None)
    if columns is not None and not getattr(statement, "is_dml", False):
        readers = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        row = namedtuple("Row", list(columns.keys()), rename=True)  # type: ignore[misc]
    return _Compiled(compiled.string, tuple(binds), bool(compiled.positional),
                     tuple(readers), row)


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
