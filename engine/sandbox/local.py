"""``LocalRunner``: diagram code run in this process.

It builds each call's namespace from the task data (hiding ``_``-prefixed keys), runs the
restricted-compiled code under a ``Run``'s time and memory limits (untraced when the fast path
proved it bounded), turns unsafe exceptions into ``ScriptError``, and writes the script's data
back after a size check. ``RestrictedEnvironment`` runs code here when it has no pool (or the
fast path applies); a pool's worker process runs here everything sent to it.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

from engine.sandbox.builtins import BUILTINS
from engine.sandbox.errors import ScriptError
from engine.sandbox.limits import HANDLER_GUARD
from engine.sandbox.output import NOT_DATA, SCALARS, check_storable, data_size, safe_exception
from engine.sandbox.tracer import Run

_MISSING: Final = object()


def _may_hide(namespace: Mapping[Any, Any]) -> bool:
    """Quick C-level test: may a key be private (``_``-prefixed) or not a string?"""
    try:
        return "\x00_" in "\x00" + "\x00".join(namespace)
    except TypeError:
        return True


class LocalRunner:
    """Runs compiled diagram code in this process with ``helpers`` beside the builtins
    (checked by ``RestrictedEnvironment``: identifiers, immutable values)."""

    def __init__(
        self,
        helpers: Mapping[str, Any],
        time_limit: float,
        memory_limit: int | None,
        max_data_size: int | None,
    ) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.max_data_size = max_data_size
        # Helpers live with the builtins: task data (a namespace's globals) can shadow them in
        # expressions, and a namespace is then just a copy of the task data.
        self._builtins: dict[str, Any] = {**BUILTINS, **helpers}
        self.helper_names = frozenset(helpers)

    def evaluate(
        self,
        code: types.CodeType,
        context: Mapping[str, Any],
        external: Mapping[str, Any] | None,
        *,
        traced: bool,
    ) -> Any:
        """The expression's value, checked as data."""
        result = self._run(code, self.namespace(context, external), is_script=False,
                           traced=traced)
        if (
            self.max_data_size is not None
            and not isinstance(result, SCALARS)
            and not callable(result)
        ):
            data_size(result, self.max_data_size, "the expression's value")
        check_storable(result, "the expression's value")
        return result

    def execute(
        self,
        code: types.CodeType,
        context: MutableMapping[str, Any],
        external: Mapping[str, Any],
        *,
        traced: bool,
    ) -> None:
        """Run the script; its new and changed variables are written back into ``context``."""
        namespace = self.namespace(context, external)
        self._run(code, namespace, is_script=True, traced=traced)
        self._write_back(namespace, context, external)

    def namespace(
        self, context: Mapping[str, Any], external: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        namespace = {**external, **context} if external else dict(context)
        if _may_hide(namespace):
            for key in [k for k in namespace if type(k) is not str or k[:1] == "_"]:
                del namespace[key]
        namespace["__builtins__"] = self._builtins  # task data may not replace (or drop) them
        return namespace

    def _run(
        self, code: types.CodeType, namespace: dict[str, Any], *, is_script: bool, traced: bool
    ) -> Any:
        if not traced:  # fast path: proven bounded, no tracer needed
            try:
                return exec(code, namespace) if is_script else eval(code, namespace)
            except Exception as exc:
                if isinstance(exc, ScriptError):
                    raise
                safe = safe_exception(exc)
                if safe is not exc:
                    raise safe from None
                raise
        run = Run(self.time_limit, self.memory_limit)
        if is_script:
            namespace[HANDLER_GUARD] = run.handler_guard
        previous = sys.gettrace()
        sys.settrace(run.trace_call)
        try:
            result = exec(code, namespace) if is_script else eval(code, namespace)
        except BaseException as exc:
            sys.settrace(previous)
            if run.abort is not None and exc is not run.abort:
                raise run.abort from None
            if isinstance(exc, Exception) and not isinstance(exc, ScriptError):
                safe = safe_exception(exc)
                if safe is not exc:
                    raise safe from None
            raise
        sys.settrace(previous)
        if run.abort is not None:  # a limit fired and the script still ended normally
            raise run.abort
        return result

    def _write_back(
        self,
        namespace: dict[str, Any],
        context: MutableMapping[str, Any],
        external: Mapping[str, Any],
    ) -> None:
        updates: dict[str, Any] = {}
        for key, value in namespace.items():
            if (
                key[:1] == "_"
                or key in self.helper_names
                or (key in external and key not in context)
                or callable(value)
                or isinstance(value, NOT_DATA)
            ):
                continue
            updates[key] = value
        if self.max_data_size is not None:
            data_size(updates, self.max_data_size, "the task data left by the script")
        check_storable(updates, "the task data left by the script")
        removed = [
            key for key in context if type(key) is str and key[:1] != "_" and key not in namespace
        ]
        for key in removed:
            del context[key]
        for key, value in updates.items():
            if context.get(key, _MISSING) is not value:
                context[key] = value
