"""预算审批回避: nobody approves their own budget (manual §1 预算审批分级, §5 管理制度).

The decision table `budget_approval` gives the tier for an amount; `select_budget_approver`
keeps that tier unless someone who must not approve the request — its requester, the project's
A角 — belongs to the tier's group: then the request goes up the ladder of tiers to the first
group neither of them is in. Who belongs to a group is read from the user directory (active
members), so the check holds whoever is in the group today."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.store.tables import GroupRecord, MembershipRecord, UserRecord
from handlers.common import text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.handler("select_budget_approver")(select_budget_approver)


def select_budget_approver(params: dict[str, Any], ctx: HandlerContext) -> str:
    """Parameters: `group` (the tier the decision table chose), `tiers` (the ladder, lowest
    first: the default table's planning_supervisor → planning_manager → executive) and `avoid`
    (role → username: {"申请人": …, "A角": …}). Returns the group that approves; a tier that was
    passed over is noted in the audit log with who was in it."""
    tier = text(params.get("group"), 64)
    ladder = [g for g in (text(t, 64) for t in params.get("tiers") or []) if g]
    avoid = _people(params.get("avoid"))
    candidates = ladder[ladder.index(tier):] if tier in ladder else [tier]
    passed: list[tuple[str, list[str]]] = []
    for group in candidates:
        members = _members(ctx.session, group)
        conflicts = [user for user in avoid if user in members]
        if not conflicts:
            break
        passed.append((group, conflicts))
    else:
        group = candidates[-1]  # the top tier: nobody above it (noted below)
    if passed:
        ctx.notes.append(_note(ctx.session, passed, group, avoid))
    return group


def _people(value: Any) -> dict[str, list[str]]:
    """username → the roles they have in this request (申请人, A角), in the order given."""
    out: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for role, user in value.items():
            name = text(user, 64)
            if name:
                out.setdefault(name, []).append(text(role, 20))
    return out


def _members(session: Session, group: str) -> set[str]:
    return set(
        session.scalars(
            select(UserRecord.username)
            .join(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
            .where(MembershipRecord.group_name == group, UserRecord.is_active.is_(True))
        )
    )


def _note(
    session: Session,
    passed: list[tuple[str, list[str]]],
    chosen: str,
    avoid: dict[str, list[str]],
) -> dict[str, Any]:
    groups = dict(session.execute(select(GroupRecord.name, GroupRecord.display_name)).all())
    users = {u for _, conflicts in passed for u in conflicts}
    names = dict(
        session.execute(
            select(UserRecord.username, UserRecord.display_name).where(
                UserRecord.username.in_(sorted(users))
            )
        ).all()
    )

    def who(user: str) -> str:
        return f"{names.get(user, user)}（{'、'.join(avoid[user])}）"

    steps = "；".join(
        f"{'、'.join(who(u) for u in conflicts)}属于{groups.get(g, g)}" for g, conflicts in passed
    )
    if chosen == passed[-1][0]:
        outcome = (
            f"已无更高层级，仍由{groups.get(chosen, chosen)}审批（须由本人以外的成员办理）"
        )
    else:
        outcome = f"改由{groups.get(chosen, chosen)}审批"
    return {
        "note": f"预算审批回避：{steps}，{outcome}",
        "approver_group": chosen,
        "passed_over": [g for g, _ in passed],
    }
