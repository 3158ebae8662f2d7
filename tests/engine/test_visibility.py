"""Who may see an instance (`engine.access`): a CC recipient and a B-role substitute can open
it through `queries.get_instance`, a stranger cannot; the check is one query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from engine.access import may_view_instance, participants
from engine.context import EngineContext
from engine.errors import NotFound
from engine.operations import cc
from engine.people import absence
from engine.people.accounts import Actor, actor_for
from engine.read import queries
from engine.store.db import transaction
from engine.store.records_ops import OPS_TABLES
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import instances
from tests.conftest import PASSWORD, add_test_user, deploy_fixture
from tests.sql_log import statements_run


@pytest.fixture
def world(ctx: EngineContext, staff: dict[str, Actor]) -> Iterator[dict[str, Actor]]:
    """approval_demo deployed; `zhang` (legal) is a stranger to every instance."""
    if ctx.db.dialect.name == "postgresql":
        # The shared reset does not reach tables without a foreign key to a reset table.
        with ctx.db.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(OPS_TABLES)} RESTART IDENTITY CASCADE"))
    deploy_fixture(ctx)
    with transaction(ctx.sessions) as s:
        add_test_user(s, "zhang", PASSWORD, now=ctx.clock.now(), groups=["legal"])
        people = {**staff, "zhang": actor_for(s, "zhang")}
    yield people


def _start_claimed(ctx: EngineContext, people: dict[str, Actor]) -> tuple[int, str]:
    """alice starts an approval and claims its first step (提交说明)."""
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, people["alice"], "approval_demo", {"title": "品牌周", "amount": 5000}
        ).id
    with transaction(ctx.sessions) as s:
        tid = s.scalar(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == iid, HumanTaskRow.status == "open"
            )
        )
        assert tid is not None
        instances.claim(ctx, s, people["alice"], tid)
    return iid, tid


def _can_open(ctx: EngineContext, actor: Actor, iid: int) -> bool:
    try:
        with transaction(ctx.sessions) as s:
            detail = queries.get_instance(ctx, s, actor, iid)
    except NotFound:  # what they may not see, they may not know exists either
        return False
    assert detail["id"] == iid
    return True


def test_cc_recipient_can_open_the_instance_a_stranger_cannot(ctx, world):
    iid, _ = _start_claimed(ctx, world)
    assert not _can_open(ctx, world["req"], iid)  # not copied yet
    with transaction(ctx.sessions) as s:
        cc.cc(ctx, s, world["alice"], iid, ["req"], note="知悉")
    assert _can_open(ctx, world["req"], iid)
    assert not _can_open(ctx, world["zhang"], iid)
    assert not _can_open(ctx, world["fin"], iid)


def test_b_role_substitute_keeps_seeing_the_instance(ctx, world):
    iid, tid = _start_claimed(ctx, world)
    assert not _can_open(ctx, world["fin"], iid)
    with transaction(ctx.sessions) as s:
        absence.mark_away(ctx, s, world["alice"], "alice", deputy="fin", reason="年假")
    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "fin"
    assert _can_open(ctx, world["fin"], iid)
    with transaction(ctx.sessions) as s:
        absence.mark_back(ctx, s, world["alice"], "alice")
    with transaction(ctx.sessions) as s:
        assert s.get(HumanTaskRow, tid).assignee == "alice"
    # The task went back, but fin took part (a handover party): the history stays visible.
    assert _can_open(ctx, world["fin"], iid)
    assert not _can_open(ctx, world["zhang"], iid)


def test_group_members_see_an_open_group_task_until_it_is_claimed(ctx, world):
    with transaction(ctx.sessions) as s:
        iid = instances.start(
            ctx, s, world["alice"], "approval_demo", {"title": "路演", "amount": 5000}
        ).id
    assert _can_open(ctx, world["bob"], iid)  # offered to bob's group
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        assert may_view_instance(s, world["bob"], record)
        assert not may_view_instance(s, world["zhang"], record)


def test_the_check_is_one_query_and_participants_lists_everyone(ctx, world):
    iid, _ = _start_claimed(ctx, world)
    with transaction(ctx.sessions) as s:
        cc.cc(ctx, s, world["alice"], iid, ["req"])
        absence.mark_away(ctx, s, world["alice"], "alice", deputy="fin")
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        with statements_run(ctx.db) as statements:
            assert may_view_instance(s, world["req"], record)
            assert not may_view_instance(s, world["zhang"], record)
        assert len(statements) == 2  # one per check
        assert {"alice", "req", "fin"} <= participants(s, record)
        assert "zhang" not in participants(s, record)
