"""The modeler speaks Chinese (issue 14): the page's buttons and messages, and bpmn-js's own UI —
palette and context-pad tooltips, the 更改元素类型 menu, the search box — through the custom
`translate` module (web/static/js/bpmn-zh.js)."""

from __future__ import annotations

import re

LATIN = re.compile(r"[A-Za-z]")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Records every text bpmn-js asks `translate` for that bpmn-zh.js has no Chinese for.
RECORD_MISSING = """
  window.__missing = {};
  Object.defineProperty(window, 'pfBpmnTranslate', {
    configurable: true,
    set(module) {
      const chinese = module.translate[1];
      this.__recorded = { translate: ['value', function (template, replacements) {
        if (!window.pfBpmnZh[template]) window.__missing[template] = true;
        return chinese(template, replacements);
      }] };
    },
    get() { return this.__recorded; },
  });
"""

# Every element type of the department's largest model: its context pad and its 更改元素类型
# menu, then the align menu of three tasks, the palette and the search box.
EXERCISE_EVERYTHING = """() => {
  const registry = pfEditor.get('elementRegistry'), pad = pfEditor.get('contextPad');
  const menu = pfEditor.get('popupMenu'), selection = pfEditor.get('selection');
  const seen = {};
  for (const el of registry.getAll()) {
    const defs = (el.businessObject.eventDefinitions || []).map((d) => d.$type).join();
    if (seen[el.type + defs]) continue;
    seen[el.type + defs] = true;
    selection.select(el);
    pad.open(el, true);
    if (menu.isEmpty(el, 'bpmn-replace')) continue;
    menu.open(el, 'bpmn-replace', {x: 100, y: 100}, {title: 'x'});
    menu.close();
  }
  const tasks = registry.filter((e) => e.type === 'bpmn:UserTask').slice(0, 3);
  selection.select(tasks);
  pad.open(tasks, true);
  menu.open(tasks, 'align-elements', {x: 100, y: 100});
  menu.close();
  pfEditor.get('searchPad').toggle();
  pfEditor.get('searchPad').toggle();
  return Object.keys(window.__missing);
}"""


def _open_modeler(live_server, page, key: str) -> None:
    live_server.login(page, "owner")
    page.goto(f"{live_server.url}/models/{key}/edit")
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None


def _chinese(texts: list[str]) -> None:
    assert texts
    english = [t for t in texts if LATIN.search(t) or not CJK.search(t)]
    assert not english, english


def test_every_text_bpmn_js_shows_has_a_chinese_translation(page, live_server):
    page.add_init_script(RECORD_MISSING)
    _open_modeler(live_server, page, "project_initiation")
    assert page.evaluate("pfEditor.get('translate')('Create task')") == "任务"
    assert page.evaluate(EXERCISE_EVERYTHING) == []


def test_modeler_buttons_tooltips_and_menus_are_chinese(page, live_server, screenshot):
    _open_modeler(live_server, page, "approval_demo")
    assert page.locator("#pf-deploy").inner_text().strip() == "部署"

    # The palette names its tools with aria-label (bpmn-js shows it as the hover tooltip).
    palette = page.locator("#pf-editor .djs-palette .entry")
    _chinese([e.get_attribute("aria-label") or "" for e in palette.all()])
    page.get_by_role("button", name="开始事件").hover()
    assert page.get_by_role("button", name="开始事件").count() == 1

    page.evaluate(
        """() => {
            const task = pfEditor.get('elementRegistry').get('review');
            pfEditor.get('selection').select(task);
            pfEditor.get('contextPad').open(task);
        }"""
    )
    pad = page.locator("#pf-editor .djs-context-pad .entry")
    pad.first.wait_for(state="visible")
    _chinese([e.get_attribute("title") or "" for e in pad.all()])

    page.locator("#pf-editor .djs-context-pad .entry[data-action='replace']").click()
    popup = page.locator(".djs-popup")
    popup.wait_for(state="visible")
    assert popup.locator(".djs-popup-title").inner_text().strip() == "更改元素类型"
    entries = [t.strip() for t in popup.locator(".djs-popup-results .entry").all_inner_texts()]
    _chinese(entries)
    assert {"服务任务", "脚本任务", "业务规则任务（决策表）"} <= set(entries), entries
    header = popup.locator(".djs-popup-header .entry").all()
    _chinese([e.get_attribute("title") or "" for e in header])
    screenshot(page, "modeler_zh")
    page.keyboard.press("Escape")

    # A change is announced in Chinese.
    page.evaluate(
        """() => pfEditor.get('modeling').updateLabel(
               pfEditor.get('elementRegistry').get('review'), '部门经理审批')"""
    )
    assert page.locator("#pf-result").inner_text() == "有尚未部署的修改。"


def test_a_deploy_that_gets_no_answer_says_so_in_chinese(page, live_server, page_problems):
    page_problems.allow(r"Failed to load resource")
    _open_modeler(live_server, page, "approval_demo")
    page.route("**/deploy", lambda route: route.abort("connectionrefused"))
    page.locator("#pf-deploy").click()
    page.wait_for_function("window.__deployResult !== null")
    text = page.locator("#pf-result").inner_text()
    assert text == "没有连上服务器，修改尚未部署。请检查网络后再点“部署”。", text
    assert page.locator("#pf-deploy").is_enabled()
