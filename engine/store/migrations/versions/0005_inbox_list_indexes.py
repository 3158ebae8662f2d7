"""Covering indexes for the inbox and the instance lists at 100k instances (benchmark 3).

Revision ID: 0005
Revises: 0004

* ix_tasks_inbox (status, assignee, id, model_key, due_at, created_at): the two halves of an
  inbox (open + assigned to me; open + unassigned, then a probe of the candidate groups) are
  range scans that never read a task row; sorting, counting and the process/overdue filters
  are answered from the index. id third: the unassigned tasks come in id order, so the
  candidate probes walk their index forwards (a third faster for large groups).
* ix_tasks_assignee_status and ix_tasks_completed_by gain the columns the lists read
  (instance_id for a staff member's visible instances; status, id for 已办), so those
  look-ups are covered too.
* ix_candidates_group_task (group_name, task_id) replaces the index on group_name alone: the
  inbox's probe "is this unassigned task offered to one of my groups" is answered from the
  user's groups' part of it (a few hundred pages that stay cached) rather than from primary
  key pages spread over every offer ever made.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "human_tasks"
CANDIDATES = "human_task_candidates"


def upgrade() -> None:
    op.create_index(
        "ix_tasks_inbox", TABLE, ["status", "assignee", "id", "model_key", "due_at", "created_at"]
    )
    op.drop_index("ix_tasks_assignee_status", TABLE)
    op.create_index("ix_tasks_assignee_status", TABLE, ["assignee", "status", "instance_id"])
    op.drop_index("ix_tasks_completed_by", TABLE)
    op.create_index(
        "ix_tasks_completed_by",
        TABLE,
        ["completed_by", "status", "completed_at", "id", "instance_id"],
    )
    op.drop_index("ix_human_task_candidates_group_name", CANDIDATES)
    op.create_index("ix_candidates_group_task", CANDIDATES, ["group_name", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_candidates_group_task", CANDIDATES)
    op.create_index("ix_human_task_candidates_group_name", CANDIDATES, ["group_name"])
    op.drop_index("ix_tasks_completed_by", TABLE)
    op.create_index("ix_tasks_completed_by", TABLE, ["completed_by", "completed_at"])
    op.drop_index("ix_tasks_assignee_status", TABLE)
    op.create_index("ix_tasks_assignee_status", TABLE, ["assignee", "status"])
    op.drop_index("ix_tasks_inbox", TABLE)
