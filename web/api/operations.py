"""Task operations (转办, 委派, 加签/减签, 签署, 退回, 撤回, 催办, 抄送), A/B absences and the
operations history, as JSON under /api/v1. Thin: every rule lives in `engine.operations`,
`engine.operations.cc` and `engine.people.absence`.

Who may do what is `engine.access` (404 for what the actor may not know of, then 403, then the
operation's 409); terminating an instance needs a reason.
"""

from __future__ import annotations

from typing import Any

from engine import operations
from engine.access import task_access
from engine.operations import cc
from engine.people import absence
from engine.read import copies, queries
from web.api.endpoint import Call, endpoint
from web.api.schemas import requests as rq
from web.api.schemas import responses as rs

Json = dict[str, Any]
ACTED = (403, 404, 409)
ACTED_ON_TASK = (403, 404, 409, 422)  # an operation may complete the step: its form is checked


def _result(call: Call, instance_id: int, task_id: str | None = None) -> Json:
    return queries.operation_result(
        call.ctx, call.session, instance_id=instance_id, task_id=task_id
    )


def _task_result(call: Call, task_id: str) -> Json:
    return queries.operation_result(call.ctx, call.session, task_id=task_id)


# --- task operations ------------------------------------------------------------------------------


@endpoint("GET", "/tasks/<task_id>/operations", ok=rs.TaskOperations, errors=(403, 404),
          summary="What the caller may do on a task (allowed operations by state and role), its "
          "signers (加签/会签), delegations, pending submission and vote count")
def task_operations(call: Call, task_id: str) -> Json:
    return operations.task_operations(call.ctx, call.session, call.actor, task_id)


@endpoint("POST", "/tasks/<task_id>/submit", body=rq.DataBody, ok=rs.TaskActed,
          errors=ACTED_ON_TASK, summary="提交 Complete a task; with after/parallel signers the "
          "data waits until they sign. On a signature/vote step: approve")
def submit_task(call: Call, task_id: str, body: rq.DataBody) -> Json:
    record = operations.submit(call.ctx, call.session, call.actor, task_id, body.data)
    return {"task_id": task_id, **_result(call, record.id)}


@endpoint("POST", "/tasks/<task_id>/transfer", body=rq.Handover, ok=rs.OperationResult,
          errors=ACTED_ON_TASK, summary="转办 Hand the task over for good")
def transfer_task(call: Call, task_id: str, body: rq.Handover) -> Json:
    row = operations.transfer(
        call.ctx, call.session, call.actor, task_id, body.to, body.comment
    )
    return _result(call, row.instance_id, row.id)


@endpoint("POST", "/tasks/<task_id>/delegate", body=rq.Handover, ok=rs.OperationResult,
          errors=ACTED_ON_TASK,
          summary="委派 A delegate works on it, then it returns to the owner")
def delegate_task(call: Call, task_id: str, body: rq.Handover) -> Json:
    operations.delegate(call.ctx, call.session, call.actor, task_id, body.to, body.comment)
    return _task_result(call, task_id)


@endpoint("POST", "/tasks/<task_id>/resolve", body=rq.Resolve, ok=rs.OperationResult,
          errors=ACTED_ON_TASK,
          summary="The delegate saves their part (validated field by field) and gives it back")
def resolve_task(call: Call, task_id: str, body: rq.Resolve) -> Json:
    operations.resolve(call.ctx, call.session, call.actor, task_id, body.data, body.comment)
    return _task_result(call, task_id)


@endpoint("POST", "/tasks/<task_id>/recall", ok=rs.OperationResult, errors=ACTED_ON_TASK,
          summary="The owner takes a delegated task back")
def recall_task(call: Call, task_id: str) -> Json:
    operations.recall(call.ctx, call.session, call.actor, task_id)
    return _task_result(call, task_id)


@endpoint("POST", "/tasks/<task_id>/signers", body=rq.AddSigners, ok={201: rs.SignersAdded},
          errors=ACTED_ON_TASK, summary="加签 Add signers: before (sign first), after (sign after "
          "the handler submits), parallel (countersign: all must approve)")
