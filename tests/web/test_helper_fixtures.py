"""The staff and task-operation helpers assume their own `ctx` (tests.web.staff_helpers: SQLite,
the staff, the fixture models deployed). pytest takes a fixture from a module only if the module
imports it; a test module that used the helpers but forgot `ctx_fixture` would silently get the
root `ctx` instead (both backends, nothing deployed) and fail, or worse pass, for the wrong
reason. Every module that imports the helpers imports the fixture too."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELPERS = {"tests.web.staff_helpers", "tests.web.task_ops_helpers"}
FIXTURE = ("tests.web.staff_helpers", "ctx_fixture")


def _imports(path: Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_modules_using_the_staff_helpers_take_their_ctx() -> None:
    users, missing = [], []
    for path in sorted(HERE.glob("test_*.py")):
        imported = _imports(path)
        if any(module in HELPERS for module, _name in imported):
            users.append(path.name)
            if FIXTURE not in imported:
                missing.append(path.name)
    assert len(users) >= 10  # the staff pages and the task operations
    assert missing == []
