"""The vendored browser libraries load and work in Chromium, served from our own host only.

``install_assets`` copies node_modules -> <tmp>/static/vendor; a local http.server serves that
folder plus small test pages written here. The ``page`` fixture (conftest.py) fails a test on any
console error, page error, HTTP error or request to another host.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_PY = PROJECT_ROOT / "web" / "assets.py"


def _load_assets_module() -> ModuleType:
    """Load web/assets.py by path: `import web.assets` would run web/__init__.py (the app)."""
    spec = importlib.util.spec_from_file_location("planflow_web_assets", ASSETS_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


assets = _load_assets_module()
install_assets = assets.install_assets
MANIFEST_NAME = assets.MANIFEST_NAME
NODE_MODULES = PROJECT_ROOT / "node_modules"

BPMN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_plan" name="年度计划审批" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="开始">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Task_draft" name="编制年度计划">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1" name="结束">
      <bpmn:incoming>Flow_2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_draft" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_draft" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_plan">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="152" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Task_draft_di" bpmnElement="Task_draft">
        <dc:Bounds x="240" y="80" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="EndEvent_1_di" bpmnElement="EndEvent_1">
        <dc:Bounds x="392" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="188" y="120" />
        <di:waypoint x="240" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_2_di" bpmnElement="Flow_2">
        <di:waypoint x="340" y="120" />
        <di:waypoint x="392" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

DMN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    id="Definitions_budget" name="预算审批" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="Decision_approver" name="确定审批人">
    <decisionTable id="DecisionTable_1" hitPolicy="FIRST">
      <input id="Input_1" label="预算金额">
        <inputExpression id="InputExpression_1" typeRef="number">
          <text>amount</text>
        </inputExpression>
      </input>
      <output id="Output_1" label="审批人" name="approver" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="UnaryTests_1"><text>&lt; 100000</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>"部门经理"</text></outputEntry>
      </rule>
      <rule id="Rule_2">
        <inputEntry id="UnaryTests_2"><text>&gt;= 100000</text></inputEntry>
        <outputEntry id="LiteralExpression_2"><text>"策划部总监"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

FORM_SCHEMA = {
    "type": "default",
    "id": "Form_plan",
    "schemaVersion": 16,
    "components": [
        {
            "type": "textfield",
            "id": "Field_planName",
            "key": "planName",
            "label": "计划名称",
            "validate": {"required": True},
        },
        {
            "type": "button",
            "id": "Field_submit",
            "key": "submit",
            "label": "提交",
            "action": "submit",
        },
    ],
}

# Reports the outcome of a page's set-up script: window.__done / window.__error.
DONE_JS = """
window.__done = false;
window.__finish = (error) => {
  if (error) { window.__error = String(error && error.stack || error); console.error(error); }
  window.__done = true;
};
"""


def _js(value: object) -> str:
    """A JS literal for ``value``, safe inside an inline <script>."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _html(title: str, head: str, body: str, script: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="data:,">
