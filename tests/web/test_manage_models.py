"""The 流程模型 pages: list and detail, file download, the BPMN, form and DMN editors deploying
a new version (or refusing a broken one), the diff between versions, and uploading a new
model."""

from __future__ import annotations

import json
import re
from io import BytesIO

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import ProcessModelRecord, ProcessVersionRecord
from engine.usecases.deploy import deploy
from tests.conftest import FIXTURES, MODELS
from tests.pages import login
from tests.web.manage_helpers import (
    env_fixture,  # noqa: F401  (the env fixture)
    text,
)


def deploy_json(client, token, key, name, content):
    return client.post(f"/models/{key}/deploy", json={"file": name, "content": content},
                       headers={"X-CSRF-Token": token})


def latest_version(env, key="approval_demo"):
    with transaction(env.sessions) as s:
        return s.get(ProcessModelRecord, key).latest_version


BPMN = (MODELS / "approval_demo.bpmn").read_text(encoding="utf-8")


def test_models_list_and_detail(client, env):
    login(client, "owner")
    html = text(client.get("/models"))
    assert "测试审批" in html and "approval_demo" in html
    html = text(client.get("/models/approval_demo"))
    for f in ("approval_demo.bpmn", "approval_review.form", "approval_start.form"):
        assert f in html
    assert "/models/approval_demo/edit" in html
    assert "/models/approval_demo/forms/approval_review.form" in html


def test_download_file(client, env):
    login(client, "owner")
    r = client.get("/models/approval_demo/versions/1/files/approval_demo.bpmn")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert "attachment" in r.headers["Content-Disposition"]
    assert text(r) == BPMN


def test_modeler_page_loads_latest_bpmn_with_layout(client, env):
    login(client, "owner")
    html = text(client.get("/models/approval_demo/edit"))
    data = json.loads(re.search(r'id="pf-editor-data">(.*?)</script>', html, re.S).group(1))
    assert data["file"] == "approval_demo.bpmn" and data["kind"] == "bpmn"
    assert "BPMNShape" in data["content"] and 'id="review"' in data["content"]
    assert "bpmn-modeler.production.min.js" in html and "navigated-viewer" not in html
    assert "bpmn-embedded.css" in html


def test_deploy_from_modeler_broken_then_fixed(client, env):
    token = login(client, "owner")
    broken = BPMN.replace("rounds = 0", "rounds = = 0")
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", broken)
    assert r.status_code == 400
    body = r.get_json()
    assert "init" in [p["element_id"] for p in body["error"]["details"]["problems"]]
    assert latest_version(env) == 1  # the previous version stays

    renamed = BPMN.replace('name="经理审批"', 'name="部门经理审批"')
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", renamed)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2 and r.get_json()["created"] is True
    assert latest_version(env) == 2
    # same content again: no new version
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", renamed)
    assert r.get_json() == {**r.get_json(), "version": 2, "created": False}
    # the forms came along
    html = text(client.get("/models/approval_demo"))
    assert "v2" in html and "approval_review.form" in html


