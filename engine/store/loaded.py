"""ORM objects made from columns already read, in the session as if a query had loaded them.

Loading entities through the ORM costs several times the row's read (py-spy on
`bench/api_cost.py`: a completion's task read was a tenth of the request, mostly the ORM's
loading of three entities and a collection). A read of plain columns (`engine.store.prepared`)
and these objects give the callers what the ORM's query gave them: objects of the session whose
changes flush as UPDATEs, and the one the session already holds when it holds one (the ORM
would not overwrite it either)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")


def column_keys(cls: type) -> list[str]:
    """The mapped class's column attributes, in the table's order."""
    return [attr.key for attr in inspect(cls).column_attrs]


def loaded(session: Session, cls: type[T], values: Mapping[str, Any]) -> T:
    """The ``cls`` object with these stored ``values`` (every column), as a query would give
    it: the session's own when it has one with this primary key."""
    mapper = inspect(cls)
    key = mapper.identity_key_from_primary_key(
        [values[column.key] for column in mapper.primary_key]
    )
    held = session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[no-any-return]
    obj = cls(**values)
    make_transient_to_detached(obj)  # its values become the loaded state, nothing to write
    session.add(obj)
    return obj
