"""The decision-table (DMN) editor speaks Chinese on Chinese pages: dmn-js's own texts — 命中策略
and its explanations, the 当/则 headers, column types, the context menu, the cell and column
editors, the 决策需求图 (DRD) and the literal / boxed expression views — through the custom
`translate` module of web/static/js/dmn-zh.js, plus the few texts dmn-js writes without it. On
English pages dmn-js keeps its own English. Saves tests/screenshots/dmn_zh*.png and dmn_en.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

VENDORED = (
    Path(__file__).resolve().parents[2] / "web/static/vendor/dmn-js/dmn-modeler.production.min.js"
)
EDITOR = "/models/project_initiation/dmn/budget_approval.dmn"  # deployed from bpmn/

# Written into the DOM by dmn-js without `translate` (dmn-zh.js replaces them on zh pages).
HARDCODED = ["Remove item", "Value", "Name", "Type", "Result", "Result type"]

# Records every text dmn-js asks `translate` for, and whether dmn-zh.js has Chinese for it.
RECORD_ASKED = """
  window.__asked = {};
  Object.defineProperty(window, 'pfDmnTranslate', {
    configurable: true,
    set(module) {
      const chinese = module.translate[1];
      this.__recorded = { translate: ['value', function (template, replacements) {
        if (typeof template === 'string' && template) {
          window.__asked[template] = Object.prototype.hasOwnProperty.call(window.pfDmnZh, template);
        }
        return chinese(template, replacements);
      }] };
    },
    get() { return this.__recorded; },
  });
