"""Module-wide sandbox limits and the hidden names the rewritten code calls.

The guards are plain functions shared by every environment, so their size limits live here
as constants; the compile-time policy and the run-time tracer agree on the filename of compiled
code and on the names of the handler guard and the loop tick through this module.
"""

from __future__ import annotations

from typing import Final, NoReturn

from engine.sandbox.errors import ScriptResourceError

MAX_SEQUENCE_LENGTH: Final = 1_000_000
"""Longest str/bytes/list/tuple a single guarded operation may build; also the range cap."""

MAX_INT_BITS: Final = 65_536
"""Largest int (in bits, ~19,700 decimal digits) that ``*``, ``**`` and ``<<`` may build."""

MAX_MODPOW_COST: Final = 4096 * 4096
"""Three-argument pow: exponent bits times modulus bits."""

MEMORY_CHECK_INTERVAL: Final = 0.005
"""Seconds between two memory samples while a script runs (none for shorter runs)."""

SCRIPT_FILENAME: Final = "<string>"
"""Filename of compiled diagram code; SpiffWorkflow finds error lines by it."""

HANDLER_GUARD: Final = "_handler_guard_"
LOOP_TICK: Final = "_loop_"


def too_big(what: str) -> NoReturn:
    raise ScriptResourceError(f"{what} would exceed the sandbox size limit")
