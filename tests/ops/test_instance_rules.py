"""Two instance rules an authorisation audit (2026-12-07) found too wide, on the real
project_initiation model:

- copying an instance (抄送) was allowed to everyone who could see it, and a copy lets its
  recipient see the instance: a finance reviewer of an earlier step copied an unrelated sales
  colleague in, who could copy on again. Now as on a task: who is on it now, its initiator and
  A角/B角, a manager;
- its initiator could change any instance variable: the approved budget, the A角. Now the
  initiator changes what the start form asked (not its person fields); managers anything.
  What the start form asked is validated by it on every change (a guest list stays a list)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, FormInvalid
from engine.operations.cc import cc as copy_instance
from engine.store.db import transaction
from engine.store.tables import AuditRecord, InstanceRecord
from engine.usecases import instances
from tests.ops.helpers import run
from tests.ops.project_helpers import project_fixture, research  # noqa: F401  (fixture)


def copy(ctx, actor, iid, *users):
    return run(ctx, copy_instance, actor, iid, list(users))


def test_copying_an_instance_is_for_who_is_on_it_not_every_viewer(ctx, people, project):
    iid = project
    research(ctx, people, iid)  # alice completed both research steps: she may still see it
    with pytest.raises(Forbidden):
        copy(ctx, people["alice"], iid, "erin")
    assert len(copy(ctx, people["req"], iid, "bob")) == 1  # the initiator
    with pytest.raises(Forbidden):  # a copy does not pass the right to copy on
        copy(ctx, people["bob"], iid, "carol")
    assert len(copy(ctx, people["li"], iid, "carol")) == 1  # A角, whose step is open now
    assert len(copy(ctx, people["mgr"], iid, "erin")) == 1


def test_the_initiator_changes_only_what_the_start_form_asked(ctx, people, project):
    iid = project
    research(ctx, people, iid)

    def audits() -> int:
        with transaction(ctx.sessions) as s:
            return s.scalar(select(func.count()).select_from(AuditRecord))

    before = audits()
    for changes, field in (({"measurable_goal": "Q3 销售额 +90%"}, "data.measurable_goal"),
                           ({"a_owner": "bob"}, "data.a_owner"),
                           ({"requirement_description": "改", "b_owner": "bob"}, "data.b_owner")):
        with pytest.raises(Forbidden) as refused:
            run(ctx, instances.update_data, people["req"], iid, changes)
        assert refused.value.details["field"] == field
    # what the start form asked is checked by the start form: a later step reads it
    for bad in ("太短", 12, ["列表"]):
        with pytest.raises(FormInvalid) as refused:
            run(ctx, instances.update_data, people["mgr"], iid, {"requirement_description": bad})
        assert list(refused.value.details["fields"]) == ["requirement_description"]
    assert audits() == before
    run(ctx, instances.update_data, people["req"], iid,
        {"requirement_description": "销售部希望把促销活动改到四季度进行。"})
    run(ctx, instances.update_data, people["mgr"], iid, {"measurable_goal": "Q3 销售额 +25%"})
    with transaction(ctx.sessions) as s:
        data = s.get(InstanceRecord, iid).data
    assert data["requirement_description"] == "销售部希望把促销活动改到四季度进行。"
    assert data["measurable_goal"] == "Q3 销售额 +25%" and data["a_owner"] == "li"
