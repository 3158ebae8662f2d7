"""Sandbox for the untrusted Python found in BPMN and DMN diagrams.

Scripts, gateway conditions, timer expressions, service-task parameters and DMN cells come
from diagrams that process owners upload, so they run here instead of in SpiffWorkflow's
``TaskDataEnvironment`` (plain ``eval``/``exec``, where ``import os`` works):

* Compiled by RestrictedPython with a stricter policy: no ``import``, ``class`` or ``with``
  statements; ``+ * ** << %`` and f-string format specs go through size guards; every
  ``except``/``finally`` block starts by re-checking the limits, so a script cannot swallow
  a timeout and keep running.
* Run with guarded attribute access (nothing starting with ``_``, no frame, code or
  generator internals, no ``str.format``), a short list of builtins, and the helpers given to
  the environment. Task-data keys starting with ``_`` are never visible.
* Bounded: a wall-clock limit per call (``sys.settrace``), a check on the process's memory
  growth while a script runs, and a size check on the data a script leaves behind or an
  expression returns.

What this cannot stop is a *single* C-level operation that runs for a long time on a
structure that is small in memory but huge logically (e.g. ``==`` or ``repr`` of nested lists
that share their elements): the tracer only runs between Python-level steps. See
``RestrictedEnvironment`` for the limits and the module's test file for the attacks tried.

The sandbox is split by concern: ``policy`` (compile-time rewriting and the restricted compile),
``operator_guards``/``attribute_guards``/``builtins`` (what the rewritten code calls at run time),
``limits`` (size constants), ``tracer`` (time and memory limits), ``output`` (checks on data and
errors leaving the sandbox), ``environment`` (``RestrictedEnvironment``) and ``errors``.
"""

from engine.scripts.environment import RestrictedEnvironment
from engine.scripts.errors import (
    ScriptCompileError,
    ScriptError,
    ScriptResourceError,
    ScriptSecurityError,
    ScriptTimeout,
)
from engine.scripts.limits import MAX_INT_BITS, MAX_SEQUENCE_LENGTH
from engine.scripts.policy import _compile as _compile  # tests read its cache statistics
from engine.scripts.policy import check_source

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
