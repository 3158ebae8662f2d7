"""form-js speaks Chinese (issue 14), in real Chromium: every form in bpmn/forms, rendered the
way the start and task pages render it (pages/start_form.html, task-form.js, form-js-zh.js),
shows no English — not after submitting it empty (the validation messages), with every select
and tag list open, a search that finds nothing, nor in the date picker, whose weeks start on
周一 and whose months are 一月 … 十二月. Saves tests/screenshots/form-js-zh-*.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.forms import Person, with_people
from tests.browser.staff_forms import form_ready, label

FORMS = sorted((Path(__file__).resolve().parents[2] / "bpmn" / "forms").glob("*.form"))
PEOPLE = [
    Person("li", "李主管", frozenset({"planning_supervisor"}), "策划主管", "Planning supervisor"),
    Person("zheng", "郑销售", frozenset({"sales"}), "销售部", "Sales"),
    Person("wang", "王经理", frozenset({"planning_manager"}), "策划部经理", "Planning manager"),
]
CHECK_PATH = "/__form_js_check"
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

# Every text and attribute a person can read or hear in the form (the licence watermark aside).
COLLECT = """() => {
  const root = document.getElementById('staff-form');
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.nodeType === 1 ? n : n.parentElement;
    if (el.closest('.fjs-powered-by')) continue;
    if (n.nodeType === 3) {
      if (n.data.trim()) out.push(n.data.trim());
    } else {
      for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
        const v = n.getAttribute(a);
        if (v && v.trim()) out.push(v.trim());
      }
    }
  }
  return out;
}"""


def schema_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in schema_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in schema_strings(v)]
    return []


def form_page(live_server, schema: dict) -> str:
    """The start-form page around `schema`, rendered by the app's own templates."""
    from web import create_app
    from web.pages.tasks import form_texts

    app = create_app({"TESTING": True}, context=live_server.ctx)
    with app.test_request_context("/start/check"):
        from flask import render_template

        config = {"schema": schema, "data": {}, "readonly": False,
                  "submitUrl": CHECK_PATH + "/submit", **form_texts()}
        view = {"name": "表单检查", "version": 1, "instructions": None}
        return render_template("pages/start_form.html", m=view, form_config=config)


def open_form(page, live_server, schema: dict) -> None:
    html = form_page(live_server, schema)
    page.route(f"{live_server.url}{CHECK_PATH}", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=html))
    page.route(f"{live_server.url}{CHECK_PATH}/submit", lambda route: route.fulfill(
        status=200, content_type="application/json", body='{"ok": false}'))
    page.goto(f"{live_server.url}{CHECK_PATH}")
    form_ready(page)


def english_left(texts: list[str], allowed: list[str]) -> list[str]:
    """Texts with a Latin word that is not part of what the form itself says."""
    return sorted({
        t for t in texts
        if LATIN_WORD.search(t) and not any(t in s for s in allowed)
    })


def exercise(page) -> list[str]:
    """Submit empty, open every select and tag list (and search for nobody), open every date
    picker and add a list row; what was on screen along the way."""
    seen: list[str] = list(page.evaluate(COLLECT))
    page.locator("#staff-submit").click()
    page.wait_for_timeout(100)
    seen += page.evaluate(COLLECT)
    form = page.locator("#staff-form")
    for add in form.locator(".fjs-repeat-render-add").all():
        add.click()
    pickers = form.locator(".fjs-form-field-select .fjs-input-group, .fjs-taglist")
    for i in range(pickers.count()):
        picker = pickers.nth(i)
        if not picker.is_visible():
            continue
        picker.click()
        seen += page.evaluate(COLLECT)
        search = picker.locator("input.fjs-input, input.fjs-taglist-input")
        if search.count() and search.first.is_editable():
            search.first.fill("没有这个选项")
            seen += page.evaluate(COLLECT)
            search.first.fill("")
        page.locator("h1").click()  # somewhere else: the list closes
    dates = form.locator(".fjs-datepicker input")
    for i in range(dates.count()):
        if dates.nth(i).is_visible():
            dates.nth(i).click()
            seen += page.evaluate(COLLECT)
            page.locator("h1").click()
    return seen


@pytest.mark.parametrize("path", FORMS, ids=[p.stem for p in FORMS])
def test_every_department_form_shows_no_english(page, live_server, path: Path) -> None:
    schema = with_people(json.loads(path.read_text(encoding="utf-8")), PEOPLE)
    open_form(page, live_server, schema)
    seen = exercise(page)
    left = english_left(seen, schema_strings(schema))
    assert left == [], f"{path.name}: English on screen: {left}"


def test_the_date_picker_and_the_words_of_form_js(page, live_server, screenshot) -> None:
    """The start form of 项目策划 and 品牌推广 as they are served: the date picker, a select's
    prompt, a search that finds nothing, and the messages of an empty submission."""
    live_server.login(page, "alice")
    page.goto(f"{live_server.url}/start/brand_promotion")
    form_ready(page)
    date = page.locator(".fjs-datepicker input").first
    assert date.get_attribute("placeholder") == "年/月/日"
    date.click()
    calendar = page.locator(".flatpickr-calendar.open")
    calendar.wait_for()
    weekdays = calendar.locator(".flatpickr-weekday").all_inner_texts()
    assert [w.strip() for w in weekdays] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    months = calendar.locator(".flatpickr-monthDropdown-month").all_inner_texts()
    assert months == ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月",
                      "十月", "十一月", "十二月"]
    screenshot(page, "form-js-zh-datepicker")
    page.keyboard.press("Escape")

    taglist = page.locator(".fjs-taglist input").first
    assert taglist.get_attribute("placeholder") == "输入以搜索"
    taglist.click()
    taglist.fill("没有这个渠道")
    assert page.locator(".fjs-dropdownlist-empty").inner_text() == "无匹配项"
    page.keyboard.press("Escape")

    page.goto(f"{live_server.url}/start/project_initiation")
    form_ready(page)
    source = page.locator(".fjs-form-field", has=page.get_by_label(label("需求来源")))
    assert source.locator(".fjs-select-display").inner_text() == "请选择"
    a_role = page.get_by_label(label("A角（项目负责人）"))
    assert a_role.get_attribute("placeholder") == "输入以搜索"
    page.get_by_role("button", name="提交并发起").click()
    # The click submits one task later (task-form.js lets a focused field commit first) and
    # form-js then renders the messages: wait for them, not for a fixed time.
    page.locator(".fjs-form-field-error").first.wait_for()
    errors = page.locator(".fjs-form-field-error").all_inner_texts()
    assert errors and set(errors) == {"此项为必填项"}, errors
    screenshot(page, "form-js-zh-required")
