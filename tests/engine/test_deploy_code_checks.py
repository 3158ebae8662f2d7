"""Deploy refuses diagram code that could only fail later (issue 12): empty scripts, conditions
and timers, expressions too deep or too big for the compiler, oversized scripts, bad syntax in
every kind of expression (DMN cells, timers, task properties) and form expressions beyond the
FEEL evaluator's bounds. Each refusal is an InvalidModel (400 through the API) naming the file
and the element; nothing is stored, so the previous version stays the live one."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from engine.bpmn.code_bounds import (
    MAX_EXPRESSION_BYTES,
    MAX_MODEL_CODE_BYTES,
    MAX_NESTING,
    MAX_SCRIPT_BYTES,
    code_problem,
    nesting_score,
)
from engine.errors import InvalidModel
from engine.forms.feel import MAX_FEEL_DEPTH, MAX_FEEL_OPERATORS
from engine.read import model_view
from engine.store.db import transaction
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy
from tests.conftest import MODELS, deploy_fixture, make_staff

BPMN = "approval_demo.bpmn"
SOURCE = (MODELS / BPMN).read_text()
SUBMIT_PROPS = '<spiffworkflow:property name="dueIn" value="P2D"/>'
CONDITION = "amount &gt; 1000"
SUBMIT_TASK = '<bpmn:userTask id="submit" name="提交说明">\n      <bpmn:extensionElements>'


@pytest.fixture
def live(sqlite_ctx: Any) -> Any:
    """Version 1 of approval_demo deployed and its staff created."""
    staff = make_staff(sqlite_ctx)
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx, staff


def refuse(ctx: Any, files: dict[str, str]) -> InvalidModel:
    with transaction(ctx.sessions) as s, pytest.raises(InvalidModel) as err:
        deploy(ctx, s, [Upload(n, c.encode()) for n, c in files.items()], "owner")
    return err.value


def assert_names(err: InvalidModel, file: str, element: str, *words: str) -> dict[str, Any]:
    """The refusal has a problem naming `file` and `element` (and saying `words`)."""
    text = err.message + json.dumps(err.details, ensure_ascii=False)
    for word in words:
        assert word in text, text[:2000]
    problems = err.details.get("problems")
    if problems is None:  # a form: one problem, the component named in the message
        assert err.details["file"] == file and element in err.message, err.message
        return err.details
    found = [p for p in problems if p["file"] == file and p["element_id"] == element]
    assert found, problems
    return found[0]


def assert_still_live(ctx: Any, staff: dict[str, Any]) -> None:
    with transaction(ctx.sessions) as s:
        assert model_view.model_detail(s, "approval_demo")["latest_version"] == 1
    with transaction(ctx.sessions) as s:
        inst = instances.start(ctx, s, staff["alice"], "approval_demo",
                               {"title": "仍可发起", "amount": 5000})
    assert inst.version_number == 1 and inst.status == "running"


def nested(n: int) -> str:
    return "(" * n + "amount" + ")" * n


@pytest.mark.parametrize(
    ("label", "old", "new", "element", "words"),
    [
        ("empty script", "<bpmn:script>decision = 'approve'</bpmn:script>", "<bpmn:script/>",
         "auto", ["为空"]),
        ("whitespace script", "<bpmn:script>decision = 'approve'</bpmn:script>",
         "<bpmn:script>  \n\t </bpmn:script>", "auto", ["为空"]),
        ("no script element", "<bpmn:script>decision = 'approve'</bpmn:script>", "",
         "auto", ["为空"]),
        ("whitespace condition", CONDITION, "   ", "gw_amount", ["为空"]),
        ("3000 nested parentheses in a condition", CONDITION, nested(3000) + " &gt; 1000",
         "gw_amount", ["nested"]),
        ("5000-term condition", CONDITION, "amount" + " + 1" * 5000 + " &gt; 1000",
         "gw_amount", ["KiB"]),
        ("1000-term condition", CONDITION, "amount" + "+1" * 1000 + " &gt; 1000",
         "gw_amount", ["nested"]),
        ("1000 chained calls in a script", "decision = 'approve'", "x = f" + "()" * 1000,
         "auto", ["nested"]),
        ("bad syntax in a timer", '"PT1H"', '"PT1H" +', "wait", ["does not compile"]),
        ("a constant timer that is no duration", '"PT1H"', '"next week"', "wait",
         ["定时器的值", "not a usable time"]),
        ("a constant timer far beyond the years planflow takes", '"PT1H"', '"P5000Y"', "wait",
         ["1900–2999"]),
        # without quotes a date is arithmetic: 2027-12-31 is the number 1984, 0000-00-00 is 0
        # (2027-03-01 does not compile: leading zeros; refused as such already)
        ("a date typed without quotes", '"PT1H"', "2027-12-31", "wait", ["漏了引号", "int"]),
        ("zeros typed as a timer", '"PT1H"', "0000-00-00", "wait", ["漏了引号"]),
        ("empty timer", '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>',
         "<bpmn:timeDuration> </bpmn:timeDuration>", "wait", ["为空"]),
        ("bad syntax in an assignee", SUBMIT_PROPS,
         SUBMIT_PROPS + '<spiffworkflow:property name="assignee" value="owner_of(("/>',
         "submit", ["assignee", "does not compile"]),
        ("too deep an assignee", SUBMIT_PROPS,
         SUBMIT_PROPS + f'<spiffworkflow:property name="assignee" value="{nested(3000)}"/>',
         "submit", ["assignee", "nested"]),
        ("bad syntax in a dueDate", SUBMIT_PROPS,
         SUBMIT_PROPS + '<spiffworkflow:property name="dueDate" value="today() +"/>',
         "submit", ["dueDate"]),
        ("bad syntax in signers", SUBMIT_PROPS,
         SUBMIT_PROPS + '<spiffworkflow:property name="assignees" value="[a, b"/>',
         "submit", ["assignees"]),
        ("bad syntax in a service parameter", "value=\"'通过: ' + title\"", 'value="title +"',
         "note", ["service parameter"]),
        ("escape in a preScript", SUBMIT_TASK,
         SUBMIT_TASK + "<spiffworkflow:preScript>x = ().__class__</spiffworkflow:preScript>",
         "submit", ["preScript"]),
    ],
)
def test_bpmn_code_is_refused_naming_file_and_element(live, label, old, new, element, words):
    ctx, staff = live
    assert old in SOURCE, label
    err = refuse(ctx, {BPMN: SOURCE.replace(old, new, 1)})
    assert_names(err, BPMN, element, *words)
    assert_still_live(ctx, staff)


def test_a_huge_script_is_refused_quickly_before_compiling(live):
    ctx, staff = live
    script = "total = 0\n" + "total = total + 1\n" * (1_800_000 // 18)  # 1.8 MB
    broken = SOURCE.replace("decision = 'approve'", script)
    assert len(broken.encode()) < ctx.settings.max_model_bytes  # passes the upload limit
    began = time.process_time()  # this process's CPU: the machine's other load does not count
    err = refuse(ctx, {BPMN: broken})
    assert time.process_time() - began < 2.0
    assert_names(err, BPMN, "auto", f"{MAX_SCRIPT_BYTES // 1024} KiB")
    assert_still_live(ctx, staff)


def test_scripts_of_one_model_share_a_byte_budget(live):
    ctx, staff = live
    each = MAX_SCRIPT_BYTES - 4096
    assert 6 * each > MAX_MODEL_CODE_BYTES

    def script(i: int) -> str:  # distinct texts (the compile cache must not help)
        line = f"v{i} = {i}\n"
        return line * (each // len(line))

    # init, auto and pre/post scripts on submit and review: six scripts, over the budget.
    broken = SOURCE.replace("rounds = 0\nrequested_on = today().isoformat()", script(0))
    broken = broken.replace("decision = 'approve'", script(1))
    for n, element in enumerate(("submit", "review")):
        props = "<bpmn:extensionElements><spiffworkflow:properties>"
        start = broken.index(f'<bpmn:userTask id="{element}"')
        at = broken.index(props, start) + len("<bpmn:extensionElements>")
        extra = (f"<spiffworkflow:preScript>{script(2 + 2 * n)}</spiffworkflow:preScript>"
                 f"<spiffworkflow:postScript>{script(3 + 2 * n)}</spiffworkflow:postScript>")
        broken = broken[:at] + extra + broken[at:]
    began = time.monotonic()
    err = refuse(ctx, {BPMN: broken})
    took = time.monotonic() - began
    assert f"{MAX_MODEL_CODE_BYTES // 1024} KiB" in err.message
    assert took < 5.0, took  # ~0.6 s measured on the quiet 2-core machine
    assert_still_live(ctx, staff)


SUBMIT_FORM = json.loads((MODELS / "approval_submit.form").read_text())


def form_with(setting: dict[str, Any]) -> str:
    form = json.loads(json.dumps(SUBMIT_FORM))
    form["components"][0].update(setting)
    return json.dumps(form, ensure_ascii=False)


@pytest.mark.parametrize(
    ("label", "setting", "words"),
    [
        ("3000 nested parentheses in conditional.hide",
         {"conditional": {"hide": "=" + "(" * 3000 + "amount > 1" + ")" * 3000}},
         ["conditional.hide"]),
        ("5000-term conditional.hide",
         {"conditional": {"hide": "=" + " and ".join(["amount > 1"] * 5000)}},
         ["conditional.hide"]),
        ("too many operators in conditional.hide",
         {"conditional": {"hide": "=" + " or ".join(["a=1"] * MAX_FEEL_OPERATORS)}},
         ["operators"]),
        ("too deep a readonly flag",
         {"readonly": "=" + "(" * (MAX_FEEL_DEPTH + 1) + "a" + ")" * (MAX_FEEL_DEPTH + 1)},
         ["readonly", "deeper"]),
        ("too deep a FEEL limit",
         {"validate": {"maxLength": "=" + "(" * 100 + "n" + ")" * 100}},
         ["validate.maxLength"]),
    ],
)
def test_form_expressions_beyond_the_feel_bounds_are_refused(live, label, setting, words):
    ctx, staff = live
    err = refuse(ctx, {BPMN: SOURCE, "approval_submit.form": form_with(setting)})
    assert_names(err, "approval_submit.form", "f_desc", *words)
    assert_still_live(ctx, staff)


def test_form_expressions_within_the_bounds_deploy(live):
    ctx, _ = live
    hide = "=" + " and ".join(["amount > 1"] * 20) + " or not(" + "(" * 10 + "a" + ")" * 10 + ")"
    with transaction(ctx.sessions) as s:
        [result] = deploy(ctx, s, [
            Upload(BPMN, SOURCE.encode()),
            Upload("approval_submit.form", form_with({"conditional": {"hide": hide}}).encode()),
        ], "owner")
    assert result.created and result.version == 2


def dmn(cell: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd" name="d"
    namespace="http://planflow.test">
  <decision id="level" name="level">
    <decisionTable id="dt_level" hitPolicy="UNIQUE">
      <input id="i1" label="amount"><inputExpression id="ie" typeRef="number">
        <text>amount</text></inputExpression></input>
      <output id="o1" name="level" typeRef="string"/>
      <rule id="rule_ok"><inputEntry id="c0"><text>&lt; 10</text></inputEntry>
        <outputEntry id="c0o"><text>"low"</text></outputEntry></rule>
      <rule id="rule_bad"><inputEntry id="c1"><text>{cell}</text></inputEntry>
        <outputEntry id="c2"><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


RULE_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_rules"
    targetNamespace="http://planflow.test">
  <bpmn:process id="rules" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>level</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="decide"/>
    <bpmn:sequenceFlow id="g" sourceRef="decide" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("&gt; 10 +", ["does not compile"]),
        ("? in (1, 2", ["does not compile"]),
        ("&gt; " + "(" * 3000 + "1" + ")" * 3000, ["nested"]),
        ("&gt; 1" + " + 1" * 3000, ["KiB"]),
    ],
)
def test_bad_dmn_cells_are_refused_naming_the_dmn_file_and_rule(live, cell, words):
    ctx, staff = live
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("rules.bpmn", RULE_MODEL.encode()),
                        Upload("levels.dmn", dmn("&gt; 10").encode())], "owner")
    err = refuse(ctx, {"rules.bpmn": RULE_MODEL, "levels.dmn": dmn(cell)})
    problem = assert_names(err, "levels.dmn", "rule_bad", *words)
    assert "decide" in problem["message"]  # the business rule task using the table
    with transaction(ctx.sessions) as s:
        assert model_view.model_detail(s, "rules")["latest_version"] == 1
    assert_still_live(ctx, staff)


def test_api_deploy_refusal_is_a_400_naming_file_and_element(client, token_for):
    files = {BPMN: SOURCE.replace("<bpmn:script>decision = 'approve'</bpmn:script>",
                                  "<bpmn:script/>")}
    for name in ("approval_start.form", "approval_submit.form", "approval_review.form"):
        files[name] = (MODELS / name).read_text()
    data = {"files": [(io.BytesIO(c.encode()), n) for n, c in files.items()]}
    r = client.post("/api/v1/process-models", data=data, headers=token_for("owner"),
                    content_type="multipart/form-data")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "invalid_model"
    assert {"file": BPMN, "element_id": "auto"}.items() <= error["details"]["problems"][0].items()


# --- the bounds themselves ------------------------------------------------------------------


def test_nesting_score_counts_what_deepens_the_syntax_tree():
    assert nesting_score("x = 1") == 0
    assert nesting_score("amount > 1000 and risk == 'high'") == 3
    assert nesting_score("a" + " + a" * 50) == 50
    assert nesting_score("f(a, b + c, d)") == 2  # the call's arguments are siblings
    # A long lookup table is flat: each entry is its own segment.
    table = "{" + ", ".join(f"'k{i}': {{'x': [1, 2]}}" for i in range(500)) + "}"
    assert nesting_score(table) <= 4
    assert nesting_score("if a:\n    if b:\n        x = y.z\n") == 3
    assert nesting_score('f"{' + "+".join(["a"] * 200) + '}"') > MAX_NESTING


@pytest.mark.parametrize(
    "source",
    [
        "+".join(["a"] * MAX_NESTING),
        "-" * (MAX_NESTING - 1) + "1",
        "f(" * (MAX_NESTING - 1) + ")" * (MAX_NESTING - 1),
        "a" + "[0]" * (MAX_NESTING - 1),
        "lambda: " * (MAX_NESTING - 1) + "1",
    ],
)
def test_code_at_the_nesting_bound_compiles_fast_even_deep_in_the_stack(source):
    def at_depth(n: int) -> Any:
        return code_problem(source, "eval") if n == 0 else at_depth(n - 1)

    # CPU time of this process: "fast" means no runaway work (about 0.03 s here), and a busy
    # machine's other processes must not make it fail (wall time did: 0.57 s under CI load)
    began = time.process_time()
    assert at_depth(400) is None  # far below the recursion limit, even called from deep code
    assert time.process_time() - began < 0.5


@pytest.mark.parametrize(
    "source",
    [
        "+".join(["a"] * 5000),
        "(" * 3000 + "a" + ")" * 3000,
        "not " * 3000 + "a",
        "a" + ".b" * 3000,
        "x" * (MAX_EXPRESSION_BYTES + 1),
    ],
)
def test_code_beyond_the_bounds_never_reaches_the_compiler(source, monkeypatch):
    import engine.bpmn.code_bounds as validation

    def boom(*_: Any) -> None:
        raise AssertionError("compiled")

    monkeypatch.setattr(validation, "check_source", boom)
    problem = code_problem(source, "eval")
    assert problem is not None and "compiled" not in problem.en
