"""The form designer speaks Chinese on zh-CN pages (form-editor-zh.js): form-js's palette, its
groups and components, the properties panel (groups, entries, descriptions, tooltips) and the
canvas placeholders — while what the process owner typed stays exactly as typed, even words
that are also in the dictionary ("Number", "Description", "Select", "Auto"), typing into the
panel still works, and the English page keeps form-js's English.
Saves tests/screenshots/form-editor-zh*.png and form-editor-en.png."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.store.db import transaction
from engine.store.tables import ProcessVersionRecord, VersionFileRecord
from engine.usecases.deploy import Upload, deploy

pytestmark = pytest.mark.browser

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
FORM = "approval_review.form"
PAGE = f"/models/approval_demo/forms/{FORM}"

# The review form, its texts made English words form-js also uses for itself (the decision the
# model's gateway reads is kept).
SCHEMA = {
    "type": "default",
    "id": "approval_review",
    "schemaVersion": 16,
    "components": [
        {"type": "number", "id": "f_number", "key": "number", "label": "Number"},
        {"type": "textarea", "id": "f_description", "key": "description",
         "label": "Description", "description": "Required"},
        {"type": "select", "id": "f_choice", "key": "choice", "label": "Select",
         "values": [{"label": "Auto", "value": "auto"}, {"label": "Email", "value": "email"}]},
        {"type": "text", "id": "f_note", "text": "Components"},
        {"type": "radio", "id": "f_decision", "key": "decision", "label": "审批结论",
         "values": [{"label": "同意", "value": "approve"}, {"label": "退回", "value": "return"}]},
    ],
}

# Every text and attribute a person can read in a part of the editor (not the bpmn.io logo, not
# what is inside CodeMirror editors: the user's own labels and expressions).
COLLECT = """(selector) => {
  const out = [];
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.nodeType === 1 ? n : n.parentElement;
      if (el.closest('.fjs-powered-by, .cm-editor')) continue;
      if (n.nodeType === 3) {
        if (n.data.trim() && el.checkVisibility()) out.push(n.data.trim());
      } else {
        for (const a of ['placeholder', 'title']) {
          const v = n.getAttribute(a);
          if (v && v.trim()) out.push(v.trim());
        }
      }
    }
  }
  return out;
}"""

OPEN_ALL_GROUPS = """() => document.querySelectorAll(
  '#pf-editor .bio-properties-panel-group-header:not(.open)').forEach((h) => h.click())"""


@pytest.fixture
def words_form(live_server):
    """approval_demo, version 2: its BPMN again, with SCHEMA as its review form."""
    ctx = live_server.ctx
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
                        Upload(FORM, json.dumps(SCHEMA).encode())], "owner")
    return live_server


def _open(page, server) -> None:
    server.login(page, "owner", then=PAGE)
    page.wait_for_function("window.__editorReady === true")
    assert page.evaluate("window.__editorError || null") is None


def _select(page, field_id: str) -> None:
    page.locator(f"#pf-editor .fjs-element[data-id='{field_id}']").first.click()
    page.locator("#pf-editor .bio-properties-panel-header-type").wait_for(state="visible")


def _english(texts: list[str]) -> list[str]:
    # names, not words to translate: HTML 视图, FEEL 表达式 (the expression language)
    return [t for t in texts if LATIN_WORD.search(re.sub(r"\b(HTML|FEEL)\b", "", t))]


def _saved_form(server) -> dict:
    with transaction(server.ctx.sessions) as s:
        newest = s.scalars(
            select(ProcessVersionRecord)
            .where(ProcessVersionRecord.model_key == "approval_demo")
            .order_by(ProcessVersionRecord.version.desc())
        ).first()
        content = s.scalar(
            select(VersionFileRecord.content).where(
                VersionFileRecord.version_id == newest.id, VersionFileRecord.name == FORM
            )
        )
    return json.loads(content)


def test_palette_and_properties_panel_are_chinese(page, words_form, screenshot):
    _open(page, words_form)
    editor = page.locator("#pf-editor")
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    # the palette: heading, search box, groups, components and their tooltips
    assert editor.locator(".fjs-palette-header").inner_text().strip() == "组件"
    assert editor.locator(".fjs-palette-search").get_attribute("placeholder") == "搜索组件"
    groups = [t.strip() for t in editor.locator(".fjs-palette-group-title").all_inner_texts()]
    assert groups == ["输入", "选择", "展示", "容器", "操作"], groups
    fields = [t.strip() for t in editor.locator(".fjs-palette-field-text").all_inner_texts()]
    assert {"文本框", "多行文本", "数字", "日期时间", "复选框", "复选框组", "单选按钮",
            "下拉选择", "标签选择"} <= set(fields), fields
    text_field = editor.locator(".fjs-palette-field[data-field-type='textfield']")
    assert text_field.get_attribute("title") == "添加文本框"
    palette = page.evaluate(COLLECT, "#pf-editor .fjs-palette-container")
    assert not _english(palette), _english(palette)

    # the canvas: the form's own texts are the user's, untouched
    labels = [t.strip() for t in editor.locator(".fjs-form-field-label").all_inner_texts()]
    assert labels[:3] == ["Number", "Description", "Select"], labels
    assert editor.locator(".fjs-form-field-description").inner_text().strip() == "Required"
    assert editor.locator(".fjs-form-field-text").inner_text().strip() == "Components"
    # … but form-js's placeholder in the select is not
    assert editor.locator(".fjs-select-placeholder").inner_text().strip() == "请选择"

    # a selected field's properties
    _select(page, "f_number")
    panel = editor.locator(".fjs-editor-properties-container")
    assert panel.locator(".bio-properties-panel-header-type").text_content().strip() == "数字"
    assert panel.locator(".bio-properties-panel-header-label").text_content().strip() == "Number"
    remove = editor.locator(".fjs-element[data-id='f_number'] .fjs-context-pad-item")
    assert remove.get_attribute("title") == "删除数字"
    page.evaluate(OPEN_ALL_GROUPS)
    titles = [t.strip() for t in
              panel.locator(".bio-properties-panel-group-header-title").all_inner_texts()]
    assert {"常规", "条件", "校验", "外观", "布局", "序列化"} <= set(titles), titles
    entries = [t.strip() for t in panel.locator(".bio-properties-panel-label").all_inner_texts()]
    assert {"字段标签", "字段描述", "字段键", "默认值", "必填", "最小值", "最大值",
            "小数位数", "步长", "隐藏条件", "列宽"} <= set(entries), entries
    assert "绑定到表单变量" in panel.locator(".bio-properties-panel-description").all_inner_texts()
    shown = page.evaluate(COLLECT, "#pf-editor .fjs-editor-properties-container")
    assert shown.count("Number") == 1, shown  # only the header's label, the user's
    assert not _english([t for t in shown if t != "Number"]), _english(shown)

    # a tooltip
    key = panel.locator("[data-entry-id='key'] .bio-properties-panel-tooltip-wrapper")
    key.hover()
    tooltip = page.locator(".bio-properties-panel-tooltip-content")
    tooltip.wait_for(state="visible")
    assert tooltip.inner_text().startswith("用唯一的“字段键”"), tooltip.inner_text()
    screenshot(page, "form-editor-zh")
    page.mouse.move(640, 700)

    # the select's default value lists the user's options as they are; only "<none>" is form-js's
    _select(page, "f_choice")
    page.evaluate(OPEN_ALL_GROUPS)
    options = panel.locator("[data-entry-id$='defaultValue'] option").all_inner_texts()
    assert [o.strip() for o in options] == ["（无）", "Auto", "Email"], options
    static = panel.locator(".bio-properties-panel-collapsible-entry-header-title")
    assert [t.strip() for t in static.all_inner_texts()] == ["Auto", "Email"]
    assert panel.locator(".bio-properties-panel-header-label").inner_text().strip() == "Select"
    shown = page.evaluate(COLLECT, "#pf-editor .fjs-editor-properties-container")
    user = {"Select", "Auto", "Email", "auto", "email"}
    assert not _english([t for t in shown if t not in user]), _english(shown)
    screenshot(page, "form-editor-zh-select")


def test_typing_into_the_panel_still_works(page, words_form, screenshot):
    _open(page, words_form)
    _select(page, "f_description")
    page.evaluate(OPEN_ALL_GROUPS)
    panel = page.locator("#pf-editor .fjs-editor-properties-container")

    # a plain input: the key, typed as words form-js also uses
    key = panel.locator("[data-entry-id='key'] input")
    key.fill("")
    key.press_sequentially("Description")
    # the label (a CodeMirror editor): replaced by a dictionary word, then typed on
    label = panel.locator("[data-entry-id='label'] .cm-content")
    label.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Required")
    page.keyboard.type(" 说明")
    page.keyboard.press("Tab")

    assert key.input_value() == "Description"
    assert label.inner_text().strip() == "Required 说明"
    # (the panel hands edits on after a short debounce)
    canvas = page.locator("#pf-editor .fjs-element[data-id='f_description'] .fjs-form-field-label")
    expect(canvas).to_have_text("Required 说明")
    schema = page.evaluate("pfEditor.saveSchema()")
    field = next(c for c in schema["components"] if c["id"] == "f_description")
    assert (field["key"], field["label"]) == ("Description", "Required 说明")

    page.locator("#pf-deploy").click()
    page.wait_for_function("window.__deployResult !== null")
    assert page.evaluate("window.__deployResult.version") == 3
    saved = next(c for c in _saved_form(words_form)["components"] if c["id"] == "f_description")
    assert (saved["key"], saved["label"]) == ("Description", "Required 说明")
    screenshot(page, "form-editor-zh-typed")


def test_the_english_page_keeps_form_js_english(page, words_form, screenshot):
    _open(page, words_form)
    page.locator("a.lang").click()
    page.wait_for_function("window.__editorReady === true")
    assert page.locator("html").get_attribute("lang") == "en"
    editor = page.locator("#pf-editor")
    assert editor.locator(".fjs-palette-header").inner_text().strip() == "Components"
    assert editor.locator(".fjs-palette-search").get_attribute("placeholder") == "Search components"
    groups = [t.strip() for t in editor.locator(".fjs-palette-group-title").all_inner_texts()]
    assert groups[:4] == ["Input", "Selection", "Presentation", "Containers"], groups
    _select(page, "f_number")
    panel = editor.locator(".fjs-editor-properties-container")
    assert panel.locator(".bio-properties-panel-header-type").text_content().strip() == "Number"
    titles = panel.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert "General" in [t.strip() for t in titles], titles
    # (the canvas shows the form, whose decision field is Chinese: the user's text)
    shown = page.evaluate(
        COLLECT, "#pf-editor .fjs-palette-container, #pf-editor .fjs-editor-properties-container"
    )
    assert not [t for t in shown if CJK.search(t)], shown
    screenshot(page, "form-editor-en")