def add_signers(call: Call, task_id: str, body: rq.AddSigners) -> Json:
    added = operations.add_signers(
        call.ctx, call.session, call.actor, task_id, body.users, body.mode, body.comment
    )
    return {**_task_result(call, task_id),
            "signers": [operations.signer_dict(e) for e in added]}


@endpoint("POST", "/signers/<int:signer_id>/remove", body=rq.Comment, ok=rs.SignerRemoved,
          errors=ACTED, summary="减签 Remove a signer who has not acted yet")
def remove_signer(call: Call, signer_id: int, body: rq.Comment) -> Json:
    entry = operations.remove_signer(call.ctx, call.session, call.actor, signer_id, body.comment)
    return {**_task_result(call, entry.parent_task_id),
            "signer": operations.signer_dict(entry)}


@endpoint("POST", "/tasks/<task_id>/sign", body=rq.Sign, ok=rs.TaskActed,
          errors=ACTED_ON_TASK,
          summary="签署 A signer's or voter's decision (reject needs a comment)")
def sign_task(call: Call, task_id: str, body: rq.Sign) -> Json:
    record = operations.sign(
        call.ctx, call.session, call.actor, task_id, body.decision, body.comment
    )
    return {"task_id": task_id, **_result(call, record.id)}


@endpoint("GET", "/tasks/<task_id>/return-targets", ok=rs.Items[rs.ReturnTarget], errors=ACTED,
          summary="Earlier steps on this task's path it can be sent back to (with the open "
          "tasks a return there would also cancel)")
def return_targets(call: Call, task_id: str) -> Json:
    return {"items": operations.return_targets(call.ctx, call.session, call.actor, task_id)}


@endpoint("POST", "/tasks/<task_id>/return", body=rq.ReturnTo, ok=rs.TaskActed,
          errors=ACTED_ON_TASK,
          summary="退回 Send the instance back to an earlier step (element id), with a reason")
def return_task(call: Call, task_id: str, body: rq.ReturnTo) -> Json:
    record = operations.return_to(
        call.ctx, call.session, call.actor, task_id, body.target, body.reason
    )
    return {"task_id": task_id, **_result(call, record.id)}


@endpoint("POST", "/tasks/<task_id>/withdraw", body=rq.Reason, ok=rs.TaskActed,
          errors=ACTED_ON_TASK,
          summary="撤回 Take back a completed step (task id of the completed step) while nothing "
          "after it was acted on")
def withdraw_task(call: Call, task_id: str, body: rq.Reason) -> Json:
    record = operations.withdraw(call.ctx, call.session, call.actor, task_id, body.reason)
    return {"task_id": task_id, **_result(call, record.id)}


@endpoint("POST", "/tasks/<task_id>/remind", body=rq.Remind, ok=rs.Reminded,
          errors=ACTED_ON_TASK,
          summary="催办 Remind the current handler(s); at most once per interval (409 with "
          "next_allowed_at)")
def remind_task(call: Call, task_id: str, body: rq.Remind) -> rs.Reminded:
    users = operations.remind(call.ctx, call.session, call.actor, task_id, body.message)
    return rs.Reminded(task_id=task_id, reminded=users)


@endpoint("POST", "/tasks/<task_id>/cc", body=rq.CopyTo, ok={201: rs.Items[rs.CcCopy]},
          errors=ACTED_ON_TASK, summary="抄送 Copy people on this step (read-only for them)")
def cc_task(call: Call, task_id: str, body: rq.CopyTo) -> Json:
    instance_id = task_access(call.session, call.actor, task_id).row.instance_id
    added = cc.cc(call.ctx, call.session, call.actor, instance_id, body.users, task_id=task_id,
                  note=body.note)
    return {"items": [copies.cc_dict(a) for a in added]}


# --- instance-level -------------------------------------------------------------------------------


