"""Deploy errors in Chinese in the browser (issue 14): the modeler lists each problem with the
element's name and a 定位 button that selects it; the upload page says which flow dangles,
never SpiffWorkflow's "perhaps a form has the same ID?"."""

from __future__ import annotations

from tests.conftest import MODELS

BPMN = "approval_demo.bpmn"
DANGLING = (MODELS / BPMN).read_text().replace(
    '<bpmn:sequenceFlow id="f_auto" sourceRef="auto" targetRef="gw_decision"/>',
    '<bpmn:sequenceFlow id="f_auto" sourceRef="auto" targetRef="Task_deleted"/>',
)


def test_the_modeler_lists_problems_in_chinese_by_element_name(
    page, live_server, page_problems, screenshot
):
    page_problems.allow(r"400 .*models/approval_demo/deploy")  # the refusal, expected
    live_server.login(page, "owner")
    page.goto(f"{live_server.url}/models/approval_demo/edit")
    page.wait_for_function("window.__editorReady === true")
    page.evaluate(
        """() => {
            const auto = pfEditor.get('elementRegistry').get('auto');
            pfEditor.get('modeling').updateProperties(auto, {script: ''});
        }"""
    )
    page.locator("#pf-deploy").click()
    page.wait_for_function("window.__deployResult !== null")
    alert = page.locator("#pf-problems .pf-alert")
    alert.wait_for(state="visible")
    assert page.locator("#pf-result").inner_text() == "模型校验未通过，未部署"
    item = alert.locator("li").first
    assert item.inner_text().startswith(
        f"{BPMN} · 「自动通过」(auto)：脚本为空，每次运行都会失败"
    ), item.inner_text()
    item.get_by_role("button", name="定位").click()
    assert page.evaluate(
        "pfEditor.get('selection').get().map((e) => e.id)"
    ) == ["auto"]
    assert page.locator("#pf-editor .djs-element.pf-invalid[data-element-id='auto']").count() == 1
    screenshot(page, "modeler_deploy_error", full_page=False)


def test_the_upload_page_says_which_flow_dangles(
    page, live_server, page_problems, tmp_path, screenshot
):
    page_problems.allow(r"400 .*/models/new")  # the refusal, expected
    upload = tmp_path / BPMN
    upload.write_text(DANGLING, encoding="utf-8")
    live_server.login(page, "owner")
    page.goto(f"{live_server.url}/models/new")
    page.set_input_files("input[type=file]", str(upload))
    page.locator("form.pf-form button[type=submit]").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    text = alert.inner_text()
    assert "perhaps a form" not in text and "When looking" not in text, text
    assert "f_auto：连线（从「自动通过」(auto)出发）的终点“Task_deleted”不存在" in text, text
    screenshot(page, "upload_dangling_flow")


def test_the_upload_page_refuses_a_pattern_that_would_hang_the_browser(
    page, live_server, page_problems, tmp_path, screenshot
):
    """A form field whose pattern backtracks catastrophically: the refusal names the form,
    the field (by its label) and the pattern, in Chinese, and the message fits the page."""
    import json

    page_problems.allow(r"400 .*/models/new")  # the refusal, expected
    paths = []
    for source in [MODELS / BPMN, *MODELS.glob("*.form")]:
        text = source.read_text(encoding="utf-8")
        if source.name == "approval_submit.form":
            form = json.loads(text)
            form["components"].append({
                "type": "textfield", "id": "f_code", "key": "code", "label": "项目编号",
                "validate": {"pattern": r"^(\w+\s?)*$"},
            })
            text = json.dumps(form, ensure_ascii=False)
        (tmp_path / source.name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / source.name))
    live_server.login(page, "owner")
    page.goto(f"{live_server.url}/models/new")
    page.set_input_files("input[type=file]", paths)
    page.locator("form.pf-form button[type=submit]").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    text = alert.inner_text()
    assert "approval_submit.form · 「项目编号」(f_code)" in text, text
    assert "格式规则（正则表达式）「^(\\w+\\s?)*$」会灾难性回溯" in text, text
    box = alert.bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
    screenshot(page, "upload_slow_pattern")
