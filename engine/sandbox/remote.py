"""The engine's side of running one script or expression in a worker process.

``RemoteRunner`` belongs to one ``RestrictedEnvironment``. Per call it sends the source and only
the task-data variables the compiled code names (each pickled on its own, so the worker can tell
what the code changed), answers the worker's helper calls, checks the reply as data, and then
applies it exactly as the in-process write-back would: new and rebound variables are set,
deleted ones removed, and a container the code changed in place (``items.append(x)``) is
updated in place, so other references to it see the change as before.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from engine.sandbox import wire
from engine.sandbox.errors import ScriptError
from engine.sandbox.output import SCALARS, check_storable, data_size
from engine.sandbox.worker import RemoteHelper

if TYPE_CHECKING:
    from engine.sandbox.pool import ScriptPool

_MISSING: Final = object()


def _by_reference(value: Any) -> bool:
    try:
        return pickle.loads(pickle.dumps(value, wire.PROTOCOL)) is value
    except Exception:
        return False


def _visible(key: object) -> bool:
    return type(key) is str and key[:1] != "_"


def _update_in_place(container: MutableMapping[str, Any], key: str, value: Any) -> None:
    old = container.get(key, _MISSING)
    if type(old) is list and type(value) is list:
        old[:] = value
    elif (type(old) is dict and type(value) is dict) or (type(old) is set and type(value) is set):
        old.clear()
        old.update(value)
    else:
        container[key] = value


class RemoteRunner:
    """Runs an environment's code in ``pool`` (see the module docstring)."""

    def __init__(
        self,
        pool: ScriptPool,
        helpers: Mapping[str, Any],
        time_limit: float,
        memory_limit: int | None,
        max_data_size: int | None,
    ) -> None:
        self.pool = pool
        self.time_limit = time_limit
        self.max_data_size = max_data_size
        table: dict[str, Any] = {}
        self._remote: dict[str, Callable[..., Any]] = {}
        for name, value in helpers.items():
            if callable(value) and not _by_reference(value):
                table[name] = RemoteHelper()
                self._remote[name] = value
            else:
                table[name] = value
        try:
            self._blob = pickle.dumps((table, time_limit, memory_limit, max_data_size))
        except Exception as exc:
            raise TypeError(f"a helper cannot be sent to the script workers: {exc}") from None
        self._key = hashlib.blake2b(self._blob, digest_size=16).digest()

    def run(
        self,
        mode: str,
        source: str,
        names: frozenset[str],
        context: MutableMapping[str, Any],
        external: Mapping[str, Any],
    ) -> Any:
        data = self._pickled(context, names, skip=())
        outside = self._pickled(external, names, skip=context)

        def prepare(known: set[Any]) -> tuple[Any, ...]:
            blob = None if self._key in known else self._blob
            known.add(self._key)
            return (mode, source, data, outside, self._key, blob, self.time_limit)

        reply = self.pool.call((), self.time_limit, self._callback, prepare)
        if reply[0] == "error" and len(reply) == 3:
            exc, lineno = wire.decode_error(reply[1])
            wire.raise_at(exc, lineno)
        if reply[0] != "done" or len(reply) != 6:
            raise ScriptError("the script worker sent an unreadable reply")
        _, result, assigned, mutated, removed, external_mutated = reply
        self._check_shapes(data, outside, assigned, mutated, removed, external_mutated)
        if mode == "exec":
            self._check_size(context, assigned, mutated, removed)
        else:
            if self.max_data_size is not None and not isinstance(result, SCALARS):
                data_size(result, self.max_data_size, "the expression's value")
            check_storable(result, "the expression's value")
        for key in removed:
            del context[key]
        for key, value in assigned.items():
            context[key] = value
        for key, value in mutated.items():
            _update_in_place(context, key, value)
        for key, value in external_mutated.items():
            _update_in_place(external, key, value)  # type: ignore[arg-type]
        return result

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _pickled(
        source: Mapping[str, Any], names: frozenset[str], skip: Mapping[str, Any] | tuple[()]
    ) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for key in names:
            if key in source and key not in skip and _visible(key):
                try:
                    out[key] = pickle.dumps(source[key], wire.PROTOCOL)
                except Exception as exc:
                    raise ScriptError(
                        f"variable {key!r} cannot be given to the script: {exc}"
                    ) from None
        return out

    def _callback(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        helper = self._remote.get(name)
        if helper is None:
            raise ScriptError(f"no helper named {name!r}")
        return helper(*args, **kwargs)

    @staticmethod
    def _check_shapes(
        data: dict[str, bytes],
        outside: dict[str, bytes],
        assigned: Any,
        mutated: Any,
        removed: Any,
        external_mutated: Any,
    ) -> None:
        ok = (
            isinstance(assigned, dict)
            and isinstance(mutated, dict)
            and isinstance(removed, list)
            and isinstance(external_mutated, dict)
            and all(_visible(k) for k in assigned)
            and all(k in data for k in mutated)
            and all(type(k) is str and k in data for k in removed)
            and all(k in outside for k in external_mutated)
        )
        if not ok:
            raise ScriptError("the script worker sent an unreadable reply")

    def _check_size(
        self,
        context: Mapping[str, Any],
        assigned: dict[str, Any],
        mutated: dict[str, Any],
        removed: list[str],
    ) -> None:
        """The in-process write-back's size check, on the task data as it would be."""
        if self.max_data_size is None:
            return
        gone = set(removed)
        final = {
            key: value
            for key, value in context.items()
            if _visible(key) and key not in gone and not callable(value)
        }
        final.update(assigned)
        final.update(mutated)
        data_size(final, self.max_data_size, "the task data left by the script")
        check_storable([assigned, mutated], "the task data left by the script")
