"""The management pages in both languages: the English switch, the manage.* translation
catalog, and an engine message "中文 (English)" shown in the page's language."""

from __future__ import annotations

import json
import re

import pytest

from tests.pages import login
from tests.web.manage_helpers import (
    env_fixture,  # noqa: F401  (the env fixture)
    text,
)


def test_english_switch(client, env):
    login(client, "root")
    client.get("/lang/en?next=/instances")
    assert "Process instances" in text(client.get("/instances"))
    html = text(client.get("/admin/calendar?year=2026"))
    assert "Holidays and make-up working days" in html


def test_manage_catalog_is_complete():
    import string
    from pathlib import Path

    from web.i18n import catalog

    root = Path(__file__).parents[2] / "web"
    mine = json.loads((root / "translations" / "manage.json").read_text(encoding="utf-8"))
    assert mine and all(k.startswith("manage.") for k in mine)
    fields = string.Formatter()
    for key, entry in mine.items():
        assert entry.get("zh") and entry.get("en"), key
        zh = {f for _, f, _, _ in fields.parse(entry["zh"]) if f}
        en = {f.split(":")[0] for _, f, _, _ in fields.parse(entry["en"]) if f}
        assert zh <= en | {"month", "year"} and en <= zh | {"year"}, key
    used = set()
    for template in (root / "templates" / "pages").glob("manage_*.html"):
        used |= set(re.findall(r"_\('([a-z_.0-9]+)'\)", template.read_text(encoding="utf-8")))
    for module in ("instances", "dashboard", "models", "admin"):
        source = (root / "pages" / f"{module}.py").read_text(encoding="utf-8")
        used |= set(re.findall(r'translate\(\s*"([a-z_.0-9]+)"', source))
    merged = catalog()
    assert not sorted(k for k in used if k not in merged)


def test_pages_show_the_engine_message_in_the_page_language(client, env):
    """The engine says "中文 (English)"; a page shows the half in its language."""
    token = login(client, "root")
    bad = {"csrf_token": token, "from": "0001-01-01", "kind": "holiday", "name": "x"}
    page = text(client.post("/admin/calendar/days", data=bad))
    assert "年份超出范围" in page and "year out of range" not in page
    client.get("/lang/en?next=/admin/calendar")
    page = text(client.post("/admin/calendar/days", data=bad))
    assert "year out of range" in page and "年份超出范围" not in page


@pytest.mark.parametrize(("message", "zh", "en"), [
    ("年份超出范围 (year out of range)", "年份超出范围", "year out of range"),
    # not "中文 (English)": shown whole in either language
    ("Waiting (timer)", "Waiting (timer)", "Waiting (timer)"),
    ("任务 (策划专员)", "任务 (策划专员)", "任务 (策划专员)"),
    *[(m, m, m) for m in ["未知的服务操作 (unknown service operation) 'x'"]],
])
def test_in_language_splits_only_a_chinese_english_message(client, message, zh, en):
    from web.i18n import in_language

    with client.application.test_request_context("/", headers={"Cookie": "lang=zh"}):
        assert in_language(message) == zh
    with client.application.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert in_language(message) == en
