"""The data set of (3) bench/inbox_scale.py: 100,000 instances and 300,000 task rows (with their
candidate-group rows) bulk-inserted into a fresh SQLite database, and a way to keep one loaded
database between runs.

Distribution: 30 groups (the 10 department groups plus 20 project teams, all real rows of
`groups`), 300 staff in 1–2 groups each (Zipf-like group sizes), 4 process models
(project_initiation 45 %, product_launch 10 %, brand_promotion 5 %, the bench model 40 %);
88 % of instances ended, 12 % active. Each instance has 3 task rows (ended: all completed or
cancelled; active: 2 done + 1 open); open tasks: 70 % assigned to a person, 30 % offered to a
group (10 % of those to two groups), 30 % with a due date (a third of them overdue). The
`state` column holds a real serialized workflow of the same model (a started instance), so rows
have realistic size; the audit log is not filled (these pages do not read it). Tasks with a due
date count as already reminded (steady state), so the server's scheduler stays idle.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import PASSWORD, ROOT, bench_model_copy, make_tmp, prepare_db

N_INSTANCES = 100_000
TASKS_PER_INSTANCE = 3
N_USERS = 300
DEPARTMENT_GROUPS = [
    "planning_manager", "planning_supervisor", "planning_specialist", "requester", "finance",
    "legal", "design", "sales", "tech", "executive",
]
TEAM_GROUPS = [f"team_{i:02d}" for i in range(1, 21)]
GROUPS = DEPARTMENT_GROUPS + TEAM_GROUPS
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

START_DATA = {
    "project_initiation": {
        "project_name": "Q3 旺季促销", "requirement_source": "business_department",
        "requesting_department": "销售部",
        "requirement_description": "销售部提出旺季促销需求，希望借助线上预售提升Q3销售额。",
        "initial_goal": "提升Q3销售额20%", "a_owner": "boss", "b_owner": "planner",
    },
    "product_launch": {
        "event_name": "2026 新品发布会", "theme": "科技赋能,重构未来",
        "event_date": "2026-06-12T14:00", "venue": "上海国际会议中心",
    },
    "brand_promotion": {
        "brand_positioning": "年轻化科技品牌", "target_audience": "Z世代职场新人",
        "annual_theme": "科技潮玩计划", "campaign_start": "2026-03-02", "campaign_months": 12,
        "channels": ["小红书", "B站", "行业媒体"], "target_exposure": 100000,
        "target_interaction_rate": 3, "target_search_volume": 5000,
    },
    "bench": {"amount": 5000},
}


def _zipf_weights(n: int, s: float = 0.8) -> list[float]:
    return [1 / (k ** s) for k in range(1, n + 1)]


def load(url: str, tmp: Path, n_instances: int = N_INSTANCES, seed: int = 7) -> dict[str, Any]:
    """Bulk-load the database; returns facts about the data (users, per-user inbox sizes)."""
    from sqlalchemy import insert, select

    from engine.context import build_context
    from engine.people.accounts import SYSTEM, add_group, ensure_standard_groups, hash_password
    from engine.settings import Settings
    from engine.store.db import make_engine, transaction
    from engine.store.instance_state import parsed_model
    from engine.store.tables import (
        GroupRecord,
        HumanTaskRow,
        InstanceRecord,
        MembershipRecord,
        TaskCandidateRow,
        UserRecord,
    )
    from engine.usecases.instances import start

    rng = random.Random(seed)
    began = time.perf_counter()
    prepare_db(url, tmp, bench_users=1,
               models=[bench_model_copy(tmp / "models"), ROOT / "bpmn"],
               extra_users={"boss": ["planning_manager"], "planner": ["planning_specialist"]})
    db = make_engine(url)
    ctx = build_context(Settings(database_url=url, secret_key="bench-secret"), db=db)
    with transaction(ctx.sessions) as s:
        ensure_standard_groups(s)
        for g in TEAM_GROUPS:
            if s.get(GroupRecord, g) is None:
                add_group(s, g, f"项目组{g[-2:]}", f"Project team {g[-2:]}")
    # One real instance of each model: its state and its steps are the templates.
    protos: dict[str, dict[str, Any]] = {}
    steps: dict[str, list[Any]] = {}
    with transaction(ctx.sessions) as s:
        for key, data in START_DATA.items():
            rec = start(ctx, s, SYSTEM, key, data)
            protos[key] = {c.name: getattr(rec, c.key) for c in InstanceRecord.__table__.columns}
            steps[key] = [st for st in parsed_model(ctx, s, rec.version_id).steps.values()
                          if st.element_id.startswith(("Task_", "ut"))]
        first_free = max(p["id"] for p in protos.values()) + 1
    # The bulk load writes straight into the file (no WAL, no fsync): a throwaway database.
    ctx.db.dispose()
    db = _bulk_engine(url)

    # users: 300 staff in 1-2 groups (Zipf-like group sizes); one scrypt hash for all
    pw = hash_password(PASSWORD)
    gweights = _zipf_weights(len(GROUPS))
    users: dict[str, list[str]] = {}
    for i in range(N_USERS):
        first = rng.choices(GROUPS, gweights)[0]
        groups = [first]
        if rng.random() < 0.4:
            second = rng.choices(GROUPS, gweights)[0]
            if second != first:
                groups.append(second)
        users[f"u{i:03d}"] = groups
    with db.begin() as conn:
        conn.execute(insert(UserRecord.__table__), [
            {"username": u, "display_name": f"员工{u[1:]}", "email": None, "password_hash": pw,
             "is_active": True, "is_admin": False, "created_at": NOW} for u in users])
        ids = dict(conn.execute(select(UserRecord.username, UserRecord.id)).all())
        conn.execute(insert(MembershipRecord.__table__), [
            {"user_id": ids[u], "group_name": g} for u, gs in users.items() for g in gs])

    keys = list(START_DATA)
    # product_launch states are ~155 KB each (see RESULTS.md), so launches are the rarer kind
    kweights = [0.45, 0.1, 0.05, 0.4]
    usernames = list(users)
    open_count: dict[str, int] = {u: 0 for u in usernames}
    group_open: dict[str, int] = {g: 0 for g in GROUPS}
    inst_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    cand_rows: list[dict[str, Any]] = []

    def flush() -> None:
        with db.begin() as conn:
            if inst_rows:
                conn.execute(insert(InstanceRecord.__table__), inst_rows)
            if task_rows:
                conn.execute(insert(HumanTaskRow.__table__), task_rows)
            if cand_rows:
                conn.execute(insert(TaskCandidateRow.__table__), cand_rows)
        inst_rows.clear()
        task_rows.clear()
        cand_rows.clear()

    for n in range(n_instances):
        iid = first_free + n
        key = rng.choices(keys, kweights)[0]
        proto = protos[key]
        created = NOW - timedelta(minutes=rng.randint(60, 2 * 365 * 24 * 60))
        active = rng.random() < 0.12
        if active:
            status = rng.choices(["running", "waiting", "error"], [0.85, 0.1, 0.05])[0]
            completed_at = None
        else:
            status = rng.choices(["completed", "terminated"], [0.93, 0.07])[0]
            completed_at = created + timedelta(days=rng.randint(1, 60))
        starter = rng.choice(usernames)
        kst = steps[key]
        inst_rows.append({
            **proto, "id": iid, "status": status, "started_by": starter,
            "created_at": created, "updated_at": completed_at or created,
            "completed_at": completed_at, "title": f"{proto['title']} #{iid}",
            "stage": None, "lock_version": 1,
        })
        for k in range(TASKS_PER_INSTANCE):
            step = kst[(k + n) % len(kst)]
            is_open = active and k == TASKS_PER_INSTANCE - 1
            t_created = created + timedelta(hours=k * 8)
            assignee = None
            if is_open:
                assigned = rng.random() < 0.7
                assignee = rng.choice(usernames) if assigned else None
                groups = [] if assigned else [rng.choices(GROUPS, gweights)[0]]
                if not assigned and rng.random() < 0.1:
                    extra = rng.choices(GROUPS, gweights)[0]
                    if extra not in groups:
                        groups.append(extra)
                if assignee:
                    open_count[assignee] += 1
                for g in groups:
                    group_open[g] += 1
                due = None
                if rng.random() < 0.3:
                    due = NOW + timedelta(hours=rng.randint(-72, 144))
                inst_rows[-1]["stage"] = step.name
            else:
                groups = [rng.choices(GROUPS, gweights)[0]]
                due = None
            done_by = None if is_open else rng.choice(usernames)
            tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            task_rows.append({
                "id": tid, "instance_id": iid, "model_key": key, "element_id": step.element_id,
                "name": step.name, "lane": step.lane, "form_file": step.form_file,
                "assignee": assignee if is_open else done_by,
                "status": "open" if is_open else ("completed" if status != "terminated"
                                                  or k < 2 else "cancelled"),
                "due_at": due, "created_at": t_created, "claimed_at": None,
                "completed_at": None if is_open else t_created + timedelta(hours=4),
                # Reminded when it fell due, as a running server would have done: otherwise
                # the embedded scheduler spends the whole measurement sending ~3,700 reminders
                # (100k notifications) and the lists are measured against that write load.
                "completed_by": done_by, "reminded_at": due,
            })
            cand_rows.extend({"task_id": tid, "group_name": g} for g in groups)
        if len(inst_rows) >= 5000:
            flush()
    flush()
    with db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    with sqlite3.connect(url.split("///", 1)[1]) as raw:
        raw.execute("PRAGMA journal_mode=WAL")  # back to what planflow runs with
    load_s = time.perf_counter() - began
    # visible open tasks per user = assigned to them + offered to one of their groups
    visible = {u: open_count[u] + sum(group_open[g] for g in users[u]) for u in usernames}
    size_mb = Path(url.split("///", 1)[1]).stat().st_size / 2**20
    return {"users": users, "visible": visible, "load_s": load_s, "size_mb": size_mb,
            "open_tasks": sum(open_count.values()) + sum(group_open.values())}


def _bulk_engine(url: str) -> Any:
    from sqlalchemy import create_engine, event

    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def loaded_db(n_instances: int) -> tuple[str, dict[str, Any], Path, bool]:
    """(url, facts, directory, kept). PLANFLOW_BENCH_INBOX_DB=/some/inbox.sqlite3 keeps the
    loaded database (and its facts beside it) and reuses it on later runs: the load takes ~50 s,
    an A/B of one change a few seconds. Without it, a fresh database in a scratch directory."""
    keep = os.environ.get("PLANFLOW_BENCH_INBOX_DB")
    if not keep:
        tmp = make_tmp("inbox")
        url = f"sqlite:///{tmp / 'inbox.sqlite3'}"
        return url, load(url, tmp, n_instances), tmp, False
    path = Path(keep).resolve()
    facts_file = path.with_name(path.name + ".facts.json")
    url = f"sqlite:///{path}"
    if path.exists() and facts_file.exists():
        facts = json.loads(facts_file.read_text())
        if facts.get("instances") == n_instances:
            return url, facts, path.parent, True
        raise SystemExit(f"{path} holds {facts.get('instances')} instances, not {n_instances}")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    facts = {**load(url, path.parent, n_instances), "instances": n_instances}
    facts_file.write_text(json.dumps(facts))
    return url, facts, path.parent, True
