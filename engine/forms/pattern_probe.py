"""Deploy-time probe of form patterns (``validate.pattern``) for catastrophic backtracking.

The server bounds every match (`engine.forms.rules`: the `regex` module, 0.1 s, outside the
GIL), but the staff's browser runs the same pattern in form-js (``new RegExp(p).test(value)``)
without any bound: a pattern that backtracks exponentially hangs the page of whoever types a
long enough value. The `regex` module even optimises some such shapes away (``^(a+)+$``), so
it cannot tell; Python's `re` backtracks like the browser's engine does. `re` holds the GIL
and cannot be interrupted, so the probe runs in a child process with a deadline.

A heuristic, stated plainly: only patterns with a repeated group (``(…)*``, ``(…)+``,
``(…){n,}``) can backtrack exponentially, and only those are probed, on the strings a
backtracking engine finds hardest (a run of one character the pattern names, then one that
breaks the match). It catches the known shapes (nested quantifiers, overlapping alternatives
under a repetition), not every possible one; the server's time limit stays the guarantee.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Iterable, Iterator

from engine.forms.schema import FormField, FormSchema, Node

# Safe patterns answer these probes in microseconds; an exponential one needs 2**RUN steps
# (seconds in `re`): the deadline tells them apart with a wide margin on a busy machine.
RUN = 26
DEADLINE_SECONDS = 0.5
_STARTUP_SECONDS = 2.0  # the child interpreter's start, on a busy machine
_REPEATED_GROUP = re.compile(r"\)\s*(?:[*+]|\{\d*,)")
_LEADING_LITERAL = re.compile(r"\^?([A-Za-z0-9_:/#-]*)")
_BREAKERS = ("!", "\n")
_MAX_ALPHABET = 64
# A deploy with this many slow patterns is refused without probing the rest: each costs its
# deadline, and a file of thousands must not hold a request for minutes.
MAX_SLOW = 5

# Runs in the child: the patterns and their probes come as JSON on stdin (data, never code);
# a line when it starts and one per pattern done, so the parent knows which ran out of time.
_CHILD = """
import json, re, resource, sys
resource.setrlimit(resource.RLIMIT_CPU, (5, 5))  # ends it should the parent be gone
work = json.load(sys.stdin)
print(0, flush=True)
for pattern, probes in work:
    try:
        compiled = re.compile(pattern, re.ASCII)
    except (re.error, OverflowError, RecursionError):
        compiled = None
    for text in probes if compiled is not None else ():
        compiled.search(text)
    print(1, flush=True)
"""


def patterned_fields(form: FormSchema) -> Iterator[tuple[FormField, str]]:
    """The form's input fields that have a pattern, with it, in form order."""
    stack: list[Node] = list(reversed(form.tree))
    while stack:
        node = stack.pop()
        if node.regex is not None and node.field is not None:
            yield node.field, node.regex.pattern
        stack.extend(reversed(node.children))


def may_backtrack(pattern: str) -> bool:
    """Whether the pattern has the shape exponential backtracking needs (a repeated group)."""
    return _REPEATED_GROUP.search(pattern) is not None


def probes(pattern: str) -> list[str]:
    """The hard strings for ``pattern``: a run of each character it names (and of ``a``,
    ``A``, ``1``, space, ``_`` for its classes), then a character that breaks the match; with
    and without the literal text the pattern starts with."""
    alphabet = sorted(set(pattern) | set("aA1 _"))[:_MAX_ALPHABET]
    lead = _LEADING_LITERAL.match(pattern).group(1)  # every part optional: it always matches
    prefixes = sorted({"", lead})
    return [p + ch * RUN + b for p in prefixes for ch in alphabet for b in _BREAKERS]


def backtracking(patterns: Iterable[str]) -> list[str]:
    """Those of ``patterns`` that ran out of time on their probes (in the given order; the
    first MAX_SLOW of them)."""
    queue = [p for p in dict.fromkeys(patterns) if may_backtrack(p)]
    slow: list[str] = []
    while queue and len(slow) < MAX_SLOW:
        done = _run_child(queue)
        if done >= len(queue):
            break
        slow.append(queue[done])  # the one running when its deadline passed
        queue = queue[done + 1:]
    return slow


def _run_child(patterns: list[str]) -> int:
    """How many of ``patterns`` the child finished, each within DEADLINE_SECONDS."""
    payload = json.dumps([[p, probes(p)] for p in patterns]).encode()
    with subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _CHILD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(payload)
            child.stdin.close()
            lines = 0  # the start-up line, then one per pattern done
            allowance = _STARTUP_SECONDS
            while lines <= len(patterns):
                ready, _, _ = select.select([child.stdout], [], [], allowance)
                chunk = os.read(child.stdout.fileno(), 4096) if ready else b""
                if not chunk:  # out of time, or the child ended early (its CPU limit)
                    break
                lines += chunk.count(b"\n")
                allowance = DEADLINE_SECONDS
            # No start-up line: the probe could not run at all (no verdict on any pattern:
            # the server's own limit still holds).
            return lines - 1 if lines else len(patterns)
        except BrokenPipeError:  # the child died before reading its input: no verdict
            return len(patterns)
        finally:
            child.kill()
