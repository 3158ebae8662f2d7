"""Which group a BPMN lane stands for: lanes are named by group key or by (Chinese or English)
display name. Read for every new task routed by its lane, so the map is cached per database."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.tables import GroupRecord

# Groups are only ever added (engine.people.accounts); a lane missing from the cached map re-reads
# the
# table at once, so a new group is seen immediately, by every process. The age limit bounds
# anything else (a display name edited in the database by hand).
CACHE_SECONDS = 60.0
_cache: WeakKeyDictionary[Any, tuple[float, dict[str, str]]] = WeakKeyDictionary()


def group_names(session: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for g in session.scalars(select(GroupRecord)):
        out[g.name] = g.name
        out[g.display_name] = g.name
        if g.display_name_en:
            out[g.display_name_en] = g.name
    return out


class LaneGroups(Mapping[str, str]):
    """Lane name -> group for one save, read lazily (most saves route no task by its lane)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._names: dict[str, str] | None = None
        self._fresh = False

    def _load(self, fresh: bool = False) -> dict[str, str]:
        if self._names is None or fresh:
            bind = self._session.get_bind()
            hit = _cache.get(bind)
            if fresh or hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
                hit = (time.monotonic(), group_names(self._session))
                _cache[bind] = hit
                self._fresh = True
            self._names = hit[1]
        return self._names

    def __contains__(self, key: object) -> bool:
        if key in self._load():
            return True
        return not self._fresh and key in self._load(fresh=True)

    def __getitem__(self, key: str) -> str:
        if key not in self:
            raise KeyError(key)
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
