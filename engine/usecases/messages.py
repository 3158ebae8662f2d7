"""Which messages an instance waits for now (e.g. 风险上报 `raise_risk` and 追加预算申请
`request_extra_budget` while a project executes), for the channels that offer them as actions:
the instance page shows a form for each, the CLI sends them (`planflow message`). Sending is
`engine.usecases.instances.send_message`, through `engine.access` like every channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.access import may_on_instance
from engine.store import instance_state as store
from engine.usecases.instances import waiting_messages

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.people.accounts import Actor
    from engine.store.tables import InstanceRecord


def open_messages(
    ctx: EngineContext, session: Session, actor: Actor, record: InstanceRecord
) -> list[str]:
    """The messages `record` accepts now that `actor` may send (the caller established that
    the actor may see it); [] for an instance that has ended or is suspended. Restores the
    instance: ask only when the answer is shown."""
    if record.status in ("completed", "terminated") or record.suspended:
        return []
    if not may_on_instance(session, actor, "message", record):
        return []
    workflow, _ = store.restore(ctx, session, record, [])
    return sorted(waiting_messages(workflow))
