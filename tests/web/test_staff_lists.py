"""The staff lists: 待办 (the inbox: claimable and own tasks, due dates, overdue, search,
filters, paging, English), 已办, 我发起的, and the nav counter of open tasks."""

from __future__ import annotations

import re

from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    start,
    task_id,
    task_rows,
)


def test_inbox_shows_group_task_as_claimable_with_due_date(app, ctx):
    iid = start(ctx, title="春季新品发布会")
    tid = task_id(ctx, iid)
    page = html(as_user(app, "alice").get("/tasks"))
    assert task_rows(page) == [tid]
    for text in (
        "春季新品发布会",
        "提交说明",
        "测试审批",
        "待认领",
        "认领",
        "剩余 2 天",
        "策划专员",
    ):
        assert text in page, text
    assert f'action="/tasks/{tid}/claim"' in page
    # the instance number tells apart instances of the same title
    assert f'<span class="muted staff-small staff-instance-no">#{iid}</span>' in page
    # the nav counter: one open task
    assert re.search(r'我的待办 <span class="badge" aria-label="1">1</span>', page)
    # the manager's group is not offered this step
    mgr_page = html(as_user(app, "mgr").get("/tasks"))
    assert task_rows(mgr_page) == [] and "目前没有待办任务" in mgr_page
    assert 'class="badge"' not in mgr_page.split("<main")[0]


def test_inbox_overdue_highlight_and_filter(app, ctx):
    old = start(ctx, title="旧项目")
    ctx.clock.advance(days=3)
    new = start(ctx, title="新项目")
    client = as_user(app, "alice")
    page = html(client.get("/tasks"))
    assert task_rows(page) == [task_id(ctx, old), task_id(ctx, new)]  # most urgent first
    assert "已逾期" in page and "staff-row-overdue" in page and "剩余 2 天" in page
    page = html(client.get("/tasks?overdue=1"))
    assert task_rows(page) == [task_id(ctx, old)]
    assert 'name="overdue" value="1" checked' in page


def test_inbox_search_and_process_filter(app, ctx):
    a = start(ctx, title="华东区经销商大会")
    b = start(ctx, title="品牌周年庆")
    client = as_user(app, "alice")
    assert task_rows(html(client.get("/tasks?q=经销商"))) == [task_id(ctx, a)]
    assert set(task_rows(html(client.get("/tasks?q=提交说明")))) == {
        task_id(ctx, a),
        task_id(ctx, b),
    }
    # LIKE wildcards are taken literally
    assert task_rows(html(client.get("/tasks?q=%25"))) == []
    assert task_rows(html(client.get("/tasks?q=_"))) == []
    assert len(task_rows(html(client.get("/tasks?process=approval_demo")))) == 2
    page = html(client.get("/tasks?process=nope"))
    assert task_rows(page) == [] and "没有符合条件的待办任务" in page
    # the process filter offers the deployed models by name
    assert '<option value="approval_demo"' in page and "测试审批</option>" in page


def test_inbox_paginates(app, ctx):
    for i in range(23):
        start(ctx, title=f"项目 {i:02d}")
    client = as_user(app, "alice")
    first = html(client.get("/tasks"))
    assert len(task_rows(first)) == 20 and "共 23 项待办" in first
    assert "第 1 / 2 页" in first and 'href="/tasks?page=2"' in first
    second = html(client.get("/tasks?page=2"))
    assert len(task_rows(second)) == 3 and not set(task_rows(first)) & set(task_rows(second))
    assert len(task_rows(html(client.get("/tasks?page=99")))) == 3  # clamped to the last page
    assert len(task_rows(html(client.get("/tasks?page=abc")))) == 20
    # the nav counter counts all of them
    assert 'aria-label="23">23</span>' in first


def test_inbox_in_english(app, ctx):
    start(ctx)
    client = as_user(app, "alice")
    client.get("/lang/en?next=/tasks")
    page = html(client.get("/tasks"))
    assert 'lang="en"' in page
    for text in ("My tasks", "Claimable", "Claim", "2 days left", "Overdue only"):
        assert text in page, text


def test_started_by_me(app, ctx):
    mine = start(ctx, "alice", title="我的活动")
    start(ctx, "bob", title="别人的活动")
    alice = as_user(app, "alice")
    page = html(alice.get("/instances/mine"))
    assert "我的活动" in page and "别人的活动" not in page
    # the instance number beside the title, once (it was also repeated on a line below)
    assert page.count(f">#{mine}<") == 1
    assert f'<span class="muted staff-small staff-instance-no">#{mine}</span>' in page
    assert "运行中" in page and "提交说明" in page and "共 1 个流程" in page
    assert "我的活动" not in html(alice.get("/instances/mine?status=completed"))
    assert "我的活动" in html(alice.get("/instances/mine?status=active"))
    assert "我的活动" in html(alice.get("/instances/mine?q=活动"))
    assert "我的活动" not in html(alice.get("/instances/mine?q=别的"))
    assert "你还没有发起过流程" in html(as_user(app, "req").get("/instances/mine"))


def test_done_search_and_empty(app, ctx):
    alice = as_user(app, "alice")
    assert "你还没有办理过任务" in html(alice.get("/tasks/done"))
    tid = task_id(ctx, start(ctx, title="年会"))
    complete_json(alice, tid, {"description": "ok"})
    assert task_rows(html(alice.get("/tasks/done?q=年会"))) == [tid]
    assert task_rows(html(alice.get("/tasks/done?q=别的"))) == []
    assert task_rows(html(alice.get("/tasks/done?process=approval_demo"))) == [tid]
    assert task_rows(html(as_user(app, "bob").get("/tasks/done"))) == []


def test_nav_counter_is_cheap_and_counts_group_and_personal_tasks(app, ctx):
    start(ctx)
    start(ctx)
    alice = as_user(app, "alice")
    tid = task_rows(html(alice.get("/tasks")))[0]
    alice.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(alice)})
    assert 'aria-label="2">2</span>' in html(alice.get("/tasks/done"))
    assert 'aria-label="1">1</span>' in html(as_user(app, "bob").get("/start"))
