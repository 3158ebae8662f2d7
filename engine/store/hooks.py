"""What a save asks of the layers above it, passed in explicitly (`EngineContext.save_hooks`),
so the store imports none of them: planflow's task operations (signers, delegations, votes,
absences, notifications) live in `engine.operations.save_hooks`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from sqlalchemy.orm import Session

    from engine.bpmn.specs import ParsedModel
    from engine.context import EngineContext
    from engine.store.held_audits import HeldAudits
    from engine.store.tables import HumanTaskRow, InstanceRecord, TaskValues


class SaveHooks(Protocol):
    def has_task_operations(self, session: Session, instance_id: int) -> bool:
        """Whether the instance has any signer, delegation or held completion (cheap probe)."""
        ...

    def guard_completions(self, session: Session, completed: Mapping[str, str]) -> None:
        """Refuse completing a task whose completion waits for planflow's rules."""
        ...

    def managed_task_ids(self, session: Session, instance_id: int) -> set[str]:
        """Ready engine tasks whose rows planflow manages (held for signers or votes)."""
        ...

    def after_sync(
        self,
        ctx: EngineContext,
        session: Session,
        record: InstanceRecord,
        workflow: BpmnWorkflow,
        model: ParsedModel,
        created: list[TaskValues],
        closed: list[HumanTaskRow],
        now: datetime,
        *,
        ops: bool = True,
        assign: Mapping[str, str],
        held: HeldAudits,
        groups: Mapping[str, list[str]],
        to_route: bool | None = None,
    ) -> None:
        """After the task rows are in step: votes, absences, notifications. ``created``: the
        rows this save wrote, as values (`task_projection.attach` makes one an ORM object to
        change it); ``assign``: who tasks created by this save went to (the save's caller
        decided it, e.g. 退回; already in ``created``); ``held``:
        the save's audit entries (flush through it, not the session); ``groups``: the created
        rows' candidate groups by task id (their ``candidate_groups`` are not loaded: reading
        them costs a query); ``to_route``: whether anyone is away or a task is handed over,
        when the caller already knows (None: ask)."""
        ...
