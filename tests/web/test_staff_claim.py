"""认领 and 取消认领 a group task: from the inbox and the task page, who else may, a race,
a local `next` only, and a task that is already done."""

from __future__ import annotations

from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
    start,
    task_id,
    task_rows,
)


def test_claim_and_unclaim(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    assert alice.post(f"/tasks/{tid}/claim").status_code == 400  # no CSRF token
    r = alice.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(alice), "next": "/tasks"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks"
    page = html(alice.get("/tasks"))
    assert "已认领「提交说明」" in page and "由我办理" in page and "待认领" not in page
    assert task_rows(html(bob.get("/tasks"))) == []  # no longer offered to the group
    # bob still sees it (his group's step, read-only) but can neither claim nor unclaim it
    page = bob.get(f"/tasks/{tid}")
    assert page.status_code == 200 and form_config(html(page))["readonly"] is True
    r = bob.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(bob)})
    assert r.status_code == 403 and "此任务已被其他同事认领" in html(r)
    assert bob.post(f"/tasks/{tid}/unclaim", data={"csrf_token": csrf(bob)}).status_code == 403
    # the task page offers alice to unclaim
    page = html(alice.get(f"/tasks/{tid}"))
    assert f'action="/tasks/{tid}/unclaim"' in page and f'action="/tasks/{tid}/claim"' not in page
    assert alice.post(f"/tasks/{tid}/unclaim").status_code == 400  # no CSRF token
    r = alice.post(f"/tasks/{tid}/unclaim", data={"csrf_token": csrf(alice)})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{tid}"
    assert "已取消认领" in html(alice.get(r.headers["Location"]))
    assert task_rows(html(bob.get("/tasks"))) == [tid]


def test_claim_race_is_a_clear_conflict(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    bob_token = csrf(bob)
    assert bob.get(f"/tasks/{tid}").status_code == 200  # bob opened the page...
    alice.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(alice)})
    r = bob.post(f"/tasks/{tid}/claim", data={"csrf_token": bob_token})  # ...and clicks 认领
    assert r.status_code == 403  # it is alice's now, not offered to bob's group any more


def test_claim_next_must_be_local(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    r = alice.post(
        f"/tasks/{tid}/claim", data={"csrf_token": csrf(alice), "next": "//evil.example/x"}
    )
    assert r.headers["Location"] == f"/tasks/{tid}"


def test_claiming_a_completed_task_is_409(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    assert complete_json(alice, tid, {"description": "说明"}).status_code == 200
    r = alice.post(f"/tasks/{tid}/claim", data={"csrf_token": csrf(alice)})
    assert r.status_code == 409 and "已被处理或已取消" in html(r)
