"""`engine.access.task_access` reads the task, its instance, its delegation and its candidate
groups as plain columns in one statement and makes the ORM objects itself
(`engine.store.loaded`): they must behave as the ORM's query gave them — changes flush as
UPDATEs (the instance's version checked), the groups are there without another read, and an
object the session already holds is the one handed back."""

from __future__ import annotations

from sqlalchemy import select

from engine import operations
from engine.access import task_access
from engine.context import EngineContext
from engine.people.accounts import Actor
from engine.store.db import transaction
from engine.store.records_ops import TaskDelegationRecord
from engine.store.tables import HumanTaskRow, InstanceRecord
from tests.engine.approval_helpers import first_step_done
from tests.sql_log import statements_run


def _review_task(ctx: EngineContext, staff: dict[str, Actor]) -> tuple[int, str]:
    """An approval at its manager's review: a task offered to the planning_manager group."""
    iid, _ = first_step_done(ctx, staff)
    with transaction(ctx.sessions) as s:
        review = s.scalar(select(HumanTaskRow.id).where(HumanTaskRow.instance_id == iid,
                                                        HumanTaskRow.status == "open"))
    return iid, review


def test_the_objects_are_the_sessions_and_read_nothing_more(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid, review = _review_task(ctx, staff)
    with ctx.sessions() as s, statements_run(ctx.db) as seen:
        access = task_access(s, staff["mgr"], review)
        assert len(seen) == 1 and access.relation == "group"
        assert [g.group_name for g in access.row.candidate_groups] == ["planning_manager"]
        assert access.record.id == iid and access.record.data["title"] == "预算"
        assert access.record.created_at.tzinfo is not None and access.delegation is None
        assert len(seen) == 1  # the groups and the instance's columns came with the read
        assert s.get(HumanTaskRow, review) is access.row
        assert s.get(InstanceRecord, iid) is access.record
        assert not s.dirty and not s.new


def test_a_change_to_them_is_written_as_an_update(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    iid, review = _review_task(ctx, staff)
    with transaction(ctx.sessions) as s:
        access = task_access(s, staff["mgr"], review)
        version = access.record.lock_version
        access.row.assignee = "mgr"
        access.record.title = "预算（改）"
        with statements_run(ctx.db) as seen:
            s.flush()
        assert sorted(x.split(" ")[0] for x in seen) == ["UPDATE", "UPDATE"]
        assert any("lock_version" in x for x in seen)  # the instance's version checked
        assert access.record.lock_version == version + 1
    with ctx.sessions() as s:
        assert s.get(HumanTaskRow, review).assignee == "mgr"
        assert s.get(InstanceRecord, iid).title == "预算（改）"


def test_the_session_s_own_object_is_handed_back(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    _, review = _review_task(ctx, staff)
    with ctx.sessions() as s:
        held = s.get(HumanTaskRow, review)
        held.assignee = "not yet flushed"  # the ORM's query would not overwrite it
        with statements_run(ctx.db) as seen:
            access = task_access(s, staff["root"], review)
        assert access.row is held and access.row.assignee == "not yet flushed"
        # flushed first, as the ORM's query autoflushes: the read sees the session's changes
        assert seen[0].startswith("UPDATE human_tasks") and len(seen) == 2
        s.rollback()


def test_an_active_delegation_comes_as_its_object(
    ctx: EngineContext, staff: dict[str, Actor]
) -> None:
    _, review = _review_task(ctx, staff)
    with transaction(ctx.sessions) as s:
        operations.claim(ctx, s, staff["mgr"], review)
    with transaction(ctx.sessions) as s:
        operations.delegate(ctx, s, staff["mgr"], review, "bob", "请代为审核")
    with ctx.sessions() as s:
        access = task_access(s, staff["bob"], review)
        assert access.relation == "delegate"
        assert isinstance(access.delegation, TaskDelegationRecord)
        assert access.delegation.owner == "mgr" and access.delegation.status == "active"
        assert s.get(TaskDelegationRecord, access.delegation.id) is access.delegation
