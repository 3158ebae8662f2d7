"""Sandbox for the untrusted Python found in BPMN and DMN diagrams.

Scripts, gateway conditions, timer expressions, service-task parameters, DMN cells and
assignee/due-date expressions come from diagrams that process owners upload, so they run here
instead of in SpiffWorkflow's ``TaskDataEnvironment`` (plain ``eval``/``exec``, where
``import os`` works). Two lines of defence:

1. **Policy** (in every process that runs diagram code). Compiled by RestrictedPython with a
   stricter policy: no ``import``, ``class`` or ``with`` statements; ``+ * ** << %`` and f-string
   format specs go through size guards; every ``except``/``finally`` block starts by re-checking
   the limits, so a script cannot swallow a timeout and keep running. Run with guarded attribute
   access (nothing starting with ``_``, no frame, code or generator internals, no
   ``str.format``), a short list of builtins, and the helpers given to the environment.
   Task-data keys starting with ``_`` are never visible. A tracer (``sys.settrace``) stops
   Python-level loops at the time limit and checks memory growth; the data a script leaves
   behind and an expression's value are size-checked.

2. **Process boundary** (``pool``, ``worker``, ``remote``, ``wire``; used when the environment
   has a ``ScriptPool``, as the engine's does). The code runs in a worker process started with
   the forkserver method. Guaranteed whatever the code does, including single C-level
   operations the tracer cannot interrupt (``hash`` or ``str`` of nested shared tuples/lists):
   the call ends with ``ScriptTimeout`` within the time limit plus ``pool.KILL_GRACE`` (0.2 s)
   plus the kill (the engine SIGKILLs the worker at its deadline; ``RLIMIT_CPU`` backs this
   up); memory is bounded by ``RLIMIT_AS`` (``ScriptResourceError``); the worker also lowers
   ``RLIMIT_CORE``/``RLIMIT_FSIZE``/``RLIMIT_NPROC`` to 0 (the last is ignored for root); a
   killed or crashed worker is replaced by the next call. The engine's thread waits in
   ``poll`` without the GIL, so the rest of the server keeps answering; calls beyond the
   pool's size wait for a free worker (at most one time limit plus the grace). Replies are
   unpickled with a whitelist of plain data classes and size-checked before the engine accepts
   them, so even an escaped worker cannot make the engine run code. Helpers that are closures
   over the engine (``now()``, ``today()``, ``add_workdays()``, ``is_workday()``) are called
   back in the engine, so they see its clock and current working-day calendar at call time.
   Code the fast path (``fastpath``) proves bounded — names, literals, comparisons, boolean
   logic, bounded arithmetic, subscripts by constants, a few cheap builtins, simple
   assignments — runs in the engine's process, with the same compiled code and guards.

Without a pool (``RestrictedEnvironment(...)`` alone, e.g. deploy-time checks and some tests)
only the first line applies: a single long C-level operation then runs to its end.

The sandbox is split by concern: ``policy`` (compile-time rewriting and the restricted compile),
``operator_guards``/``attribute_guards``/``builtins`` (what the rewritten code calls at run time),
``limits`` (size constants), ``tracer`` (time and memory limits), ``output`` (checks on data and
errors leaving the sandbox), ``environment`` (``RestrictedEnvironment``: compiles, then runs
here or in a worker), ``local`` (running compiled code in this process: the engine's fast path
and every worker), ``errors``, ``fastpath`` (what may skip the worker), ``pool``/``worker`` (the
processes), ``remote`` (the engine's side of a call) and ``wire`` (what crosses the boundary).
"""

from engine.sandbox.environment import RestrictedEnvironment
from engine.sandbox.errors import (
    ScriptCompileError,
    ScriptError,
    ScriptResourceError,
    ScriptSecurityError,
    ScriptTimeout,
)
from engine.sandbox.limits import MAX_INT_BITS, MAX_SEQUENCE_LENGTH
from engine.sandbox.policy import check_source
from engine.sandbox.policy import (
    compile_source as compile_source,  # tests read its cache statistics
)

__all__ = [
    "MAX_INT_BITS",
    "MAX_SEQUENCE_LENGTH",
    "RestrictedEnvironment",
    "ScriptCompileError",
    "ScriptError",
    "ScriptResourceError",
    "ScriptSecurityError",
    "ScriptTimeout",
    "check_source",
]
