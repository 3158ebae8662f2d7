"""One error page for every page channel (web.errors.error_page): an unknown address, a missing
instance, a missing task, a page the user may not open. Each shows its status
and title once, the reason or a hint when there is none, and the way back; in English too.
(Three templates said it three ways: 页面不存在 twice, "404 · 页面不存在", "404 页面不存在".)"""

from __future__ import annotations

import re

import pytest

from tests.pages import login


def shown(client, path: str, method: str = "GET") -> tuple[int, str, str]:
    r = client.open(path, method=method)
    page = r.get_data(as_text=True)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert h1, page[:500]
    heading = re.sub(r"<[^>]+>", "", h1.group(1))
    body = re.sub(r"<[^>]+>", " ", page.split("</h1>", 1)[1])
    return r.status_code, " ".join(heading.split()), " ".join(body.split())


@pytest.mark.parametrize(("path", "hint"), [
    ("/no-such-page-xyz", "链接可能有误"),
    ("/instances/99999", None),
    ("/tasks/nonexistent", "任务不存在"),
])
def test_not_found_pages_read_alike(client, api_staff, path, hint):
    login(client, "mgr")
    status, heading, body = shown(client, path)
    assert status == 404 and heading == "404 页面不存在", heading
    assert "页面不存在" not in body  # the title is not repeated as the message
    if hint:
        assert hint in body, body
    assert "返回我的待办" in body and "返回工作台" in body


def test_a_forbidden_page_says_why_it_is_refused(client, api_staff):
    login(client, "alice")
    status, heading, body = shown(client, "/kpis")
    assert status == 403 and heading.startswith("403 "), heading
    assert len(body) > len("返回我的待办 返回工作台") + 5, body  # a reason, not just the way back


def test_the_error_page_in_english(client, api_staff):
    login(client, "mgr")
    client.get("/lang/en")
    status, heading, body = shown(client, "/no-such-page-xyz")
    assert status == 404 and heading == "404 Not found", heading
    assert "The link may be wrong" in body and not re.search(r"[\u4e00-\u9fff]", body), body
