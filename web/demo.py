"""`planflow demo`: demo users for every group, the department's models, and one instance of
each process at a point worth looking at (the instances and how they are played:
web/demo_scenarios.py).

Running the command twice is harmless: existing users, unchanged models and the demo instances
are skipped. A model whose live version a person deployed (in the browser, by upload, or with
`planflow deploy`) is never replaced: only models the demo itself loaded are brought up to date
with the folder; `planflow deploy` is the explicit way to replace a person's version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.people.accounts import STANDARD_GROUPS, add_user, ensure_standard_groups
from engine.store.db import transaction
from engine.store.migrate import upgrade
from engine.store.tables import HumanTaskRow, InstanceRecord, UserRecord
from web.demo_models import load_models
from web.demo_run import DemoRun
from web.demo_scenarios import SCENARIOS

if TYPE_CHECKING:
    from engine.context import EngineContext

GROUP_NAMES = {key: zh for key, zh, _ in STANDARD_GROUPS}

# username, display name, groups
DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("wang", "王经理", ["planning_manager"]),
    ("li", "李主管", ["planning_supervisor"]),
    ("zhao", "赵主管", ["planning_supervisor"]),
    ("zhang", "张专员", ["planning_specialist"]),
    ("chen", "陈专员", ["planning_specialist"]),
    ("liu", "销售部刘经理", ["requester"]),
    ("zhou", "周会计", ["finance"]),
    ("sun", "孙律师", ["legal"]),
    ("wu", "吴设计师", ["design"]),
    ("zheng", "郑销售", ["sales"]),
    ("he", "产品部何经理", ["product"]),
    ("feng", "冯工程师", ["tech"]),
    ("qian", "钱总", ["executive"]),
    ("admin", "系统管理员", ["admin"]),
    ("owner", "流程管理员", ["process_owner"]),
]


def load_demo(ctx: EngineContext, password: str) -> Iterator[str]:
    """Creates what is missing and yields one readable line per thing done or skipped."""
    upgrade(ctx.db)
    yield "数据库已是最新 (database schema up to date)"
    yield from _users(ctx, password)
    yield from load_models(ctx)
    tz = ctx.settings.zone
    for title, key, build in SCENARIOS:
        with transaction(ctx.sessions) as session:
            existing = session.scalar(
                select(InstanceRecord.id).where(
                    InstanceRecord.model_key == key, InstanceRecord.title == title
                )
            )
        if existing is not None:
            yield f"实例已存在，跳过 (instance exists): #{existing} {title}"
            continue
        instance_id = build(DemoRun(ctx, tz))
        yield _describe(ctx, instance_id)
    yield from demo_lead(ctx)
    yield "演示数据已就绪：用上面的用户名和密码登录 (demo ready: log in with the users above)"


# --- users and models -------------------------------------------------------------------------


def _users(ctx: EngineContext, password: str) -> Iterator[str]:
    with transaction(ctx.sessions) as session:
        ensure_standard_groups(session)
        existing = set(session.scalars(select(UserRecord.username)))
        for username, display, groups in DEMO_USERS:
            roles = "、".join(GROUP_NAMES.get(g, g) for g in groups)
            if username in existing:
                yield f"用户已存在，跳过 (user exists): {username} {display}（{roles}）"
                continue
            add_user(
                session,
                username,
                password,
                now=ctx.clock.now(),
                display_name=display,
                groups=groups,
            )
            yield f"用户 user: {username} / {password} — {display}（{roles}）"


def _describe(ctx: EngineContext, instance_id: int) -> str:
    with transaction(ctx.sessions) as session:
        record = session.get(InstanceRecord, instance_id)
        assert record is not None
        rows = session.scalars(
            select(HumanTaskRow)
            .where(HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")
            .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
        ).all()
        counts: dict[str, int] = {}
        for r in rows:
            who = r.assignee or "、".join(
                GROUP_NAMES.get(c.group_name, c.group_name)
                for c in sorted(r.candidate_groups, key=lambda c: c.group_name)
            )
            key = f"{r.name} → {who}"
            counts[key] = counts.get(key, 0) + 1
        todo = "；".join(f"{k}（{n} 项）" if n > 1 else k for k, n in counts.items())
        return (
            f"实例 instance #{record.id} {record.model_key}「{record.title}」{record.status}"
            f" — 待办 open: {todo or '（等待定时器 waiting for a timer）'}"
        )


# --- what the processes wrote: one lead for 销售部 (issue 15) ----------------------------------

DEMO_LEAD = {"customer_name": "星辰科技", "contact_person": "王总", "contact": "13800000001",
             "interest_level": "high", "note": "发布会现场体验后，希望订购 200 台",
             "event_name": "2026 春季新品体验会"}


def demo_lead(ctx: EngineContext) -> Iterator[str]:
    """One lead an earlier event handed to sales, followed up by 郑销售 (跟进中). The demo's
    launch is still before its event; this lead stands for a past one (no instance)."""
    from engine.people.accounts import actor_for
    from engine.store.records_business import LeadRecord
    from engine.usecases.leads import update_lead

    with transaction(ctx.sessions) as session:
        if session.scalar(select(LeadRecord.id).where(
                LeadRecord.customer_name == DEMO_LEAD["customer_name"])) is not None:
            yield "意向客户已存在，跳过 (lead exists)"
            return
        now = ctx.clock.now()
        lead = LeadRecord(**DEMO_LEAD, status="handed_over", assigned_group="sales",
                          process_key="product_launch", created_at=now, handed_over_at=now)
        session.add(lead)
        session.flush()
        update_lead(ctx, session, actor_for(session, "zheng"), lead.id, "following_up",
                    "已电话联系王总，约下周到店演示")
    yield f"意向客户 lead: {DEMO_LEAD['customer_name']}（{DEMO_LEAD['event_name']}）→ 郑销售 跟进中"
