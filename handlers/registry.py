"""The explicit registry of service-task handlers: a decorator adds a function to a dict.

A handler receives its evaluated parameters (plain values) and a `HandlerContext`, and returns
JSON-able data which the engine stores in the task's result variable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy.orm import Session


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class HandlerContext:
    instance_id: int
    process_key: str
    element_id: str
    clock: Clock
    session: Session
    started_by: str
    data: Mapping[str, Any]
    # The deployment's time zone (`Settings.zone`): how times are shown and read
    # (`engine.wall_clock`), in documents as on the pages.
    zone: tzinfo
    # Audit entries a handler wants recorded (e.g. "lead handed to sales"), added to the log.
    notes: list[dict[str, Any]] = field(default_factory=list)
    # The instance's data across all its branches, computed when asked (the engine gives it;
    # None outside the engine). `data` is the task's own branch: parallel branches keep their
    # own copies until a join merges them, so a step reporting on branches that have not joined
    # it (the launch's 《活动总结》 while a late poster is still open) reads `instance_data()`.
    instance_view: Callable[[], Mapping[str, Any]] | None = None
    # Who acts in this action: the person completing a step (the step the engine goes on from)
    # or sending a message; None when the engine acts alone (a timer, a retry). A document
    # saying who confirmed something reads it: the step's own row is saved after the action.
    actor: str | None = None

    def instance_data(self) -> dict[str, Any]:
        """Every variable's latest value across the instance's branches (what the instance's
        page shows as its data), with this task's own data on top."""
        merged = dict(self.instance_view()) if self.instance_view is not None else {}
        merged.update(self.data)
        return merged


Handler = Callable[[dict[str, Any], HandlerContext], Any]


class UnknownHandler(KeyError):
    pass


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"handler {name!r} registered twice")
            self._handlers[name] = fn
            return fn

        return register

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            raise UnknownHandler(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))
