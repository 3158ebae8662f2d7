"""A form pattern that backtracks catastrophically is refused at deploy (it would hang the
browser of whoever fills the field in: form-js runs it without a time limit), naming the form,
the field and the pattern; the previous version stays live. Ordinary patterns, the department's
own among them, deploy as before."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import InvalidModel
from engine.forms.pattern_probe import DEADLINE_SECONDS, MAX_SLOW, backtracking, may_backtrack
from engine.store.db import transaction
from engine.store.tables import ProcessModelRecord
from engine.usecases.deploy import Upload, deploy
from tests.conftest import MODELS

ROOT = Path(__file__).resolve().parents[2]

# Exponential in a backtracking engine (V8's, Python's `re`): nested quantifiers and
# overlapping alternatives under a repetition, with and without anchors and a literal start.
CATASTROPHIC = [
    r"^(a|a)+$",
    r"^(a+)+$",
    r"^(\w+\s?)*$",
    r"(\d+)*x",
    r"^([a-zA-Z0-9]+)*@",
    r"^([0-9]+(\.[0-9]+)?)+$",
    r"^INV-(\d+)+$",
]
ORDINARY = [
    r"^https?://.+",
    r"^1[3-9]\d{9}$",
    r"^PF-\d{4}$",
    r"^(\d{3}-)*\d{4}$",
    r"^((\+|00)86)?1\d{10}$",
    r"^([A-Z]{2}\d{2} ?)+$",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^[\u4e00-\u9fa5]{2,10}$",
]


def test_the_probe_tells_catastrophic_patterns_from_ordinary_ones():
    began = time.monotonic()
    assert backtracking(ORDINARY[:4] + CATASTROPHIC[:4] + ORDINARY[4:]) == CATASTROPHIC[:4]
    assert backtracking(CATASTROPHIC[4:] + ORDINARY) == CATASTROPHIC[4:]
    # each slow one costs its deadline (0.5 s), not the minutes it would take
    assert time.monotonic() - began < 30


def test_probing_stops_after_max_slow_patterns():
    """A form of many slow patterns costs MAX_SLOW deadlines, not one per pattern."""
    many = [rf"^(a+)+{i}$" for i in range(40)]
    began = time.monotonic()
    assert backtracking(many) == many[:MAX_SLOW]
    assert time.monotonic() - began < 2 * MAX_SLOW * DEADLINE_SECONDS + 10


def test_the_departments_own_patterns_are_ordinary():
    found = {
        node["validate"]["pattern"]
        for path in (ROOT / "bpmn").rglob("*.form")
        for node in _components(json.loads(path.read_text()))
        if (node.get("validate") or {}).get("pattern")
    }
    assert found  # the manual's forms do use patterns
    assert backtracking(found) == []


def test_only_patterns_with_a_repeated_group_are_probed():
    assert all(may_backtrack(p) for p in CATASTROPHIC)
    assert not may_backtrack(r"^https?://.+") and not may_backtrack(r"^(ab)?c$")


def _components(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("components", []):
        out.extend(_components(child))
    return out


def _uploads(submit_pattern: str | None, review_pattern: str | None = None) -> list[Upload]:
    forms = {p.name: json.loads(p.read_text()) for p in MODELS.glob("*.form")}
    for name, pattern in (("approval_submit.form", submit_pattern),
                          ("approval_review.form", review_pattern)):
        if pattern is not None:
            forms[name]["components"].append({
                "type": "textfield", "id": "f_code", "key": "code", "label": "项目编号",
                "validate": {"pattern": pattern},
            })
    bpmn = (MODELS / "approval_demo.bpmn").read_bytes()
    return [Upload("approval_demo.bpmn", bpmn)] + [
        Upload(name, json.dumps(form, ensure_ascii=False).encode())
        for name, form in forms.items()
    ]


def _live_version(ctx: Any) -> int | None:
    with ctx.sessions() as s:
        return s.scalar(select(ProcessModelRecord.latest_version)
                        .where(ProcessModelRecord.key == "approval_demo"))


def test_a_catastrophic_pattern_is_refused_at_deploy_naming_form_and_field(ctx):
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, _uploads(r"^PF-\d{4}$"), "owner")
    assert _live_version(ctx) == 1

    with pytest.raises(InvalidModel) as refused, transaction(ctx.sessions) as s:
        deploy(ctx, s, _uploads(r"^(\w+\s?)*$", r"^PF-\d{4}$"), "owner")
    [problem] = refused.value.details["problems"]
    assert problem["file"] == "approval_submit.form"
    assert problem["element_id"] == "f_code"
    assert problem["element_name"] == "项目编号"
    assert "灾难性回溯" in problem["message"] and r"^(\w+\s?)*$" in problem["message"]
    assert "backtracks catastrophically" in problem["message_en"]
    assert _live_version(ctx) == 1  # the previous version stays live

    # both forms' patterns are probed, and each slow one is named
    with pytest.raises(InvalidModel) as refused, transaction(ctx.sessions) as s:
        deploy(ctx, s, _uploads(r"^(a+)+$", r"^INV-(\d+)+$"), "owner")
    files = sorted(p["file"] for p in refused.value.details["problems"])
    assert files == ["approval_review.form", "approval_submit.form"]
    assert _live_version(ctx) == 1


def test_the_refused_pattern_really_hangs_a_backtracking_engine():
    """The premise, measured: Python's `re` (a backtracking engine like the browser's) takes
    seconds on 26 characters where the ordinary pattern takes microseconds. Run in a child,
    so the test itself cannot hang."""
    import subprocess
    import sys

    code = ("import re, sys, time; c = re.compile(sys.argv[1]); t = time.perf_counter(); "
            "c.search('a' * 24 + '!'); print(time.perf_counter() - t)")

    def seconds(pattern: str) -> float:
        out = subprocess.run([sys.executable, "-c", code, pattern], capture_output=True,
                             text=True, timeout=120, check=True).stdout
        return float(out)

    assert seconds(r"^(a+)+$") > 50 * max(seconds(r"^a+$"), 1e-4)
