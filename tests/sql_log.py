"""The SQL statements a block of code runs, for the tests that count or read them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statements_run(db: Engine) -> Iterator[list[str]]:
    """The statements run on ``db`` inside the block, whitespace folded, in order."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        seen.append(" ".join(text.split()))

    event.listen(db, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(db, "before_cursor_execute", statement)
