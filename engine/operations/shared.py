"""What every task operation shares: loading the task with its delegation and the actor's
relation to it, the authorisation check, the state guards (live, open, not a signature or vote
row), input cleaning (texts, active users), the audit entry, the instance version bump that
makes two concurrent operations on one instance conflict, and who has to act on a task now.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.notify.notifications import group_members, publish
from engine.people.accounts import Actor, get_user
from engine.store import instance_state as store
from engine.store.records_ops import LIVE_STATUSES, ON_HOLD, TaskSignerRecord
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.store.versioning import touch

if TYPE_CHECKING:
    from engine.context import EngineContext

SIGNER_MODES = ("before", "parallel", "after")


LIVE_SIGNER = ("pending", "open", "approved", "rejected")


MAX_USERS = 20


MAX_TEXT = 2000


def task_row(session: Session, task_id: str) -> HumanTaskRow:
    row = session.get(HumanTaskRow, task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在 (task not found)", {"task_id": task_id})
    return row


def touch_instance(session: Session, record: InstanceRecord, now: datetime) -> None:
    """Bump the instance's version: a concurrent operation on the instance then conflicts."""
    touch(session, record, now)


def require_live(row: HumanTaskRow) -> None:
    if row.status not in LIVE_STATUSES:
        raise Conflict(
            "任务已处理或已取消 (task already completed or cancelled)",
            {"task_id": row.id, "status": row.status},
        )


def require_open(row: HumanTaskRow) -> None:
    require_live(row)
    if row.status == ON_HOLD:
        raise Conflict(
            "任务正在等待加签/会签 (the task is waiting for signatures)",
            {"task_id": row.id, "status": row.status},
        )


def clean_text(value: Any, name: str, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串 ({name} must be a string)", {"field": name})
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"需要填写{name} ({name} is required)", {"field": name})
    if len(value) > MAX_TEXT:  # refused, not cut: what was typed is kept whole or not at all
        raise InvalidInput(
            f"文字过长，最多 {MAX_TEXT} 字 (field {name}: longer than {MAX_TEXT} characters)",
            {"field": name, "problem": "too_long"},
        )
    return value


def active_user(session: Session, username: Any, field: str) -> str:
    """The active user named in the request's ``field``."""
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput(f"需要指定用户 (field {field}: a username is required)",
                           {"field": field})
    user = get_user(session, username.strip())
    if not user.is_active:
        raise InvalidInput(f"用户 {username} 已停用 (user disabled)",
                           {"field": field, "username": username})
    return user.username


def active_users(session: Session, usernames: Any, field: str) -> list[str]:
    """The active users named in the request's ``field`` (one name alone is taken too)."""
    if isinstance(usernames, str):
        usernames = [usernames]
    if not isinstance(usernames, list | tuple) or not usernames:
        raise InvalidInput(
            f"需要至少一个用户 (field {field}: at least one user is required)",
            {"field": field},
        )
    if len(usernames) > MAX_USERS:
        raise InvalidInput(f"最多 {MAX_USERS} 人 (at most {MAX_USERS} users)", {"field": field})
    return list(dict.fromkeys(active_user(session, u, field) for u in usernames))


def step_signer(session: Session, task_id: str) -> TaskSignerRecord | None:
    """The signature/vote a planflow-made projection row stands for (None for BPMN rows)."""
    return session.scalar(select(TaskSignerRecord).where(TaskSignerRecord.step_task_id == task_id))


def step_and_signers(
    session: Session, task_id: str
) -> tuple[TaskSignerRecord | None, list[TaskSignerRecord]]:
    """`step_signer` of a task and every signer of the step it belongs to (any status, in
    order): one statement for a BPMN row, the common case; a signature row's step is its
    parent's, read second."""
    found = session.scalars(
        select(TaskSignerRecord)
        .where(
            or_(
                TaskSignerRecord.step_task_id == task_id,
                TaskSignerRecord.parent_task_id == task_id,
            )
        )
        .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
    ).all()
    entry = next((e for e in found if e.step_task_id == task_id), None)
    if entry is None:
        return None, [e for e in found if e.parent_task_id == task_id]
    return entry, list(
        session.scalars(
            select(TaskSignerRecord)
            .where(TaskSignerRecord.parent_task_id == entry.parent_task_id)
            .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
        )
    )


def signers_of(
    session: Session, task_id: str
) -> tuple[TaskSignerRecord | None, list[TaskSignerRecord]]:
    """`step_signer` and `live_signers` of a task in one statement."""
    found = session.scalars(
        select(TaskSignerRecord)
        .where(
            or_(
                TaskSignerRecord.step_task_id == task_id,
                and_(
                    TaskSignerRecord.parent_task_id == task_id,
                    TaskSignerRecord.status.in_(LIVE_SIGNER),
                ),
            )
        )
        .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
    ).all()
    entry = next((e for e in found if e.step_task_id == task_id), None)
    return entry, [e for e in found if e.parent_task_id == task_id and e.status in LIVE_SIGNER]


def live_signers(session: Session, task_id: str) -> list[TaskSignerRecord]:
    return list(
        session.scalars(
            select(TaskSignerRecord)
            .where(
                TaskSignerRecord.parent_task_id == task_id,
                TaskSignerRecord.status.in_(LIVE_SIGNER),
            )
            .order_by(TaskSignerRecord.seq, TaskSignerRecord.id)
        )
    )


def is_vote(session: Session, task_id: str) -> bool:
    return (
        session.scalar(
            select(TaskSignerRecord.id)
            .where(TaskSignerRecord.parent_task_id == task_id, TaskSignerRecord.mode == "vote")
            .limit(1)
        )
        is not None
    )


def require_bpmn_row(session: Session, row: HumanTaskRow) -> None:
    if step_signer(session, row.id) is not None:
        raise Conflict(
            "这是加签/会签步骤，只能同意或拒绝 (a signature step: approve or reject it with sign)",
            {"task_id": row.id},
        )


def require_no_vote(session: Session, row: HumanTaskRow) -> None:
    if is_vote(session, row.id):
        raise Conflict(
            "会签/或签步骤不支持该操作 (not available on a vote step)", {"task_id": row.id}
        )


def audit_task(
    session: Session,
    now: datetime,
    action: str,
    actor: Actor,
    row: HumanTaskRow,
    details: dict[str, Any],
) -> None:
    store.audit(
        session,
        now,
        action,
        instance_id=row.instance_id,
        actor=actor.username,
        task_id=row.id,
        element_id=row.element_id,
        details={"name": row.name, **details},
    )


def who_must_act(session: Session, row: HumanTaskRow) -> list[str]:
    """Who currently has to act on a row: its assignee, else its groups' members; for a held
    BPMN task the people whose signatures/votes are open."""
    if row.status == ON_HOLD:
        return [
            r.assignee
            for r in session.scalars(
                select(HumanTaskRow)
                .join(TaskSignerRecord, TaskSignerRecord.step_task_id == HumanTaskRow.id)
                .where(
                    TaskSignerRecord.parent_task_id == row.id,
                    HumanTaskRow.status == "open",
                )
            )
            if r.assignee
        ]
    if row.assignee:
        return [row.assignee]
    return group_members(session, [c.group_name for c in row.candidate_groups])


def announce_assigned(
    ctx: EngineContext, session: Session, row: HumanTaskRow, user: str, kind: str, by: str
) -> None:
    """Tell the one person a task now waits for (transferred, delegated, handed back, signer)."""
    publish(ctx, session, "task_assigned", {
        "task_id": row.id, "instance_id": row.instance_id, "name": row.name,
        "users": [user], "kind": kind, "by": by,
    })

