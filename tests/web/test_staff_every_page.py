"""What holds on every staff page (待办, 已办, 我发起的, 发起流程, the task page): a login is
needed, JSON posts without one answer 401, every post refuses a missing CSRF token, HTML in
titles and data is escaped, and the staff.* catalog has both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import STAFF
from tests.pages import as_user, html
from tests.web.staff_helpers import (
    complete_json,
    ctx_fixture,  # noqa: F401  (the ctx fixture)
    form_config,
    open_tasks,
    start,
    task_id,
)

XSS = "<script>alert('x')</script>"


@pytest.mark.parametrize(
    "path",
    ["/tasks", "/tasks/done", "/instances/mine", "/start", "/start/approval_demo", "/tasks/x"],
)
def test_every_page_needs_login(client, ctx, path):
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_json_posts_without_login_answer_401(client, ctx):
    with client.session_transaction() as s:
        s["csrf_token"] = "t0ken"
    r = client.post("/tasks/x/complete", json={"data": {}}, headers={"X-CSRF-Token": "t0ken"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"
    r = client.post("/start/approval_demo", json={"data": {}}, headers={"X-CSRF-Token": "t0ken"})
    assert r.status_code == 401


def test_home_goes_to_inbox(app, ctx):
    client = as_user(app, "alice")
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/tasks")


def test_html_in_titles_and_data_is_escaped_everywhere(app, ctx):
    iid = start(ctx, title=XSS, amount=5000)
    tid = task_id(ctx, iid)
    alice, mgr = as_user(app, "alice"), as_user(app, "mgr")
    pages = [alice.get("/tasks"), alice.get(f"/tasks/{tid}"), alice.get("/instances/mine")]
    assert complete_json(alice, tid, {"description": f"描述 {XSS}"}).status_code == 200
    review = task_id(ctx, iid)
    pages += [alice.get("/tasks/done"), mgr.get("/tasks"), mgr.get(f"/tasks/{review}")]
    for r in pages:
        page = html(r)
        assert r.status_code == 200
        assert XSS not in page and "<script>alert" not in page, r.request.path
        assert "&lt;script&gt;" in page or "\\u003cscript\\u003e" in page, r.request.path
    # the JSON handed to the form script keeps the value, escaped for <script>
    assert form_config(html(pages[-1]))["data"]["description"] == f"描述 {XSS}"


def test_every_staff_post_refuses_missing_csrf(app, ctx):
    tid = task_id(ctx, start(ctx))
    alice = as_user(app, "alice")
    for path in (
        f"/tasks/{tid}/claim",
        f"/tasks/{tid}/unclaim",
        f"/tasks/{tid}/complete",
        "/start/approval_demo",
    ):
        assert alice.post(path, data={}).status_code == 400, path
        assert alice.post(path, json={"data": {}}).status_code == 400, path
    assert len(open_tasks(ctx, 1)) == 1


def test_translations_cover_both_languages() -> None:
    path = Path(__file__).parents[2] / "web" / "translations" / "staff.json"
    catalog = json.loads(path.read_text(encoding="utf-8"))
    assert catalog and all(k.startswith("staff.") for k in catalog)
    assert all(v.get("zh") and v.get("en") for v in catalog.values())
    assert set(STAFF) >= {"alice", "mgr"}
