"""The pages of what the processes wrote, served by Flask: who sees them (engine.access, the
same rule as the API), the words on them (both languages, no raw key) and the nav."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from tests.pages import as_user, html
from tests.reports import finish_project, project_to_execution
from tests.scenarios import Api

WEB = Path(__file__).resolve().parents[2] / "web"
MINE = ("cases", "case_detail", "case_start", "leads", "kpis")


@pytest.fixture
def backend() -> str:
    """SQLite only: the pages read through the API's queries, which the test_*_api modules run
    on both backends (this replaces conftest's two-backend parameter for this module, so no
    PostgreSQL variant is made only to be skipped)."""
    return "sqlite"


def test_case_pages(api: Api, app) -> None:
    iid = project_to_execution(api)
    case_id = finish_project(api, iid)["data"]["case_library_entry"]["case_id"]
    tec = as_user(app, "tec")  # anyone: the case library is everyone's
    listing = html(tec.get("/cases"))
    assert 'href="/cases"' in listing and "旺季预售策略模板" in listing
    assert "达成目标 · 100.0%" in listing
    assert "旺季预售策略模板" not in html(tec.get("/cases?q=不存在的词"))
    assert "没有符合条件的案例" in html(tec.get("/cases?q=不存在的词"))
    detail = html(tec.get(f"/cases/{case_id}"))
    assert "以此案例为模板发起新项目" in detail and "查看原项目" not in detail
    assert "查看原项目" in html(as_user(app, "sup").get(f"/cases/{case_id}"))  # the A角
    start = tec.get(f"/cases/{case_id}/start")
    assert start.status_code == 200
    config = json.loads(re.search(
        r'id="staff-form-config">(.*?)</script>', html(start), re.S).group(1))
    assert config["data"]["requesting_department"] == "销售部"
    assert "project_name" not in config["data"] and config["submitUrl"].endswith(
        "/start/project_initiation")
    assert "预填：需求来源、需求部门、需求描述、初步目标" in html(start)
    word = tec.get(f"/cases/{case_id}/report?format=docx")
    assert word.status_code == 200 and word.mimetype.endswith("wordprocessingml.document")
    assert tec.get("/cases/999").status_code == 404
    tec.set_cookie("lang", "en")
    english = html(tec.get(f"/cases/{case_id}"))
    assert "Start a new project from this case" in english and "Case library" in english


def test_catalog_is_complete_and_every_used_key_exists() -> None:
    from web.i18n import catalog

    mine = json.loads((WEB / "translations" / "reports.json").read_text(encoding="utf-8"))
    assert mine and all(k.startswith("reports.") for k in mine)
    fields = string.Formatter()
    for key, entry in mine.items():
        assert entry.get("zh") and entry.get("en"), key
        zh = {f for _, f, _, _ in fields.parse(entry["zh"]) if f}
        en = {f for _, f, _, _ in fields.parse(entry["en"]) if f}
        assert zh == en, key
    sources = [WEB / "templates" / "pages" / f"{name}.html" for name in MINE]
    sources += [WEB / "pages" / f"{m}.py" for m in ("cases", "leads", "kpis", "nav")]
    used: set[str] = set()
    for path in sources:
        body = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""(?:_|translate)\(\s*['"]([a-z_.0-9]+)['"]""", body))
        used |= set(re.findall(r"""['"](reports\.[a-z_.0-9]+[a-z0-9_])['"]""", body))
        for prefix in re.findall(r"""_\('(reports\.[a-z_.]+\.)' ~""", body):
            assert any(k.startswith(prefix) for k in mine), prefix
    missing = sorted(k for k in used if k not in catalog() and not k.endswith("."))
    assert not missing, missing


def test_lead_pages(api: Api, app, ctx) -> None:
    from tests.pages import csrf
    from tests.reports import event_with_leads

    iid = event_with_leads(api, ctx)
    assert as_user(app, "alice").get("/leads").status_code == 403
    assert 'href="/leads"' not in html(as_user(app, "alice").get("/cases"))  # not in her nav
    sales = as_user(app, "sales1")
    page = html(sales.get("/leads"))
    assert 'href="/leads"' in page and "星辰科技" in page and "待跟进" in page
    assert f'href="/instances/{iid}"' not in page  # sales took no part in the event
    lead_id = api.get("sales1", "/leads").get_json()["items"][0]["id"]
    r = sales.post(f"/leads/{lead_id}/status", data={
        "status": "converted", "note": "签约", "csrf_token": csrf(sales),
        "next": "/leads?status=handed_over"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/leads?status=handed_over")
    after = html(sales.get("/leads?status=converted"))
    assert "已更新「星辰科技」：已转化" in after and "签约" in after
    r = sales.post(f"/leads/{lead_id}/status", data={"status": "converted",
                                                     "csrf_token": csrf(sales)})
    assert "状态未变" in html(sales.get(r.headers["Location"]))
    assert f'href="/instances/{iid}"' in html(as_user(app, "mgr").get("/leads"))