@endpoint("POST", "/process-instances/<int:instance_id>/cc", body=rq.CopyTo,
          ok={201: rs.Items[rs.CcCopy]}, errors=ACTED, summary="抄送 Copy people on the instance")
def cc_instance(call: Call, instance_id: int, body: rq.CopyTo) -> Json:
    added = cc.cc(call.ctx, call.session, call.actor, instance_id, body.users, note=body.note)
    return {"items": [copies.cc_dict(a) for a in added]}


@endpoint("POST", "/process-instances/<int:instance_id>/withdraw", body=rq.Reason,
          ok=rs.OperationResult, errors=ACTED,
          summary="撤回 The initiator withdraws the instance while nobody has acted on it")
def withdraw_instance(call: Call, instance_id: int, body: rq.Reason) -> Json:
    record = operations.withdraw_instance(
        call.ctx, call.session, call.actor, instance_id, body.reason
    )
    return _result(call, record.id)


@endpoint("GET", "/process-instances/<int:instance_id>/operations", ok=rs.InstanceHistory,
          errors=(403, 404), summary="The handling history: returns, withdrawals, signatures, "
          "delegations, A/B handovers, copies (for everyone who took part)")
def instance_operations(call: Call, instance_id: int) -> Json:
    return operations.instance_operations(call.ctx, call.session, call.actor, instance_id)


# --- 抄送我的 -------------------------------------------------------------------------------------


@endpoint("GET", "/cc", query=rq.InboxQuery, ok=rs.UnreadPage[rs.CcCopy],
          summary="抄送我的 Instances copied to the caller, with the unread count")
def cc_inbox(call: Call, query: rq.InboxQuery) -> Json:
    return copies.cc_inbox(call.session, call.actor, unread_only=query.unread_only, page=query.page,
                       per_page=query.per_page)


@endpoint("GET", "/cc/<int:cc_id>", ok=rs.CcView, errors=(404,),
          summary="A copied instance, read-only (marks the copy read)")
def cc_view(call: Call, cc_id: int) -> Json:
    return cc.cc_view(call.ctx, call.session, call.actor, cc_id)


@endpoint("POST", "/cc/<int:cc_id>/read", ok=rs.Marked, errors=(404,),
          summary="Mark one copy read")
def cc_read_one(call: Call, cc_id: int) -> rs.Marked:
    return rs.Marked(marked=cc.mark_cc_read(call.ctx, call.session, call.actor, cc_id))


@endpoint("POST", "/cc/read", ok=rs.Marked, summary="Mark all copies read")
def cc_read_all(call: Call) -> rs.Marked:
    return rs.Marked(marked=cc.mark_cc_read(call.ctx, call.session, call.actor))


# --- A/B absences ---------------------------------------------------------------------------------


@endpoint("GET", "/absences", query=rq.AbsenceQuery, ok=rs.Items[rs.Absence], errors=(403,),
          summary="Absences (own; managers: everyone's or ?username=)")
def list_absences(call: Call, query: rq.AbsenceQuery) -> Json:
    return {"items": absence.list_absences(call.ctx, call.session, call.actor, query.username)}


@endpoint("POST", "/absences", body=rq.MarkAway, ok={201: rs.Absence}, errors=ACTED,
          summary="A角 away: open and new tasks go to the B角 (or the deputy) meanwhile")
def mark_away(call: Call, body: rq.MarkAway) -> Json:
    record = absence.mark_away(
        call.ctx,
        call.session,
        call.actor,
        body.username or call.actor.username,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        deputy=body.deputy or None,
        reason=body.reason,
    )
    return absence.absence_dict(record)


@endpoint("POST", "/absences/back", body=rq.MarkBack, ok=rs.Returned, errors=ACTED,
          summary="Back: tasks still held by the substitute return")
def mark_back(call: Call, body: rq.MarkBack) -> rs.Returned:
    username = body.username or call.actor.username
    return rs.Returned(returned_tasks=absence.mark_back(call.ctx, call.session, call.actor,
                                                        username))
