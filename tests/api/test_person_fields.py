"""Person fields (A角, B角, 跟进销售, …) are pickers the server checks (issue 14): a username
that is not an active user, or not one the field allows, is a 422 field error naming the field
at start and at completion — nothing is written, no task goes to nobody — through the API, the
pages and the CLI alike; the pages offer exactly the people allowed, sorted, as 姓名 · 部门."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.settings import PROJECT_ROOT
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from tests.conftest import FIXTURES, add_test_user
from tests.pages import csrf, html, login

PEOPLE_MODELS = FIXTURES / "models_people"
START = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "requirement_description": "销售部希望在三季度做一次旺季促销活动。",
    "a_owner": "sup",
    "b_owner": "alice",
}


def upload(client, headers, *paths: Path) -> None:
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in paths]
    r = client.post("/api/v1/process-models", data={"files": files}, headers=headers,
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()


@pytest.fixture
def project(client, token_for):
    upload(client, token_for("owner"), PROJECT_ROOT / "bpmn" / "project_initiation.bpmn",
           PROJECT_ROOT / "bpmn" / "budget_approval.dmn",
           *sorted((PROJECT_ROOT / "bpmn" / "forms").glob("*.form")))


@pytest.fixture
def pick_owner(client, token_for):
    upload(client, token_for("owner"), *sorted(PEOPLE_MODELS.iterdir()))


def instance_count(ctx) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count()).select_from(InstanceRecord))


def start(client, headers, process: str, data: dict):
    return client.post("/api/v1/process-instances", headers=headers,
                       json={"process": process, "data": data})


@pytest.mark.parametrize(
    ("field", "value", "variant"),
    [
        ("a_owner", "nobody", "unknown"),  # no such user
        ("b_owner", "req", "role"),  # 需求部门: not planning staff
        ("a_owner", "fin", "role"),
    ],
)
def test_start_refuses_a_person_who_may_not_be_chosen(
    client, token_for, sqlite_ctx, project, field, value, variant
):
    r = start(client, token_for("alice"), "project_initiation", {**START, field: value})
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["details"]["fields"]
    assert list(fields) == [field]
    assert fields[field]["code"] == "person"
    assert value in fields[field]["message"] and "请从列表中选择" in fields[field]["message"]
    assert ("cannot be chosen" if variant == "role" else "not an active user") in (
        fields[field]["message_en"]
    )
    assert instance_count(sqlite_ctx) == 0  # nothing written


def test_start_refuses_a_deactivated_user(client, token_for, sqlite_ctx, project):
    with transaction(sqlite_ctx.sessions) as s:
        s.scalar(select(UserRecord).where(UserRecord.username == "sup")).is_active = False
    r = start(client, token_for("alice"), "project_initiation", START)
    assert r.status_code == 422
    assert r.get_json()["error"]["details"]["fields"]["a_owner"]["code"] == "person"
    assert instance_count(sqlite_ctx) == 0


def test_start_with_planning_staff_assigns_the_a_role(client, token_for, sqlite_ctx, project):
    r = start(client, token_for("alice"), "project_initiation", START)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["data"]["a_owner"] == "sup"


def test_completing_checks_person_fields_everywhere_in_the_form(
    client, token_for, sqlite_ctx, pick_owner
):
    """A select, a taglist (several people) and a select in a dynamic list; the refused
    completion leaves the task open and creates no task for anybody."""
    inst = start(client, token_for("alice"), "pick_owner", {}).get_json()
    [task] = inst["open_tasks"]
    url = f"/api/v1/tasks/{task['id']}/complete"
    alice = token_for("alice")
    bad = {"owner": "bob", "watchers": ["mgr", "ghost"], "helpers": [{"helper": "fin"}]}
    r = client.post(url, headers=alice, json={"data": bad})
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["details"]["fields"]
    assert sorted(fields) == ["helpers[0].helper", "owner", "watchers"]
    assert {f["code"] for f in fields.values()} == {"person"}
    assert "ghost" in fields["watchers"]["message"]
    with transaction(sqlite_ctx.sessions) as s:
        rows = s.scalars(select(HumanTaskRow).where(HumanTaskRow.instance_id == inst["id"])).all()
        assert [(t.element_id, t.status) for t in rows] == [("pick", "open")]

    good = {"owner": "sup", "watchers": ["mgr", "fin"], "helpers": [{"helper": "bob"}]}
    r = client.post(url, headers=alice, json={"data": good})
    assert r.status_code == 200, r.get_json()
    with transaction(sqlite_ctx.sessions) as s:
        handle = s.scalar(select(HumanTaskRow).where(HumanTaskRow.element_id == "handle"))
        assert handle.assignee == "sup"


def test_the_pages_offer_only_the_people_allowed_sorted(app, client, sqlite_ctx, project):
    with transaction(sqlite_ctx.sessions) as s:
        now = sqlite_ctx.clock.now()
        for username, name, groups in (
            ("zhao", "赵主管", ["planning_supervisor"]),
            ("li", "李主管", ["planning_supervisor"]),
            ("wang", "王经理", ["planning_manager"]),
            ("chen", "陈专员", ["planning_specialist", "planning_supervisor"]),
            ("liu", "销售部刘经理", ["requester"]),
        ):
            add_test_user(s, username, now=now, groups=groups, display_name=name)
    login(client, "alice")
    page = html(client.get("/start/project_initiation"))
    config = json.loads(re.search(
        r'<script type="application/json" id="staff-form-config">(.*?)</script>', page, re.S
    ).group(1))
    [a_owner] = [c for c in config["schema"]["components"] if c.get("key") == "a_owner"]
    assert a_owner["type"] == "select" and a_owner["searchable"] is True
    labels = [v["label"] for v in a_owner["values"]]
    values = [v["value"] for v in a_owner["values"]]
    # Latin names first, then by pinyin: 陈 chen, 李 li, 王 wang, 赵 zhao; requester and
    # finance staff are not offered
    assert values == ["alice", "bob", "mgr", "sup", "chen", "li", "wang", "zhao"]
    assert labels[4:] == [
        "陈专员 · 策划主管、策划专员（chen）",
        "李主管 · 策划主管（li）",
        "王经理 · 策划部经理（wang）",
        "赵主管 · 策划主管（zhao）",
    ]

    # the start page answers the same field error, with the field's label
    r = client.post("/start/project_initiation", json={"data": {**START, "a_owner": "liu"}},
                    headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["fields"]
    assert problem["path"] == "a_owner" and problem["label"] == "A角（项目负责人）"
    assert "不能担任此角色" in problem["message"]
    assert instance_count(sqlite_ctx) == 0


def test_the_cli_refuses_an_unknown_person(tmp_path: Path):
    from web.cli import main

    env = {
        "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "PLANFLOW_SECRET_KEY": "cli-test-secret",
    }
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    assert run("db", "upgrade")[0] == 0
    assert run("users", "add", "alice", "--group", "planning_specialist", "--password",
               "secret-pass-1")[0] == 0
    assert run("deploy", str(PEOPLE_MODELS))[0] == 0
    code, out = run("start", "pick_owner", "--data", "{}", "--as", "alice")
    task_id = re.search(r"task (\S+)\s+指定负责人", out).group(1)
    code, out = run("complete", task_id, "--data", '{"owner": "ghost"}', "--as", "alice")
    assert code == 1, out
    assert "owner" in out and "ghost" in out
