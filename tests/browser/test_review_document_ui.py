"""A review step shows what is being reviewed (issue 14), in real Chromium: 内部评审 opens with
the 《项目执行方案》 送审稿 rendered in the main column — headings and tables as on paper, nothing
raw — and its Word and Markdown downloads; 经理确认立项 shows the 《项目立项书》. Saves
tests/screenshots/review_document.png."""

from __future__ import annotations

from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.usecases import instances
from tests.browser.task_steps import do, open_row, plan_in_review
from tests.scenarios import add_extra_staff
from tests.scenarios.initiation_data import CHARTER, START_DATA

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_the_plan_under_review_is_shown_with_its_downloads(page, live_server, screenshot) -> None:
    ctx, url = live_server.ctx, live_server.url
    iid = plan_in_review(ctx)
    review = open_row(ctx, iid, "Task_internal_review").id

    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{review}")
    doc = page.locator("#review-document")
    assert "审阅文档：《项目执行方案》" in page.locator("#doc-h").inner_text()
    body = doc.locator(".staff-doc")
    assert body.locator("h1").count() == 1  # the document's title, rendered, not "# …"
    assert body.locator("table").count() >= 2  # 分工表, 时间节点表 … as tables
    assert "|" not in body.inner_text().split("\n")[0]
    assert "会展供应商" in body.inner_text() or "预售" in body.inner_text()
    # the document sits in the main column, above the form
    doc_box = doc.bounding_box()
    form_box = page.locator("#form-h").bounding_box()
    assert doc_box and form_box and doc_box["y"] < form_box["y"]
    # people by name in the key data (A角 is a person field holding a username)
    keydata = page.locator(".staff-keydata").inner_text()
    assert "李主管" in keydata and "\nsup\n" not in keydata + "\n"
    screenshot(page, "review_document")

    word = page.request.get(url + doc.locator("#review-docx").get_attribute("href"))
    assert word.status == 200 and word.headers["content-type"].startswith(DOCX)
    assert word.body()[:2] == b"PK"  # a real .docx (zip)
    md = page.request.get(url + doc.locator("#review-md").get_attribute("href"))
    assert md.status == 200 and md.text().lstrip().startswith("#")
    assert "attachment" in md.headers.get("content-disposition", "")


def test_the_charter_confirmation_shows_the_charter(page, live_server) -> None:
    ctx, url = live_server.ctx, live_server.url
    add_extra_staff(ctx)
    with transaction(ctx.sessions) as s:
        iid = instances.start(ctx, s, actor_for(s, "alice"), "project_initiation", START_DATA).id
    do(ctx, "alice", iid, "Task_internal_research", {
        "interview_summary": "访谈销售部：目标提升Q3销售额20%，可投入 3 人",
        "measurable_goal": "提升Q3销售额20%",
        "estimated_budget": 150000,
    })
    do(ctx, "bob", iid, "Task_external_research", {
        "industry_report_summary": "行业报告：直播预售转化率显著提升", "competitor_cases": "竞品A",
    })
    do(ctx, "sup", iid, "Task_charter_draft", CHARTER)
    confirm = open_row(ctx, iid, "Task_manager_confirm").id
    live_server.login(page, "mgr")
    page.goto(f"{url}/tasks/{confirm}")
    assert "《项目立项书》" in page.locator("#doc-h").inner_text()
    # the requester's confirmation reviews the same charter
    requester = open_row(ctx, iid, "Task_requester_confirm").id
    page.context.clear_cookies()
    live_server.login(page, "req")
    page.goto(f"{url}/tasks/{requester}")
    assert page.locator("#review-document").count() == 1
    # a step that reviews nothing shows no document
    with transaction(ctx.sessions) as s:
        iid2 = instances.start(ctx, s, actor_for(s, "alice"), "project_initiation", START_DATA).id
    research = open_row(ctx, iid2, "Task_internal_research").id
    page.context.clear_cookies()
    live_server.login(page, "alice")
    page.goto(f"{url}/tasks/{research}")
    assert page.locator("#form-h").count() == 1
    assert page.locator("#review-document").count() == 0
