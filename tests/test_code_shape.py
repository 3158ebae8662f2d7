"""The shape rules of the codebase, checked by the test command: a module over ~400 lines or a
function over ~80 is usually two ideas, and a leading underscore means private to its module.

Module sizes and private imports are checked in engine/, web/, handlers/ and tests/; function
lengths in the first three only (end-to-end tests walk a whole process in one function). The
modules and functions still over are listed with their size today and may only shrink; a new one
over the limit fails here. When one is split, remove it from the list (a stale entry fails too,
so the list stays true)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "web", "handlers")  # every rule
TESTS = "tests"  # module sizes and private imports
MODULE_LINES = 400
FUNCTION_LINES = 80

# Known debt (issue: one home per rule): the size each had when this check came in.
LARGE_MODULES = {
    "tests/browser/test_assets.py": 497,
    "tests/engine/test_restore_equivalence.py": 434,
    "tests/engine/test_sandbox_pool.py": 581,
    "tests/ops/test_access_matrix.py": 436,
    "tests/reliability/test_shutdown.py": 422,
}
LONG_FUNCTIONS = {
}


def _sources() -> list[Path]:
    return sorted(
        p
        for package in (*PACKAGES, TESTS)
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts and "static" not in p.parts
    )


def _measure() -> tuple[dict[str, int], dict[str, int]]:
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        modules[name] = len(text.splitlines())
        if path.relative_to(ROOT).parts[0] not in PACKAGES:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                key = f"{name}::{node.name}"
                length = node.end_lineno - node.lineno + 1
                functions[key] = max(functions.get(key, 0), length)
    return modules, functions


def test_no_module_grows_past_the_limit() -> None:
    modules, _ = _measure()
    over = {m: n for m, n in modules.items() if n > MODULE_LINES}
    grown = {m: n for m, n in over.items() if n > LARGE_MODULES.get(m, MODULE_LINES)}
    assert not grown, f"modules over {MODULE_LINES} lines (split them): {grown}"
    stale = {m for m in LARGE_MODULES if modules.get(m, 0) <= MODULE_LINES}
    assert not stale, f"no longer over the limit, remove from LARGE_MODULES: {sorted(stale)}"


def test_no_function_grows_past_the_limit() -> None:
    _, functions = _measure()
    over = {f: n for f, n in functions.items() if n > FUNCTION_LINES}
    grown = {f: n for f, n in over.items() if n > LONG_FUNCTIONS.get(f, FUNCTION_LINES)}
    assert not grown, f"functions over {FUNCTION_LINES} lines (split them): {grown}"
    stale = {f for f in LONG_FUNCTIONS if functions.get(f, 0) <= FUNCTION_LINES}
    assert not stale, f"no longer over the limit, remove from LONG_FUNCTIONS: {sorted(stale)}"


def test_no_module_imports_another_modules_private_names() -> None:
    """A leading underscore means private to its module. ruff's PLC2701 does not look inside
    one package (and is off for tests/), so this walks every `from engine|web|handlers|tests…
    import _name` itself. Everything in a test module (tests/…/test_*.py) is its own too: what
    two test modules share lives in a plain helper module, never imported from a test module."""
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):  # import tests.….test_x
                found += [
                    f"{path.relative_to(ROOT)}: {alias.name}"
                    for alias in node.names
                    if alias.name.split(".")[0] == TESTS
                    and alias.name.split(".")[-1].startswith("test_")
                ]
                continue
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] not in (*PACKAGES, TESTS):
                continue
            from_test_module = parts[0] == TESTS and parts[-1].startswith("test_")
            found += [
                f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                for alias in node.names
                if from_test_module
                or (parts[0] == TESTS and alias.name.startswith("test_"))  # import test_x
                or (alias.name.startswith("_") and not alias.name.startswith("__"))
            ]
    assert found == [], (
        "private names, or a test module's names, imported across modules:\n" + "\n".join(found)
    )
