"""OpenAPI paths of the task operations, CC, absences and notifications (merged into
/api/v1/openapi.json by web/api/openapi.py)."""

from __future__ import annotations

from typing import Any

from web.api.openapi import ID_PATH, PAGING, TASK_PATH, _errors, _op, _resp

CC_PATH = [{"name": "cc_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
SIGNER_PATH = [
    {"name": "signer_id", "in": "path", "required": True, "schema": {"type": "integer"}}
]

OBJ = {"type": "object"}
STR = {"type": "string"}


def _body(required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "required": bool(required),
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": props}
            }
        },
    }


USERS = {"type": "array", "items": STR}
RESULT = {
    "type": "object",
    "properties": {
        "task": {"$ref": "#/components/schemas/Task"},
        "instance": {"$ref": "#/components/schemas/Instance"},
        "open_tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
    },
}


def _task_post(summary: str, body: dict[str, Any] | None, code: str = "200") -> dict[str, Any]:
    extra: dict[str, Any] = {"parameters": TASK_PATH}
    if body is not None:
        extra["requestBody"] = body
    return {
        "post": _op(
            summary,
            {**_resp(code, "Done", RESULT), **_errors("400", "403", "404", "409", "422")},
            **extra,
        )
    }


def ops_paths() -> dict[str, Any]:
    page_q = [{"name": "unread", "in": "query", "schema": STR}, *PAGING]
    return {
        "/tasks/{task_id}/operations": {
            "get": _op(
                "What the caller may do on a task (allowed operations by state and role), its "
                "signers (加签/会签), delegations, pending submission and vote count",
                {**_resp("200", "Operations", OBJ), **_errors("403", "404")},
                parameters=TASK_PATH,
            )
        },
        "/tasks/{task_id}/submit": _task_post(
            "提交 Complete a task; with after/parallel signers the data waits until they sign. "
            "On a signature/vote step: approve",
            _body([], data=OBJ),
        ),
        "/tasks/{task_id}/transfer": _task_post(
            "转办 Hand the task over for good", _body(["to"], to=STR, comment=STR)
        ),
        "/tasks/{task_id}/delegate": _task_post(
            "委派 A delegate works on it, then it returns to the owner",
            _body(["to"], to=STR, comment=STR),
        ),
        "/tasks/{task_id}/resolve": _task_post(
            "The delegate saves their part (validated field by field) and gives it back",
            _body([], data=OBJ, comment=STR),
        ),
        "/tasks/{task_id}/recall": _task_post("The owner takes a delegated task back", None),
        "/tasks/{task_id}/signers": _task_post(
            "加签 Add signers: before (sign first), after (sign after the handler submits), "
            "parallel (countersign: all must approve)",
            _body(
                ["users", "mode"],
                users=USERS,
                mode={"type": "string", "enum": ["before", "after", "parallel"]},
                comment=STR,
            ),
            code="201",
        ),
        "/signers/{signer_id}/remove": {
            "post": _op(
                "减签 Remove a signer who has not acted yet",
                {**_resp("200", "Removed", RESULT), **_errors("400", "403", "404", "409")},
                parameters=SIGNER_PATH,
                requestBody=_body([], comment=STR),
            )
        },
        "/tasks/{task_id}/sign": _task_post(
            "签署 A signer's or voter's decision (reject needs a comment)",
            _body(
                ["decision"],
                decision={"type": "string", "enum": ["approve", "reject"]},
                comment=STR,
            ),
        ),
        "/tasks/{task_id}/return-targets": {
            "get": _op(
                "Earlier steps on this task's path it can be sent back to (with the open tasks "
                "a return there would also cancel)",
                {**_resp("200", "Targets", OBJ), **_errors("403", "404", "409")},
                parameters=TASK_PATH,
            )
        },
        "/tasks/{task_id}/return": _task_post(
            "退回 Send the instance back to an earlier step (element id), with a reason",
            _body(["target", "reason"], target=STR, reason=STR),
        ),
        "/tasks/{task_id}/withdraw": _task_post(
            "撤回 Take back a completed step (task id of the completed step) while nothing after "
            "it was acted on",
            _body([], reason=STR),
        ),
        "/tasks/{task_id}/remind": _task_post(
            "催办 Remind the current handler(s); at most once per interval (409 with "
            "next_allowed_at)",
            _body([], message=STR),
        ),
        "/tasks/{task_id}/cc": _task_post(
            "抄送 Copy people on this step (read-only for them)",
            _body(["users"], users=USERS, note=STR),
            code="201",
        ),
        "/process-instances/{id}/cc": {
            "post": _op(
                "抄送 Copy people on the instance",
                {**_resp("201", "Copied", OBJ), **_errors("400", "403", "404", "409")},
                parameters=ID_PATH,
                requestBody=_body(["users"], users=USERS, note=STR),
            )
        },
        "/process-instances/{id}/withdraw": {
            "post": _op(
                "撤回 The initiator withdraws the instance while nobody has acted on it",
                {**_resp("200", "Withdrawn", RESULT), **_errors("400", "403", "404", "409")},
                parameters=ID_PATH,
                requestBody=_body([], reason=STR),
            )
        },
        "/process-instances/{id}/operations": {
            "get": _op(
                "The handling history: returns, withdrawals, signatures, delegations, "
                "A/B handovers, copies (for everyone who took part)",
                {**_resp("200", "History", OBJ), **_errors("403", "404")},
                parameters=ID_PATH,
            )
        },
        "/cc": {
            "get": _op(
                "抄送我的 Instances copied to the caller, with the unread count",
                {**_resp("200", "Page", OBJ), **_errors("400")},
                parameters=page_q,
            )
        },
        "/cc/{cc_id}": {
            "get": _op(
                "A copied instance, read-only (marks the copy read)",
                {**_resp("200", "Copy", OBJ), **_errors("404")},
                parameters=CC_PATH,
            )
        },
        "/cc/{cc_id}/read": {
            "post": _op(
                "Mark one copy read",
                {**_resp("200", "Marked", OBJ), **_errors("404")},
                parameters=CC_PATH,
            )
        },
        "/cc/read": {
            "post": _op("Mark all copies read", {**_resp("200", "Marked", OBJ), **_errors()})
        },
        "/absences": {
            "get": _op(
                "Absences (own; managers: everyone's or ?username=)",
                {**_resp("200", "Absences", OBJ), **_errors("403")},
                parameters=[{"name": "username", "in": "query", "schema": STR}],
            ),
            "post": _op(
                "A角 away: open and new tasks go to the B角 (or the deputy) meanwhile",
                {**_resp("201", "Absence", OBJ), **_errors("400", "403", "404", "409")},
                requestBody=_body(
                    [],
                    username=STR,
                    starts_at={"type": "string", "format": "date-time"},
                    ends_at={"type": "string", "format": "date-time"},
                    deputy=STR,
                    reason=STR,
                ),
            ),
        },
        "/absences/back": {
            "post": _op(
                "Back: tasks still held by the substitute return",
                {**_resp("200", "Returned", OBJ), **_errors("400", "403", "404", "409")},
                requestBody=_body([], username=STR),
            )
        },
        "/notifications": {
            "get": _op(
                "The caller's in-app notifications (newest first) with the unread count",
                {**_resp("200", "Page", OBJ), **_errors("400")},
                parameters=page_q,
            )
        },
        "/notifications/unread-count": {
            "get": _op(
                "Unread notifications and copies (the bell)",
                {**_resp("200", "Counts", OBJ), **_errors()},
            )
        },
        "/notifications/read": {
            "post": _op(
                "Mark notifications read (all without ids)",
                {**_resp("200", "Marked", OBJ), **_errors("400")},
                requestBody=_body([], ids={"type": "array", "items": {"type": "integer"}}),
            )
        },
    }