"""

# Every English text dmn-js would show (dmn-zh.js's keys and HARDCODED) found in the page: text
# nodes, tooltips, labels, placeholders — the bpmn.io watermark aside.
ENGLISH_LEFT = """(hardcoded) => {
  const english = new Set([...Object.keys(window.pfDmnZh), ...hardcoded]);
  const found = [];
  const root = document.getElementById('pf-editor');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.nodeType === 1 ? n : n.parentElement;
    if (el.closest('.bjs-powered-by')) continue;
    const texts = n.nodeType === 3 ? [n.data]
      : ['title', 'aria-label', 'placeholder', 'data-placeholder'].map((a) => n.getAttribute(a));
    for (const t of texts) if (t && english.has(t.trim())) found.push(t.trim());
  }
  return found;
}"""

# A decision table with a column of every type and cells in every form the cell editors know,
# a literal-expression decision, a business knowledge model, input data, a knowledge source.
RICH_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
    xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"
    id="Definitions_rich" name="全部类型" namespace="http://planflow.test/dmn">
  <decision id="table" name="各类型决策表">
    <decisionTable id="dt" hitPolicy="UNIQUE">
      <input id="i_s" label="文字"><inputExpression id="e_s" typeRef="string"><text>s</text>
        </inputExpression><inputValues id="iv_s"><text>"甲","乙"</text></inputValues></input>
      <input id="i_n" label="数"><inputExpression id="e_n" typeRef="number"><text>n</text>
        </inputExpression></input>
      <input id="i_b" label="是否"><inputExpression id="e_b" typeRef="boolean"><text>b</text>
        </inputExpression></input>
      <input id="i_d" label="日"><inputExpression id="e_d" typeRef="date"><text>d</text>
        </inputExpression></input>
      <input id="i_t" label="时"><inputExpression id="e_t" typeRef="time"><text>t</text>
        </inputExpression></input>
      <input id="i_dt" label="日时"><inputExpression id="e_dt" typeRef="dateTime"><text>dt</text>
        </inputExpression></input>
      <input id="i_dd" label="日时长"><inputExpression id="e_dd" typeRef="dayTimeDuration">
        <text>dd</text></inputExpression></input>
      <input id="i_ym" label="年月长"><inputExpression id="e_ym" typeRef="yearMonthDuration">
        <text>ym</text></inputExpression></input>
      <output id="o_s" label="结果" name="r" typeRef="string"><outputValues id="ov_s">
        <text>"好","坏"</text></outputValues></output>
      <output id="o_n" label="分" name="k" typeRef="number" />
      <rule id="r1">
        <description>注</description>
        <inputEntry id="c1_s"><text>"甲","乙"</text></inputEntry>
        <inputEntry id="c1_n"><text>&lt; 10</text></inputEntry>
        <inputEntry id="c1_b"><text>true</text></inputEntry>
        <inputEntry id="c1_d"><text>date("2024-01-01")</text></inputEntry>
        <inputEntry id="c1_t"><text>time("10:00:00")</text></inputEntry>
        <inputEntry id="c1_dt"><text>date and time("2024-01-01T10:00:00")</text></inputEntry>
        <inputEntry id="c1_dd"><text>duration("P1D")</text></inputEntry>
        <inputEntry id="c1_ym"><text>duration("P1Y")</text></inputEntry>
        <outputEntry id="c1_o"><text>"好"</text></outputEntry>
        <outputEntry id="c1_k"><text>1</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="c2_s"><text>not("甲")</text></inputEntry>
        <inputEntry id="c2_n"><text>[1..10]</text></inputEntry>
        <inputEntry id="c2_b"><text>false</text></inputEntry>
        <inputEntry id="c2_d"><text>[date("2024-01-01")..date("2024-02-01")]</text></inputEntry>
        <inputEntry id="c2_t"><text>[time("10:00:00")..time("11:00:00")]</text></inputEntry>
        <inputEntry id="c2_dt"><text>[date and time("2024-01-01T10:00:00")..date and
          time("2024-01-02T10:00:00")]</text></inputEntry>
        <inputEntry id="c2_dd"><text>[duration("P1D")..duration("P2D")]</text></inputEntry>
        <inputEntry id="c2_ym"><text>[duration("P1Y")..duration("P2Y")]</text></inputEntry>
        <outputEntry id="c2_o"><text>"坏"</text></outputEntry>
        <outputEntry id="c2_k"><text>2</text></outputEntry>
      </rule>
      <rule id="r3">
        <inputEntry id="c3_s"><text>"丙"</text></inputEntry>
        <inputEntry id="c3_n"><text>5</text></inputEntry>
        <inputEntry id="c3_b"><text></text></inputEntry>
        <inputEntry id="c3_d"><text>&lt; date("2024-01-01")</text></inputEntry>
        <inputEntry id="c3_t"><text>&gt; time("10:00:00")</text></inputEntry>
        <inputEntry id="c3_dt"><text>&gt; date and time("2024-01-01T10:00:00")</text></inputEntry>
        <inputEntry id="c3_dd"><text>&gt; duration("P1D")</text></inputEntry>
        <inputEntry id="c3_ym"><text>&lt; duration("P1Y")</text></inputEntry>
        <outputEntry id="c3_o"><text></text></outputEntry>
        <outputEntry id="c3_k"><text>3</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <decision id="literal" name="字面决策">
    <variable id="v_lit" name="lit" typeRef="string" />
    <literalExpression id="le"><text>"x"</text></literalExpression>
  </decision>
  <businessKnowledgeModel id="bkm" name="知识">
    <variable id="v_bkm" name="bkm" />
    <encapsulatedLogic id="fd" kind="FEEL">
      <formalParameter id="p1" name="a" typeRef="number" />
      <literalExpression id="le2"><text>a + 1</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <inputData id="in1" name="输入" />
  <knowledgeSource id="ks" name="来源" />
  <textAnnotation id="ta"><text>备注</text></textAnnotation>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="dg">
      <dmndi:DMNShape id="s_table" dmnElementRef="table">
        <dc:Bounds height="80" width="180" x="160" y="100" /></dmndi:DMNShape>
      <dmndi:DMNShape id="s_literal" dmnElementRef="literal">
        <dc:Bounds height="80" width="180" x="400" y="100" /></dmndi:DMNShape>
      <dmndi:DMNShape id="s_bkm" dmnElementRef="bkm">
        <dc:Bounds height="46" width="135" x="400" y="260" /></dmndi:DMNShape>
      <dmndi:DMNShape id="s_in1" dmnElementRef="in1">
        <dc:Bounds height="45" width="125" x="187" y="280" /></dmndi:DMNShape>
      <dmndi:DMNShape id="s_ks" dmnElementRef="ks">
        <dc:Bounds height="63" width="100" x="620" y="100" /></dmndi:DMNShape>
      <dmndi:DMNShape id="s_ta" dmnElementRef="ta">
        <dc:Bounds height="45" width="100" x="620" y="260" /></dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
"""

