"""``RestrictedEnvironment``: the SpiffWorkflow script environment running diagram code.

It builds each call's namespace from the task data (hiding ``_``-prefixed keys), runs the
restricted-compiled code under a ``Run``'s time and memory limits, turns unsafe exceptions into
``ScriptError``, and writes the script's data back after a size check.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)

from engine.sandbox.builtins import BUILTINS
from engine.sandbox.errors import ScriptError
from engine.sandbox.fastpath import is_fast, names_used
from engine.sandbox.limits import HANDLER_GUARD
from engine.sandbox.output import NOT_DATA, SCALARS, check_storable, data_size, safe_exception
from engine.sandbox.policy import compile_source, prepare_source
from engine.sandbox.tracer import Run

if TYPE_CHECKING:
    from engine.sandbox.pool import ScriptPool
    from engine.sandbox.remote import RemoteRunner


def _may_hide(namespace: Mapping[Any, Any]) -> bool:
    """Quick C-level test: may a key be private (``_``-prefixed) or not a string?"""
    try:
        return "\x00_" in "\x00" + "\x00".join(namespace)
    except TypeError:
        return True


_MUTABLE_HELPERS: Final = (dict, list, set, bytearray)
_MISSING: Final = object()


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running diagram code in the sandbox.

    Same contract as ``TaskDataEnvironment``: ``evaluate`` returns the value of an expression
    over the task data; ``execute`` runs a script in the task data and leaves new and changed
    variables there (not helpers, builtins, functions or generators; ``del x`` removes
    ``x``). Task-data keys starting with ``_`` are invisible to diagram code and untouched.

    Limits: ``time_limit`` seconds of wall-clock per call; ``memory_limit`` bytes of growth of
    the process's resident memory while a call runs (sampled every 5 ms; ``None`` to disable;
    Linux only); ``max_data_size`` bytes (approximate JSON size) for the task data a script
    leaves and for an expression's result (``None`` to disable). Errors are ``ScriptError``
    subclasses; ordinary Python errors of the diagram code (``KeyError``, ``NameError``...)
    propagate as they are, except that ones with non-text arguments become ``ScriptError``.

    ``helpers`` must be immutable values (functions, classes, tuples...): one mapping is
    shared by every call, so a dict or list there could be changed by one script for all
    later ones. Instances are thread-safe; the compile cache is shared process-wide.

    With a ``pool`` (``engine.sandbox.pool.ScriptPool``), code runs in one of its worker
    processes under kernel limits and a wall-clock kill, except code the fast path
    (``engine.sandbox.fastpath``) proves cannot loop or explode, which runs here without the
    tracer (``fast_path=False`` sends everything to the pool). Helpers that are closures
    (``now``, ``is_workday``...) are then called back here. Without a pool everything runs in
    this process, where the tracer cannot stop a long C-level operation.
    """

    def __init__(
        self,
        helpers: Mapping[str, Any] | None = None,
        time_limit: float = 1.0,
        *,
        memory_limit: int | None = 256 * 2**20,
        max_data_size: int | None = 16 * 2**20,
        pool: ScriptPool | None = None,
        fast_path: bool = True,
    ) -> None:
        helpers = dict(helpers or {})
        for name, value in helpers.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"helper names must be identifiers without '_': {name!r}")
            if isinstance(value, _MUTABLE_HELPERS):
                raise TypeError(
                    f"helper {name!r} is a mutable {type(value).__name__}; scripts could change "
                    "it for every later call (use a tuple, frozenset or MappingProxyType)"
                )
        if not time_limit > 0:
            raise ValueError("time_limit must be a positive number of seconds")
        super().__init__(helpers)
        self.helpers: Mapping[str, Any] = types.MappingProxyType(helpers)
        self.time_limit = float(time_limit)
        self.memory_limit = memory_limit
        self.max_data_size = max_data_size
        # Helpers live with the builtins: task data (a namespace's globals) can shadow them in
        # expressions, and a namespace is then just a copy of the task data.
        self._builtins: dict[str, Any] = {**BUILTINS, **helpers}
        self._helper_names = frozenset(helpers)
        self._remote: RemoteRunner | None = None
        self._fast_path = fast_path
        if pool is not None:
            from engine.sandbox.remote import RemoteRunner

            self._remote = RemoteRunner(pool, helpers, self.time_limit, memory_limit, max_data_size)

    @property
    def pool(self) -> ScriptPool | None:
        return self._remote.pool if self._remote is not None else None

    # -- SpiffWorkflow API ----------------------------------------------------------------

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        source = prepare_source(expression, "eval")
        code = compile_source(source, "eval")
        if self._remote is not None and not (self._fast_path and is_fast(source, "eval")):
            return self._remote.run(
                "eval", source, names_used(code), context, external_context or {}
            )  # type: ignore[arg-type]
        namespace = self._namespace(context, external_context)
        result = self._run(code, namespace, is_script=False, traced=self._remote is None)
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
        script: str,
        context: MutableMapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        external = external_context or {}
        self._check_for_overwrite(context, external)
        source = prepare_source(script, "exec")
        code = compile_source(source, "exec")
        if self._remote is not None and not (self._fast_path and is_fast(source, "exec")):
            self._remote.run("exec", source, names_used(code), context, external)
            return True
        namespace = self._namespace(context, external)
        self._run(code, namespace, is_script=True, traced=self._remote is None)
        self._write_back(namespace, context, external)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service calls are made by the script engine, not here")

    # -- internals ------------------------------------------------------------------------

    def _namespace(
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

    def _check_for_overwrite(self, context: Mapping[str, Any], external: Mapping[str, Any]) -> None:
        clashes = self._helper_names.intersection(context)
        if external:
            clashes |= external.keys() & context.keys()
        if clashes:
            raise ScriptError(
                "task data would overwrite predefined name(s) "
                f"{', '.join(sorted(map(str, clashes)))}; rename the variable or form field"
            )

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
                or key in self._helper_names
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
