"""The task page as its reader sees it: the instance's context and the form, who may open it
(403/404), read-only while the instance is suspended, and a step's instructions shown as
escaped text (a step without a form completes too)."""

from __future__ import annotations

import re

from engine.store.db import transaction
from engine.store.tables import InstanceRecord
from engine.usecases.deploy import Upload, deploy
from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
    start,
    task_id,
)


def test_task_page_shows_context_and_form(app, ctx):
    iid = start(ctx, title="春季新品发布会", amount=8000)
    tid = task_id(ctx, iid)
    page = html(as_user(app, "alice").get(f"/tasks/{tid}"))
    for text in (
        "<h1>提交说明</h1>",
        "春季新品发布会",
        "测试审批 v1",
        "Alice",
        "发起流程",
        "关键信息",
        "金额",
        "8000",
        "剩余 2 天",
        "待认领",
    ):
        assert text in page, text
    config = form_config(page)
    assert config["schema"]["id"] == "approval_submit" and config["readonly"] is False
    assert config["data"]["title"] == "春季新品发布会"
    assert config["submitUrl"] == f"/tasks/{tid}/complete"
    assert config["validation"]["required"] == "此项为必填项"
    assert 'id="task-operations"' in page  # the reserved place for 转办/委派/加签/...
    assert "vendor/form-js/form-viewer.umd.js" in page and "js/task-form.js" in page
    assert "css/staff.css" in page


def test_task_page_403_404(app, ctx):
    tid = task_id(ctx, start(ctx))
    for user in ("req", "mgr", "fin"):
        client = as_user(app, user)
        r = client.get(f"/tasks/{tid}")
        # A planning manager oversees every instance of the department, so the page opens
        # for him read-only (test_task_ops_page.py covers what he may do there);
        # people outside the instance get 404, as for a task that does not exist.
        if user == "mgr":
            assert r.status_code == 200 and form_config(html(r))["readonly"] is True
            r = complete_json(client, tid, {"description": "x"})
            assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
        else:
            assert r.status_code == 404, user
            r = complete_json(client, tid, {"description": "x"})
            assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
        claimed = client.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(client)})
        assert claimed.status_code == (403 if user == "mgr" else 404)
    root = as_user(app, "root")  # administrators may act on every task
    assert root.get(f"/tasks/{tid}").status_code == 200
    alice = as_user(app, "alice")
    r = alice.get("/tasks/no-such-task")
    assert r.status_code == 404 and "任务不存在" in html(r)
    assert complete_json(alice, "no-such-task", {}).status_code == 404
    assert (
        alice.post("/tasks/no-such-task/claim", data={"csrf_token": csrf(alice)}).status_code == 404
    )


def test_task_of_a_suspended_instance_is_read_only(app, ctx):
    iid = start(ctx)
    tid = task_id(ctx, iid)
    with transaction(ctx.sessions) as s:
        s.get(InstanceRecord, iid).suspended = True
    alice = as_user(app, "alice")
    page = html(alice.get(f"/tasks/{tid}"))
    assert "流程已挂起" in page and form_config(page)["readonly"] is True
    r = complete_json(alice, tid, {"description": "x"})
    assert r.status_code == 409 and "挂起" in r.get_json()["error"]["message"]


INSTRUCTIONS_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_notes" targetNamespace="http://planflow.test">
  <bpmn:process id="notes_demo" name="说明测试" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="confirm" name="确认">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="candidateGroups" value="planning_specialist"/>
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>第一行 &lt;b&gt;粗体&lt;/b&gt;
第二行 &lt;img src=x onerror=alert(1)&gt;</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm"/>
    <bpmn:sequenceFlow id="f2" sourceRef="confirm" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_instructions_are_escaped_text_and_formless_steps_complete(app, ctx):
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("notes_demo.bpmn", INSTRUCTIONS_BPMN.encode())], "owner")
    alice = as_user(app, "alice")
    # a model without a start form: a title field stands in
    page = html(alice.get("/start/notes_demo"))
    config = form_config(page)
    assert [c["key"] for c in config["schema"]["components"]] == ["title"]
    r = alice.post(
        "/start/notes_demo",
        json={"data": {"title": "无表单"}},
        headers={"X-CSRF-Token": csrf(alice)},
    )
    assert r.status_code == 200
    iid = r.get_json()["instance_id"]
    tid = task_id(ctx, iid)
    page = html(alice.get(f"/tasks/{tid}"))
    assert "&lt;b&gt;粗体&lt;/b&gt;" in page and "<b>粗体</b>" not in page
    assert "<img src=x" not in page
    assert re.search(r'<p class="staff-text">第一行 .*\n第二行', page)  # line breaks kept
    assert form_config(page)["schema"] is None and "无需填写表单" in page
    assert complete_json(alice, tid, {}).status_code == 200
    with transaction(ctx.sessions) as s:
        assert s.get(InstanceRecord, iid).status == "completed"
