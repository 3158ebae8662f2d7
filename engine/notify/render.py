"""What a notification says: its title and text in Chinese (what every channel sends) and in
English (for a bell read in the English UI), rendered once in the caller's transaction (names
and the instance title are read there)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.notify import ops_settings
from engine.store.tables import GroupRecord, InstanceRecord, UserRecord
from engine.wall_clock import shown

if TYPE_CHECKING:
    from engine.context import EngineContext


@dataclass
class Message:
    title: str
    text: str  # markdown-ish plain text, the same for every channel (Chinese)
    title_en: str = ""
    text_en: str = ""
    recipients: list[str] = field(default_factory=list)
    instance_id: int | None = None
    task_id: str | None = None


def local_time(ctx: EngineContext, value: Any) -> str:
    """A time in a message: `engine.wall_clock.shown`, "-" for none."""
    return shown(value, ctx.settings.zone, empty="-")


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    names = list(dict.fromkeys(usernames))
    if not names:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name).where(UserRecord.username.in_(names))
    ).all()
    found = {u: d for u, d in rows}
    return {u: found.get(u, u) for u in names}


# Each event in both languages: (title, text), formatted with the fields `render` gathers.
# The Chinese goes to every channel; the bell shows the reader's language.
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "task_assigned": {
        "zh": ("【待办】{name}", "流程{ref}的「{name}」需要您处理。\n\n{kind}"),
        "en": ("[To do] {name}", "\u201c{name}\u201d in {ref} needs you.\n\n{kind}"),
    },
    "reminder": {
        "zh": ("【催办】{name}", "{by} 催您尽快处理流程{ref}的「{name}」。\n\n{note}"),
        "en": ("[Reminder] {name}", "{by} asks you to handle \u201c{name}\u201d in {ref}."
               "\n\n{note}"),
    },
    "task_overdue": {
        "zh": ("【逾期】{name}", "流程{ref}的「{name}」已于 {due} 到期，当前处理人：{who}。"),
        "en": ("[Overdue] {name}", "\u201c{name}\u201d in {ref} was due {due}; with {who}."),
    },
    "returned": {
        "zh": ("【退回】{name}",
               "{by} 将流程{ref}退回到「{name}」，请重新处理。\n\n原因：{reason}"),
        "en": ("[Returned] {name}", "{by} sent {ref} back to \u201c{name}\u201d.\n\n"
               "Reason: {reason}"),
    },
    "withdrawn": {
        "zh": ("【撤回】{subject}", "{by} 撤回了流程{ref}的上一步，「{names}」已取消，无需处理。"),
        "en": ("[Withdrawn] {subject}", "{by} withdrew the last step of {ref}; "
               "\u201c{names}\u201d no longer needs you."),
    },
    "cc": {
        "zh": ("【抄送】{subject}", "{by} 将流程{ref}{step_zh}抄送给您（只读）。\n\n{note}"),
        "en": ("[CC] {subject}", "{by} copied you on {ref}{step_en} (read only).\n\n{note}"),
    },
    "instance_completed": {
        "zh": ("【已完成】{subject}", "您发起的流程{ref}已完成。"),
        "en": ("[Completed] {subject}", "{ref}, which you started, is completed."),
    },
    "incident": {
        "zh": ("【异常】{subject}", "流程{ref}在「{name}」出错，需要处理：\n\n{message}"),
        "en": ("[Incident] {subject}", "{ref} failed at \u201c{name}\u201d and needs "
               "attention:\n\n{message}"),
    },
}
KIND_LINES: dict[str, dict[str, str]] = {
    "delegated": {"zh": "{by} 委派您协助处理，完成后交还给TA。",
                  "en": "{by} delegated it to you; hand it back when done."},
    "transferred": {"zh": "{by} 将任务转办给您。", "en": "{by} transferred it to you."},
    "signer": {"zh": "{by} 请您加签。", "en": "{by} asks for your signature."},
    "vote": {"zh": "本步骤为会签/或签，请给出您的意见。", "en": "Your vote is requested."},
    "handover": {"zh": "A角不在岗，任务已转给您（B角）。",
                 "en": "Handed over to you while the A role is away."},
    "handback": {"zh": "您已回岗，任务已交还给您。",
                 "en": "You are back: the task is yours again."},
    "resolved": {"zh": "{by} 已办理完委派，任务已交还给您。",
                 "en": "{by} finished the delegated part and handed it back."},
}
LINKS = {"zh": ("打开任务", "查看流程"), "en": ("Open the task", "Open the instance")}


def _fields(
    ctx: EngineContext,
    session: Session,
    event: str,
    payload: dict[str, Any],
    record: InstanceRecord | None,
) -> dict[str, str]:
    """What the event's texts say. Names are looked up only when the texts use them (a new
    task's notice, the common case, needs none)."""
    instance_id = payload.get("instance_id")
    title = record.title if record else ""
    ref = f"「{title}」(#{instance_id})" if record else f"#{instance_id}"
    by = payload.get("by")
    who = [payload["assignee"]] if payload.get("assignee") and event == "task_overdue" else []
    names = display_names(session, [u for u in (by, *who) if u])
    name = payload.get("name") or payload.get("element_id") or ""
    groups = payload.get("groups") or [] if event == "task_overdue" and not who else []
    group_names = dict(
        session.execute(
            select(GroupRecord.name, GroupRecord.display_name).where(GroupRecord.name.in_(groups))
        ).all()
    ) if groups else {}
    return {
        "name": name,
        "ref": ref,
        "subject": title or ref,
        "by": names.get(by, by) if by else "系统",
        "note": payload.get("note") or payload.get("message") or "",
        "message": payload.get("message") or "",
        "due": local_time(ctx, payload.get("due_at")),
        "who": "、".join(names.get(u, u) for u in who)
        or "、".join(group_names.get(g, g) for g in groups) or "-",
        "reason": payload.get("reason") or "-",
        "names": "、".join(payload.get("names") or []) or "-",
        "step_zh": f"的「{name}」" if payload.get("name") else "",
        "step_en": f" (\u201c{name}\u201d)" if payload.get("name") else "",
    }


def _texts(event: str, lang: str, fields: dict[str, str], kind: str) -> tuple[str, str]:
    head, text = TEXTS.get(event, {}).get(lang, ("【通知】" + event, ""))
    kind_line = KIND_LINES.get(kind, {}).get(lang, "").format(**fields)
    return head.format(**fields), text.format(**fields, kind=kind_line).strip()


def render(ctx: EngineContext, session: Session, event: str, payload: dict[str, Any]) -> Message:
    """The message in Chinese (``title``/``text``, for every channel) and English."""
    instance_id = payload.get("instance_id")
    record = session.get(InstanceRecord, instance_id) if instance_id else None
    fields = _fields(ctx, session, event, payload, record)
    base = ops_settings.get(ctx.settings, "base_url").rstrip("/")
    task_id = payload.get("task_id")
    out = {}
    for lang in ("zh", "en"):
        head, text = _texts(event, lang, fields, payload.get("kind") or "")
        if base and task_id:
            text += f"\n\n[{LINKS[lang][0]}]({base}/tasks/{task_id})"
        elif base and instance_id:
            text += f"\n\n[{LINKS[lang][1]}]({base}/instances/{instance_id})"
        out[lang] = (head[:250], text[:8000])
    return Message(
        title=out["zh"][0],
        text=out["zh"][1],
        title_en=out["en"][0],
        text_en=out["en"][1],
        instance_id=record.id if record else None,
        task_id=task_id,
    )
