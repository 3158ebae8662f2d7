"""Task operations (转办, 委派, 加签/减签, 签署, 退回, 撤回, 催办, 抄送), A/B absences and the
operations history, as JSON under /api/v1. Thin: every rule lives in `engine.operations`,
`engine.usecases.cc` and `engine.people.absence`.

Who may do what is `engine.access` (404 for what the actor may not know of, then 403, then the
operation's 409); terminating an instance needs a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from engine import operations
from engine.errors import InvalidInput
from engine.people import absence
from engine.read.queries import instance_dict, task_dict
from engine.store.records_ops import LIVE_STATUSES
from engine.store.tables import HumanTaskRow, InstanceRecord
from engine.usecases import cc
from web.api import bp
from web.api.params import data_field, int_arg, json_body
from web.core import api_actor, engine_ctx, unit_of_work


def _str(body: dict[str, Any], name: str, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串 ({name} must be a string)")
    if required and not value.strip():
        raise InvalidInput(f"需要 {name} ({name} is required)", {"field": name})
    return value


def _users(body: dict[str, Any]) -> list[str]:
    value = body.get("users")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise InvalidInput("users 必须是用户名列表 (users must be a list of usernames)")
    return value


def _when(body: dict[str, Any], name: str) -> datetime | None:
    raw = body.get(name)
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput(f"{name} 不是 ISO 8601 时间 ({name} is not ISO 8601)") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{name} 需要带时区 ({name} needs a timezone offset)")
    return value


def _result(session: Any, record: InstanceRecord, row: HumanTaskRow | None = None) -> dict:
    """What an operation answers: the task (if any), the instance and its open tasks. No view
    permission is needed: the caller has just acted on the instance."""
    now = engine_ctx().clock.now()
    open_rows = (
        session.query(HumanTaskRow)
        .filter(HumanTaskRow.instance_id == record.id, HumanTaskRow.status.in_(LIVE_STATUSES))
        .order_by(HumanTaskRow.created_at, HumanTaskRow.id)
        .all()
    )
    out: dict[str, Any] = {
        "instance": instance_dict(record),
        "open_tasks": [task_dict(t, now) for t in open_rows],
    }
    if row is not None:
        out["task"] = task_dict(row, now)
    return out


# --- task operations ------------------------------------------------------------------------------


@bp.get("/tasks/<task_id>/operations")
def task_operations(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(operations.task_operations(ctx, session, actor, task_id))


@bp.post("/tasks/<task_id>/submit")
def submit_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = operations.submit(ctx, session, actor, task_id, data_field(body))
        return jsonify({"task_id": task_id, **_result(session, record)})


@bp.post("/tasks/<task_id>/transfer")
def transfer_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        row = operations.transfer(
            ctx, session, actor, task_id, _str(body, "to", True), _str(body, "comment")
        )
        record = session.get(InstanceRecord, row.instance_id)
        return jsonify(_result(session, record, row))


@bp.post("/tasks/<task_id>/delegate")
def delegate_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        operations.delegate(
            ctx, session, actor, task_id, _str(body, "to", True), _str(body, "comment")
        )
        row = session.get(HumanTaskRow, task_id)
        return jsonify(_result(session, session.get(InstanceRecord, row.instance_id), row))


@bp.post("/tasks/<task_id>/resolve")
def resolve_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        operations.resolve(ctx, session, actor, task_id, data_field(body), _str(body, "comment"))
        row = session.get(HumanTaskRow, task_id)
        return jsonify(_result(session, session.get(InstanceRecord, row.instance_id), row))


@bp.post("/tasks/<task_id>/recall")
def recall_task(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        operations.recall(ctx, session, actor, task_id)
        row = session.get(HumanTaskRow, task_id)
        return jsonify(_result(session, session.get(InstanceRecord, row.instance_id), row))


@bp.post("/tasks/<task_id>/signers")
def add_signers(task_id: str) -> tuple[Response, int]:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        added = operations.add_signers(
            ctx,
            session,
            actor,
            task_id,
            _users(body),
            _str(body, "mode", True),
            _str(body, "comment"),
        )
        row = session.get(HumanTaskRow, task_id)
        out = _result(session, session.get(InstanceRecord, row.instance_id), row)
        out["signers"] = [operations.signer_dict(e) for e in added]
        return jsonify(out), 201


@bp.post("/signers/<int:signer_id>/remove")
def remove_signer(signer_id: int) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        entry = operations.remove_signer(ctx, session, actor, signer_id, _str(body, "comment"))
        row = session.get(HumanTaskRow, entry.parent_task_id)
        out = _result(session, session.get(InstanceRecord, row.instance_id), row)
        out["signer"] = operations.signer_dict(entry)
        return jsonify(out)


@bp.post("/tasks/<task_id>/sign")
def sign_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = operations.sign(
            ctx, session, actor, task_id, _str(body, "decision", True), _str(body, "comment")
        )
        return jsonify({"task_id": task_id, **_result(session, record)})


@bp.get("/tasks/<task_id>/return-targets")
def return_targets(task_id: str) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify({"items": operations.return_targets(ctx, session, actor, task_id)})


@bp.post("/tasks/<task_id>/return")
def return_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = operations.return_to(
            ctx, session, actor, task_id, _str(body, "target", True), _str(body, "reason", True)
        )
        return jsonify({"task_id": task_id, **_result(session, record)})


@bp.post("/tasks/<task_id>/withdraw")
def withdraw_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = operations.withdraw(ctx, session, actor, task_id, _str(body, "reason"))
        return jsonify({"task_id": task_id, **_result(session, record)})


@bp.post("/tasks/<task_id>/remind")
def remind_task(task_id: str) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        users = operations.remind(ctx, session, actor, task_id, _str(body, "message"))
        return jsonify({"task_id": task_id, "reminded": users})


@bp.post("/tasks/<task_id>/cc")
def cc_task(task_id: str) -> tuple[Response, int]:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        row = session.get(HumanTaskRow, task_id)
        instance_id = row.instance_id if row is not None else -1
        added = cc.cc(
            ctx,
            session,
            actor,
            instance_id,
            _users(body),
            task_id=task_id,
            note=_str(body, "note"),
        )
        return jsonify({"items": [cc.cc_dict(a) for a in added]}), 201


# --- instance-level -------------------------------------------------------------------------------


@bp.post("/process-instances/<int:instance_id>/cc")
def cc_instance(instance_id: int) -> tuple[Response, int]:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        added = cc.cc(ctx, session, actor, instance_id, _users(body), note=_str(body, "note"))
        return jsonify({"items": [cc.cc_dict(a) for a in added]}), 201


@bp.post("/process-instances/<int:instance_id>/withdraw")
def withdraw_instance(instance_id: int) -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        record = operations.withdraw_instance(
            ctx, session, actor, instance_id, _str(body, "reason")
        )
        return jsonify(_result(session, record))


@bp.get("/process-instances/<int:instance_id>/operations")
def instance_operations(instance_id: int) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(operations.instance_operations(ctx, session, actor, instance_id))


# --- 抄送我的 -------------------------------------------------------------------------------------


@bp.get("/cc")
def cc_inbox() -> Response:
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(
            cc.cc_inbox(
                session,
                actor,
                unread_only=request.args.get("unread") in ("1", "true"),
                page=int_arg("page", 1),
                per_page=int_arg("per_page", 20, 1, 200),
            )
        )


@bp.get("/cc/<int:cc_id>")
def cc_view(cc_id: int) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify(cc.cc_view(ctx, session, actor, cc_id))


@bp.post("/cc/<int:cc_id>/read")
def cc_read_one(cc_id: int) -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify({"marked": cc.mark_cc_read(ctx, session, actor, cc_id)})


@bp.post("/cc/read")
def cc_read_all() -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        return jsonify({"marked": cc.mark_cc_read(ctx, session, actor)})


# --- A/B absences ---------------------------------------------------------------------------------


@bp.get("/absences")
def list_absences() -> Response:
    ctx = engine_ctx()
    with unit_of_work() as session:
        actor = api_actor(session)
        username = request.args.get("username") or None
        return jsonify({"items": absence.list_absences(ctx, session, actor, username)})


@bp.post("/absences")
def mark_away() -> tuple[Response, int]:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        username = _str(body, "username") or actor.username
        deputy = _str(body, "deputy") or None
        record = absence.mark_away(
            ctx,
            session,
            actor,
            username,
            starts_at=_when(body, "starts_at"),
            ends_at=_when(body, "ends_at"),
            deputy=deputy,
            reason=_str(body, "reason"),
        )
        return jsonify(absence.absence_dict(record)), 201


@bp.post("/absences/back")
def mark_back() -> Response:
    ctx = engine_ctx()
    body = json_body()
    with unit_of_work() as session:
        actor = api_actor(session)
        username = _str(body, "username") or actor.username
        return jsonify({"returned_tasks": absence.mark_back(ctx, session, actor, username)})