# Opens everything in RICH_DMN: every hit policy (its tooltip), every cell's editor and context
# menu and expression-language menu, every column editor; the literal expression, the business
# knowledge model and its menus; every DRD element's context pad and 更改类型 menu, the search.
# Returns the English found after each step ({step: [texts]}) and how many steps ran.
EXERCISE_EVERYTHING = """async ([xml, hardcoded]) => {
  const englishLeft = ENGLISH_LEFT;
  const pause = (ms) => new Promise((r) => setTimeout(r, ms || 40));
  const left = {};
  let steps = 0;
  const check = (step) => {
    steps++;
    const found = englishLeft(hardcoded);
    if (found.length) left[step] = found;
  };
  const ed = pfEditor;
  await ed.importXML(xml);
  const open = async (id) => {
    await ed.open(ed.getViews().find((v) => v.element.id === id));
    await pause();
    return ed.getActiveViewer();
  };

  let v = await open('table');
  const cm = v.get('contextMenu'), bus = v.get('eventBus');
  for (const [p, a] of [['UNIQUE'], ['FIRST'], ['PRIORITY'], ['ANY'], ['COLLECT'],
      ['COLLECT', 'SUM'], ['COLLECT', 'MIN'], ['COLLECT', 'MAX'], ['COLLECT', 'COUNT'],
      ['RULE ORDER'], ['OUTPUT ORDER']]) {
    v.get('modeling').editHitPolicy(p, a);
    await pause(10);
    check('hit policy ' + p + (a || ''));
  }
  for (const el of v.get('elementRegistry').getAll()) {
    const node = document.querySelector(`#pf-editor td[data-element-id="${el.id}"]`);
    if (!node) continue;
    bus.fire('simpleMode.open', { element: el, node });
    await pause(); check('cell editor ' + el.id); cm.close();
    cm.open({ x: 100, y: 100 }, { contextMenuType: 'context-menu', id: el.id });
    await pause(); check('context menu ' + el.id); cm.close();
    cm.open({ x: 100, y: 100 }, { contextMenuType: 'expression-language', id: el.id });
    await pause(); check('expression language ' + el.id); cm.close();
  }
  for (const button of [...document.querySelectorAll('#pf-editor th .edit-button')]) {
    button.click(); await pause(); check('column editor ' + button.closest('th').innerText);
    cm.close(); await pause(10);
  }

  v = await open('literal');
  check('literal expression');
  v = await open('bkm');
  check('business knowledge model');
  for (const b of [...document.querySelectorAll('#pf-editor .function-definition button')]) {
    b.click(); await pause(); check('function definition ' + b.className);
    v.get('contextMenu').close();
  }

  v = await open('Definitions_rich');
  check('drd');
  const pad = v.get('contextPad'), popup = v.get('popupMenu');
  for (const el of v.get('elementRegistry').getAll()) {
    if (el.type === 'label' || !el.parent) continue;
    v.get('selection').select(el);
    pad.open(el, true);
    await pause(10); check('context pad ' + el.id);
    if (!popup.isEmpty(el, 'dmn-replace')) {
      popup.open(el, 'dmn-replace', { x: 100, y: 100 });
      await pause(10); check('change type ' + el.id);
      popup.close();
    }
  }
  v.get('searchPad').toggle(); check('search');
  v.get('searchPad').toggle();
  return { left, steps };
}""".replace("ENGLISH_LEFT", ENGLISH_LEFT, 1)


def _open_editor(live_server, page) -> None:
    live_server.login(page, "owner")
    page.goto(f"{live_server.url}{EDITOR}")
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None
    page.locator("#pf-editor .tjs-table").wait_for(state="visible")


def _english_left(page) -> list[str]:
    return page.evaluate(ENGLISH_LEFT, HARDCODED)


def test_every_text_dmn_js_shows_has_a_chinese_translation(page, live_server):
    page.add_init_script(RECORD_ASKED)
    _open_editor(live_server, page)
    assert page.evaluate("pfEditor.getActiveViewer().get('translate')('Add rule')") == "添加规则"

    # Every literal the vendored build hands to its translate service.
    source = VENDORED.read_text(encoding="utf-8")
    literals = set(re.findall(r"""\b_?translate\("((?:[^"\\]|\\.)+)"[,)]""", source))
    literals |= set(re.findall(r"""\b_?translate\('((?:[^'\\]|\\.)+)'[,)]""", source))
    assert len(literals) > 100, len(literals)
    keys = set(page.evaluate("Object.keys(window.pfDmnZh)"))
    assert sorted(literals - keys) == []

    # And every text it asks for at run time — including computed ones: hit-policy names and
    # explanations, data types, validation messages — while everything is opened once.
    result = page.evaluate(EXERCISE_EVERYTHING, [RICH_DMN, HARDCODED])
    assert result["steps"] > 100, result["steps"]
    assert result["left"] == {}
    asked = page.evaluate("window.__asked")
    assert len(asked) > 150, len(asked)
    assert sorted(t for t, known in asked.items() if not known) == []


