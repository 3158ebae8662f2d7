"""The inbox and instance lists (engine/list_queries.py and its users) on SQLite and
PostgreSQL: the same rows, order and totals as the plain rule written in Python, page
boundaries, group offers still visible and claimable, and query plans that use the indexes."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from engine.access import listed_instance_ids
from engine.people.accounts import Actor
from engine.read import inbox, instance_view, queries
from engine.read.list_queries import inbox_select
from engine.store.db import transaction
from engine.store.tables import (
    HumanTaskRow,
    InstanceRecord,
    ProcessVersionRecord,
    TaskCandidateRow,
)
from engine.usecases.instances import claim, start
from tests.conftest import deploy_fixture

GROUPS = ["planning_specialist", "finance", "requester"]
PEOPLE = ["alice", "bob", "fin", "req", "mgr"]


def _seed(ctx: Any, n_instances: int = 40, seed: int = 3) -> list[dict[str, Any]]:
    """Instances and tasks written directly (no workflow runs): open tasks assigned to people
    or offered to one or two groups, closed ones completed or cancelled; created and due
    times drawn from a few values so that ties must be broken by id. Returns the task rows."""
    deploy_fixture(ctx)
    rng = random.Random(seed)
    now = ctx.clock.now()
    stamps = [now - timedelta(hours=h) for h in (1, 2, 3, 5)]
    dues = [None, now - timedelta(days=1), now + timedelta(days=1), now + timedelta(days=3)]
    tasks: list[dict[str, Any]] = []
    offers: list[dict[str, str]] = []
    with transaction(ctx.sessions) as s:
        version = s.scalar(select(ProcessVersionRecord))
        s.execute(
            insert(InstanceRecord),
            [
                {
                    "model_key": "approval_demo",
                    "version_id": version.id,
                    "version_number": 1,
                    "title": f"项目 {i:03d}",
                    "status": rng.choice(["running", "running", "completed", "error"]),
                    "started_by": rng.choice(PEOPLE),
                    "created_at": now - timedelta(days=i),
                    "updated_at": now,
                    "state": "{}",
                    "data": {},
                    "stage": None,
                    "suspended": False,
                    "lock_version": 1,
                }
                for i in range(n_instances)
            ],
        )
        ids = list(s.scalars(select(InstanceRecord.id).order_by(InstanceRecord.id)))
        for n in range(n_instances * 3):
            status = rng.choice(["open", "open", "completed", "cancelled"])
            assigned = rng.random() < 0.4
            groups = [] if assigned else rng.sample(GROUPS, rng.choice([1, 1, 2]))
            done_by = rng.choice(PEOPLE) if status == "completed" else None
            row = {
                "id": f"t-{n:04d}",
                "instance_id": rng.choice(ids),
                "model_key": rng.choice(["approval_demo", "other"]),
                "element_id": "submit",
                "name": rng.choice(["提交说明", "经理审批"]),
                "lane": None,
                "status": status,
                "assignee": rng.choice(PEOPLE) if assigned else None,
                "created_at": rng.choice(stamps),
                "due_at": rng.choice(dues),
                "completed_at": rng.choice(stamps) if status != "open" else None,
                "completed_by": done_by,
            }
            tasks.append({**row, "groups": groups})
            offers += [{"task_id": row["id"], "group_name": g} for g in groups]
        s.execute(insert(HumanTaskRow), [{k: v for k, v in t.items() if k != "groups"}
                                         for t in tasks])
        s.execute(insert(TaskCandidateRow), offers)
    return tasks


def _actor(name: str, *groups: str) -> Actor:
    return Actor(name, name, frozenset(groups), False)


def _in_inbox(actor: Actor, t: dict[str, Any]) -> bool:
    if t["status"] != "open":
        return False
    if t["assignee"] is not None:
        return t["assignee"] == actor.username
    return bool(set(t["groups"]) & actor.groups)


def _inbox_key(t: dict[str, Any]) -> tuple[Any, ...]:
    due = t["due_at"]
    return (due is None, due or 0, -t["created_at"].timestamp(), t["id"])


ACTORS = [
    _actor("alice", "planning_specialist"),
    _actor("fin", "finance", "requester"),
    _actor("mgr", "planning_manager"),  # no offers to this group: assigned ones only
    _actor("nobody"),  # no groups at all
]


@pytest.mark.parametrize("who", range(len(ACTORS)))
def test_inbox_pages_match_the_rule_in_order(ctx, who):
    tasks = _seed(ctx)
    actor = ACTORS[who]
    expected = [t["id"] for t in sorted((t for t in tasks if _in_inbox(actor, t)), key=_inbox_key)]
    with transaction(ctx.sessions) as s:
        assert inbox.open_count(s, actor) == len(expected)
        seen: list[str] = []
        for page in range(1, 6):
            listing = inbox.inbox(ctx, s, actor, page=page, per_page=7)
            assert listing.total == len(expected)
            if page <= listing.pages:
                assert listing.page == page
                seen += [i["id"] for i in listing.items]
        assert seen == expected  # every page boundary: no gap, no repeat, same order
        # past the end: the last page again
        last = inbox.inbox(ctx, s, actor, page=99, per_page=7)
        assert last.page == max(1, listing.pages)
        assert [i["id"] for i in last.items] == expected[(last.page - 1) * 7:]


def test_inbox_filters_and_items(ctx):
    tasks = _seed(ctx)
    alice = ACTORS[0]
    now = ctx.clock.now()
    by_id = {t["id"]: t for t in tasks}
    with transaction(ctx.sessions) as s:
        listing = inbox.inbox(ctx, s, alice, process="other", overdue_only=True, per_page=100)
        expected = sorted(
            (
                t
                for t in tasks
                if _in_inbox(alice, t)
                and t["model_key"] == "other"
                and t["due_at"] is not None
                and t["due_at"] < now
            ),
            key=_inbox_key,
        )
        assert [i["id"] for i in listing.items] == [t["id"] for t in expected]
        assert expected, "the seed should give alice overdue tasks of 'other'"
        searched = inbox.inbox(ctx, s, alice, q="经理", per_page=100)
        assert {i["id"] for i in searched.items} == {
            t["id"] for t in tasks if _in_inbox(alice, t) and t["name"] == "经理审批"
        }
        for item in inbox.inbox(ctx, s, alice, per_page=100).items:
            t = by_id[item["id"]]
            assert item["candidate_groups"] == sorted(t["groups"])
            assert item["claimable"] is (t["assignee"] is None)
            assert item["overdue"] is bool(t["due_at"] and t["due_at"] < now)
            assert item["title"].startswith("项目 ") and item["instance_status"]


def test_api_task_list_pages_and_completed(ctx):
    tasks = _seed(ctx)
    fin = ACTORS[1]
    expected = [
        t["id"]
        for t in sorted(
            (t for t in tasks if _in_inbox(fin, t)),
            key=lambda t: (-t["created_at"].timestamp(), t["id"]),
        )
    ]
    with transaction(ctx.sessions) as s:
        pages = [queries.list_tasks(ctx, s, fin, page=p, per_page=5) for p in range(1, 20)]
        assert all(p.total == len(expected) for p in pages)
        assert [i["id"] for p in pages for i in p.items] == expected
        beyond = queries.list_tasks(ctx, s, fin, page=500, per_page=5)
        assert beyond.items == [] and beyond.total == len(expected) and beyond.page == 500
        item = pages[0].items[0]
        assert item["instance_title"].startswith("项目 ")
        assert item["candidate_groups"] == sorted(
            next(t for t in tasks if t["id"] == item["id"])["groups"]
        )
        done = queries.list_tasks(ctx, s, fin, status="completed", per_page=200)
        mine_done = sorted(
            (t for t in tasks if t["status"] == "completed" and t["completed_by"] == "fin"),
            key=lambda t: (-t["completed_at"].timestamp(), t["id"]),
        )
        assert [i["id"] for i in done.items] == [t["id"] for t in mine_done]
        assert done.total == len(mine_done) > 0
        listing = inbox.done(ctx, s, fin, per_page=100)
        assert [i["id"] for i in listing.items] == [t["id"] for t in mine_done]


def test_group_offer_is_visible_and_claimable(ctx, staff):
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        record = start(ctx, s, staff["alice"], "approval_demo", {"title": "组任务", "amount": 5})
        iid = record.id
    with transaction(ctx.sessions) as s:
        (row,) = queries.list_tasks(ctx, s, staff["bob"]).items
        assert row["instance_id"] == iid and row["assignee"] is None
        assert row["candidate_groups"] == ["planning_specialist"]
        assert inbox.open_count(s, staff["bob"]) == 1
        assert inbox.open_count(s, staff["mgr"]) == 0  # not offered to the manager's group
        assert queries.list_tasks(ctx, s, staff["mgr"]).total == 0
        claim(ctx, s, staff["bob"], row["id"])
    with transaction(ctx.sessions) as s:
        (mine,) = inbox.inbox(ctx, s, staff["bob"]).items
        assert mine["id"] == row["id"] and not mine["claimable"]
        # claimed: no longer offered to the rest of the group
        assert inbox.inbox(ctx, s, staff["alice"]).total == 0
        assert inbox.open_count(s, staff["alice"]) == 0


def _visible(tasks: list[dict[str, Any]], starters: dict[int, str], user: str) -> set[int]:
    took_part = {
        t["instance_id"] for t in tasks if user in (t["assignee"], t["completed_by"])
    }
    return {i for i, who in starters.items() if who == user} | took_part


def test_instance_lists_follow_the_staff_rule(ctx):
    tasks = _seed(ctx)
    now = ctx.clock.now()
    tz = ctx.settings.zone
    with transaction(ctx.sessions) as s:
        starters = dict(s.execute(select(InstanceRecord.id, InstanceRecord.started_by)).all())
        statuses = dict(s.execute(select(InstanceRecord.id, InstanceRecord.status)).all())
        for name in ("alice", "fin", "nobody"):
            actor = _actor(name, "planning_specialist")
            expected = sorted(_visible(tasks, starters, name), reverse=True)
            assert sorted(s.scalars(select(listed_instance_ids(actor).subquery().c.id)),
                          reverse=True) == expected
            api = [queries.list_instances(ctx, s, actor, page=p, per_page=6) for p in (1, 2, 3)]
            assert all(p.total == len(expected) for p in api)
            shown = [i["id"] for p in api for i in p.items]
            assert shown == expected[:18]
            running = queries.list_instances(ctx, s, actor, status="running", per_page=200)
            assert [i["id"] for i in running.items] == [
                i for i in expected if statuses[i] == "running"
            ]
            page = instance_view.list_instances(
                s, actor, instance_view.InstanceFilter(), now=now, tz=tz, per_page=200
            )
            assert [i["id"] for i in page.items] == expected and page.total == len(expected)
            filtered = instance_view.list_instances(
                s, actor, instance_view.InstanceFilter(status="running"), now=now, tz=tz,
                per_page=200,
            )
            assert [i["id"] for i in filtered.items] == [
                i for i in expected if statuses[i] == "running"
            ]
        boss = _actor("boss", "planning_manager")
        everything = queries.list_instances(ctx, s, boss, per_page=200)
        assert everything.total == len(starters)
        assert [i["id"] for i in everything.items] == sorted(starters, reverse=True)


def _plan(s: Any, stmt: Any) -> str:
    dialect = s.get_bind().dialect
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        return "\n".join(r[3] for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))
    s.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: is an index usable?
    return "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql)))


def test_inbox_and_visibility_queries_use_the_indexes(ctx):
    _seed(ctx, n_instances=10)
    alice = ACTORS[1]
    with transaction(ctx.sessions) as s:
        dialect = s.get_bind().dialect.name
        plan = _plan(s, inbox_select(alice, dialect, HumanTaskRow.id, HumanTaskRow.due_at))
        visible = _plan(s, select(listed_instance_ids(alice).subquery().c.id))
    if dialect == "sqlite":
        assert plan.count("USING COVERING INDEX ix_tasks_inbox") == 2, plan
        assert "COVERING INDEX ix_candidates_group_task" in plan, plan
        assert "SCAN" not in plan.replace("SCAN (subquery", ""), plan
        assert "COVERING INDEX ix_tasks_completed_by" in visible, visible
        assert "COVERING INDEX ix_tasks_assignee_status" in visible, visible
        assert "COVERING INDEX ix_instances_started_by" in visible, visible
    else:
        # which index PostgreSQL picks on ten rows is its business; that one serves is ours
        assert "Seq Scan" not in plan, plan
        assert "Seq Scan" not in visible, visible


def _offer(s: Any, task_id: str, instance_id: int, now: Any) -> None:
    s.execute(
        insert(HumanTaskRow),
        [{"id": task_id, "instance_id": instance_id, "model_key": "approval_demo",
          "element_id": "submit", "name": "提交说明", "status": "open", "created_at": now}],
    )
    s.execute(insert(TaskCandidateRow), [{"task_id": task_id, "group_name": "finance"}])


def test_badge_count_is_never_stale(ctx):
    tasks = _seed(ctx, n_instances=10)
    fin = ACTORS[1]
    now = ctx.clock.now()
    first = sum(_in_inbox(fin, t) for t in tasks)
    # one connection throughout (a session bound to it keeps it over commit and rollback):
    # the remembered count lives on it
    with ctx.db.connect() as conn, Session(bind=conn) as reader:
        assert inbox.open_count(reader, fin) == first
        assert inbox.open_count(reader, fin) == first
        iid = tasks[0]["instance_id"]
        with transaction(ctx.sessions) as writer:  # another connection commits an offer
            _offer(writer, "new-1", iid, now)
        assert inbox.open_count(reader, fin) == first + 1
        # the reader's own connection writes (uncommitted, then committed): seen both times
        _offer(reader, "new-2", iid, now)
        assert inbox.open_count(reader, fin) == first + 2
        reader.commit()
        assert inbox.open_count(reader, fin) == first + 2
        reader.execute(text("UPDATE human_tasks SET status = 'completed' WHERE id = 'new-1'"))
        assert inbox.open_count(reader, fin) == first + 1  # its own change, not yet committed
        reader.rollback()  # ... then rolled back: counted again
        assert inbox.open_count(reader, fin) == first + 2
        with transaction(ctx.sessions) as writer:
            writer.execute(text("UPDATE human_tasks SET assignee = 'bob' WHERE id = 'new-2'"))
        assert inbox.open_count(reader, fin) == first + 1


def test_stage_options_are_the_open_step_names(ctx):
    """The stage filter's choices (a skip scan on SQLite, DISTINCT on PostgreSQL) are exactly
    the names of open tasks, of one process or of all; closed tasks' names are not offered."""
    tasks = _seed(ctx)
    with transaction(ctx.sessions) as s:
        iid = s.scalar(select(InstanceRecord.id))
        extra = [("third", "会场确认", "open"), ("third", "嘉宾确认", "open"),
                 ("other", "嘉宾确认", "open"), ("third", "已结束的步骤", "completed")]
        rows = [{**{k: v for k, v in tasks[0].items() if k != "groups"}, "id": f"x-{n}",
                 "instance_id": iid, "model_key": key, "name": name, "status": status,
                 "assignee": "alice"} for n, (key, name, status) in enumerate(extra)]
        s.execute(insert(HumanTaskRow), rows)
        everything = tasks + rows
        for process in (None, "approval_demo", "other", "third", "missing"):
            want = sorted({t["name"] for t in everything if t["status"] == "open"
                           and process in (None, t["model_key"])})
            assert instance_view.stage_options(s, process) == want, process
        assert len(instance_view.stage_options(s, None, limit=2)) == 2
