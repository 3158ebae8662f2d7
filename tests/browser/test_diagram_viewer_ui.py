"""The instance diagram (issue 14): it opens fitted and readable, has 放大 / 缩小 / 适应画布 /
定位当前环节 controls, marks every step that ran — script tasks and decision tables (business
rule tasks) too, not only user tasks — and the current step distinctly; the bpmn.io watermark is
visible and never over the drawing."""

from __future__ import annotations

import logging

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.usecases import instances
from engine.usecases.deploy import Upload, deploy

# No DI on purpose: the page lays it out (engine.bpmn.layout), as for any hand-written model.
RULE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_rule_demo" targetNamespace="http://planflow.test">
  <bpmn:process id="rule_demo" name="分级审批演示" isExecutable="true">
    <bpmn:startEvent id="start" name="发起"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="grade" name="预算分级">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>rule_demo_grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:scriptTask id="prepare" name="整理审批材料">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>summary = title + ' / ' + approver</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="approve" name="经理审批">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="planning_manager"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="结束"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade"/>
    <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="approve"/>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

RULE_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    id="Definitions_rule_demo" name="预算分级" namespace="http://planflow.test/dmn">
  <decision id="rule_demo_grade" name="预算分级">
    <decisionTable id="DecisionTable_rule_demo" hitPolicy="FIRST">
      <input id="Input_1" label="金额">
        <inputExpression id="InputExpression_1" typeRef="number">
          <text>amount</text>
        </inputExpression>
      </input>
      <output id="Output_1" label="审批人" name="approver" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="In_1"><text>&lt;= 50000</text></inputEntry>
        <outputEntry id="Out_1"><text>"主管"</text></outputEntry>
      </rule>
      <rule id="Rule_2">
        <inputEntry id="In_2"><text>&gt; 50000</text></inputEntry>
        <outputEntry id="Out_2"><text>"经理"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

PROJECT_START = {
    "project_name": "门店焕新",
    "requirement_source": "market_trend",
    "requesting_department": "销售部",
    "requirement_description": "竞品推出直播预售，需要跟进",
    "a_owner": "sup",
    "b_owner": "mgr",
}


def _open_instance(live_server, page, instance_id: int) -> None:
    live_server.login(page, "mgr")
    page.goto(f"{live_server.url}/instances/{instance_id}")
    page.wait_for_function("window.__diagramReady === true")


def _view(page) -> dict:
    """The canvas's scale, the visible diagram area and the drawing's bounds (diagram units)."""
    return page.evaluate(
        """() => {
            const vb = pfViewer.get('canvas').viewbox();
            return {scale: vb.scale, x: vb.x, y: vb.y, width: vb.width, height: vb.height,
                    inner: vb.inner};
        }"""
    )


def _shows(view: dict, box: dict) -> bool:
    return (
        box["x"] >= view["x"] - 1
        and box["y"] >= view["y"] - 1
        and box["x"] + box["width"] <= view["x"] + view["width"] + 1
        and box["y"] + box["height"] <= view["y"] + view["height"] + 1
    )


def _element_box(page, element_id: str) -> dict:
    return page.evaluate(
        """(id) => { const e = pfViewer.get('elementRegistry').get(id);
                     return {x: e.x, y: e.y, width: e.width, height: e.height}; }""",
        element_id,
    )


def _watermark_clear_of_drawing(page) -> None:
    """The bpmn.io logo is visible, on top, and outside the area the drawing is painted in."""
    found = page.evaluate(
        """() => {
            const logo = document.querySelector('#pf-diagram .bjs-powered-by');
            const drawing = document.querySelector('#pf-diagram .djs-container');
            logo.scrollIntoView({block: 'center'});
            const l = logo.getBoundingClientRect(), d = drawing.getBoundingClientRect();
            const top = document.elementFromPoint(l.left + l.width / 2, l.top + l.height / 2);
            const style = getComputedStyle(logo);
            return {visible: l.width > 20 && l.height > 10 && style.visibility !== 'hidden'
                             && style.display !== 'none' && Number(style.opacity) > 0.5,
                    onTop: !!top && (top === logo || logo.contains(top)),
                    below: l.top >= d.bottom - 0.5};
        }"""
    )
    assert found == {"visible": True, "onTop": True, "below": True}, found