def test_decision_table_is_chinese_and_english_pages_keep_dmn_js_english(
    page, live_server, screenshot
):
    _open_editor(live_server, page)
    editor = page.locator("#pf-editor")
    hit = editor.locator(".hit-policy")
    assert hit.locator(".dms-label").inner_text().strip() == "命中策略："
    assert hit.locator(".hit-policy-edit-policy-select").inner_text().strip() == "唯一"
    assert hit.get_attribute("title") == "规则之间不能重叠、互不相交，只能命中一条规则"
    assert editor.locator("th.input-cell .clause").inner_text().strip() == "当"
    assert editor.locator("th.output-cell .clause").inner_text().strip() == "则"
    assert editor.locator("th.annotation").inner_text().strip() == "注释"
    header = editor.locator("thead").inner_text()
    assert "数字" in header and "字符串" in header, header
    assert editor.get_by_role("button", name="查看决策需求图").is_visible()
    assert editor.locator("[title='添加规则']").count() >= 1

    # The hit-policy list.
    editor.locator(".hit-policy-edit-policy-select").click()
    options = page.locator(".dms-select-options .option").all_inner_texts()
    policies = {"唯一", "首个", "优先级", "任意", "汇总", "规则顺序", "输出顺序"}
    assert policies <= set(options), options
    page.keyboard.press("Escape")
    page.locator("h1").click()

    # The context menu of a rule cell.
    editor.locator("td[data-element-id='InputEntry_manager']").click(button="right")
    menu = page.locator("#pf-editor .context-menu")
    menu.wait_for(state="visible")
    entries = [t.strip() for t in menu.locator(".context-menu-group-entry").all_inner_texts()]
    expected = {"在上方添加规则", "在下方添加规则", "删除规则", "添加单元格说明"}
    assert expected <= set(entries), entries
    assert _english_left(page) == []
    screenshot(page, "dmn_zh")
    page.keyboard.press("Escape")

    # The DRD: palette, context pad, 更改类型 menu.
    editor.get_by_role("button", name="查看决策需求图").click()
    palette = editor.locator(".djs-palette .entry")
    palette.first.wait_for(state="visible")
    titles = [e.get_attribute("title") or "" for e in palette.all()]
    assert {"决策", "输入数据", "知识来源", "业务知识模型"} <= set(titles), titles
    editor.locator("[data-element-id='budget_approval']").first.click()
    pad = editor.locator(".djs-context-pad .entry")
    pad.first.wait_for(state="visible")
    titles = [e.get_attribute("title") or "" for e in pad.all()]
    assert {"追加决策", "连线到其他元素", "更改类型", "删除"} <= set(titles), titles
    editor.locator(".djs-context-pad .entry[data-action='replace']").click()
    popup = page.locator(".djs-popup")
    popup.wait_for(state="visible")
    assert {"空", "字面表达式"} <= {t.strip() for t in popup.locator(".entry").all_inner_texts()}
    assert _english_left(page) == []
    screenshot(page, "dmn_zh_drd")
    page.keyboard.press("Escape")

    # English pages: dmn-js's own texts.
    page.get_by_role("link", name="English").click()
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("document.documentElement.lang") == "en"
    editor.locator(".tjs-table").wait_for(state="visible")
    assert hit.locator(".dms-label").inner_text().strip() == "Hit policy:"
    assert hit.locator(".hit-policy-edit-policy-select").inner_text().strip() == "Unique"
    assert editor.locator("th.input-cell .clause").inner_text().strip() == "When"
    assert editor.locator("th.output-cell .clause").inner_text().strip() == "Then"
    assert editor.locator("th.annotation").inner_text().strip() == "Annotations"
    header = editor.locator("thead").inner_text()
    assert "number" in header and "string" in header, header
    assert editor.get_by_role("button", name="View DRD").is_visible()
    editor.locator("td[data-element-id='InputEntry_manager']").click(button="right")
    menu.wait_for(state="visible")
    entries = [t.strip() for t in menu.locator(".context-menu-group-entry").all_inner_texts()]
    assert {"Add rule above", "Add rule below", "Remove rule"} <= set(entries), entries
    # (the same look-out for English that found none on the Chinese page finds it here)
    assert {"Hit policy:", "When", "Then", "Add rule above"} <= set(_english_left(page))
    screenshot(page, "dmn_en")
