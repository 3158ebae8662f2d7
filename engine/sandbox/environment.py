"""``RestrictedEnvironment``: the SpiffWorkflow script environment running diagram code.

It prepares and compiles the code under the sandbox policy, refuses task data that would
overwrite a helper, and runs the code in this process (``engine.sandbox.local``) or, with a
pool, in a worker process (``engine.sandbox.remote``).
"""

from __future__ import annotations

import types
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)

from engine.sandbox.errors import ScriptError
from engine.sandbox.fastpath import is_fast, names_used
from engine.sandbox.local import LocalRunner
from engine.sandbox.policy import compile_source, prepare_source
from engine.sandbox.remote import RemoteRunner

if TYPE_CHECKING:
    from engine.sandbox.pool import ScriptPool

_MUTABLE_HELPERS: Final = (dict, list, set, bytearray)


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
        self.local = LocalRunner(helpers, self.time_limit, memory_limit, max_data_size)
        self._remote = (
            RemoteRunner(pool, helpers, self.time_limit, memory_limit, max_data_size)
            if pool is not None
            else None
        )
        self._fast_path = fast_path

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
        return self.local.evaluate(code, context, external_context, traced=self._remote is None)

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
        self.local.execute(code, context, external, traced=self._remote is None)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service calls are made by the script engine, not here")

    # -- internals ------------------------------------------------------------------------

    def _check_for_overwrite(self, context: Mapping[str, Any], external: Mapping[str, Any]) -> None:
        clashes = self.local.helper_names.intersection(context)
        if external:
            clashes |= external.keys() & context.keys()
        if clashes:
            raise ScriptError(
                "task data would overwrite predefined name(s) "
                f"{', '.join(sorted(map(str, clashes)))}; rename the variable or form field"
            )
