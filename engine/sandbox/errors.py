"""The sandbox's exception types.

Every failure the sandbox itself reports is a ``ScriptError`` subclass, so callers (the script
engine, deploy-time validation) can tell diagram-code problems from their own bugs by type alone.
"""

from __future__ import annotations


class ScriptError(Exception):
    """A diagram's script or expression failed in the sandbox.

    ``args`` is always ``(message,)`` with a ``str`` message: SpiffWorkflow builds its error
    detail with ``":" + err.args[0]``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptCompileError(ScriptError):
    """The source does not compile, or RestrictedPython/the sandbox policy refuses it."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


class ScriptSecurityError(ScriptError):
    """A guard refused something at run time (private attribute, forbidden builtin, ...)."""


class ScriptTimeout(ScriptError):
    """The script or expression ran longer than the environment's time limit."""


class ScriptResourceError(ScriptError):
    """A size or memory limit was hit (huge ``**``, sequence ``*``, memory growth, output)."""
