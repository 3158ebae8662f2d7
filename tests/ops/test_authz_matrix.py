"""The authorisation matrix: role × operation × relation, every cell through the JSON API.

Roles: staff (alice), manager (mgr), process owner (owner), admin (root) — none of them is the
initiator (req starts every instance). Relations, to the task the operation is about:
  own   – assigned to the actor (they claimed it)
  group – unassigned, offered to the actor's group
  other – held by somebody else (fin)
For 撤回 withdraw the subject is the completed previous step: own = the actor completed it,
group = a colleague of the actor's group did, other = fin did. For 减签 the signer hangs on a
task in the given relation (for group: a colleague claimed it, added the signer, unclaimed).

Allowed cells must succeed; every other cell must answer 403 and change nothing (task
projection, signers, delegations, copies, notifications, outbox, audit log, instance state).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import operations
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.records_ops import (
    InstanceCcRecord,
    NotificationRecord,
    OutboxRecord,
    TaskDelegationRecord,
    TaskSignerRecord,
    TaskSubmissionRecord,
)
from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord
from engine.usecases import instances
from tests.ops.conftest import add_more_staff, deploy_ops
from tests.ops.helpers import HANDLE_DATA

ROLES = {"staff": "alice", "manager": "mgr", "process_owner": "owner", "admin": "root"}
GROUP_OF = {
    "alice": "planning_specialist",
    "mgr": "planning_manager",
    "owner": "process_owner",
    "root": "admin",
}
COLLEAGUE = {"alice": "bob", "mgr": "mgr2", "owner": "owner2", "root": "root2"}
OTHER = "fin"
RELATIONS = ("own", "group", "other")
Y, N = True, False

# (own, group, other) per role: staff, manager, process owner, admin
MATRIX: dict[str, dict[str, tuple[bool, bool, bool]]] = {
    "claim": {
        "staff": (Y, Y, N),
        "manager": (Y, Y, N),
        "process_owner": (Y, Y, N),
        "admin": (Y, Y, N),
    },
    "unclaim": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, Y),
    },
    "complete": {
        "staff": (Y, Y, N),
        "manager": (Y, Y, N),
        "process_owner": (Y, Y, N),
        "admin": (Y, Y, Y),
    },
    "submit": {
        "staff": (Y, Y, N),
        "manager": (Y, Y, N),
        "process_owner": (Y, Y, N),
        "admin": (Y, Y, Y),
    },
    "transfer": {
        "staff": (Y, N, N),
        "manager": (Y, Y, Y),
        "process_owner": (Y, Y, Y),
        "admin": (Y, Y, Y),
    },
    "delegate": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, N),
    },
    "add_signer_before": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, Y),
    },
    "add_signer_after": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, Y),
    },
    "add_signer_parallel": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, Y),
    },
    "remove_signer": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, N, Y),
    },
    "return": {
        "staff": (Y, Y, N),
        "manager": (Y, Y, N),
        "process_owner": (Y, Y, N),
        "admin": (Y, Y, Y),
    },
    "withdraw": {
        "staff": (Y, N, N),
        "manager": (Y, N, N),
        "process_owner": (Y, N, N),
        "admin": (Y, Y, Y),
    },
    "remind": {
        "staff": (N, N, N),
        "manager": (N, Y, Y),
        "process_owner": (N, Y, Y),
        "admin": (N, Y, Y),
    },
    "cc": {
        "staff": (Y, Y, N),
        "manager": (Y, Y, Y),
        "process_owner": (Y, Y, Y),
        "admin": (Y, Y, Y),
    },
    "terminate": {
        "staff": (N, N, N),
        "manager": (N, N, N),
        "process_owner": (N, N, N),
        "admin": (Y, Y, Y),
    },
}


@pytest.fixture
def world(app, sqlite_ctx, api_staff, token_for):
    add_more_staff(sqlite_ctx)
    deploy_ops(sqlite_ctx)
    return sqlite_ctx


def _actor(ctx, name):
    with transaction(ctx.sessions) as s:
        return actor_for(s, name)


def _do(ctx, fn, *args):
    with transaction(ctx.sessions) as s:
        return fn(ctx, s, *args)


def _task(ctx, iid, element, status=("open",)):
    with transaction(ctx.sessions) as s:
        return s.scalars(
            select(HumanTaskRow.id).where(
                HumanTaskRow.instance_id == iid,
                HumanTaskRow.element_id == element,
                HumanTaskRow.status.in_(status),
            )
        ).one()


def arrange(ctx, op: str, actor: str, relation: str) -> dict[str, Any]:
    """A fresh instance with the subject of `op` in `relation` to `actor`."""
    mine, colleague = GROUP_OF[actor], COLLEAGUE[actor]
    if op == "withdraw":
        prep_group = {"own": mine, "group": mine, "other": "finance"}[relation]
        completer = {"own": actor, "group": colleague, "other": OTHER}[relation]
        data = {"prep_group": prep_group, "handle_group": "legal", "finish_group": "legal"}
    else:
        handle_group = {"own": mine, "group": mine, "other": "finance"}[relation]
        data = {
            "prep_group": "planning_specialist",
            "handle_group": handle_group,
            "finish_group": "legal",
        }
        completer = "carol"
    iid = _do(ctx, instances.start, _actor(ctx, "req"), "ops_chain", data).id
    prepare = _task(ctx, iid, "prepare")
    _do(ctx, instances.complete, _actor(ctx, completer), prepare, {})
    handle = _task(ctx, iid, "handle")
    holder = {"own": actor, "group": None, "other": OTHER}[relation]
    if op == "remove_signer":
        adder = holder or colleague
        _do(ctx, instances.claim, _actor(ctx, adder), handle)
        [entry] = _do(ctx, operations.add_signers, _actor(ctx, adder), handle, ["erin"], "parallel")
        signer_id = entry.id
        if holder is None:
            _do(ctx, instances.unclaim, _actor(ctx, adder), handle)
        return {"iid": iid, "handle": handle, "prepare": prepare, "signer": signer_id}
    if op != "withdraw" and holder is not None:
        _do(ctx, instances.claim, _actor(ctx, holder), handle)
    return {"iid": iid, "handle": handle, "prepare": prepare}


def request(client, headers, op: str, subject: dict[str, Any]):
    t, iid = subject["handle"], subject["iid"]

    def post(url, body=None):
        return client.post(f"/api/v1{url}", headers=headers, json=body or {})

    if op in ("claim", "unclaim"):
        return post(f"/tasks/{t}/{op}"), 200
    if op == "complete":
        return post(f"/tasks/{t}/complete", {"data": HANDLE_DATA}), 200
    if op == "submit":
        return post(f"/tasks/{t}/submit", {"data": HANDLE_DATA}), 200
    if op in ("transfer", "delegate"):
        return post(f"/tasks/{t}/{op}", {"to": "erin", "comment": "矩阵"}), 200
    if op.startswith("add_signer_"):
        mode = op.rsplit("_", 1)[1]
        return post(f"/tasks/{t}/signers", {"users": ["erin"], "mode": mode}), 201
    if op == "remove_signer":
        return post(f"/signers/{subject['signer']}/remove", {"comment": "减签"}), 200
    if op == "return":
        return post(f"/tasks/{t}/return", {"target": "prepare", "reason": "矩阵退回"}), 200
    if op == "withdraw":
        return post(f"/tasks/{subject['prepare']}/withdraw", {"reason": "矩阵撤回"}), 200
    if op == "remind":
        return post(f"/tasks/{t}/remind", {"message": "快"}), 200
    if op == "cc":
        return post(f"/tasks/{t}/cc", {"users": ["erin"]}), 201
    if op == "terminate":
        return post(f"/process-instances/{iid}/terminate", {"reason": "矩阵终止"}), 200
    raise AssertionError(op)


def snapshot(ctx, iid: int) -> tuple:
    with transaction(ctx.sessions) as s:
        record = s.get(InstanceRecord, iid)
        rows = s.scalars(
            select(HumanTaskRow).where(HumanTaskRow.instance_id == iid).order_by(HumanTaskRow.id)
        ).all()

        def table(model, *cols):
            return sorted(
                tuple(getattr(r, c) for c in cols)
                for r in s.scalars(select(model).where(model.instance_id == iid))
            )

        return (
            record.status,
            record.lock_version,
            hashlib.sha256(record.state.encode()).hexdigest(),
            [
                (
                    r.id,
                    r.status,
                    r.assignee,
                    r.claimed_at,
                    r.completed_by,
                    r.reminded_at,
                    tuple(sorted(c.group_name for c in r.candidate_groups)),
                )
                for r in rows
            ],
            table(TaskSignerRecord, "id", "status", "signer", "step_task_id"),
            table(TaskDelegationRecord, "id", "status", "delegate"),
            table(TaskSubmissionRecord, "task_id"),
            table(InstanceCcRecord, "id", "username"),
            s.scalar(select(func.count(AuditRecord.id))),
            s.scalar(select(func.count(NotificationRecord.id))),
            s.scalar(select(func.count(OutboxRecord.id))),
        )


@pytest.mark.parametrize("op", list(MATRIX))
def test_matrix(op, world, client, token_for):
    ctx = world
    failures = []
    for role, actor in ROLES.items():
        for relation, expected in zip(RELATIONS, MATRIX[op][role], strict=True):
            subject = arrange(ctx, op, actor, relation)
            before = snapshot(ctx, subject["iid"])
            response, ok_status = request(client, token_for(actor), op, subject)
            after = snapshot(ctx, subject["iid"])
            cell = f"{op} × {role} × {relation}"
            if expected:
                if response.status_code != ok_status:
                    failures.append(
                        f"{cell}: expected {ok_status}, got "
                        f"{response.status_code} {response.get_json()}"
                    )
                elif after == before:
                    failures.append(f"{cell}: succeeded but changed nothing")
            else:
                if response.status_code != 403:
                    failures.append(
                        f"{cell}: expected 403, got {response.status_code} {response.get_json()}"
                    )
                elif after != before:
                    failures.append(f"{cell}: refused but changed something")
                elif response.get_json()["error"]["code"] != "forbidden":
                    failures.append(f"{cell}: wrong error body {response.get_json()}")
    assert failures == [], "\n".join(failures)


def test_matrix_covers_every_operation_of_the_policy():
    """Every task operation the engine authorises appears in the matrix (sign, resolve and
    recall have a single legitimate actor and are covered in test_operations/test_api_ops)."""
    covered = {op.split("_signer")[0] + ("_signer" if "signer" in op else "") for op in MATRIX}
    assert set(operations.TASK_OPS) - covered == {"sign", "resolve", "recall"}
