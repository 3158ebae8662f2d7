"""From the task page: 催办 (once per interval), 抄送 to others, and the initiator's 终止 of the
whole instance (with a reason). Model approval_demo: 提交说明 (策划专员 group) -> amount > 1000
-> 经理审批 (策划部经理 group)."""

from __future__ import annotations

from sqlalchemy import select

from engine.store.db import transaction
from engine.store.records_ops import InstanceCcRecord
from tests.pages import as_user, csrf, html
from tests.web.staff_helpers import ctx_fixture  # noqa: F401  (the ctx fixture)
from tests.web.task_ops_helpers import (
    at_review,
    audits,
    instance_status,
    offered,
    post,
    row,
)


def test_remind_once_per_interval(app, ctx):
    iid, _, review = at_review(ctx)
    alice, bob = as_user(app, "alice"), as_user(app, "bob")
    path = f"/tasks/{review}/remind"
    assert post(bob, path).status_code == 404
    assert post(alice, path, token=False).status_code == 400
    assert audits(ctx, iid, "reminder") == []

    r = post(alice, path, {"message": "请尽快审批"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{review}"
    (entry,) = audits(ctx, iid, "reminder")
    assert entry.details["users"] == ["mgr"] and entry.details["message"] == "请尽快审批"
    page = html(alice.get(f"/tasks/{review}"))
    assert "已催办 1 人" in page and 'id="ops-remind-wait"' in page
    r = post(alice, path)
    assert r.status_code == 409 and "催办过于频繁" in html(r)
    assert len(audits(ctx, iid, "reminder")) == 1


def test_cc(app, ctx):
    iid, _, review = at_review(ctx)
    mgr, req = as_user(app, "mgr"), as_user(app, "req")
    path = f"/tasks/{review}/cc"
    assert post(req, path, {"users": "fin"}).status_code == 404
    assert post(mgr, path, {"users": "fin"}, token=False).status_code == 400
    r = mgr.post(path, data={"csrf_token": csrf(mgr), "users": ["fin", "owner"], "note": "知悉"})
    assert r.status_code == 303 and r.headers["Location"] == f"/tasks/{review}"
    with transaction(ctx.sessions) as s:
        copies = s.scalars(select(InstanceCcRecord).where(InstanceCcRecord.instance_id == iid))
        assert sorted((c.username, c.task_id, c.note) for c in copies) == [
            ("fin", review, "知悉"),
            ("owner", review, "知悉"),
        ]


# --- 终止 -------------------------------------------------------------------------------------


def test_initiator_terminates_with_a_reason(app, ctx):
    iid, _, review = at_review(ctx)
    alice, mgr = as_user(app, "alice"), as_user(app, "mgr")
    path = f"/tasks/{review}/terminate-instance"
    assert post(mgr, path, {"reason": "x"}).status_code == 403  # not the initiator
    assert post(alice, path, {"reason": "x"}, token=False).status_code == 400
    r = post(alice, path, {"reason": ""})
    assert r.status_code == 400 and "请填写原因" in html(r)
    assert instance_status(ctx, iid) == "running"

    r = post(alice, path, {"reason": "活动取消"})
    assert r.status_code == 303 and r.headers["Location"] == "/instances/mine"
    assert instance_status(ctx, iid) == "terminated"
    assert row(ctx, review).status == "cancelled"
    # once ended, nothing is offered any more
    page = html(alice.get(f"/tasks/{review}"))
    assert offered(page, review) == set()
