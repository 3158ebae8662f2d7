"""Who may see and do what: the one home of every permission rule. The API, the pages, the CLI
and the read models all ask here, and they ask in one order:

1. **May the actor know it exists?** Otherwise ``NotFound`` (404), exactly as for an id that does
   not exist, so ids cannot be probed. A task is visible to whoever may see its instance, and
   to the members of the groups it was offered to.
2. **May they do this to it?** Otherwise ``Forbidden`` (403).
3. Only then does the use case check state (``Conflict`` / ``InstanceStateError``, 409).

Who may see an instance: managers, process owners (admins included), its A角/B角 and everyone
who took part in it — the initiator, (former) assignees and completers, candidate-group members
of its open tasks, A/B handover parties, delegation parties, signers, CC recipients and anyone
the audit log names as an actor. The check is a single query of EXISTS clauses over indexed
``instance_id`` columns, skipped when the actor's relation to the task already answers it.

The task matrix is role × operation × relation, where the relation of the actor to the task is:
own – assigned to the actor (directly, by claim, transfer or handover); group – unassigned and
offered to one of the actor's groups; other – assigned to someone else; foreign – unassigned and
offered to groups the actor is not in; delegate – the actor works on it for its owner (委派).
Roles: staff, manager (planning manager/supervisor, executive), process owner, admin.

Three modules, one idea each: `instances` (who sees an instance, the instance matrix, who is
named on it), `tasks` (the task matrix) and `areas` (the application's areas, absences).
"""


from engine.access.areas import (
    may_manage_absence,
    may_open,
    may_read_definitions,
    require_model_owner,
)
from engine.access.instances import (
    INSTANCE_OPS,
    changeable_data,
    denied,
    instance_for,
    instance_permissions,
    listed_instance_ids,
    may_on_instance,
    may_view_instance,
    offered_live_task,
    oversees,
    owns,
    participants,
    took_part,
)
from engine.access.tasks import (
    TASK_OPS,
    TaskAccess,
    allowed,
    relation,
    require_task,
    task_access,
    with_columns,
)

__all__ = [
    "INSTANCE_OPS", "TASK_OPS", "TaskAccess", "allowed", "changeable_data",
    "denied", "instance_for", "instance_permissions", "listed_instance_ids", "may_manage_absence",
    "may_on_instance", "may_open", "may_read_definitions", "may_view_instance",
    "offered_live_task", "oversees", "owns", "participants", "relation", "require_model_owner",
    "require_task", "task_access", "took_part", "with_columns",
]