def test_deploy_refuses_a_changed_process_id_and_bad_input(client, env):
    token = login(client, "owner")
    other = BPMN.replace('id="approval_demo"', 'id="approval_copy"')
    r = deploy_json(client, token, "approval_demo", "approval_demo.bpmn", other)
    assert r.status_code == 400
    with transaction(env.sessions) as s:
        assert s.get(ProcessModelRecord, "approval_copy") is None
    assert deploy_json(client, token, "approval_demo", "x.txt", "a").status_code == 400
    assert deploy_json(client, token, "approval_demo", "approval_review.form",
                       "{not json").status_code == 400
    r = client.post("/models/approval_demo/deploy", data="nope",
                    headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert deploy_json(client, token, "nope", "a.bpmn", BPMN).status_code == 404
    assert deploy_json(client, token, "approval_demo", "other.form", "{}").status_code == 404
    assert latest_version(env) == 1
    token = login(client, "mgr")
    assert deploy_json(client, token, "approval_demo", "approval_demo.bpmn",
                       BPMN).status_code == 403


def test_form_editor_deploys_form_with_the_models_bpmn(client, env):
    token = login(client, "owner")
    html = text(client.get("/models/approval_demo/forms/approval_review.form"))
    data = json.loads(re.search(r'id="pf-editor-data">(.*?)</script>', html, re.S).group(1))
    schema = data["content"]
    assert schema["id"] == "approval_review" and "form-editor.umd.js" in html
    schema["components"][1]["label"] = "审批意见（选填）"
    r = deploy_json(client, token, "approval_demo", "approval_review.form",
                    json.dumps(schema, ensure_ascii=False))
    assert r.status_code == 200 and r.get_json()["version"] == 2
    with transaction(env.sessions) as s:
        v2 = s.scalar(select(ProcessVersionRecord).where(ProcessVersionRecord.version == 2))
        files = {f.name: f.content for f in v2.files}
    assert "审批意见（选填）" in files["approval_review.form"]
    assert files["approval_demo.bpmn"] == BPMN
    # a form that breaks validation is refused
    schema["components"][0]["key"] = ""
    r = deploy_json(client, token, "approval_demo", "approval_review.form", json.dumps(schema))
    assert r.status_code == 400 and latest_version(env) == 2


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="预算"
    namespace="http://planflow.test/dmn">
  <decision id="budget_level" name="预算审批分级">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="i1" label="预算金额"><inputExpression id="e1" typeRef="number">
        <text>amount</text></inputExpression></input>
      <output id="o1" label="审批组" name="approver_group" typeRef="string" />
      <rule id="r1"><inputEntry id="u1"><text>&lt;= 50000</text></inputEntry>
        <outputEntry id="l1"><text>"planning_supervisor"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_dmn_page_and_deploy(client, env):
    from engine.usecases.deploy import Upload

    with transaction(env.sessions) as s:
        deploy(env, s, [Upload("approval_demo.bpmn", BPMN.encode()),
                        Upload("budget_level.dmn", DMN.encode())], "owner")
    token = login(client, "owner")
    r = client.get("/models/approval_demo/dmn/budget_level.dmn")
    assert r.status_code == 200
    html = text(r)
    assert "dmn-modeler.production.min.js" in html and "预算审批分级" in html
    # the dmn-js bundle is loaded inside <body>
    assert html.index("dmn-modeler.production.min.js") > html.index("<body")
    changed = DMN.replace("50000", "80000")
    r = deploy_json(client, token, "approval_demo", "budget_level.dmn", changed)
    assert r.status_code == 200 and r.get_json()["version"] == 3
    html = text(client.get("/models/approval_demo/diff?a=2&b=3&file=budget_level.dmn"))
    assert '<span class="del">-' in html and '<span class="add">+' in html
    assert "&amp;lt;= 80000" in html  # the XML's own &lt; shown, escaped


def test_diff_between_versions_is_escaped(client, env):
    token = login(client, "owner")
    deploy_json(client, token, "approval_demo", "approval_demo.bpmn",
                BPMN.replace('name="经理审批"', 'name="经理&lt;审批&gt;"'))
    r = client.get("/models/approval_demo/diff?a=1&b=2&file=approval_demo.bpmn")
    assert r.status_code == 200
    html = text(r)
    assert '<span class="del">-    &lt;bpmn:userTask id=&#34;review&#34; name=&#34;经理审批' in html
    assert "经理&amp;lt;审批&amp;gt;" in html
    assert "<bpmn:userTask" not in html
    # picker on the model page once there are two versions
    assert "/models/approval_demo/diff" in text(client.get("/models/approval_demo"))


def test_upload_new_model(client, env):
    token = login(client, "owner")
    bpmn = (FIXTURES / "models_extra" / "service_retry.bpmn").read_bytes()
    r = client.post("/models/new", data={"files": (BytesIO(bpmn), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400  # no CSRF token
    r = client.post("/models/new", data={"csrf_token": token}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请选择要上传的文件" in text(r)
    bad = bpmn.replace(b'after_ok = flaky_result["ok"]', b"after_ok = = 1")
    r = client.post("/models/new", data={"csrf_token": token,
                                          "files": (BytesIO(bad), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "after" in text(r)
    with transaction(env.sessions) as s:
        assert s.get(ProcessModelRecord, "service_retry") is None
    env.handlers.handler("flaky")(lambda params, ctx: {"ok": True})
    r = client.post("/models/new", data={"csrf_token": token,
                                          "files": (BytesIO(bpmn), "service_retry.bpmn")},
                    content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"].endswith("/models/service_retry")
    assert "已部署" in text(client.get("/models/service_retry"))
