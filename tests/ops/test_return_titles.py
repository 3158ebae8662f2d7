"""退回 names steps as people know them: on the demo's product launch, a guest's confirmation
offers the guest list as the step to return to and warns that it also cancels the *other
guests'* confirmations, each by its own title (嘉宾确认：王总（星辰科技）), as in the inbox —
not three times the element's name (嘉宾确认（逐位跟踪）)."""

from __future__ import annotations

from sqlalchemy import select

from engine import operations
from engine.context import EngineContext
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord
from web.demo import load_demo
from web.demo_scenarios import LAUNCH_TITLE


def test_a_return_names_each_guests_confirmation_by_its_title(sqlite_ctx: EngineContext):
    ctx = sqlite_ctx
    list(load_demo(ctx, "demo-password-1"))
    with transaction(ctx.sessions) as s:
        iid = s.scalar(select(InstanceRecord.id).where(InstanceRecord.title == LAUNCH_TITLE))
        confirmations = {
            row.name: row.id
            for row in s.scalars(select(HumanTaskRow).where(
                HumanTaskRow.instance_id == iid, HumanTaskRow.status == "open",
                HumanTaskRow.name.like("嘉宾确认：%")))
        }
        assert len(confirmations) == 3, confirmations
        mine = confirmations.pop("嘉宾确认：李记者（科技日报）")
        operations.claim(ctx, s, actor_for(s, "zhang"), mine)
    with transaction(ctx.sessions) as s:
        [target] = operations.return_targets(ctx, s, actor_for(s, "zhang"), mine)
    assert target["name"] == "拟定嘉宾名单并邀请" and target["completed_by"] == "zhang"
    cancelled = target["also_cancels"]
    assert sorted(c["name"] for c in cancelled) == sorted(confirmations), cancelled
    assert sorted(c["task_id"] for c in cancelled) == sorted(confirmations.values())
