"""The access matrix (`engine.access`): role × relation × operation × channel. Every cell is
asked through the JSON API, the pages (session login, CSRF) and the CLI (`--as USER`), and all
three must answer alike.

Roles: staff (alice), manager (mgr), process owner (owner), admin (root) — none of them is the
initiator (req starts every instance). Relations, to the task the operation is about:
  own   – assigned to the actor (they claimed it)
  group – unassigned, offered to the actor's group
  other – held by somebody else (fin)
For 撤回 withdraw the subject is the completed previous step: own = the actor completed it,
group = a colleague of the actor's group did, other = fin did. For 减签 the signer hangs on a
task in the given relation (for group: a colleague claimed it, added the signer, unclaimed).

Allowed cells must succeed. Every other cell must change nothing (task projection, signers,
delegations, copies, notifications, outbox, audit log, instance state) and answer 404 when the
actor may not know the instance exists (a staff member with no part in it, and the stranger
role: someone in an unrelated department), otherwise 403 — never a state conflict (409) first.
CLI exit statuses: 3 = 403, 4 = 404, 5 = 409 (`web.cli_common.exit_status`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine import access, operations
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
from tests.pages import as_user, csrf
from web.cli import main

ROLES = {
    "staff": "alice",
    "manager": "mgr",
    "process_owner": "owner",
    "admin": "root",
}
GROUP_OF = {
    "alice": "planning_specialist",
    "mgr": "planning_manager",
    "owner": "process_owner",
    "root": "admin",
}
COLLEAGUE = {"alice": "bob", "mgr": "mgr2", "owner": "owner2", "root": "root2"}
CHANNELS = ("api", "page", "cli")
CLI_EXIT = {403: 3, 404: 4, 409: 5}
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


def may_know(role: str, op: str, relation: str) -> bool:
    """Whether the actor may know the instance exists (`engine.access.may_view_instance`):
    managers, process owners and admins see every instance; the staff member sees the task when
    it is theirs or was offered to their group (for 撤回: they or a colleague did the step)."""
    if role != "staff":
        return True
    return relation in ("own", "group")


class Pages:
    """A logged-in browser session per user (Flask test clients), posting forms with CSRF."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.clients: dict[str, Any] = {}

    def client(self, username: str) -> Any:
        if username not in self.clients:
            self.clients[username] = as_user(self.app, username)
        return self.clients[username]

    def post(self, username: str, url: str, form: dict[str, Any] | None = None,
             json_body: dict[str, Any] | None = None) -> int:
        client = self.client(username)
        token = csrf(client)
        if json_body is not None:
            answer = client.post(url, json=json_body, headers={"X-CSRF-Token": token})
        else:
            answer = client.post(url, data={**(form or {}), "csrf_token": token})
        return answer.status_code


def page_request(pages: Pages, who: str, op: str, subject: dict[str, Any]) -> tuple[int, int]:
    """(status, the status of success) of the cell through the pages."""
    t = subject["handle"]
    if op in ("claim", "unclaim"):
        return pages.post(who, f"/tasks/{t}/{op}"), 303
    if op in ("complete", "submit"):
        return pages.post(who, f"/tasks/{t}/complete", json_body={"data": HANDLE_DATA}), 200
    if op in ("transfer", "delegate"):
        return pages.post(who, f"/tasks/{t}/{op}", {"to": "erin", "comment": "矩阵"}), 303
    if op.startswith("add_signer_"):
        mode = op.rsplit("_", 1)[1]
        return pages.post(who, f"/tasks/{t}/signers", {"users": "erin", "mode": mode}), 303
    if op == "remove_signer":
        return pages.post(who, f"/signers/{subject['signer']}/remove", {"comment": "减签"}), 303
    if op == "return":
        return pages.post(who, f"/tasks/{t}/return", {"target": "prepare", "reason": "退"}), 303
    if op == "withdraw":
        return pages.post(who, f"/tasks/{subject['prepare']}/withdraw", {"reason": "撤"}), 303
    if op == "remind":
        return pages.post(who, f"/tasks/{t}/remind", {"message": "快"}), 303
    if op == "cc":
        return pages.post(who, f"/tasks/{t}/cc", {"users": "erin"}), 303
    if op == "terminate":
        return pages.post(who, f"/tasks/{t}/terminate-instance", {"reason": "矩阵终止"}), 303
    raise AssertionError(op)


