"""`planflow demo` (web/demo.py): users for every group, the models, three instances at an
interesting point; running it twice changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.people.accounts import STANDARD_GROUPS, authenticate, get_user
from engine.settings import PROJECT_ROOT
from engine.store.db import transaction
from engine.store.tables import (
    DocumentRecord,
    HumanTaskRow,
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
)
from engine.usecases.deploy import Upload, deploy
from web.demo import DEMO_USERS, load_demo
from web.demo_models import DEMO_DEPLOYER
from web.demo_scenarios import BRAND_TITLE, LAUNCH_TITLE, PROJECT_TITLE

PASSWORD = "demo-password-1"


def _open(session: Session, instance_id: int) -> list[HumanTaskRow]:
    return list(
        session.scalars(
            select(HumanTaskRow)
            .where(HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")
            .order_by(HumanTaskRow.element_id)
        )
    )


def _groups(row: HumanTaskRow) -> list[str]:
    return sorted(c.group_name for c in row.candidate_groups)


def test_demo_twice(sqlite_ctx: EngineContext) -> None:
    first = list(load_demo(sqlite_ctx, PASSWORD))
    second = list(load_demo(sqlite_ctx, PASSWORD))

    text = "\n".join(first)
    assert f"wang / {PASSWORD} — 王经理（策划部经理）" in text
    assert "project_initiation v1 已部署" in text
    assert sum(line.startswith("实例 instance #") for line in first) == 4
    again = "\n".join(second)
    assert again.count("用户已存在，跳过") == len(DEMO_USERS)
    assert again.count("实例已存在，跳过") == 4
    assert "未变化 unchanged" in again and "已部署" not in again

    with transaction(sqlite_ctx.sessions) as session:
        # users: every department group and the system roles, with Chinese names
        covered = set()
        for username, display, groups in DEMO_USERS:
            user = get_user(session, username)
            assert user.display_name == display
            assert sorted(m.group_name for m in user.memberships) == sorted(groups)
            covered.update(groups)
        assert covered == {name for name, _, _ in STANDARD_GROUPS}
        assert authenticate(session, "li", PASSWORD).username == "li"
        assert get_user(session, "admin").is_admin

        models = set(session.scalars(select(ProcessModelRecord.key)))
        assert models == {"project_initiation", "product_launch", "brand_promotion"}

        records = session.scalars(select(InstanceRecord).order_by(InstanceRecord.id)).all()
        assert [(r.model_key, r.title, r.status) for r in records] == [
            ("project_initiation", PROJECT_TITLE, "running"),
            ("product_launch", LAUNCH_TITLE, "running"),
            ("brand_promotion", BRAND_TITLE, "running"),
            ("project_initiation", "2026 春季会员日推广", "completed"),  # tests/reports
        ]
        project, launch, brand, _ = records

        # project: in execution, the 2nd weekly report waiting for the A角
        tasks = _open(session, project.id)
        assert [(t.element_id, t.assignee) for t in tasks] == [
            ("Task_execution_monitoring", "li"),
            ("Task_weekly_report", "li"),
        ]
        docs = session.scalars(
            select(DocumentRecord.doc_type)
            .where(DocumentRecord.instance_id == project.id)
            .order_by(DocumentRecord.id)
        ).all()
        # the charter, then as confirmed (已确认, by whom and when); the plan's 送审稿 for the
        # reviews, then the approved plan; week 1's report (the weekly reports count from the
        # execution start, day 5 of the demo project)
        assert docs == ["project_charter", "project_charter", "execution_plan", "execution_plan",
                        "weekly_report"]
        assert project.created_at < sqlite_ctx.clock.now()  # history written in the past

        # launch: the T-30 poster is open for design; venue and per-guest confirmations too
        tasks = _open(session, launch.id)
        by_element: dict[str, list[HumanTaskRow]] = {}
        for t in tasks:
            by_element.setdefault(t.element_id, []).append(t)
        assert set(by_element) == {
            "Task_teaser_poster",
            "Task_venue_negotiation",
            "Task_guest_confirmation",
        }
        assert _groups(by_element["Task_teaser_poster"][0]) == ["design"]
        assert len(by_element["Task_guest_confirmation"]) == 3

        # brand: month 1 reported (under target, adjusted), the quarter's health check and the
        # new quarter's review done, month 2 waiting
        tasks = _open(session, brand.id)
        assert [(t.element_id, _groups(t)) for t in tasks] == [
            ("Task_monthly_metrics", ["planning_specialist"])
        ]
        reports = session.scalars(
            select(DocumentRecord)
            .where(DocumentRecord.instance_id == brand.id)
            .order_by(DocumentRecord.id)
        ).all()
        assert [r.doc_type for r in reports] == ["brand_effect_report", "brand_health_report"]
        assert "↓" in reports[0].content_md
        assert brand.data["month_index"] == 1


def test_cli_demo(tmp_path: Path) -> None:
    from web.cli import main

    env = {
        "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    result = CliRunner().invoke(main, ["demo", "--password", PASSWORD], env=env)
    assert result.exit_code == 0, result.output
    assert "演示数据已就绪" in result.output
    assert "wang / demo-password-1" in result.output


def _live(session: Session, key: str) -> ProcessVersionRecord:
    model = session.get(ProcessModelRecord, key)
    assert model is not None
    live = session.scalar(
        select(ProcessVersionRecord).where(
            ProcessVersionRecord.model_key == key,
            ProcessVersionRecord.version == model.latest_version,
        )
    )
    assert live is not None
    return live


def _bpmn(version: ProcessVersionRecord) -> str:
    (content,) = [f.content for f in version.files if f.kind == "bpmn"]
    return content


def test_demo_again_keeps_a_model_a_person_deployed(sqlite_ctx: EngineContext) -> None:
    """Re-running `make up` (`planflow demo`) must not silently revert a process owner's change
    (issue 14): the person's version stays live. The demo's own models follow the folder only
    when its files changed; an explicit `planflow deploy` still replaces a person's version."""
    folder = sqlite_ctx.settings.bpmn_dir  # the demo loads the configured folder
    shutil.copytree(PROJECT_ROOT / "bpmn", folder)
    list(load_demo(sqlite_ctx, PASSWORD))

    # 流程管理员 (username "owner", as the demo loader once deployed) edits 项目策划 in the
    # browser: the modeler deploys the diagram alone, the forms come from the live version
    source = (folder / "project_initiation.bpmn").read_text(encoding="utf-8")
    edited = source.replace('name="内部调研"', 'name="内部调研（含竞品分析）"', 1)
    assert edited != source
    with transaction(sqlite_ctx.sessions) as session:
        (result,) = deploy(
            sqlite_ctx, session, [Upload("project_initiation.bpmn", edited.encode())], "owner"
        )
    assert (result.version, result.created) == (2, True)
    # and someone updates the demo's folder (a new checkout) for 品牌推广 only
    brand = folder / "brand_promotion.bpmn"
    brand.write_text(
        brand.read_text(encoding="utf-8").replace(
            'name="品牌推广流程" isExecutable', 'name="品牌推广流程（新版）" isExecutable', 1
        ),
        encoding="utf-8",
    )

    again = "\n".join(load_demo(sqlite_ctx, PASSWORD))
    assert "project_initiation v2 由 流程管理员（owner） 部署，保留不覆盖" in again, again
    assert "brand_promotion v2 已部署" in again
    assert "product_launch v1 未变化" in again
    with transaction(sqlite_ctx.sessions) as session:
        live = _live(session, "project_initiation")
        assert (live.version, live.deployed_by) == (2, "owner")
        assert _bpmn(live) == edited
        brand_live = _live(session, "brand_promotion")
        assert (brand_live.version, brand_live.deployed_by) == (2, DEMO_DEPLOYER)
        assert _live(session, "product_launch").version == 1

    # a third run changes nothing: the person's version is still kept, the rest unchanged
    third = "\n".join(load_demo(sqlite_ctx, PASSWORD))
    assert "已部署" not in third and "project_initiation v2 由" in third

    # `planflow deploy` stays explicit: it replaces the person's version when asked to
    from web.cli import main

    env = {
        "PLANFLOW_DATABASE_URL": str(sqlite_ctx.db.url),
        "PLANFLOW_INSTANCE_DIR": str(folder.parent / "instance"),
    }
    result_cli = CliRunner().invoke(main, ["deploy", str(folder)], env=env)
    assert result_cli.exit_code == 0, result_cli.output
    assert "project_initiation v3: 新版本 deployed" in result_cli.output
    with transaction(sqlite_ctx.sessions) as session:
        live = _live(session, "project_initiation")
        assert (live.version, live.deployed_by) == (3, "system")
        assert _bpmn(live) == source
