"""A refused deploy says in Chinese which element is wrong and why (issue 14). SpiffWorkflow's own
parser messages never reach a person in English ("perhaps a form has the same ID?" for a
dangling sequence flow); every problem carries the element's id and name, the Chinese message
and the English one (``message_en``), and the pages show the one of the page's language."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from engine.bpmn.code_bounds import compile_reason_zh, python_syntax_zh
from engine.errors import InvalidModel
from engine.store.db import transaction
from engine.usecases.deploy import Upload, deploy
from tests.conftest import MODELS, deploy_fixture
from tests.pages import login

BPMN = "approval_demo.bpmn"
SOURCE = (MODELS / BPMN).read_text()
CJK = re.compile(r"[\u4e00-\u9fff]")
SPIFF_ENGLISH = ("perhaps a form", "When looking for a task spec", "Multiple outgoing",
                 "is required but missing", "not a valid value")

DANGLING_TARGET = SOURCE.replace(
    '<bpmn:sequenceFlow id="f_auto" sourceRef="auto" targetRef="gw_decision"/>',
    '<bpmn:sequenceFlow id="f_auto" sourceRef="auto" targetRef="Task_deleted"/>',
)
DANGLING_SOURCE = SOURCE.replace(
    '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit"/>',
    '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit"/>'
    '<bpmn:sequenceFlow id="f_ghost" name="补充" sourceRef="ghost" targetRef="submit"/>',
)
TWO_WAYS_OUT = SOURCE.replace(
    '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit"/>',
    '<bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="submit"/>'
    '<bpmn:sequenceFlow id="f2b" sourceRef="init" targetRef="review"/>',
)
EMPTY_SCRIPT = SOURCE.replace("<bpmn:script>decision = 'approve'</bpmn:script>", "<bpmn:script/>")
BAD_ASSIGNEE = SOURCE.replace(
    '<spiffworkflow:property name="dueIn" value="P2D"/>',
    '<spiffworkflow:property name="dueIn" value="两天"/>'
    '<spiffworkflow:property name="assignee" value="owner_of(("/>',
)


@pytest.fixture
def live(sqlite_ctx: Any) -> Any:
    deploy_fixture(sqlite_ctx)
    return sqlite_ctx


def refuse(ctx: Any, content: str) -> InvalidModel:
    with transaction(ctx.sessions) as s, pytest.raises(InvalidModel) as err:
        deploy(ctx, s, [Upload(BPMN, content.encode())], "owner")
    return err.value


def only_problem(err: InvalidModel) -> dict[str, Any]:
    [problem] = err.details["problems"]
    return problem


def assert_chinese(err: InvalidModel) -> None:
    for text in [err.message, *(p["message"] for p in err.details["problems"])]:
        assert CJK.search(text), text
        assert not any(english in text for english in SPIFF_ENGLISH), text


def test_a_dangling_sequence_flow_names_the_flow_and_where_it_comes_from(live):
    err = refuse(live, DANGLING_TARGET)
    problem = only_problem(err)
    assert problem["file"] == BPMN and problem["element_id"] == "f_auto"
    message = problem["message"]
    assert "连线" in message and "「自动通过」(auto)" in message, message
    assert "“Task_deleted”不存在" in message, message
    assert "perhaps a form" not in err.message + message
    assert problem["message_en"] == "sequence flow target 'Task_deleted' does not exist"
    assert_chinese(err)


def test_a_flow_from_nowhere_is_refused_not_silently_ignored(live):
    # SpiffWorkflow parsed this and dropped the flow without a word.
    err = refuse(live, DANGLING_SOURCE)
    problem = only_problem(err)
    assert problem["element_id"] == "f_ghost" and problem["element_name"] == "补充"
    assert "起点“ghost”不存在" in problem["message"]
    assert "「提交说明」(submit)" in problem["message"]
    assert_chinese(err)


def test_parser_refusals_are_said_in_chinese_with_the_element(live):
    err = refuse(live, TWO_WAYS_OUT)
    problem = only_problem(err)
    assert problem["element_id"] == "init" and problem["element_name"] == "初始化"
    assert problem["message"].startswith("这个环节有多条出口连线"), problem
    assert "Multiple outgoing flows" in problem["message_en"]
    assert_chinese(err)

    # The BPMN schema's (libxml2's) words too.
    annotation = '<bpmn:textAnnotation id="submit"/>'
    duplicate = SOURCE.replace("</bpmn:process>", annotation + "</bpmn:process>")
    err = refuse(live, duplicate)
    assert only_problem(err)["message"].startswith(
        "元素 <textAnnotation> 的 id“submit”无效或与其他元素重复（第 "
    ), err.details
    assert_chinese(err)
    unknown = SOURCE.replace('<bpmn:sequenceFlow id="f1"', '<bpmn:sequenceFlow id="f1" foo="1"')
    err = refuse(live, unknown)
    assert only_problem(err)["message"].startswith("元素 <sequenceFlow> 不允许有属性 foo（第 ")
    assert_chinese(err)


def test_validation_problems_are_chinese_and_name_the_element(live):
    err = refuse(live, EMPTY_SCRIPT)
    problem = only_problem(err)
    assert problem == {
        "file": BPMN, "element_id": "auto", "element_name": "自动通过",
        "message": "脚本为空，每次运行都会失败",
        "message_en": "script is empty: it would fail every run",
    }
    assert err.message == f"模型校验未通过：{BPMN} 「自动通过」(auto)：脚本为空，每次运行都会失败"

    err = refuse(live, BAD_ASSIGNEE)
    messages = sorted(p["message"] for p in err.details["problems"])
    assert messages == [
        "dueIn “两天” 不是 ISO 8601 时长（例如 P2D 表示 2 天）",
        "属性 assignee：无法编译：语法错误（没有写完，可能缺少右括号或引号）",
    ], messages
    assert {p["element_name"] for p in err.details["problems"]} == {"提交说明"}


def test_the_compilers_words_in_chinese():
    assert python_syntax_zh("'(' was never closed") == "括号“(”没有闭合"
    assert python_syntax_zh("invalid syntax. Perhaps you forgot a comma?") == "可能缺少逗号"
    assert compile_reason_zh(
        'script rejected: Line 1: "__class__" is an invalid attribute name because it starts '
        'with "_".; Line 2: import statements are not allowed; use the helpers provided.'
    ) == ("第 1 行：不允许访问以下划线开头的属性“__class__”；"
          "第 2 行：不允许 import，请使用平台提供的函数")
    assert compile_reason_zh(
        "expression rejected: Line 1: SyntaxError: invalid syntax at statement: 'a +'"
    ) == "第 1 行：语法错误（写法不对）：'a +'"


def test_the_modeler_shows_the_problem_in_the_pages_language(client, live, api_staff):
    token = login(client, "owner")

    def deploy_edit() -> list[dict[str, Any]]:
        r = client.post("/models/approval_demo/deploy",
                        json={"file": BPMN, "content": DANGLING_TARGET},
                        headers={"X-CSRF-Token": token})
        assert r.status_code == 400
        return r.get_json()["error"]["details"]["problems"]

    [zh] = deploy_edit()
    assert zh["element_id"] == "f_auto" and "“Task_deleted”不存在" in zh["message"]
    client.set_cookie("lang", "en")
    [en] = deploy_edit()
    assert en["message"] == "sequence flow target 'Task_deleted' does not exist"

    # The upload page lists it the same way, with the element's name.
    client.set_cookie("lang", "zh")
    upload = [(io.BytesIO(EMPTY_SCRIPT.encode()), BPMN)]
    page = client.post("/models/new", data={"csrf_token": token, "files": upload},
                       content_type="multipart/form-data")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "「自动通过」(<span class=\"pf-mono\">auto</span>)：脚本为空，每次运行都会失败" in html