<script>{DONE_JS}</script>
{head}
<style>
  body {{ font-family: sans-serif; margin: 16px; }}
  .canvas {{ height: 560px; border: 1px solid #ccc; position: relative; }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
<script>
{script}
</script>
</body>
</html>
"""


PAGES: dict[str, str] = {
    "bpmn-viewer.html": _html(
        "流程查看器 (bpmn-js navigated viewer)",
        """
<link rel="stylesheet" href="/vendor/bpmn-js/diagram-js.css">
<link rel="stylesheet" href="/vendor/bpmn-js/bpmn-js.css">
<script src="/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"></script>""",
        '<div id="canvas" class="canvas"></div>',
        f"""
const viewer = new BpmnJS({{ container: '#canvas' }});
viewer.importXML({_js(BPMN_XML)})
  .then(({{ warnings }}) => {{
    window.__warnings = warnings.map(String);
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    window.__finish();
  }})
  .catch(window.__finish);
""",
    ),
    "bpmn-modeler.html": _html(
        "流程建模器 (bpmn-js modeler)",
        """
<link rel="stylesheet" href="/vendor/bpmn-js/diagram-js.css">
<link rel="stylesheet" href="/vendor/bpmn-js/bpmn-js.css">
<link rel="stylesheet" href="/vendor/bpmn-js/bpmn-font/css/bpmn-embedded.css">
<script src="/vendor/bpmn-js/bpmn-modeler.production.min.js"></script>""",
        '<div id="canvas" class="canvas"></div>',
        f"""
const modeler = new BpmnJS({{ container: '#canvas' }});
window.modeler = modeler;
modeler.importXML({_js(BPMN_XML)})
  .then(() => modeler.saveXML({{ format: true }}))
  .then(({{ xml }}) => {{ window.__savedXml = xml; return document.fonts.ready; }})
  .then(() => window.__finish())
  .catch(window.__finish);
""",
    ),
    "form-viewer.html": _html(
        "表单 (form-js viewer)",
        '<link rel="stylesheet" href="/vendor/form-js/form-js.css">\n'
        '<script src="/vendor/form-js/form-viewer.umd.js"></script>',
        '<div id="form"></div>',
        f"""
window.__submits = [];
const form = new FormViewer.Form({{ container: document.querySelector('#form') }});
form.on('submit', (event) => {{
  window.__submits.push({{ data: event.data, errors: event.errors }});
}});
form.importSchema({_js(FORM_SCHEMA)}, {{}})
  .then(() => window.__finish())
  .catch(window.__finish);
""",
    ),
    "form-editor.html": _html(
        "表单设计器 (form-js editor)",
        '<link rel="stylesheet" href="/vendor/form-js/form-js.css">\n'
        '<link rel="stylesheet" href="/vendor/form-js/form-js-editor.css">\n'
        '<script src="/vendor/form-js/form-editor.umd.js"></script>',
        '<div id="editor" style="height: 640px; border: 1px solid #ccc;"></div>',
        f"""
const editor = new FormEditor.FormEditor({{ container: document.querySelector('#editor') }});
window.formEditor = editor;
editor.importSchema({_js(FORM_SCHEMA)})
  .then(() => window.__finish())
  .catch(window.__finish);
""",
    ),
    "dmn.html": _html(
        "决策表 (dmn-js modeler)",
        "\n".join(
            f'<link rel="stylesheet" href="/vendor/dmn-js/{name}">'
            for name in (
                "diagram-js.css",
                "dmn-js-shared.css",
                "dmn-js-drd.css",
                "dmn-js-decision-table.css",
                "dmn-js-decision-table-controls.css",
                "dmn-js-literal-expression.css",
                "dmn-js-boxed-expression.css",
                "dmn-js-boxed-expression-controls.css",
                "dmn-font/css/dmn-embedded.css",
            )
        ),
        # Inferno (inside dmn-js) logs an error if it loads before <body> exists: load it in body.
        '<div id="canvas" class="canvas"></div>\n'
        '<script src="/vendor/dmn-js/dmn-modeler.production.min.js"></script>',
        f"""
const dmnJS = new DmnJS({{ container: '#canvas' }});
window.dmnJS = dmnJS;
dmnJS.importXML({_js(DMN_XML)})
  .then(() => {{
    const view = dmnJS.getViews().find((v) => v.type === 'decisionTable');
    if (!view) throw new Error('no decision table view');
    return dmnJS.open(view);
  }})
  .then(() => document.fonts.ready)
  .then(() => window.__finish())
  .catch(window.__finish);
""",
    ),
    "misc.html": _html(
        "htmx / Chart.js / jsdiff",
        '<script src="/vendor/htmx/htmx.min.js"></script>\n'
        '<script src="/vendor/chart.js/chart.umd.min.js"></script>\n'
        '<script src="/vendor/diff/diff.min.js"></script>',
        """
<button id="load" hx-get="/fragment.html" hx-target="#out" hx-swap="innerHTML">加载</button>
<div id="out"></div>
<div style="width: 600px; height: 300px;"><canvas id="chart"></canvas></div>
<pre id="patch"></pre>""",
        """
try {
  window.__chart = new Chart(document.getElementById('chart'), {
    type: 'bar',
    data: {
      labels: ['一月', '二月', '三月'],
      datasets: [{ label: '完成的计划', data: [3, 7, 5] }],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false },
  });
  document.getElementById('patch').textContent = Diff.createTwoFilesPatch(
    'v1', 'v2', '审批人: 部门经理\\n金额: 100\\n', '审批人: 策划部总监\\n金额: 100\\n');
  window.__finish();
} catch (e) { window.__finish(e); }
""",
    ),
    "fragment.html": '<p id="fragment">来自服务器的片段</p>',
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not NODE_MODULES.is_dir():
        pytest.fail(f"{NODE_MODULES} is missing: run npm ci --ignore-scripts first", pytrace=False)
    static = tmp_path_factory.mktemp("static")
    files = install_assets(NODE_MODULES, static)
    for name, html in PAGES.items():
        (static / name).write_text(html, encoding="utf-8")
    manifest = json.loads((static / "vendor" / MANIFEST_NAME).read_text(encoding="utf-8"))
    return {"static": static, "files": files, "manifest": manifest}


@pytest.fixture(scope="module")
def server(site: dict) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site["static"]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="asset-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__done === true")
    error = page.evaluate("window.__error || null")
    assert error is None, f"page set-up failed: {error}"


def assert_not_overlapped(page, selector: str) -> None:
    """The element is visible and is what is on top at its centre (licence watermark rule)."""
    locator = page.locator(selector).first
    locator.wait_for(state="visible")
    on_top = locator.evaluate(
        """(el) => {
            const r = el.getBoundingClientRect();
            const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return r.width > 0 && r.height > 0 && !!top && (top === el || el.contains(top));
        }"""
    )
    assert on_top, f"{selector} is hidden or overlapped"


def test_manifest_lists_every_vendored_file(site: dict) -> None:
    vendor = site["static"] / "vendor"
    manifest = site["manifest"]
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(vendor).as_posix() for p in vendor.rglob("*") if p.is_file()} - {
        MANIFEST_NAME
    }
    assert listed == on_disk
    assert {p.relative_to(vendor).as_posix() for p in site["files"]} == on_disk | {MANIFEST_NAME}
    for entry in manifest["files"]:
        data = (vendor / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert entry["version"] == manifest["packages"][entry["package"]]["version"]
    # the icon fonts named by the embedded font CSS came along
    assert "bpmn-js/bpmn-font/font/bpmn.eot" in listed
    assert "dmn-js/dmn-font/font/dmn.eot" in listed


def test_assets_module_imports_without_flask() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('a', {str(ASSETS_PY)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['a'] = m\n"
        "spec.loader.exec_module(m)\n"
        "print('flask' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_without_node_modules_fails_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ASSETS_PY), "--node-modules", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "run npm ci --ignore-scripts first" in result.stderr


def test_bpmn_viewer_renders_diagram(page, server: str, screenshot) -> None:
    open_page(page, f"{server}/bpmn-viewer.html")
    assert page.evaluate("window.__warnings") == []
    task = page.locator('#canvas svg .djs-element[data-element-id="Task_draft"]')
    task.wait_for(state="visible")
    assert task.locator("rect").count() >= 1
    assert "编制年度计划" in task.text_content()
    assert page.locator("#canvas svg .djs-element[data-element-id='EndEvent_1']").is_visible()
    assert_not_overlapped(page, "#canvas .bjs-powered-by")
    screenshot(page, "assets-bpmn-viewer")


def test_bpmn_modeler_palette_uses_icon_font(page, server: str, screenshot) -> None:
    open_page(page, f"{server}/bpmn-modeler.html")
    palette = page.locator("#canvas .djs-palette")
    palette.wait_for(state="visible")
    assert page.locator("#canvas .djs-palette .entry").count() >= 8
    task_entry = page.locator("#canvas .djs-palette .entry.bpmn-icon-task")
    assert task_entry.is_visible()
    font_family = task_entry.evaluate("(el) => getComputedStyle(el, '::before').fontFamily")
    assert font_family.strip("\"'") == "bpmn", font_family
    statuses = page.evaluate(
        "() => [...document.fonts].filter(f => f.family.replace(/[\"']/g, '') === 'bpmn')"
        ".map(f => f.status)"
    )
    assert "loaded" in statuses, statuses
    assert "编制年度计划" in page.evaluate("window.__savedXml")
    assert_not_overlapped(page, "#canvas .bjs-powered-by")
    screenshot(page, "assets-bpmn-modeler")


def test_form_viewer_validates_required_field(page, server: str, screenshot) -> None:
    open_page(page, f"{server}/form-viewer.html")
    field = page.get_by_label("计划名称")
    field.wait_for(state="visible")
    assert_not_overlapped(page, "#form .fjs-powered-by")

    page.get_by_role("button", name="提交").click()
    error = page.locator("#form .fjs-form-field-error")
    error.first.wait_for(state="visible")
    submits = page.evaluate("window.__submits")
    # errors are keyed by the component id, data by its key
    assert submits and "Field_planName" in submits[-1]["errors"], submits
    screenshot(page, "assets-form-viewer-error")

    field.fill("2027 年度策划方案")
    field.blur()  # form-js debounces input: blur commits the value
    page.get_by_role("button", name="提交").click()
    page.wait_for_function("window.__submits.length === 2")
    last = page.evaluate("window.__submits[1]")
    assert last["errors"] == {}, last
    assert last["data"]["planName"] == "2027 年度策划方案"
    assert page.locator("#form .fjs-form-field-error").count() == 0


def test_form_editor_loads(page, server: str, screenshot) -> None:
    open_page(page, f"{server}/form-editor.html")
    page.locator("#editor .fjs-editor-container").wait_for(state="visible")
    page.locator("#editor .fjs-palette-container, #editor .fjs-palette").first.wait_for(
        state="visible"
    )
    page.locator("#editor .bio-properties-panel").first.wait_for(state="attached")
    # the form's own field is on the canvas
    assert page.locator("#editor .fjs-form-field", has_text="计划名称").count() >= 1
    schema = page.evaluate("window.formEditor.saveSchema()")
    assert [c["key"] for c in schema["components"]][:1] == ["planName"]
    assert_not_overlapped(page, "#editor .fjs-powered-by")
    screenshot(page, "assets-form-editor")


def test_dmn_decision_table(page, server: str, screenshot) -> None:
    open_page(page, f"{server}/dmn.html")
    table = page.locator("#canvas .tjs-table")
    table.wait_for(state="visible")
    text = table.inner_text()
    for expected in ("预算金额", "审批人", "部门经理", "策划部总监"):
        assert expected in text, (expected, text)
    assert page.locator("#canvas .tjs-table tbody tr").count() == 2
    assert page.evaluate("window.dmnJS.getActiveView().type") == "decisionTable"
    assert_not_overlapped(page, "#canvas .bjs-powered-by")
    screenshot(page, "assets-dmn-decision-table")


def test_htmx_chart_and_diff_globals(page, server: str, site: dict, screenshot) -> None:
    open_page(page, f"{server}/misc.html")
    packages = site["manifest"]["packages"]
    versions = page.evaluate(
        "() => ({ htmx: htmx.version, chart: Chart.version, diff: typeof Diff.diffLines })"
    )
    assert versions == {
        "htmx": packages["htmx.org"]["version"],
        "chart": packages["chart.js"]["version"],
        "diff": "function",
    }
    page.locator("#load").click()
    page.locator("#out #fragment").wait_for(state="visible")
    assert page.locator("#out").inner_text() == "来自服务器的片段"
    assert page.evaluate("Chart.getChart('chart').data.datasets[0].data") == [3, 7, 5]
    patch = page.locator("#patch").inner_text()
    assert "-审批人: 部门经理" in patch and "+审批人: 策划部总监" in patch
    screenshot(page, "assets-htmx-chart-diff")
