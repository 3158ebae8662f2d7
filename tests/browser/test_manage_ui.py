"""The management pages in Chromium: instance diagram with progress, the modeler deploying a new
version, the dashboard charts, the form editor and the DMN decision table.

The `page` fixture fails a test on any console error, page error, HTTP error or outside request.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    ProcessVersionRecord,
    VersionFileRecord,
)
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy

BUDGET_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    id="Definitions_budget" name="预算审批" namespace="http://planflow.test/dmn">
  <decision id="budget_level" name="预算审批分级">
    <decisionTable id="DecisionTable_1" hitPolicy="FIRST">
      <input id="Input_1" label="预算金额">
        <inputExpression id="InputExpression_1" typeRef="number">
          <text>amount</text>
        </inputExpression>
      </input>
      <output id="Output_1" label="审批组" name="approver_group" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="UnaryTests_1"><text>&lt;= 50000</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>"planning_supervisor"</text></outputEntry>
      </rule>
      <rule id="Rule_2">
        <inputEntry id="UnaryTests_2"><text>&gt; 50000</text></inputEntry>
        <outputEntry id="LiteralExpression_2"><text>"planning_manager"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _staff(ctx, session, *names):
    return [actor_for(session, n) for n in names]


def _start(ctx, who: str, title: str, amount: int) -> int:
    with transaction(ctx.sessions) as s:
        [actor] = _staff(ctx, s, who)
        data = {"title": title, "amount": amount}
        return instances.start(ctx, s, actor, "approval_demo", data).id


def _complete_open(ctx, instance_id: int, who: str, data: dict) -> None:
    with transaction(ctx.sessions) as s:
        [actor] = _staff(ctx, s, who)
        task = s.scalar(
            select(HumanTaskRow).where(
                HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open"
            )
        )
        instances.complete(ctx, s, actor, task.id, data)


def _not_overlapped(page, selector: str) -> None:
    locator = page.locator(selector).first
    locator.wait_for(state="visible")
    locator.scroll_into_view_if_needed()
    on_top = locator.evaluate(
        """(el) => {
            const r = el.getBoundingClientRect();
            const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return r.width > 0 && r.height > 0 && !!top && (top === el || el.contains(top));
        }"""
    )
    assert on_top, f"{selector} is hidden or overlapped"


def test_instance_detail_shows_diagram_with_progress(page, live_server, screenshot):
    ctx = live_server.ctx
    # Small amount: submit -> auto approval -> service task -> waiting on the 1 h timer.
    waiting = _start(ctx, "alice", "华东区新品推广", 500)
    _complete_open(ctx, waiting, "alice", {"description": "预算明细见附件"})
    # Large amount: waits for the manager's review.
    reviewing = _start(ctx, "bob", "年度品牌大会", 50000)
    _complete_open(ctx, reviewing, "bob", {"description": "需要经理审批"})

    live_server.login(page, "mgr", then=f"/instances/{waiting}")
    page.wait_for_function("window.__diagramReady === true")
    svg = page.locator("#pf-diagram svg")
    assert svg.locator(".djs-element.pf-done[data-element-id='submit']").count() == 1
    assert svg.locator(".djs-element.pf-done[data-element-id='note']").count() == 1
    assert svg.locator(".djs-element.pf-waiting[data-element-id='wait']").count() == 1
    assert page.locator("#pf-diagram .pf-overlay").first.is_visible()
    assert page.locator(".pf-legend").is_visible()
    _not_overlapped(page, "#pf-diagram .bjs-powered-by")
    assert "华东区新品推广" in page.locator("h1").inner_text()
    screenshot(page, "instance_detail")

    page.goto(f"{live_server.url}/instances/{reviewing}")
    page.wait_for_function("window.__diagramReady === true")
    svg = page.locator("#pf-diagram svg")
    assert svg.locator(".djs-element.pf-active[data-element-id='review']").count() == 1
    assert svg.locator(".djs-element.pf-done[data-element-id='submit']").count() == 1
    _not_overlapped(page, "#pf-diagram .bjs-powered-by")


def test_modeler_renames_a_task_and_deploys_version_2(page, live_server, screenshot):
    live_server.login(page, "owner", then="/models/approval_demo/edit")
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None
    assert page.locator("#pf-version").inner_text() == "v1"
    page.locator("#pf-editor .djs-palette").wait_for(state="visible")
    _not_overlapped(page, "#pf-editor .bjs-powered-by")
    page.evaluate(
        """() => {
            const el = pfEditor.get('elementRegistry').get('review');
            pfEditor.get('modeling').updateLabel(el, '部门经理审批');
        }"""
    )
    page.locator("#pf-deploy").click()
    page.wait_for_function("window.__deployResult !== null")
    result = page.evaluate("window.__deployResult")
    assert result["version"] == 2 and result["created"] is True, result
    assert page.locator("#pf-version").inner_text() == "v2"
    assert "v2" in page.locator("#pf-result").inner_text()
    screenshot(page, "modeler")

    with transaction(live_server.ctx.sessions) as s:
        v2 = s.scalar(
            select(ProcessVersionRecord).where(
                ProcessVersionRecord.model_key == "approval_demo",
                ProcessVersionRecord.version == 2,
            )
        )
        bpmn = next(f.content for f in v2.files if f.name == v2.bpmn_file)
        assert "部门经理审批" in bpmn
        # forms came along from version 1
        assert {f.name for f in v2.files} >= {"approval_review.form", "approval_submit.form"}

    page.goto(f"{live_server.url}/models/approval_demo")
    assert "v2" in page.locator(".pf-head").inner_text()


def test_dashboard_draws_charts_with_tables(page, live_server, screenshot):
    ctx = live_server.ctx
    for i, amount in enumerate((500, 5000, 80000, 1200)):
        inst = _start(ctx, "alice" if i % 2 else "bob", f"推广活动 {i + 1}", amount)
        if i < 3:
            _complete_open(ctx, inst, "alice", {"description": "说明"})
    # Two tasks are past due.
    with transaction(ctx.sessions) as s:
        now = ctx.clock.now()
        s.execute(
            update(HumanTaskRow)
            .where(HumanTaskRow.status == "open")
            .values(due_at=now - timedelta(hours=5))
        )
        # Finished 项目立项 projects with their retrospective KPI (rows as the engine leaves them).
        version = s.scalar(
            select(ProcessVersionRecord).order_by(
                (ProcessVersionRecord.model_key == "project_initiation").desc()
            )
        )
        for i, (name, rate) in enumerate((("智慧门店升级", 92.5), ("夏季新品发布", 78.0),
                                          ("品牌焕新计划", 101.2))):
            at = now - timedelta(days=3 * i + 1)
            s.add(InstanceRecord(
                model_key="project_initiation", version_id=version.id, version_number=1,
                title=name, status="completed", started_by="mgr", created_at=at,
                updated_at=at, completed_at=at, state="{}", suspended=False,
                data={"project_name": name, "completion_result": {"completion_rate": rate}},
            ))
    live_server.login(page, "mgr", then="/dashboard")
    page.wait_for_function("window.__dashboardReady === true")
    for chart in ("chart-process", "chart-stage", "chart-overdue", "chart-timers",
                  "chart-throughput", "chart-kpi"):
        assert page.evaluate(f"!!window.pfCharts['{chart}']"), chart
    # the numbers are on the page as text as well
    table = page.locator("#h-process + .pf-chart-row table")
    assert "测试审批" in table.inner_text()
    assert page.locator("#h-overdue + .pf-chart-row table").count() >= 1
    assert "92.5%" in page.locator("#h-kpi + .pf-chart-row table").inner_text()
    screenshot(page, "dashboard")


def test_form_editor_and_dmn_table(page, live_server, screenshot):
    ctx = live_server.ctx
    # Version 2 of the test model carries a decision table.
    with transaction(ctx.sessions) as s:
        v1 = s.scalar(
            select(ProcessVersionRecord).where(ProcessVersionRecord.model_key == "approval_demo")
        )
        bpmn = s.scalar(
            select(VersionFileRecord.content).where(
                VersionFileRecord.version_id == v1.id, VersionFileRecord.name == v1.bpmn_file
            )
        )
        deploy(ctx, s, [Upload(v1.bpmn_file, bpmn.encode()),
                        Upload("budget_level.dmn", BUDGET_DMN.encode())], "owner")

    live_server.login(page, "owner", then="/models/approval_demo/forms/approval_review.form")
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None
    assert page.locator("#pf-editor .fjs-form-field", has_text="审批结论").count() >= 1
    _not_overlapped(page, "#pf-editor .fjs-powered-by")
    page.evaluate(
        """() => {
            const field = pfEditor.get('formFieldRegistry').getAll()
              .find((f) => f.key === 'comment');
            pfEditor.get('modeling').editFormField(field, 'label', '审批意见（选填）');
        }"""
    )
    page.locator("#pf-deploy").click()
    page.wait_for_function("window.__deployResult !== null")
    assert page.evaluate("window.__deployResult.version") == 3
    screenshot(page, "form_editor")

    page.goto(f"{live_server.url}/models/approval_demo/dmn/budget_level.dmn")
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None
    table = page.locator("#pf-editor .tjs-table")
    table.wait_for(state="visible")
    text = table.inner_text()
    for expected in ("预算金额", "审批组", "planning_supervisor", "planning_manager"):
        assert expected in text, (expected, text)
    assert page.locator("#pf-editor .tjs-table tbody tr").count() == 2
    assert page.evaluate("pfEditor.getActiveView().type") == "decisionTable"
    _not_overlapped(page, "#pf-editor .bjs-powered-by")
    screenshot(page, "dmn_editor")