def cli_args(op: str, subject: dict[str, Any]) -> list[str]:
    t, iid = subject["handle"], str(subject["iid"])
    data = json.dumps({"data": HANDLE_DATA}["data"], ensure_ascii=False)
    if op in ("claim", "unclaim"):
        return ["ops", op, t]
    if op == "complete":
        return ["complete", t, "--data", data]
    if op == "submit":
        return ["ops", "submit", t, "--data", data]
    if op in ("transfer", "delegate"):
        return ["ops", op, t, "erin", "--comment", "矩阵"]
    if op.startswith("add_signer_"):
        return ["ops", "add-signer", t, "erin", "--mode", op.rsplit("_", 1)[1]]
    if op == "remove_signer":
        return ["ops", "remove-signer", str(subject["signer"]), "--comment", "减签"]
    if op == "return":
        return ["ops", "return", t, "prepare", "--reason", "矩阵退回"]
    if op == "withdraw":
        return ["ops", "withdraw", subject["prepare"], "--reason", "矩阵撤回"]
    if op == "remind":
        return ["ops", "remind", t, "--message", "快"]
    if op == "cc":
        return ["ops", "cc", iid, "erin", "--task", t]
    if op == "terminate":
        return ["terminate", iid, "--reason", "矩阵终止"]
    raise AssertionError(op)


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


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("op", list(MATRIX))
def test_matrix(op, channel, world, app, client, token_for, tmp_path):
    ctx = world
    pages = Pages(app)
    runner = CliRunner()
    env = {
        "PLANFLOW_DATABASE_URL": ctx.settings.database_url,
        "PLANFLOW_SECRET_KEY": "matrix-secret",
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "cli-instance"),
    }

    def ask(actor: str, subject: dict[str, Any]) -> tuple[int, int, str]:
        """(answer, the answer of success, what was said) in the channel's own terms."""
        if channel == "api":
            response, ok = request(client, token_for(actor), op, subject)
            return response.status_code, ok, str(response.get_json())
        if channel == "page":
            status, ok = page_request(pages, actor, op, subject)
            return status, ok, ""
        result = runner.invoke(main, [*cli_args(op, subject), "--as", actor], env=env)
        return result.exit_code, 0, result.output

    failures = []
    for role, actor in ROLES.items():
        for relation, expected in zip(RELATIONS, MATRIX[op][role], strict=True):
            subject = arrange(ctx, op, actor, relation)
            before = snapshot(ctx, subject["iid"])
            answer, ok, said = ask(actor, subject)
            after = snapshot(ctx, subject["iid"])
            cell = f"{op} × {role} × {relation} × {channel}"
            if expected:
                if answer != ok:
                    failures.append(f"{cell}: expected {ok}, got {answer} {said}")
                elif after == before:
                    failures.append(f"{cell}: succeeded but changed nothing")
                continue
            status = 403 if may_know(role, op, relation) else 404
            want = CLI_EXIT[status] if channel == "cli" else status
            if answer != want:
                failures.append(f"{cell}: expected {want}, got {answer} {said}")
            elif after != before:
                failures.append(f"{cell}: refused but changed something")
            elif channel == "api":
                code = {403: "forbidden", 404: "not_found"}[status]
                if code not in said:
                    failures.append(f"{cell}: wrong error body {said}")
    assert failures == [], "\n".join(failures)


def test_matrix_covers_every_operation_of_the_policy():
    """Every task operation the engine authorises appears in the matrix (sign, resolve and
    recall have a single legitimate actor and are covered in test_operations/test_api_ops)."""
    covered = {op.split("_signer")[0] + ("_signer" if "signer" in op else "") for op in MATRIX}
    assert set(access.TASK_OPS) - covered == {"view", "sign", "resolve", "recall"}