def test_scripts_and_decision_tables_that_ran_are_marked(page, live_server, screenshot):
    ctx = live_server.ctx
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, [Upload("rule_demo.bpmn", RULE_BPMN.encode()),
                        Upload("rule_demo.dmn", RULE_DMN.encode())], "owner")
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "alice"), "rule_demo", {"title": "年会", "amount": 80000}
        ).id

    _open_instance(live_server, page, iid)
    svg = page.locator("#pf-diagram svg")
    for done in ("start", "grade", "prepare"):
        assert svg.locator(f".djs-element.pf-done[data-element-id='{done}']").count() == 1, done
    for flow in ("f1", "f2", "f3"):
        assert svg.locator(f".djs-element.pf-done-flow[data-element-id='{flow}']").count() == 1
    # The current step is marked apart from the done ones, and looks different.
    current = svg.locator(".djs-element.pf-active[data-element-id='approve']")
    assert current.count() == 1
    assert svg.locator(".djs-element.pf-done[data-element-id='approve']").count() == 0
    assert svg.locator(".djs-element[data-element-id='end'].pf-done").count() == 0
    colours = page.evaluate(
        """() => ['grade', 'approve'].map((id) => {
            const shape = document.querySelector(
              `#pf-diagram .djs-element[data-element-id='${id}'] .djs-visual > :first-child`);
            const s = getComputedStyle(shape);
            return [s.fill, s.stroke, s.strokeWidth];
        })"""
    )
    assert colours[0] != colours[1], colours

    # A small diagram opens whole, at a readable size.
    view = _view(page)
    assert 0.85 <= view["scale"] <= 1, view
    assert _shows(view, view["inner"]), view
    _watermark_clear_of_drawing(page)
    screenshot(page, "diagram_viewer_rule_demo")


def test_a_large_diagram_opens_readable_on_the_current_step_with_zoom_controls(
    page, live_server, screenshot
):
    ctx = live_server.ctx
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "alice"), "project_initiation", PROJECT_START
        ).id

    _open_instance(live_server, page, iid)
    # 项目策划全流程 is ~6000 units wide: fitted whole it is a fifth of its size (unreadable).
    # It opens at a readable size, on the steps open now.
    view = _view(page)
    assert view["scale"] >= 0.6, view
    assert _shows(view, _element_box(page, "Task_internal_research")), view
    assert page.locator(".djs-element.pf-active[data-element-id='Task_internal_research']").count()

    tools = page.get_by_role("toolbar", name="流程图缩放")
    assert tools.is_visible()
    names = [b.inner_text().strip() for b in tools.locator("button").all()]
    assert names == ["＋ 放大", "－ 缩小", "适应画布", "定位当前环节"], names
    assert tools.locator("output").inner_text() == f"{int(view['scale'] * 100 + 0.5)}%"

    tools.get_by_role("button", name="放大").click()
    bigger = _view(page)["scale"]
    assert bigger > view["scale"]
    tools.get_by_role("button", name="缩小").click()
    tools.get_by_role("button", name="缩小").click()
    assert _view(page)["scale"] < bigger

    tools.get_by_role("button", name="适应画布").click()
    whole = _view(page)
    assert _shows(whole, whole["inner"]), whole
    assert whole["scale"] < 0.4, whole
    _watermark_clear_of_drawing(page)

    tools.get_by_role("button", name="定位当前环节").click()
    back = _view(page)
    assert back["scale"] >= 0.6 and _shows(back, _element_box(page, "Task_internal_research"))
    _watermark_clear_of_drawing(page)
    page.locator("section:has(#pf-diagram)").scroll_into_view_if_needed()
    screenshot(page, "diagram_viewer_project", full_page=False)


def test_the_diagram_is_fetched_apart_and_not_sent_again(page, live_server, caplog):
    """The page carries no diagram; opened again, Chromium revalidates the diagram by its ETag
    and the server answers 304 with no body (Chromium then reports the cached 200), and the
    diagram is drawn as before. Playwright's routing turns the browser cache off: this test
    lifts the fixture's route and checks itself that every request stays on the server."""
    page.context.unroute("**/*")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    ctx = live_server.ctx
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, actor_for(s, "alice"), "project_initiation", PROJECT_START
        ).id

    def served() -> list[str]:  # the status of each diagram answer, from the server's log
        return [m.split('"')[-1].split()[0] for m in caplog.messages
                if f"/instances/{iid}/diagram.bpmn" in m]

    caplog.set_level(logging.INFO, logger="werkzeug")
    _open_instance(live_server, page, iid)
    assert "bpmn:definitions" not in page.content()
    assert served() == ["200"]
    page.reload()
    page.wait_for_function("window.__diagramReady === true")
    assert page.locator(".djs-element.pf-active[data-element-id='Task_internal_research']").count()
    assert served() == ["200", "304"]
    assert requested and all(u.startswith(live_server.url) for u in requested), requested
