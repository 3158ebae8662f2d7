"""What the task page needs for its operations panel (转办 委派 加签 减签 签署 退回 撤回 催办 抄送
终止): the engine's `task_page` (its operations, return targets and whether the actor may
terminate) with the people to pick from. Everyone who may see the task gets the page; what they
may do on it is `engine.access`'s answer (e.g. the initiator may remind or terminate, managers
may transfer, 催办 or 抄送 someone else's task)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.people.accounts import Actor
from engine.read import names as naming

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.context import EngineContext
    from engine.forms import Person

REMOVABLE = ("pending", "open")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def operations_context(
    ctx: EngineContext,
    session: Session,
    actor: Actor,
    page: dict[str, Any],
    directory: Callable[[], list[Person]],
) -> dict[str, Any]:
    """Template variables for partials/task_operations.html from the engine's `task_page`
    (``page``; `ops` is None when the actor may not see the instance's operations);
    ``directory``: the people directory, read once for the whole page."""
    ops = page["operations"]
    if ops is None:
        return {"ops": None, "ops_allowed": {}}
    allowed = ops["operations"]
    people = naming.picker_entries(directory())
    names = {p["username"]: p["name"] for p in people}
    names.update(naming.user_names(session, [s["signer"] for s in ops["signers"]]))
    targets = page["return_targets"]
    now = ctx.clock.now()
    next_at = _when(ops["next_reminder_at"])
    delegation = next((d for d in ops["delegations"] if d["status"] == "active"), None)
    signers = [
        {
            **s,
            "name": names.get(s["signer"], s["signer"]),
            "removable": s["mode"] != "vote"
            and s["status"] in REMOVABLE
            and bool(allowed.get("remove_signer")),
        }
        for s in ops["signers"]
        if s["status"] != "superseded"
    ]
    return {
        "ops": ops,
        "ops_allowed": allowed,
        "ops_people": [p for p in people if p["username"] != actor.username],
        "ops_names": names,
        "ops_targets": targets,
        "ops_signers": signers,
        "ops_delegation": delegation,
        "ops_remind_wait": next_at if next_at is not None and next_at > now else None,
        "ops_can_terminate": page["may_terminate"],
        "ops_task_id": page["view"]["task"]["id"],
    }
