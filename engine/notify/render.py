"""What a notification says: its title and text, the same for every channel, rendered once
in the caller's transaction (names and the instance title are read there)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.notify import ops_settings
from engine.store.tables import InstanceRecord, UserRecord

if TYPE_CHECKING:
    from engine.context import EngineContext


@dataclass
class Message:
    title: str
    text: str  # markdown-ish plain text, the same for every channel
    recipients: list[str] = field(default_factory=list)
    instance_id: int | None = None
    task_id: str | None = None


def local_time(ctx: EngineContext, value: Any) -> str:
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return at.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError, AttributeError):
        return str(value)


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    names = list(dict.fromkeys(usernames))
    if not names:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(UserRecord.username.in_(names))
    ).all()
    found = {u: d for u, d in rows}
    return {u: found.get(u, u) for u in names}


def render(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> Message:
    instance_id = payload.get("instance_id")
    record = session.get(InstanceRecord, instance_id) if instance_id else None
    title = record.title if record else ""
    ref = f"「{title}」(#{instance_id})" if record else f"#{instance_id}"
    name = payload.get("name") or payload.get("element_id") or ""
    by = payload.get("by")
    by_name = display_names(session, [by]).get(by, by) if by else "系统"
    base = ops_settings.get(ctx.settings, "base_url").rstrip("/")
    task_id = payload.get("task_id")
    if base and task_id:
        link = f"\n\n[打开任务 Open the task]({base}/tasks/{task_id})"
    elif base and instance_id:
        link = f"\n\n[查看流程 Open the instance]({base}/instances/{instance_id})"
    else:
        link = ""
    kind_line = {
        "delegated": f"{by_name} 委派您协助处理，完成后交还给TA。(delegated to you)",
        "transferred": f"{by_name} 将任务转办给您。(transferred to you)",
        "signer": f"{by_name} 请您加签。(your signature is requested)",
        "vote": "本步骤为会签/或签，请给出您的意见。(your vote is requested)",
        "handover": "A角不在岗，任务已转给您（B角）。(handed over while the A role is away)",
        "handback": "您已回岗，任务已交还给您。(returned to you)",
        "resolved": f"{by_name} 已办理完委派，任务已交还给您。(the delegate has finished)",
    }.get(payload.get("kind") or "", "")
    if event == "task_assigned":
        head = f"【待办】{name}"
        text = f"流程{ref}的「{name}」需要您处理。New task for you.\n\n{kind_line}"
    elif event == "reminder":
        head = f"【催办】{name}"
        note = payload.get("message") or ""
        text = f"{by_name} 催您尽快处理流程{ref}的「{name}」。Reminder.\n\n{note}"
    elif event == "task_overdue":
        head = f"【逾期】{name}"
        who = payload.get("assignee") or "、".join(payload.get("groups") or []) or "-"
        text = (
            f"流程{ref}的「{name}」已于 {local_time(ctx, payload.get('due_at'))} 到期，"
            f"当前处理人：{who}。The task is overdue."
        )
    elif event == "returned":
        head = f"【退回】{name}"
        text = (
            f"{by_name} 将流程{ref}退回到「{name}」，请重新处理。Sent back to you.\n\n"
            f"原因 Reason：{payload.get('reason') or '-'}"
        )
    elif event == "withdrawn":
        head = f"【撤回】{title or ref}"
        names = "、".join(payload.get("names") or []) or "-"
        text = f"{by_name} 撤回了流程{ref}的上一步，「{names}」已取消，无需处理。Withdrawn."
    elif event == "cc":
        head = f"【抄送】{title or ref}"
        step = f"的「{name}」" if name else ""
        note = payload.get("note") or ""
        text = f"{by_name} 将流程{ref}{step}抄送给您（只读）。CC'd to you.\n\n{note}"
    elif event == "instance_completed":
        head = f"【已完成】{title or ref}"
        text = f"您发起的流程{ref}已完成。The instance is completed."
    elif event == "incident":
        head = f"【异常】{title or ref}"
        text = (
            f"流程{ref}在「{payload.get('element_id') or '-'}」出错，需要处理：\n\n"
            f"{payload.get('message') or ''}"
        )
    else:
        head = f"【通知】{event}"
        text = str(payload)
    return Message(
        title=head[:250],
        text=(text.strip() + link)[:8000],
        instance_id=record.id if record else None,
        task_id=task_id,
    )
